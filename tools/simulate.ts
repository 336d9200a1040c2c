/**
 * `npm run simulate` / `dce simulate`: the whole system offline on a simulated clock, then the chain
 * it produced checked and replayed for real.
 *
 * What runs is what deploys: the state machine definition from `renderDefinition` (run by
 * aws-local-stepfunctions through `sim/localRun.ts`) and the export tick handler from
 * `functions/exportTick.ts`. Around them:
 * - S3 is a local s3rver, reached by a real S3Client: the chain manifest the tick writes and the
 *   export files the fake export engine writes (in the AWS format, `cli/exportFormat.ts`) land there;
 * - SSM is the fake parameter store served over HTTP by `sim/ssmServer.ts`, reached by a real
 *   SSMClient: the tick's state, action and lock calls, and the operator's pause/resume, go over it;
 * - DynamoDB's export engine and SNS are in-process fakes (`sim/fakeAws`): no local server offers
 *   ExportTableToPointInTime;
 * - the source table is a synthetic workload with its full history (`sim/workload.ts`).
 * Afterwards `verify --deep` reads the chain from the local S3 server and `replay` writes it into a
 * local DynamoDB table (dynalite), which is compared item by item with the source table as of the
 * watermark.
 */
import '../sim/polyfills';
import { Command, InvalidArgumentError } from 'commander';
import type { Io } from '../cli/output';
import { EXIT, formatDuration, table } from '../cli/output';
import type { LocalRun as LocalRunType } from '../sim/localRun';

export type FaultLevel = 'none' | 'some' | 'chaos';

/** Flags of a simulation run. */
export interface SimulateOptions {
  /** Simulated days. */
  days: number;
  /** Writes per minute to the source table. */
  rate: number;
  /** Incremental window, minutes. */
  window: number;
  seed: number;
  faults: FaultLevel;
  /**
   * Where the exports and the chain manifest go: `server`, a local s3rver reached by a real S3Client
   * (the faithful path, ~10 ms a request), or `memory`, the in-process fake S3 (fast, for long runs).
   */
  s3: 'server' | 'memory';
  /**
   * How the tick and the operator reach SSM: `server`, the local SSM endpoint through a real SSMClient
   * (default), or `memory`, the in-process fake directly (skips HTTP and request signing).
   */
  ssm: 'server' | 'memory';
}

/** Where the run is, for a progress display. */
export interface SimulationProgress {
  phase: 'starting' | 'running' | 'verifying' | 'replaying' | 'comparing' | 'done';
  /** Simulated seconds run so far and in total (running phase). */
  simulatedSeconds: number;
  totalSeconds: number;
  /** Chain entries committed so far (sequence + 1). */
  committed: number;
  lagSeconds: number | null;
}

/** The report of a run; `--json` prints it as is. Times ISO 8601, durations seconds. */
export interface SimulationReport {
  ok: boolean;
  options: SimulateOptions;
  simulated: { start: string; end: string; days: number };
  source: { writes: number; itemsAtWatermark: number };
  windows: { committed: number; expected: number; incremental: number };
  exports: {
    started: number;
    completed: number;
    failed: number;
    /** Windows that needed more than one export request. */
    retriedWindows: number;
    inFlightAtEnd: number;
    billedBytes: number;
  };
  faults: {
    failedExportsInjected: number;
    transientErrorsInjected: number;
    duplicateDeliveries: number;
    skippedDeliveries: number;
    pauses: { from: string; to: string }[];
    resets: string[];
  };
  executions: { total: number; succeeded: number; failed: number; aborted: number; invocations: number };
  /** Billable Step Functions state transitions. */
  transitions: number;
  chain: {
    ok: boolean;
    epoch: string | null;
    entries: number;
    chainStart: string | null;
    watermark: string | null;
    lagSeconds: number | null;
    problems: { kind: string; key: string; message: string }[];
  };
  /** Workflow phase changes, sampled every simulated 15 minutes. */
  phases: { at: string; phase: string }[];
  finalPhase: string;
  /** Estimated monthly orchestration cost per table, USD (us-east-1 list prices). */
  cost: {
    monthlyUsd: number;
    items: { item: string; monthlyUsd: number; basis: string }[];
    notIncluded: string[];
  };
  replay: {
    ok: boolean;
    items: number;
    expectedItems: number;
    exportsApplied: number;
    puts: number;
    deletes: number;
    watermark: string | null;
    identical: boolean;
    firstDifferences: string[];
    error?: string;
  };
  ssm: {
    via: 'local SSM server (real SSMClient over HTTP)' | 'in-process fake';
    requests: Record<string, number>;
  };
  /** Requests to the local S3 server during the run: by the tick (chain manifest) and by the export engine. */
  s3: { tickRequests: number; exportWriterRequests: number };
  wall: { totalSeconds: number; simulationSeconds: number; verifySeconds: number; replaySeconds: number };
}

function positiveNumber(flag: string, integer: boolean, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
      throw new InvalidArgumentError(
        `${flag} ${JSON.stringify(value)}: expected a ${integer ? 'whole ' : ''}number from ${min} to ${max}`,
      );
    }
    return n;
  };
}

/** Parser of a flag that takes one of a few words; the error names the flag, the value and the choices. */
function oneOf<T extends string>(flag: string, choices: readonly T[]): (value: string) => T {
  return (value) => {
    if (!(choices as readonly string[]).includes(value)) {
      const list =
        choices.length > 1
          ? `${choices.slice(0, -1).join(', ')} or ${choices[choices.length - 1]}`
          : choices[0];
      throw new InvalidArgumentError(`${flag} ${JSON.stringify(value)}: expected ${list}`);
    }
    return value as T;
  };
}

/** Declares the simulate flags on a command (shared by `npm run simulate` and `dce simulate`). */
export function addSimulateOptions(cmd: Command): Command {
  return cmd
    .option('--days <n>', 'simulated days', positiveNumber('--days', false, 0.25, 366), 2)
    .option(
      '--rate <n>',
      'writes per minute to the source table',
      positiveNumber('--rate', false, 0.1, 10_000),
      4,
    )
    .option(
      '--window <minutes>',
      'incremental window in minutes (15..1440)',
      positiveNumber('--window', true, 15, 1440),
      15,
    )
    .option(
      '--seed <n>',
      'seed of the workload and the faults',
      (v) => {
        const n = Number(v);
        if (!Number.isInteger(n))
          throw new InvalidArgumentError(`--seed ${JSON.stringify(v)}: expected a whole number`);
        return n;
      },
      1,
    )
    .option(
      '--faults <level>',
      'injected faults: none | some (failed exports, transient errors, a pause, duplicate deliveries) | chaos (more of each, skipped deliveries, a reset)',
      oneOf('--faults', ['none', 'some', 'chaos']),
      'some',
    )
    .option(
      '--s3 <where>',
      'server: a local S3 server through a real S3Client (default); memory: the in-process fake S3, several times faster for long runs',
      oneOf('--s3', ['server', 'memory']),
      'server',
    )
    .option(
      '--ssm <where>',
      'server: the local SSM endpoint through a real SSMClient (default); memory: the in-process fake directly',
      oneOf('--ssm', ['server', 'memory']),
      'server',
    )
    .option('--fast', 'same as --s3 memory --ssm memory: in-process fakes for S3 and SSM, for long runs')
    .option('--json', 'print the report as JSON on stdout');
}

// ---- pieces of the run ---------------------------------------------------------------------------

/** Deterministic pseudo-random numbers for the fault plan (mulberry32). */
export function faultRandom(seed: number): () => number {
  let a = (seed ^ 0x9e3779b9) >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The faults of one run, decided up front from the level and the seed. */
export interface FaultPlan {
  /** Probability that the first attempt of an incremental window's export fails. */
  exportFailureRate: number;
  /** Attempts of a picked window that fail (1 or 2). */
  failedAttemptsPerWindow: number;
  /** The full export's first attempt fails. */
  failFullExportOnce: boolean;
  /** Probability of a transient error per call, by fake command. */
  transient: { command: string; error: string; rate: number }[];
  /** Probability of a transient S3 error (503 SlowDown) per call of the tick's S3 client. */
  s3TransientRate: number;
  duplicateRate: number;
  skipRate: number;
  /** Delivery delay upper bound, seconds. */
  maxDeliveryDelaySeconds: number;
  /** Operator pauses, as fractions of the run: [start, end). */
  pauses: [number, number][];
  /** Operator resets, as fractions of the run. */
  resets: number[];
}

/** Pure: what each fault level injects. */
export function faultPlan(level: FaultLevel): FaultPlan {
  switch (level) {
    case 'none':
      return {
        exportFailureRate: 0,
        failedAttemptsPerWindow: 0,
        failFullExportOnce: false,
        transient: [],
        s3TransientRate: 0,
        duplicateRate: 0,
        skipRate: 0,
        maxDeliveryDelaySeconds: 0,
        pauses: [],
        resets: [],
      };
    case 'some':
      return {
        exportFailureRate: 0.02,
        failedAttemptsPerWindow: 1,
        failFullExportOnce: false,
        transient: [
          { command: 'DescribeExport', error: 'ThrottlingException', rate: 0.02 },
          { command: 'ExportTableToPointInTime', error: 'InternalServerError', rate: 0.02 },
        ],
        s3TransientRate: 0,
        duplicateRate: 0.03,
        skipRate: 0,
        maxDeliveryDelaySeconds: 60,
        pauses: [[0.4, 0.55]],
        resets: [],
      };
    case 'chaos':
      return {
        exportFailureRate: 0.05,
        failedAttemptsPerWindow: 2,
        failFullExportOnce: true,
        transient: [
          { command: 'DescribeExport', error: 'ThrottlingException', rate: 0.05 },
          { command: 'DescribeContinuousBackups', error: 'ServiceUnavailable', rate: 0.03 },
          { command: 'ExportTableToPointInTime', error: 'LimitExceededException', rate: 0.05 },
          { command: 'PutParameter', error: 'ThrottlingException', rate: 0.02 },
          { command: 'GetParameters', error: 'InternalServerError', rate: 0.02 },
          { command: 'Publish', error: 'SdkClientException', rate: 0.05 },
        ],
        s3TransientRate: 0.01,
        duplicateRate: 0.1,
        skipRate: 0.05,
        maxDeliveryDelaySeconds: 90,
        pauses: [
          [0.2, 0.3],
          [0.5, 0.52],
        ],
        resets: [0.7],
      };
  }
}

/** USD list prices (us-east-1) used by the cost estimate. */
export const PRICES = {
  stepFunctionsPerTransition: 0.025 / 1000,
  lambdaPerRequest: 0.2 / 1_000_000,
  lambdaPerGbSecond: 0.0000166667,
  schedulerPerInvocation: 1 / 1_000_000,
  s3PutOrListPerRequest: 0.005 / 1000,
  s3GetPerRequest: 0.0004 / 1000,
  snsPerPublish: 0.5 / 1_000_000,
};

/** Pure: monthly orchestration cost from the counts of a run that lasted `days`. */
export function estimateMonthlyCost(counts: {
  days: number;
  transitions: number;
  invocations: number;
  /** Sum of handler durations, ms (each rounded up to 1 ms, as Lambda bills). */
  lambdaMs: number;
  lambdaMemoryMb: number;
  schedulerInvocations: number;
  s3PutsAndLists: number;
  s3Gets: number;
  snsPublishes: number;
}): SimulationReport['cost'] {
  const perMonth = 30 / counts.days;
  const gbSeconds = (counts.lambdaMs / 1000) * (counts.lambdaMemoryMb / 1024);
  const items = [
    {
      item: 'Step Functions (Standard) state transitions',
      monthlyUsd: counts.transitions * perMonth * PRICES.stepFunctionsPerTransition,
      basis: `${Math.round(counts.transitions * perMonth)} transitions`,
    },
    {
      item: 'Lambda requests and duration',
      monthlyUsd:
        perMonth * (counts.invocations * PRICES.lambdaPerRequest + gbSeconds * PRICES.lambdaPerGbSecond),
      basis: `${Math.round(counts.invocations * perMonth)} invocations, ${Math.round(gbSeconds * perMonth)} GB-s at ${counts.lambdaMemoryMb} MB`,
    },
    {
      item: 'EventBridge Scheduler',
      monthlyUsd: counts.schedulerInvocations * perMonth * PRICES.schedulerPerInvocation,
      basis: `${Math.round(counts.schedulerInvocations * perMonth)} invocations`,
    },
    {
      item: 'S3 requests of the chain manifest',
      monthlyUsd:
        perMonth *
        (counts.s3PutsAndLists * PRICES.s3PutOrListPerRequest + counts.s3Gets * PRICES.s3GetPerRequest),
      basis: `${Math.round(counts.s3PutsAndLists * perMonth)} PUT/LIST, ${Math.round(counts.s3Gets * perMonth)} GET/HEAD`,
    },
    {
      item: 'SNS notifications',
      monthlyUsd: counts.snsPublishes * perMonth * PRICES.snsPerPublish,
      basis: `${Math.round(counts.snsPublishes * perMonth)} publishes`,
    },
  ];
  return {
    monthlyUsd: items.reduce((sum, i) => sum + i.monthlyUsd, 0),
    items,
    notIncluded: [
      'DynamoDB export charges (per GB of data exported)',
      'S3 storage of the exports',
      'CloudWatch custom metrics, dashboard and alarms (fixed monthly charges)',
      'SSM standard parameters and their API calls (no charge at standard throughput)',
    ],
  };
}

/**
 * Pure: compares two tables given as canonical item texts keyed by the item key; returns up to
 * `limit` readable differences.
 */
export function tableDifferences(
  expected: Map<string, string>,
  actual: Map<string, string>,
  limit = 5,
): string[] {
  const out: string[] = [];
  const keys = [...new Set([...expected.keys(), ...actual.keys()])].sort();
  for (const key of keys) {
    if (out.length >= limit) break;
    const e = expected.get(key);
    const a = actual.get(key);
    if (e === a) continue;
    if (a === undefined) out.push(`missing in the replayed table: ${key}`);
    else if (e === undefined) out.push(`not in the source table: ${key}`);
    else out.push(`differs: ${key}\n      source:   ${truncate(e)}\n      replayed: ${truncate(a)}`);
  }
  return out;
}

function truncate(text: string, max = 160): string {
  return text.length <= max ? text : `${text.slice(0, max)}...`;
}

/** Real wall-clock epoch ms, also while the simulated clock is installed (performance is not faked). */
function realNowMs(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * The modules a run needs, loaded on first use so that `dce --help` and `dce status` start quickly.
 * `require`, not `import()`: under `tsx/cjs` (bin/dce.js, mocha) a dynamic import of a .ts file goes
 * to Node's ESM loader, which cannot load it.
 */
function loadRunModules() {
  /* eslint-disable @typescript-eslint/no-require-imports */
  return {
    ...(require('@aws-sdk/client-s3') as typeof import('@aws-sdk/client-s3')),
    ...(require('@aws-sdk/client-ssm') as typeof import('@aws-sdk/client-ssm')),
    ...(require('@aws-sdk/client-dynamodb') as typeof import('@aws-sdk/client-dynamodb')),
    ...(require('../functions/exportTick') as typeof import('../functions/exportTick')),
    ...(require('../sim/localRun') as typeof import('../sim/localRun')),
    ...(require('../sim/fakeAws') as typeof import('../sim/fakeAws')),
    ...(require('../sim/workload') as typeof import('../sim/workload')),
    ...(require('../sim/servers') as typeof import('../sim/servers')),
    ...(require('../sim/ssmServer') as typeof import('../sim/ssmServer')),
    ...(require('../format') as typeof import('../format')),
    ...(require('../cli/verify') as typeof import('../cli/verify')),
    ...(require('../cli/replay') as typeof import('../cli/replay')),
    ...(require('../functions/state') as typeof import('../functions/state')),
    ...(require('../cli/status') as typeof import('../cli/status')),
    ...(require('../cli/operator') as typeof import('../cli/operator')),
    ...(require('../functions/lambdaHandlers') as typeof import('../functions/lambdaHandlers')),
  };
  /* eslint-enable @typescript-eslint/no-require-imports */
}

/**
 * Runs one simulation. Servers are started and always stopped; the simulated clock is installed only
 * while the workflow runs.
 */
export async function runSimulation(
  options: SimulateOptions,
  hooks: { onProgress?: (p: SimulationProgress) => void } = {},
): Promise<SimulationReport> {
  const wallStart = realNowMs();
  const {
    S3Client,
    SSMClient,
    CreateTableCommand,
    ScanCommand,
    createExportTickHandler,
    LocalRun,
    createFakeAws,
    serviceError,
    generateWorkload,
    canonicalTable,
    WORKLOAD_KEY_ATTRIBUTES,
    startLocalS3,
    startLocalDynamoDb,
    S3RVER_CREDENTIALS,
    startSsmServer,
    S3ExportSink,
    verifyChain,
    replayChain,
    initialStateJson,
    deriveStatus,
    setAction,
    LAMBDA_HANDLERS,
  } = loadRunModules();
  const plan = faultPlan(options.faults);
  const random = faultRandom(options.seed);
  const progress = hooks.onProgress ?? (() => undefined);
  const windowSeconds = options.window * 60;
  // A fixed start keeps runs with the same flags identical (epoch ids, keys, counts).
  const start = Date.UTC(2026, 10, 2, 0, 0, 0) / 1000;
  const totalSeconds = Math.round(options.days * 86400);
  const end = start + totalSeconds;
  const alias = 'orders';
  const stack = 'simulation';
  const bucket = 'dce-simulation-exports';
  const prefix = `exports/${alias}`;
  const parameterRoot = `/dynamodb-continuous-exports/${stack}/${alias}`;
  const keySpace = Math.max(200, Math.round(options.rate * 100));

  progress({ phase: 'starting', simulatedSeconds: 0, totalSeconds, committed: 0, lagSeconds: null });
  const source = generateWorkload({
    from: start - 6 * 3600,
    to: end + 3600,
    writesPerMinute: options.rate,
    seed: options.seed,
    keySpace,
  });

  const localS3 = await startLocalS3();
  const cleanup: (() => Promise<void>)[] = [() => localS3.stop()];
  let run: LocalRunType | undefined;
  try {
    // In a child process: the replay's writes are then served on the other core.
    const localDynamoDb = await startLocalDynamoDb({ childProcess: true });
    cleanup.push(() => localDynamoDb.stop());
    await localS3.createBucket(bucket);

    // ---- the offline account ----
    const localS3Config = {
      endpoint: localS3.endpoint,
      forcePathStyle: true,
      region: 'us-east-1',
      credentials: S3RVER_CREDENTIALS,
    };
    const tickS3 = new S3Client({
      ...localS3Config,
      // Retries are the handler's job (with its own back-off on the simulated clock); an SDK retry
      // would wait on the simulated clock while the run waits for the call: a deadlock.
      maxAttempts: 1,
      // The middleware stack is resolved once per command type instead of on every call (tens of
      // thousands of calls in a long run); nothing adds middleware after the first call.
      cacheMiddleware: true,
    });
    cleanup.push(async () => tickS3.destroy());
    // The export engine's own client (it stands in for DynamoDB writing to S3, not for the
    // workflow): no flexible checksums, which only cost time against the local server.
    const sinkClient = new S3Client({
      ...localS3Config,
      maxAttempts: 1,
      cacheMiddleware: true,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    cleanup.push(async () => sinkClient.destroy());
    const s3Counts = { putsAndLists: 0, gets: 0, injected: 0 };
    const s3ForTick = {
      async send(command: any): Promise<any> {
        const name: string = command.constructor.name;
        if (/^(Put|List|Copy|Delete)/.test(name)) s3Counts.putsAndLists += 1;
        else s3Counts.gets += 1;
        if (plan.s3TransientRate > 0 && random() < plan.s3TransientRate) {
          s3Counts.injected += 1;
          throw serviceError('SlowDown', 'Please reduce your request rate. (injected)', 503);
        }
        return rawS3.send(command);
      },
    };
    // The export engine writes files to the same S3, but without counting or injected faults:
    // those writes are DynamoDB's, not the workflow's.
    let sinkRequests = 0;
    const sinkS3 = {
      send(command: any): Promise<any> {
        sinkRequests += 1;
        if (options.s3 === 'memory') return aws.s3.send(command);
        (sinkClient.config as any).systemClockOffset = realNowMs() - Date.now();
        return sinkClient.send(command);
      },
    };
    const aws = createFakeAws({
      region: 'us-east-1',
      sink: new S3ExportSink(sinkS3),
      restorableLagSeconds: 300,
    });
    aws.s3.createBucket(bucket);
    // The S3 every part of the run uses: the tick, the export engine, verify and replay.
    const rawS3: { send(command: any): Promise<any> } =
      options.s3 === 'memory'
        ? aws.s3
        : {
            send(command: any): Promise<any> {
              // s3rver checks request signatures against its real clock (15 minutes of skew at
              // most), while this process runs on the simulated one: sign with real time.
              (tickS3.config as any).systemClockOffset = realNowMs() - Date.now();
              return tickS3.send(command);
            },
          };
    const readS3 = options.s3 === 'memory' ? aws.s3 : localS3.client;
    const tableArn = aws.dynamodb.addTable({
      name: alias,
      source,
      pitrEnabledAt: (start - 86400) * 1000,
    });

    const ssmServer = await startSsmServer(aws.ssm);
    cleanup.push(() => ssmServer.close());
    const ssmClient = new SSMClient({
      endpoint: ssmServer.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
      cacheMiddleware: true,
    });
    cleanup.push(async () => ssmClient.destroy());
    const ssm = options.ssm === 'memory' ? aws.ssm : ssmClient;

    const settings = {
      alias,
      tableName: alias,
      tableArn,
      bucket,
      prefix,
      exportFormat: 'DYNAMODB_JSON' as const,
      exportViewType: 'NEW_AND_OLD_IMAGES' as const,
      windowMinutes: options.window,
      maxCatchUpWindowMinutes: 1440,
      restorableMarginSeconds: 60,
      maxInFlight: 4,
      schedulePeriodMinutes: Math.min(options.window, 60),
      lagAlertMinutes: 3 * options.window + 30,
      onPitrGap: 'alert' as const,
      notifyOnSuccess: false,
      notificationTopicArn: `arn:aws:sns:us-east-1:${aws.account}:${alias}-notifications`,
      stateParameterName: `${parameterRoot}/state`,
      actionParameterName: `${parameterRoot}/action`,
      lockParameterName: `${parameterRoot}/lock`,
      metricNamespace: 'DynamoDBContinuousExports',
    };
    // What `pulumi up` creates.
    aws.ssm.set(settings.stateParameterName, initialStateJson());
    aws.ssm.set(settings.actionParameterName, 'RUN');

    // ---- faults ----
    let failedExportsInjected = 0;
    const failedAttempts = new Map<string, number>();
    if (plan.exportFailureRate > 0 || plan.failFullExportOnce) {
      const pickedWindows = new Map<number, boolean>();
      aws.dynamodb.failNextExports((request) => {
        const id = request.type === 'FULL_EXPORT' ? 'full' : String(request.from);
        let picked: boolean;
        if (request.type === 'FULL_EXPORT') picked = plan.failFullExportOnce && !failedAttempts.has('full');
        else {
          if (!pickedWindows.has(request.from!))
            pickedWindows.set(request.from!, random() < plan.exportFailureRate);
          picked = pickedWindows.get(request.from!)!;
        }
        const limit = request.type === 'FULL_EXPORT' ? 1 : plan.failedAttemptsPerWindow;
        if (!picked || (failedAttempts.get(id) ?? 0) >= limit) return false;
        failedAttempts.set(id, (failedAttempts.get(id) ?? 0) + 1);
        failedExportsInjected += 1;
        return true;
      }, 'S3AccessDenied');
    }
    for (const t of plan.transient) {
      aws.injectFault({
        command: t.command,
        error: t.error as any,
        times: Infinity,
        when: () => random() < t.rate,
      });
    }

    const handlerSpec = LAMBDA_HANDLERS.find((h) => h.name === 'export-tick');
    run = await LocalRun.create({
      settings,
      aws,
      clients: { s3: s3ForTick, ssm },
      createHandler: (clients, s) => createExportTickHandler({ clients, settings: s, log: () => undefined }),
      start: start * 1000,
      scheduler: {
        deliveryDelaySeconds: () => Math.floor(random() * (plan.maxDeliveryDelaySeconds + 1)),
        duplicates: () => (random() < plan.duplicateRate ? 1 : 0),
        skip: () => plan.skipRate > 0 && random() < plan.skipRate,
      },
    });

    // The SDK's HTTP handler clears timer ids it never set (-1) after each request; the simulated
    // clock would warn about "native timers" on the first one. Passing them to the real
    // clearTimeout is what happens without a simulated clock.
    (run.clock as unknown as { shouldClearNativeTimers: boolean }).shouldClearNativeTimers = true;

    // ---- the run, in steps of a quarter hour: phases are sampled and operator actions applied ----
    const simStart = realNowMs();
    const phases: { at: string; phase: string }[] = [];
    const pauses: { from: string; to: string }[] = [];
    const resets: string[] = [];
    const step = 900;
    const events = [
      ...plan.pauses.flatMap(([a, b]) => [
        { at: start + Math.round((a * totalSeconds) / step) * step, action: 'PAUSE' as const },
        { at: start + Math.round((b * totalSeconds) / step) * step, action: 'RUN' as const },
      ]),
      ...plan.resets.map((f) => ({
        at: start + Math.round((f * totalSeconds) / step) * step,
        action: 'RESET' as const,
      })),
    ].sort((x, y) => x.at - y.at);
    let pauseStartedAt: number | null = null;
    const sample = (now: number) => {
      const report = deriveStatus(alias, {
        action: aws.ssm.get(settings.actionParameterName) ?? null,
        stateText: aws.ssm.get(settings.stateParameterName) ?? null,
        stateParameterName: settings.stateParameterName,
        now,
        windowMinutes: options.window,
      });
      if (phases.length === 0 || phases[phases.length - 1].phase !== report.phase) {
        phases.push({ at: new Date(now * 1000).toISOString(), phase: report.phase });
      }
      return report;
    };
    sample(start);
    for (let t = start + step; t <= end; t += step) {
      await run.runUntil(t * 1000);
      for (const e of events.filter((x) => x.at === t)) {
        // The operator's command, through the same code and the same SSM endpoint as `dce pause`.
        await setAction({
          ssm,
          alias,
          parameterName: settings.actionParameterName,
          stateParameterName: settings.stateParameterName,
          action: e.action,
        });
        if (e.action === 'PAUSE') pauseStartedAt = t;
        if (e.action === 'RUN' && pauseStartedAt !== null) {
          pauses.push({
            from: new Date(pauseStartedAt * 1000).toISOString(),
            to: new Date(t * 1000).toISOString(),
          });
          pauseStartedAt = null;
        }
        if (e.action === 'RESET') resets.push(new Date(t * 1000).toISOString());
      }
      const status = sample(t);
      progress({
        phase: 'running',
        simulatedSeconds: t - start,
        totalSeconds,
        committed: (status.lastSequence ?? -1) + 1,
        lagSeconds: status.lagSeconds,
      });
    }
    if (run.now < end * 1000) await run.runUntil(end * 1000);
    const runReport = run.report();
    const deliveries = run.scheduler.deliveries;
    await run.dispose();
    run = undefined;
    const simulationSeconds = (realNowMs() - simStart) / 1000;

    // ---- what the run left behind ----
    const finalStatus = deriveStatus(alias, {
      action: aws.ssm.get(settings.actionParameterName) ?? null,
      stateText: aws.ssm.get(settings.stateParameterName) ?? null,
      stateParameterName: settings.stateParameterName,
      now: end,
      windowMinutes: options.window,
    });
    const allExports = [...aws.dynamodb.exports.values()];
    const byWindow = new Map<string, number>();
    for (const e of allExports) {
      const key = `${e.request.type}:${e.request.exportTime ?? e.request.from}:${e.request.to ?? ''}`;
      byWindow.set(key, (byWindow.get(key) ?? 0) + 1);
    }
    const endMs = end * 1000;
    const exportsSummary = {
      started: allExports.length,
      completed: allExports.filter((e) => !e.fails && e.endTime <= endMs).length,
      failed: allExports.filter((e) => e.fails && e.endTime <= endMs).length,
      retriedWindows: [...byWindow.values()].filter((n) => n > 1).length,
      inFlightAtEnd: allExports.filter((e) => e.endTime > endMs).length,
      billedBytes: allExports.reduce((sum, e) => sum + (e.outcome?.billedSizeBytes ?? 0), 0),
    };
    const transientErrorsInjected = aws.calls.records.filter((r) => r.injected).length + s3Counts.injected;
    const executions = runReport.executions;
    const lambdaMs = runReport.invocations.reduce((sum, i) => sum + Math.max(1, Math.ceil(i.realMs ?? 0)), 0);
    const cost = estimateMonthlyCost({
      days: options.days,
      transitions: runReport.transitions,
      invocations: runReport.invocations.length,
      lambdaMs,
      lambdaMemoryMb: handlerSpec?.memorySizeMb ?? 256,
      schedulerInvocations: deliveries.filter((d) => d.outcome === 'delivered' || d.outcome === 'duplicate')
        .length,
      s3PutsAndLists: s3Counts.putsAndLists,
      s3Gets: s3Counts.gets,
      snsPublishes: aws.calls.of('Publish', (r) => r.outcome === 'ok').length,
    });

    // ---- verify --deep, for real against the local S3 server ----
    progress({
      phase: 'verifying',
      simulatedSeconds: totalSeconds,
      totalSeconds,
      committed: 0,
      lagSeconds: null,
    });
    const verifyStart = realNowMs();
    let chain: SimulationReport['chain'];
    try {
      const v = await verifyChain({ s3: readS3, bucket, prefix, deep: true });
      const watermarkSeconds = v.watermark ? Date.parse(v.watermark) / 1000 : null;
      chain = {
        ok: v.ok,
        epoch: v.epoch,
        entries: v.entries,
        chainStart: v.chainStart ?? null,
        watermark: v.watermark ?? null,
        lagSeconds: watermarkSeconds === null ? null : end - watermarkSeconds,
        problems: v.problems,
      };
    } catch (error) {
      chain = {
        ok: false,
        epoch: null,
        entries: 0,
        chainStart: null,
        watermark: null,
        lagSeconds: null,
        problems: [{ kind: 'unreadable', key: `${prefix}/chain/`, message: (error as Error).message }],
      };
    }
    const verifySeconds = (realNowMs() - verifyStart) / 1000;

    // ---- replay into a local DynamoDB table, then compare with the source as of the watermark ----
    progress({
      phase: 'replaying',
      simulatedSeconds: totalSeconds,
      totalSeconds,
      committed: 0,
      lagSeconds: null,
    });
    const replayStart = realNowMs();
    const targetTable = `${alias}-replayed`;
    const keyOf = (item: Record<string, any>) =>
      WORKLOAD_KEY_ATTRIBUTES.map((k) => `${k}=${JSON.stringify(item[k]?.S ?? item[k]?.N)}`).join(' ');
    const canonicalByKey = (items: Record<string, any>[]) =>
      new Map(items.map((item) => [keyOf(item), canonicalTable([item])[0]]));
    let replay: SimulationReport['replay'];
    try {
      await localDynamoDb.client.send(
        new CreateTableCommand({
          TableName: targetTable,
          AttributeDefinitions: [
            { AttributeName: 'pk', AttributeType: 'S' },
            { AttributeName: 'sk', AttributeType: 'N' },
          ],
          KeySchema: [
            { AttributeName: 'pk', KeyType: 'HASH' },
            { AttributeName: 'sk', KeyType: 'RANGE' },
          ],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
      const r = await replayChain({
        s3: readS3,
        dynamodb: localDynamoDb.client,
        bucket,
        prefix,
        targetTable,
        concurrency: 8,
      });
      progress({
        phase: 'comparing',
        simulatedSeconds: totalSeconds,
        totalSeconds,
        committed: 0,
        lagSeconds: null,
      });
      const replayed: Record<string, any>[] = [];
      let startKey: Record<string, any> | undefined;
      do {
        const page: any = await localDynamoDb.client.send(
          new ScanCommand({ TableName: targetTable, ExclusiveStartKey: startKey }),
        );
        replayed.push(...(page.Items ?? []));
        startKey = page.LastEvaluatedKey;
      } while (startKey);
      const watermark = r.watermark ? Date.parse(r.watermark) / 1000 : null;
      const expectedItems = watermark === null ? [] : source.snapshotBefore(watermark);
      const expected = canonicalByKey(expectedItems);
      const actual = canonicalByKey(replayed);
      const firstDifferences = tableDifferences(expected, actual);
      const identical = firstDifferences.length === 0 && expected.size === actual.size;
      replay = {
        ok: identical && watermark !== null,
        items: replayed.length,
        expectedItems: expectedItems.length,
        exportsApplied: r.entriesApplied,
        puts: r.puts,
        deletes: r.deletes,
        watermark: r.watermark ?? null,
        identical,
        firstDifferences,
      };
    } catch (error) {
      replay = {
        ok: false,
        items: 0,
        expectedItems: 0,
        exportsApplied: 0,
        puts: 0,
        deletes: 0,
        watermark: null,
        identical: false,
        firstDifferences: [],
        error: (error as Error).message,
      };
    }
    const replaySeconds = (realNowMs() - replayStart) / 1000;

    const chainStartSeconds = chain.chainStart ? Date.parse(chain.chainStart) / 1000 : start;
    const watermarkSeconds = chain.watermark ? Date.parse(chain.watermark) / 1000 : chainStartSeconds;
    const report: SimulationReport = {
      ok: chain.ok && replay.ok,
      options,
      simulated: {
        start: new Date(start * 1000).toISOString(),
        end: new Date(end * 1000).toISOString(),
        days: options.days,
      },
      source: { writes: source.writeCount, itemsAtWatermark: replay.expectedItems },
      windows: {
        committed: chain.entries,
        // Incremental windows that fit between the chain start and the watermark.
        expected: Math.max(0, Math.floor((watermarkSeconds - chainStartSeconds) / windowSeconds)),
        incremental: Math.max(0, chain.entries - 1),
      },
      exports: exportsSummary,
      faults: {
        failedExportsInjected,
        transientErrorsInjected,
        duplicateDeliveries: deliveries.filter((d) => d.outcome === 'duplicate').length,
        skippedDeliveries: deliveries.filter((d) => d.outcome === 'skipped').length,
        pauses,
        resets,
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
      phases,
      finalPhase: finalStatus.phase,
      cost,
      replay,
      ssm:
        options.ssm === 'memory'
          ? {
              via: 'in-process fake',
              requests: aws.calls.records
                .filter((c) => c.service === 'ssm')
                .reduce<Record<string, number>>(
                  (acc, c) => ((acc[c.action] = (acc[c.action] ?? 0) + 1), acc),
                  {},
                ),
            }
          : { via: 'local SSM server (real SSMClient over HTTP)', requests: { ...ssmServer.requests } },
      s3: { tickRequests: s3Counts.putsAndLists + s3Counts.gets, exportWriterRequests: sinkRequests },
      wall: { totalSeconds: 0, simulationSeconds, verifySeconds, replaySeconds },
    };
    progress({
      phase: 'done',
      simulatedSeconds: totalSeconds,
      totalSeconds,
      committed: chain.entries,
      lagSeconds: chain.lagSeconds,
    });
    report.wall.totalSeconds = (realNowMs() - wallStart) / 1000;
    return report;
  } finally {
    if (run) await run.dispose().catch(() => undefined);
    for (const stop of cleanup.reverse()) await stop().catch(() => undefined);
  }
}

/** The report a person reads at a glance. */
export function formatSimulationReport(r: SimulationReport): string {
  const usd = (n: number) => (n < 0.01 ? `$${n.toFixed(4)}` : `$${n.toFixed(2)}`);
  const lines: string[] = [];
  lines.push(
    `dynamodb-continuous-exports simulation: ${r.ok ? 'OK' : 'FAILED'}`,
    '',
    table([
      [
        'simulated',
        `${r.options.days} days (${r.simulated.start} .. ${r.simulated.end}), ${r.options.window}-minute windows`,
      ],
      [
        'workload',
        `${r.options.rate} writes/min, ${r.source.writes} writes, seed ${r.options.seed}, faults ${r.options.faults}`,
      ],
      [
        'windows',
        `${r.windows.committed} committed (1 full + ${r.windows.incremental} incremental; ${r.windows.expected} window lengths between chain start and watermark)`,
      ],
      [
        'exports',
        `${r.exports.started} started, ${r.exports.completed} completed, ${r.exports.failed} failed, ${r.exports.retriedWindows} windows retried, ${r.exports.inFlightAtEnd} in flight at the end`,
      ],
      [
        'faults',
        `${r.faults.failedExportsInjected} failed exports, ${r.faults.transientErrorsInjected} transient errors, ${r.faults.duplicateDeliveries} duplicate and ${r.faults.skippedDeliveries} skipped deliveries, ${plural(r.faults.pauses.length, 'pause')}, ${plural(r.faults.resets.length, 'reset')}`,
      ],
      [
        'executions',
        `${r.executions.total} (${r.executions.succeeded} succeeded, ${r.executions.failed} failed, ${r.executions.aborted} still running at the end), ${r.executions.invocations} Lambda invocations, ${r.transitions} state transitions`,
      ],
      [
        'chain',
        r.chain.ok
          ? `OK (verify --deep): epoch ${r.chain.epoch}, ${r.chain.entries} entries, gap-free`
          : `PROBLEMS (${r.chain.problems.length})`,
      ],
      [
        'watermark',
        `${r.chain.watermark ?? '-'} (lag ${r.chain.lagSeconds === null ? '-' : formatDuration(r.chain.lagSeconds)} at the end)`,
      ],
      ['phases', r.phases.map((p) => `${p.phase} ${p.at.slice(5, 16).replace('T', ' ')}`).join(' -> ')],
      [
        'replay',
        r.replay.error
          ? `FAILED: ${r.replay.error}`
          : `${r.replay.items} items from ${r.replay.exportsApplied} exports (${r.replay.puts} puts, ${r.replay.deletes} deletes): ${
              r.replay.identical
                ? `identical to the source as of the watermark (${r.replay.expectedItems} items)`
                : `DIFFERS from the source (${r.replay.expectedItems} items expected)`
            }`,
      ],
      [
        'cost',
        `about ${usd(r.cost.monthlyUsd)}/month per table for orchestration (${r.cost.items.map((i) => `${i.item.split(' ')[0]} ${usd(i.monthlyUsd)}`).join(', ')})`,
      ],
      [
        'wall time',
        `${r.wall.totalSeconds.toFixed(1)} s (simulation ${r.wall.simulationSeconds.toFixed(1)} s, verify ${r.wall.verifySeconds.toFixed(1)} s, replay ${r.wall.replaySeconds.toFixed(1)} s)`,
      ],
    ]),
  );
  for (const p of r.chain.problems.slice(0, 10))
    lines.push(`  chain problem: ${p.kind}: ${p.message} (${p.key})`);
  for (const d of r.replay.firstDifferences) lines.push(`  replay: ${d}`);
  return lines.join('\n');
}

/** A progress display: a bar over simulated time on a terminal, a line per simulated day otherwise. */
function progressDisplay(
  io: Io,
  enabled: boolean,
): { update: (p: SimulationProgress) => void; stop: () => void } {
  if (!enabled) return { update: () => undefined, stop: () => undefined };
  if (io.stderr.isTTY) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const cliProgress = require('cli-progress') as typeof import('cli-progress');
    const bar: any = new cliProgress.SingleBar(
      {
        stream: io.stderr as NodeJS.WritableStream,
        format: ' {phase} [{bar}] {percentage}% | day {day} | {committed} windows committed | lag {lag}',
        gracefulExit: false,
      },
      cliProgress.Presets.shades_classic,
    );
    // cli-progress redraws from a timer, and timers follow the simulated clock while the workflow
    // runs (they would fire at simulated times, and one created before the clock was installed
    // could not be cleared). So the bar is drawn on each update instead, with the base class's
    // timer-free render, update and stop.
    const base = Object.getPrototypeOf(cliProgress.SingleBar.prototype);
    bar.render = () => base.render.call(bar);
    let started = false;
    return {
      update: (p) => {
        const payload = {
          phase: p.phase.padEnd(9),
          day: (p.simulatedSeconds / 86400).toFixed(1),
          committed: p.committed,
          lag: p.lagSeconds === null ? '-' : formatDuration(p.lagSeconds),
        };
        if (!started) {
          bar.start(p.totalSeconds, p.simulatedSeconds, payload);
          started = true;
        } else {
          base.update.call(bar, p.simulatedSeconds, payload);
          bar.render();
        }
      },
      stop: () => {
        if (!started) return;
        bar.render();
        base.stop.call(bar);
        bar.terminal.newline();
      },
    };
  }
  let lastDay = -1;
  return {
    update: (p) => {
      if (p.phase === 'running') {
        const day = Math.floor(p.simulatedSeconds / 86400);
        if (day === lastDay || p.simulatedSeconds % 86400 !== 0) return;
        lastDay = day;
        io.stderr.write(
          `simulate: day ${day}/${Math.ceil(p.totalSeconds / 86400)}, ${p.committed} windows committed, lag ${p.lagSeconds === null ? '-' : formatDuration(p.lagSeconds)}\n`,
        );
      } else if (p.phase !== 'done') io.stderr.write(`simulate: ${p.phase}\n`);
    },
    stop: () => undefined,
  };
}

/** Runs a simulation from parsed flags and prints the report; resolves to the exit code. */
export async function simulateCommand(opts: Record<string, unknown>, io: Io): Promise<number> {
  const options: SimulateOptions = {
    days: Number(opts.days ?? 2),
    rate: Number(opts.rate ?? 4),
    window: Number(opts.window ?? 15),
    seed: Number(opts.seed ?? 1),
    faults: (opts.faults as FaultLevel) ?? 'some',
    s3: opts.s3 === 'memory' || opts.fast ? 'memory' : 'server',
    ssm: opts.ssm === 'memory' || opts.fast ? 'memory' : 'server',
  };
  const json = Boolean(opts.json);
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const display = progressDisplay(io, !json);
  let report: SimulationReport;
  try {
    report = await runSimulation(options, { onProgress: display.update });
  } finally {
    display.stop();
  }
  if (json) io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else io.stdout.write(`${formatSimulationReport(report)}\n`);
  return report.ok ? EXIT.OK : EXIT.PROBLEMS;
}

/** `npm run simulate -- [flags]`. */
async function main(): Promise<void> {
  const program = addSimulateOptions(
    new Command('simulate').description(
      'Run dynamodb-continuous-exports offline on a simulated clock, verify and replay the chain, and print a report. See docs/simulate.md.',
    ),
  );
  // Bad flags exit with 2, as in `dce`: nothing was simulated.
  program.exitOverride((error) => {
    process.exit(error.exitCode === 0 ? 0 : EXIT.USAGE);
  });
  program.parse(process.argv);
  const io: Io = {
    stdout: process.stdout,
    stderr: process.stderr,
    stdinIsTTY: Boolean(process.stdin.isTTY),
    env: process.env,
    now: () => Math.floor(Date.now() / 1000),
  };
  try {
    process.exitCode = await simulateCommand(program.opts(), io);
  } catch (error) {
    process.stderr.write(`simulate: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = EXIT.USAGE;
  }
}

if (require.main === module) void main();

/** `1 pause`, `2 pauses`. */
function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
