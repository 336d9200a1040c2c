/**
 * The simulation engine behind `npm run simulate` and `dce simulate`: the whole system offline on a
 * simulated clock, then the chain it produced checked and replayed for real.
 *
 * What runs is what deploys: the state machine definition from `renderDefinition` (run by
 * aws-local-stepfunctions through `sim/machines/localRun.ts`) and the export tick handler from
 * `functions/chain/exportTick.ts`. Around them (`account.ts`):
 * - S3 is a local s3rver, reached by a real S3Client: the chain manifest the tick writes and the
 *   export files the fake export engine writes (in the AWS format) land there;
 * - SSM is the fake parameter store served over HTTP by `sim/ssmServer.ts`, reached by a real
 *   SSMClient: the tick's state, action and lock calls, and the operator's pause/resume, go over it;
 * - DynamoDB's export engine and SNS are in-process fakes (`sim/fakeAws`): no local server offers
 *   ExportTableToPointInTime;
 * - the source table is a synthetic workload with its full history (`sim/workload.ts`).
 * Afterwards `verify --deep` reads the chain from the local S3 server and `replay` writes it into a
 * local DynamoDB table (dynalite), which is compared item by item with the source table as of the
 * watermark (`chainChecks.ts`).
 */
import '../polyfills';
import { LAMBDA_HANDLERS } from '../../functions/shared/lambdaHandlers';
import { iso } from '../../functions/shared/time';
import type { IcebergSettings } from '../../functions/iceberg/feed';
import { generateWorkload } from '../workload';
import {
  openSimulationAccount,
  SIMULATION_STACK,
  type LocalEndpoints,
  type SimulationAccount,
} from './account';
import { createReplayTable, replayRunChain, replayTableName, verifyRunChain } from './chainChecks';
import { estimateMonthlyCost } from './cost';
import { faultPlan, faultRandom, installFaults } from './faults';
import type { OperatorTools } from './operatorTools';
import { exportCostOf } from './exportCost';
import { QUIET_KEY_SPACE, QUIET_WRITES_PER_HOUR, type SimulateOptions } from './options';
import type { SimulationProgress, SimulationReport } from './report';
import { realNowMs } from './s3Clients';
import { SimulationReplica } from './replicaRun';
import { SimulationIceberg } from './icebergRun';
import { SCALE_SIZES, type ScaleSizes } from './scaleSizes';
import { runDisasterRecovery } from './drRun';
import { runWorkflow, type WorkflowRunResult } from './workflowRun';

/** A fixed start keeps runs with the same flags identical (epoch ids, keys, counts). */
export const SIMULATION_START = Date.UTC(2026, 10, 2, 0, 0, 0) / 1000;

/** The --scale workload options: the burst two minutes long, inside the fifth 15-minute window. */
function scaleWorkload(start: number, sizes: ScaleSizes) {
  const burstFrom = start + 3600 + 300;
  return {
    initialItems: sizes.initialItems,
    largeItems: sizes.largeItems,
    burst: { from: burstFrom, to: burstFrom + 120, changes: sizes.burstChanges },
  };
}

/** The local servers a run left running (`keepServers`), and how to stop them. */
export interface KeptServers {
  endpoints: LocalEndpoints;
  stack: string;
  alias: string;
  bucket: string;
  prefix: string;
  /** The table the chain was replayed into, on the local DynamoDB. */
  replayedTable: string;
  /** The replica's alias (`dce replica --replica`), its table on the local DynamoDB, and its state parameter. */
  replicaAlias: string;
  replicaTable: string;
  replicaStateParameter: string;
  /** An empty table with the same keys on the local DynamoDB, for a `dce replay` by hand. */
  emptyTable: string;
  /**
   * The Iceberg feed's entry of a stack output (components/stackOutput.ts `icebergOutputSchema`, the
   * parts `dce iceberg` reads: its parameters and its Lambda's settings), when the run has one.
   */
  iceberg?: { view: string; stateParameterName: string; actionParameterName: string; settings: string };
  stop(): Promise<void>;
}

export interface SimulationHooks {
  onProgress?: (p: SimulationProgress) => void;
  /** Leave the local servers running and hand them here; the caller stops them. */
  keepServers?: (servers: KeptServers) => void;
}

/** The source table of a run: its writes from 6 hours before the start to an hour past the end. */
function simulationWorkload(options: SimulateOptions, start: number, end: number) {
  const scale = options.scale ? SCALE_SIZES[options.scale] : undefined;
  const quiet = options.workload === 'quiet';
  return generateWorkload({
    from: start - 6 * 3600,
    to: end + 3600,
    writesPerMinute: quiet ? QUIET_WRITES_PER_HOUR / 60 : options.rate,
    seed: options.seed,
    keySpace: scale
      ? scale.initialItems
      : quiet
        ? QUIET_KEY_SPACE
        : Math.max(200, Math.round(options.rate * 100)),
    ...(scale ? scaleWorkload(start, scale) : {}),
  });
}

/**
 * Runs one simulation. Servers are started and stopped at the end (unless handed to
 * `hooks.keepServers`); the simulated clock is installed only while the workflow runs.
 */
export async function runSimulation(
  options: SimulateOptions,
  tools: OperatorTools,
  hooks: SimulationHooks = {},
): Promise<SimulationReport> {
  const wallStart = realNowMs();
  const plan = faultPlan(options.faults);
  const random = faultRandom(options.seed);
  const progress = hooks.onProgress ?? (() => undefined);
  const start = SIMULATION_START;
  const totalSeconds = Math.round(options.days * 86400);
  const end = start + totalSeconds;
  const at = (p: Partial<SimulationProgress> & Pick<SimulationProgress, 'phase'>): SimulationProgress => ({
    simulatedSeconds: totalSeconds,
    totalSeconds,
    committed: 0,
    lagSeconds: null,
    ...p,
  });

  progress(at({ phase: 'starting', simulatedSeconds: 0 }));
  const source = simulationWorkload(options, start, end);
  const account = await openSimulationAccount({ options, deploy: tools.deploy, plan, random, source, start });
  let kept = false;
  let iceberg: SimulationIceberg | undefined;
  try {
    const replica = new SimulationReplica(account);
    await replica.prepare();
    if (account.deployment.iceberg) {
      iceberg = new SimulationIceberg(account);
      await iceberg.prepare();
    }
    const injected = installFaults(account.aws, plan, random);

    const simStart = realNowMs();
    const workflow = await runWorkflow({
      account,
      plan,
      random,
      tools,
      start,
      end,
      windowMinutes: options.window,
      progress,
      companions: iceberg ? [replica, iceberg] : [replica],
    });
    const simulationSeconds = (realNowMs() - simStart) / 1000;

    progress(at({ phase: 'verifying' }));
    const verifyStart = realNowMs();
    const chain = await verifyRunChain(account, tools, end, (p) => progress(at(p)));
    const verifySeconds = (realNowMs() - verifyStart) / 1000;

    progress(at({ phase: 'replaying' }));
    const replayStart = realNowMs();
    const replay = await replayRunChain({ account, tools, source, progress: (p) => progress(at(p)) });
    const replaySeconds = (realNowMs() - replayStart) / 1000;

    const replicaOutcome = await replica.outcome({
      source,
      chainWatermark: chain.watermark,
      end,
      resets: workflow.resets.length,
    });

    const icebergOutcome = iceberg
      ? await iceberg.outcome({ source, chainWatermark: chain.watermark, resets: workflow.resets.length })
      : null;

    if (options.dr) progress(at({ phase: 'restoring' }));
    const drStart = realNowMs();
    const dr = options.dr
      ? await runDisasterRecovery({ account, tools, source, chain, serverSide: options.s3 === 'server', end })
      : null;
    const drSeconds = (realNowMs() - drStart) / 1000;

    const report = summarise({
      options,
      account,
      workflow,
      failedExportsInjected: injected.failedExports,
      start,
      end,
      chain,
      replay,
      replica: replicaOutcome,
      iceberg: icebergOutcome,
      dr,
      writes: source.writeCount,
      wall: { totalSeconds: 0, simulationSeconds, verifySeconds, replaySeconds, drSeconds },
    });
    progress(at({ phase: 'done', committed: chain.entries, lagSeconds: chain.lagSeconds }));
    report.wall.totalSeconds = (realNowMs() - wallStart) / 1000;
    if (hooks.keepServers) {
      await keepServers(account, replica, hooks.keepServers);
      kept = true;
    }
    return report;
  } finally {
    iceberg?.close();
    if (!kept) await account.stop();
  }
}

/** Hands the local servers, and what they hold, to `keep`: an empty table for a replay by hand too. */
async function keepServers(
  account: SimulationAccount,
  replica: SimulationReplica,
  keep: NonNullable<SimulationHooks['keepServers']>,
): Promise<void> {
  const emptyTable = `${account.settings.alias}-copy`;
  await createReplayTable(account.dynamodb.client, emptyTable);
  keep({
    endpoints: account.endpoints,
    stack: SIMULATION_STACK,
    alias: account.settings.alias,
    bucket: account.settings.bucket,
    prefix: account.settings.prefix,
    replayedTable: replayTableName(account.settings.alias),
    replicaAlias: replica.settings.replicaAlias,
    replicaTable: replica.settings.targetTableName,
    replicaStateParameter: replica.settings.stateParameterName,
    emptyTable,
    ...keptIceberg(account),
    stop: () => account.stop(),
  });
}

/** What `dce iceberg` needs of the run's feed, from its deployed Lambda's settings. */
function keptIceberg(account: SimulationAccount): Pick<KeptServers, 'iceberg'> {
  const settings = account.deployment.iceberg?.environment.ICEBERG_SETTINGS;
  if (!settings) return {};
  const parsed = JSON.parse(settings) as IcebergSettings;
  if (!parsed.actionParameterName) return {};
  return {
    iceberg: {
      view: `${parsed.spec.database}.${parsed.spec.table}`,
      stateParameterName: parsed.stateParameterName,
      actionParameterName: parsed.actionParameterName,
      settings,
    },
  };
}

/** IAM's evaluation of the run: every deployed role, with the calls it made and those refused. */
function iamOutcome(account: SimulationAccount): SimulationReport['iam'] {
  const { access } = account;
  const roles = Object.fromEntries(
    access.roleNames().map((name) => [name, access.counts[name] ?? { evaluated: 0, denied: 0 }]),
  );
  return { roles, denied: access.denials.length, denials: access.denials.slice(0, 10) };
}

/** The report from what the run left behind. */
function summarise(r: {
  options: SimulateOptions;
  account: SimulationAccount;
  workflow: WorkflowRunResult;
  failedExportsInjected: number;
  start: number;
  end: number;
  chain: SimulationReport['chain'];
  replay: SimulationReport['replay'];
  replica: SimulationReport['replica'];
  iceberg: SimulationReport['iceberg'];
  dr: SimulationReport['dr'];
  writes: number;
  wall: SimulationReport['wall'];
}): SimulationReport {
  const { options, account, workflow, chain, replay, replica, end } = r;
  const { aws } = account;
  const { runReport, deliveries } = workflow;
  const allExports = [...aws.dynamodb.exports.values()];
  const byWindow = new Map<string, number>();
  for (const e of allExports) {
    const key = `${e.request.type}:${e.request.exportTime ?? e.request.from}:${e.request.to ?? ''}`;
    byWindow.set(key, (byWindow.get(key) ?? 0) + 1);
  }
  const endMs = end * 1000;
  const executions = runReport.executions;
  const lambdaMs = runReport.invocations.reduce((sum, i) => sum + Math.max(1, Math.ceil(i.realMs ?? 0)), 0);
  const handlerSpec = LAMBDA_HANDLERS.find((h) => h.name === 'export-tick');
  const chainStartSeconds = chain.chainStart ? Date.parse(chain.chainStart) / 1000 : r.start;
  const watermarkSeconds = chain.watermark ? Date.parse(chain.watermark) / 1000 : chainStartSeconds;
  const ssmRequests = account.ssmRequests();
  const iam = iamOutcome(account);
  return {
    ok:
      chain.ok &&
      replay.ok &&
      replica.ok &&
      (r.iceberg?.ok ?? true) &&
      (r.dr ? r.dr.copy.ok && r.dr.restore.ok && (r.dr.distributed?.ok ?? true) : true) &&
      iam.denied === 0,
    options,
    simulated: { start: iso(r.start), end: iso(end), days: options.days },
    source: { writes: r.writes, itemsAtWatermark: replay.expectedItems },
    windows: {
      committed: chain.entries,
      // Incremental windows that fit between the chain start and the watermark.
      expected: Math.max(0, Math.floor((watermarkSeconds - chainStartSeconds) / (options.window * 60))),
      incremental: Math.max(0, chain.entries - 1),
    },
    exports: {
      started: allExports.length,
      completed: allExports.filter((e) => !e.fails && e.endTime <= endMs).length,
      failed: allExports.filter((e) => e.fails && e.endTime <= endMs).length,
      retriedWindows: [...byWindow.values()].filter((n) => n > 1).length,
      inFlightAtEnd: allExports.filter((e) => e.endTime > endMs).length,
      billedBytes: allExports.reduce((sum, e) => sum + (e.outcome?.billedSizeBytes ?? 0), 0),
    },
    exportCost: exportCostOf(
      allExports
        .filter((e) => e.request.type === 'INCREMENTAL_EXPORT' && !e.fails && e.endTime <= endMs)
        .map((e) => ({
          from: e.request.from!,
          to: e.request.to!,
          billedBytes: e.outcome?.billedSizeBytes ?? 0,
        })),
      end - r.start,
    ),
    faults: {
      failedExportsInjected: r.failedExportsInjected,
      transientErrorsInjected: aws.calls.records.filter((c) => c.injected).length + account.s3Counts.injected,
      duplicateDeliveries: deliveries.filter((d) => d.outcome === 'duplicate').length,
      skippedDeliveries: deliveries.filter((d) => d.outcome === 'skipped').length,
      pauses: workflow.pauses,
      resets: workflow.resets,
    },
    executions: {
      total: executions.length,
      succeeded: executions.filter((e) => e.status === 'SUCCEEDED').length,
      failed: executions.filter((e) => e.status === 'FAILED').length,
      aborted: executions.filter((e) => e.status === 'ABORTED' || e.status === 'RUNNING').length,
      invocations: runReport.invocations.length,
    },
    transitions: runReport.transitions,
    chain,
    phases: workflow.phases,
    finalPhase: workflow.finalPhase,
    cost: estimateMonthlyCost({
      days: options.days,
      transitions: runReport.transitions,
      invocations: runReport.invocations.length,
      lambdaMs,
      lambdaMemoryMb: handlerSpec?.memorySizeMb ?? 256,
      schedulerInvocations: deliveries.filter((d) => d.outcome === 'delivered' || d.outcome === 'duplicate')
        .length,
      s3PutsAndLists: account.s3Counts.putsAndLists,
      s3Gets: account.s3Counts.gets,
      snsPublishes: aws.calls.of('Publish', (c) => c.outcome === 'ok').length,
    }),
    replay,
    replica,
    iceberg: r.iceberg,
    dr: r.dr,
    ssm:
      options.ssm === 'memory'
        ? { via: 'in-process fake', requests: ssmRequests }
        : { via: 'local SSM server (real SSMClient over HTTP)', requests: ssmRequests },
    iam,
    s3: {
      tickRequests: account.s3Counts.putsAndLists + account.s3Counts.gets,
      exportWriterRequests: account.exportWriterRequests(),
    },
    wall: r.wall,
  };
}
