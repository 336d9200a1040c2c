/**
 * Disaster recovery in a simulation run: a protected copy of the chain, and a restore from it into a
 * second "Region".
 *
 * - The copy: a second bucket where the run's S3 is, standing for a bucket in another Region. The
 *   simulated stack's `dr:` (sim/simulation/deployment.ts: with `--dr` the stack creates its export
 *   bucket, as `dr:` requires) is rendered under Pulumi mocks; at the end of the run its replication
 *   rule is applied by the offline S3 replication (sim/s3Replication.ts) as the deployed replication
 *   role, every request evaluated by IAM (`sim/iam/`): the objects under the rule's prefix, each once,
 *   nothing deleted (the rule does not replicate delete markers). Replication time is not simulated.
 * - The restore: `dce restore` (cli/restore/restore.ts, through the operator port) reads the copy only and
 *   recreates the table, with a `write` bootstrap, in an empty table standing for one in the second
 *   Region (a second table on the local DynamoDB), as of a point halfway into the live epoch.
 *   It is compared item by item with the source as of that point.
 * - Then `verify --deep` of the copy (`dce verify --bucket <copy>`), and its listing against the
 *   primary's: the copy must hold every object of the prefix.
 * - Last, `dce restore --distributed` with the stack's replica without a schedule, from the export
 *   bucket, to a third of the way into the live epoch (sim/simulation/distributedRestoreRun.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listAllKeys } from '../../format';
import { S3Replication } from '../s3Replication';
import type { SyntheticTable } from '../workload';
import type { SimulationAccount } from './account';
import { compareWithSource, createReplayTable } from './chainChecks';
import type { OperatorTools } from './operatorTools';
import { realNowMs } from './s3Clients';
import { SIMULATION_DR_BUCKET, SIMULATION_DR_REGION, SIMULATION_REGION } from './deployment';
import { runDistributedRestore } from './distributedRestoreRun';
import type { ChainOutcome, DistributedRestoreOutcome, DrCopyOutcome, RestoreOutcome } from './report';

export { SIMULATION_DR_BUCKET, SIMULATION_DR_REGION } from './deployment';
/** The restored table, standing for a table in the second Region. */
export const SIMULATION_RESTORED_TABLE = 'orders-restored';

/**
 * The deployed replication rule applied to the export bucket (sim/s3Replication.ts), as its deployed
 * role, every request evaluated by IAM: the objects under the rule's prefix, each once, delete markers
 * as the rule says.
 */
async function replicateUnderRule(
  account: SimulationAccount,
  serverSide: boolean,
  copy: DrCopyOutcome,
): Promise<void> {
  const replication = account.deployment.replication;
  const rule = replication?.rules[0];
  if (!replication || !rule) throw new Error('the deployed stack has no replication rule (dr:)');
  const s3 = new S3Replication({
    rule,
    roleName: replication.roleName,
    sourceBucket: account.settings.bucket,
    evaluator: account.access,
    scope: { partition: 'aws', region: SIMULATION_REGION, account: account.aws.account },
    s3: account.readS3,
    serverSide,
  });
  if (s3.destinationBucket !== SIMULATION_DR_BUCKET)
    throw new Error(
      `the rule replicates to ${s3.destinationBucket}, the run's copy is ${SIMULATION_DR_BUCKET}`,
    );
  const pass = await s3.pass();
  copy.rule = {
    id: rule.id ?? '',
    prefix: rule.filter?.prefix ?? '',
    deleteMarkers: rule.deleteMarkerReplication?.status ?? 'Disabled',
    role: replication.roleName,
  };
  copy.objects = pass.replicated;
  copy.bytes = pass.bytes;
  copy.denied = pass.failed.map((f) => `${f.key || '(bucket)'}: ${f.denial.action} on ${f.denial.resource}`);
}

/** The restore point: halfway into the live epoch's entries (a point in the chain's past). */
export function restoreSequence(entries: number): number {
  return Math.max(0, Math.floor((entries - 1) / 2));
}

/** The copy, the restore from it and the copy's verification; see the module comment. */
export async function runDisasterRecovery(params: {
  account: SimulationAccount;
  tools: OperatorTools;
  source: SyntheticTable;
  chain: ChainOutcome;
  /** The run's S3 is the local server (`--s3 server`): objects are copied server-side. */
  serverSide: boolean;
  /** End of the run, epoch seconds: where the distributed restore's clock starts. */
  end: number;
}): Promise<{ copy: DrCopyOutcome; restore: RestoreOutcome; distributed: DistributedRestoreOutcome }> {
  const { account, tools, source, chain } = params;
  const s3 = account.readS3;
  const { bucket, prefix } = account.settings;
  const chainPrefix = `${prefix}/`;
  const copy: DrCopyOutcome = {
    ok: false,
    bucket: SIMULATION_DR_BUCKET,
    region: SIMULATION_DR_REGION,
    objects: 0,
    bytes: 0,
    missing: [],
    verify: { ok: false, epoch: null, entries: 0, problems: [] },
  };
  try {
    await account.createBucket(SIMULATION_DR_BUCKET);
    await replicateUnderRule(account, params.serverSide, copy);
  } catch (error) {
    copy.error = `replication: ${(error as Error).message}`;
  }
  const restore = await restoreFromCopy(account, tools, source, chain);
  if (copy.error === undefined) {
    try {
      const verified = await tools.verifyChain({ s3, bucket: SIMULATION_DR_BUCKET, prefix, deep: true });
      copy.verify = {
        ok: verified.ok,
        epoch: verified.epoch,
        entries: verified.entries,
        problems: verified.problems.map((p) => ({ kind: p.kind, message: `${p.message} (${p.key})` })),
      };
      const copied = new Set(await listAllKeys(s3, SIMULATION_DR_BUCKET, chainPrefix));
      const primary = await listAllKeys(s3, bucket, chainPrefix);
      copy.missing = primary.filter((k) => !copied.has(k));
      copy.ok =
        copy.verify.ok && copy.missing.length === 0 && copy.objects > 0 && (copy.denied ?? []).length === 0;
    } catch (error) {
      copy.error = `verify --deep: ${(error as Error).message}`;
    }
  }
  const distributed = await runDistributedRestore({ account, tools, source, chain, start: params.end });
  return { copy, restore, distributed };
}

/** `dce restore` from the copy into the second Region's table, compared with the source at its point. */
async function restoreFromCopy(
  account: SimulationAccount,
  tools: OperatorTools,
  source: SyntheticTable,
  chain: ChainOutcome,
): Promise<RestoreOutcome> {
  const started = realNowMs();
  const client = account.dynamodb.client;
  const outcome: RestoreOutcome = {
    ok: false,
    targetTable: SIMULATION_RESTORED_TABLE,
    region: SIMULATION_DR_REGION,
    bucket: SIMULATION_DR_BUCKET,
    point: null,
    entriesApplied: 0,
    puts: 0,
    deletes: 0,
    items: 0,
    expectedItems: 0,
    identical: false,
    firstDifferences: [],
    seconds: 0,
  };
  const dir = mkdtempSync(join(tmpdir(), 'dce-simulate-restore-'));
  try {
    await createReplayTable(client, SIMULATION_RESTORED_TABLE);
    const restored = await tools.restoreTable({
      s3: account.readS3,
      dynamodb: client,
      bucket: SIMULATION_DR_BUCKET,
      prefix: account.settings.prefix,
      targetTable: SIMULATION_RESTORED_TABLE,
      to: { sequence: restoreSequence(chain.entries) },
      bootstrap: 'write',
      stateFile: join(dir, 'restore.json'),
      concurrency: 8,
    });
    outcome.point = { sequence: restored.point.sequence, asOf: restored.point.asOf };
    Object.assign(outcome, {
      entriesApplied: restored.apply.entriesApplied,
      puts: restored.apply.puts,
      deletes: restored.apply.deletes,
    });
    const compared = await compareWithSource(
      client,
      SIMULATION_RESTORED_TABLE,
      source,
      restored.point.asOf,
      'restored',
    );
    Object.assign(outcome, compared, { ok: compared.identical && compared.items > 0 });
  } catch (error) {
    outcome.error = (error as Error).message;
  } finally {
    rmSync(dir, { recursive: true, force: true });
    outcome.seconds = (realNowMs() - started) / 1000;
  }
  return outcome;
}
