/**
 * The distributed restore of a `--dr` run: `dce restore --distributed` (through the operator port)
 * with the simulated stack's replica without a schedule (`restore`, sim/simulation/deployment.ts),
 * after the run, on a simulated clock of its own. Its one-shot executions run the replica's deployed
 * definition and apply Lambda (sim/simulation/replicaRun.ts) with the replica's deployed roles, every
 * call evaluated by IAM; its Distributed Maps run through sim/machines/distributedMap.ts. The table it writes is
 * compared item by item with the source as of the point: a third of the way into the live epoch, so
 * the restore stops in the chain's past and not at HEAD.
 */
import { LocalRun } from '../machines/localRun';
import type { SyntheticTable } from '../workload';
import type { SimulationAccount } from './account';
import { compareWithSource } from './chainChecks';
import type { OperatorTools } from './operatorTools';
import { SimulationReplica } from './replicaRun';
import type { ChainOutcome, DistributedRestoreOutcome } from './report';
import { realNowMs } from './s3Clients';

/** The point of the distributed restore: a third of the way into the live epoch's entries. */
export function distributedRestoreSequence(entries: number): number {
  return Math.max(0, Math.floor((entries - 1) / 3));
}

/** Simulated time the restore may take before it counts as stuck. */
const RESTORE_LIMIT_MS = 12 * 3600_000;

/** Runs the distributed restore and compares its table; see the module comment. */
export async function runDistributedRestore(params: {
  account: SimulationAccount;
  tools: OperatorTools;
  source: SyntheticTable;
  chain: ChainOutcome;
  /** Where the restore's clock starts: the end of the run, epoch seconds. */
  start: number;
}): Promise<DistributedRestoreOutcome> {
  const { account, tools, source, chain } = params;
  const started = realNowMs();
  const deployed = account.deployment.restoreReplica;
  const outcome: DistributedRestoreOutcome = {
    ok: false,
    replica: deployed ? '' : '(none deployed)',
    targetTable: '',
    point: null,
    executions: 0,
    children: 0,
    items: 0,
    expectedItems: 0,
    identical: false,
    firstDifferences: [],
    seconds: 0,
  };
  try {
    if (!deployed) throw new Error('the simulated stack deploys no replica without a schedule');
    if (!tools.restoreDistributed) throw new Error('the operator tools have no distributed restore');
    const replica = new SimulationReplica(account, deployed);
    outcome.replica = replica.settings.replicaAlias;
    outcome.targetTable = replica.settings.targetTableName;
    // Before the clock is installed: the table waiter sleeps on the clock.
    await replica.prepare();
    const run = await LocalRun.create({
      settings: account.settings,
      aws: account.aws,
      start: params.start * 1000,
      scheduler: { paused: true },
      // The export chain does not run: the restore reads the chain the run left.
      createHandler: () => async () => ({ next: 'DONE', wakeAt: new Date(0).toISOString(), summary: {} }),
    });
    try {
      replica.attach(run);
      let settled = false;
      const restored = tools
        .restoreDistributed({
          // The run's own S3 client (on the local server it signs with real time while the simulated
          // clock is installed), tracked like SSM: the clock waits for the operator's calls.
          s3: run.track(account.sourceS3),
          bucket: account.settings.bucket,
          prefix: account.settings.prefix,
          states: replica.statesClient(),
          ssm: run.track(account.rawSsm),
          replica: {
            alias: replica.settings.replicaAlias,
            stateMachineArn: deployed.stateMachineArn,
            stateParameterName: replica.settings.stateParameterName,
            targetTableName: replica.settings.targetTableName,
          },
          to: { sequence: distributedRestoreSequence(chain.entries) },
          // The run's clock is installed: a timer is a simulated wait.
          sleep: (ms) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
          pollMs: 30_000,
        })
        .finally(() => (settled = true));
      // Handled below, once the clock has run: not an unhandled rejection meanwhile.
      restored.catch(() => undefined);
      const limit = run.clock.now + RESTORE_LIMIT_MS;
      while (!settled && run.clock.now < limit) await run.runFor(60_000);
      if (!settled) throw new Error(`not done after ${RESTORE_LIMIT_MS / 3600_000} simulated hours`);
      const result = await restored;
      outcome.point = result.point;
      outcome.executions = result.executions.length;
      outcome.children = replica.executions.reduce((n, e) => n + e.children.executions, 0);
    } finally {
      await run.dispose();
    }
    const compared = await compareWithSource(
      account.dynamodb.client,
      outcome.targetTable,
      source,
      outcome.point.asOf,
      'distributed restore',
    );
    Object.assign(outcome, compared, { ok: compared.identical && compared.items > 0 });
  } catch (error) {
    outcome.error = (error as Error).message;
  } finally {
    outcome.seconds = (realNowMs() - started) / 1000;
  }
  return outcome;
}
