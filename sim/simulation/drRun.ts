/**
 * Disaster recovery in a simulation run: a protected copy of the chain, and a restore from it into a
 * second "Region".
 *
 * - The copy: a second bucket where the run's S3 is, standing for a bucket in another Region. At the
 *   end of the run every object under the chain's prefix is copied into it as the S3 replication rule
 *   of `dr:` (components/drReplication.ts) would have: the objects under the prefix, each once, and
 *   nothing deleted (delete markers are not replicated). The simulated stack uses an existing bucket,
 *   whose replication the stack does not manage, so the rule itself and its replication role are not
 *   rendered or evaluated here (docs/simulate.md).
 * - The restore: `dce restore` (cli/restore.ts, through the operator port) reads the copy only and
 *   recreates the table, with a `write` bootstrap, in an empty table standing for one in the second
 *   Region (a second table on the local DynamoDB), as of a point halfway into the live epoch.
 *   It is compared item by item with the source as of that point.
 * - Then `verify --deep` of the copy (`dce verify --bucket <copy>`), and its listing against the
 *   primary's: the copy must hold every object of the prefix.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { CopyObjectCommand, ListObjectsV2Command, type ListObjectsV2CommandOutput } from '@aws-sdk/client-s3';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getBytes, listAllKeys, putObject } from '../../format';
import type { SendClient } from '../localRun';
import type { SyntheticTable } from '../workload';
import type { SimulationAccount } from './account';
import { compareWithSource, createReplayTable } from './chainChecks';
import type { OperatorTools } from './operatorTools';
import { realNowMs } from './s3Clients';
import type { ChainOutcome, DrCopyOutcome, RestoreOutcome } from './report';

/** The protected copy's bucket, and the Region it stands for. */
export const SIMULATION_DR_BUCKET = 'dce-simulation-exports-dr';
export const SIMULATION_DR_REGION = 'us-west-2';
/** The restored table, standing for a table in the second Region. */
export const SIMULATION_RESTORED_TABLE = 'orders-restored';

/** Objects replicated at once: S3 replication copies objects in parallel, not one by one. */
const REPLICATION_CONCURRENCY = 16;

/** Every object under `prefix` in `bucket`, with its size. */
async function listObjects(
  s3: SendClient,
  bucket: string,
  prefix: string,
): Promise<{ key: string; size: number }[]> {
  const out: { key: string; size: number }[] = [];
  let token: string | undefined;
  do {
    const page = (await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    )) as ListObjectsV2CommandOutput;
    for (const o of page.Contents ?? []) if (o.Key) out.push({ key: o.Key, size: o.Size ?? 0 });
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out;
}

/**
 * Replicates every object under `prefix` from `from` to `to` (see the module comment): server-side
 * (CopyObject, as replication copies within S3) on the local S3 server, read and written again on the
 * in-process fake, which has no CopyObject.
 */
export async function replicatePrefix(
  s3: SendClient,
  from: string,
  to: string,
  prefix: string,
  serverSide: boolean,
): Promise<{ objects: number; bytes: number }> {
  const objects = await listObjects(s3, from, prefix);
  let next = 0;
  const worker = async () => {
    while (next < objects.length) {
      const { key } = objects[next++];
      if (serverSide)
        await s3.send(new CopyObjectCommand({ Bucket: to, Key: key, CopySource: `${from}/${key}` }));
      else await putObject(s3, to, key, await getBytes(s3, from, key));
    }
  };
  await Promise.all(Array.from({ length: REPLICATION_CONCURRENCY }, worker));
  return { objects: objects.length, bytes: objects.reduce((n, o) => n + o.size, 0) };
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
}): Promise<{ copy: DrCopyOutcome; restore: RestoreOutcome }> {
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
    Object.assign(
      copy,
      await replicatePrefix(s3, bucket, SIMULATION_DR_BUCKET, chainPrefix, params.serverSide),
    );
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
      copy.ok = copy.verify.ok && copy.missing.length === 0 && copy.objects > 0;
    } catch (error) {
      copy.error = `verify --deep: ${(error as Error).message}`;
    }
  }
  return { copy, restore };
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
