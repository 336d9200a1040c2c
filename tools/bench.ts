/**
 * `npm run bench`: what one table costs and how fresh its chain is, measured by running the deployed
 * definition and the real export tick on the simulated clock against the offline AWS account.
 *
 * Steady day: 15-minute windows and schedule, incremental exports take 6 minutes, full exports 10,
 * LatestRestorableDateTime trails now by 5 minutes. Figures only, no assertions.
 */
import '../sim/polyfills';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
import { chainEpochPrefix, chainHeadKey, type ChainEntry } from '../functions/shared/chainManifest';
import { parseState } from '../functions/chain/state';
import { tickRoleForSettings } from '../cli/deployedAccess';
import { ACCOUNT, REGION, startScenario, type Scenario } from '../sim/scenario';
import { exportCostTable } from './benchWindows';

/** The tick runs under the role the component deploys: every call is evaluated as AWS would. */
const tickRole = (settings: Parameters<typeof tickRoleForSettings>[0]) =>
  tickRoleForSettings(settings, { region: REGION, account: ACCOUNT });

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const DAYS_PER_MONTH = 730 / 24;

/** Public prices (us-east-1), per the project's reference notes. */
const PRICE = {
  stepFunctionsPerTransition: 0.025 / 1000,
  stepFunctionsFreeTransitions: 4000,
  lambdaPerRequest: 0.2 / 1e6,
  lambdaPerGbSecondArm: 0.0000133334,
  lambdaFreeRequests: 1e6,
  lambdaFreeGbSeconds: 400_000,
  schedulerPerInvocation: 1 / 1e6,
  schedulerFreeInvocations: 14e6,
};
const LAMBDA_MEMORY_GB = 256 / 1024;
/** Duration assumed for one invocation in AWS: about eight AWS calls of 20-40 ms plus start-up. */
const ASSUMED_LAMBDA_MS = 300;

interface Stats {
  avg: number;
  max: number;
  n: number;
}

function stats(values: number[]): Stats {
  if (values.length === 0) return { avg: Number.NaN, max: Number.NaN, n: 0 };
  return {
    avg: values.reduce((a, b) => a + b, 0) / values.length,
    max: Math.max(...values),
    n: values.length,
  };
}

const f = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '-');
const usd = (n: number) => `$${n.toFixed(n < 1 ? 4 : 2)}`;

/** Per-window figures of a steady day, for the side-by-side comparison. */
interface SteadyFigures {
  transitionsPerWindow: number;
  invocationsPerWindow: number;
  describesPerExport: number;
  startLagSeconds: number;
}

/** Executions, invocations and state transitions of one simulated day. */
interface PerDay {
  transitions: number;
  invocations: number;
  schedules: number;
}

const month = (n: number) => n * DAYS_PER_MONTH;

/** Monthly cost of one table's orchestration at the given counts per day. */
function monthlyCost(perDay: PerDay, lambdaMs: number, freeTier: boolean) {
  const t = month(perDay.transitions);
  const r = month(perDay.invocations);
  const gbs = (r * lambdaMs * LAMBDA_MEMORY_GB) / 1000;
  const s = month(perDay.schedules);
  const sf =
    Math.max(0, t - (freeTier ? PRICE.stepFunctionsFreeTransitions : 0)) * PRICE.stepFunctionsPerTransition;
  const lambda =
    Math.max(0, r - (freeTier ? PRICE.lambdaFreeRequests : 0)) * PRICE.lambdaPerRequest +
    Math.max(0, gbs - (freeTier ? PRICE.lambdaFreeGbSeconds : 0)) * PRICE.lambdaPerGbSecondArm;
  const scheduler =
    Math.max(0, s - (freeTier ? PRICE.schedulerFreeInvocations : 0)) * PRICE.schedulerPerInvocation;
  return { sf, lambda, scheduler, total: sf + lambda + scheduler };
}

function printMonthlyCost(perDay: PerDay): void {
  console.log(
    `\nMonthly cost per table (${f(DAYS_PER_MONTH, 2)} days, arm64 256 MB, ${ASSUMED_LAMBDA_MS} ms assumed per invocation)`,
  );
  console.log(
    `  ${''.padEnd(22)} ${'Step Functions'.padStart(15)} ${'Lambda'.padStart(10)} ${'Scheduler'.padStart(10)} ${'total'.padStart(10)}`,
  );
  for (const [label, c] of [
    ['without free tiers', monthlyCost(perDay, ASSUMED_LAMBDA_MS, false)],
    ['with free tiers', monthlyCost(perDay, ASSUMED_LAMBDA_MS, true)],
  ] as const) {
    console.log(
      `  ${label.padEnd(22)} ${usd(c.sf).padStart(15)} ${usd(c.lambda).padStart(10)} ${usd(c.scheduler).padStart(10)} ${usd(c.total).padStart(10)}`,
    );
  }
  console.log(
    `  (${f(month(perDay.transitions), 0)} transitions, ${f(month(perDay.invocations), 0)} invocations, ${f(month(perDay.schedules), 0)} schedules a month; free tiers are per account, shared by all tables)`,
  );
}

async function steadyDay(
  label: string,
  incrementalSeconds: () => number,
  withCost: boolean,
  apiLatencyMs = 0,
): Promise<SteadyFigures> {
  const scenario = await startScenario({
    tickRole,
    exportDurationSeconds: (r) => (r.type === 'FULL_EXPORT' ? 600 : incrementalSeconds()),
    restorableLagSeconds: 300,
    apiLatencyMs,
  });
  const { aws, run, settings } = scenario;
  try {
    const real = performance.now();
    await run.runFor(2 * HOUR); // bootstrap: full export and the first windows
    const t1 = run.now;
    await run.runFor(DAY);
    const t2 = run.now;
    const realSeconds = (performance.now() - real) / 1000;

    const executions = run.executions.filter((e) => e.startedAt >= t1 && e.startedAt < t2);
    const invocations = run.invocations.filter((i) => i.at >= t1 && i.at < t2);
    const transitions = executions.reduce((n, e) => n + e.transitions, 0);
    const requests = aws.calls
      .of('ExportTableToPointInTime', (c) => c.at >= t1 && c.at < t2 && c.outcome === 'ok')
      .filter((c) => c.input.ExportType === 'INCREMENTAL_EXPORT');
    const windows = requests.length;
    const lag = aws.dynamodb.restorableLagSeconds;
    const startLag = requests.map(
      (c) => c.at / 1000 - (c.input.IncrementalExportSpecification!.ExportToTime!.getTime() / 1000 + lag),
    );
    const arns = new Set(
      [...aws.dynamodb.exports.values()]
        .filter((e) => e.startTime >= t1 && e.startTime < t2 && e.request.type === 'INCREMENTAL_EXPORT')
        .map((e) => e.arn),
    );
    const describes = new Map<string, number>();
    for (const c of aws.calls.of('DescribeExport')) {
      const arn = c.input.ExportArn;
      if (arn !== undefined && arns.has(arn)) describes.set(arn, (describes.get(arn) ?? 0) + 1);
    }
    const state = parseState(aws.ssm.get(settings.stateParameterName)!, settings.stateParameterName);
    const commitLag: number[] = [];
    const freshness: number[] = [];
    const bucket = aws.s3.buckets.get(settings.bucket)!;
    for (const key of aws.s3.keys(settings.bucket, chainEpochPrefix(settings.prefix, state.epoch!))) {
      if (key === chainHeadKey(settings.prefix, state.epoch!)) continue;
      const entry = JSON.parse(aws.s3.text(settings.bucket, key)!) as ChainEntry;
      if (!arns.has(entry.exportArn)) continue;
      const exp = aws.dynamodb.exports.get(entry.exportArn)!;
      // The fake S3 stamps objects with the simulated time of the write: the commit time.
      const committedAt = bucket.get(key)!.lastModified.getTime();
      commitLag.push((committedAt - exp.endTime) / 1000);
      freshness.push(committedAt / 1000 - Date.parse(entry.to) / 1000);
    }
    const realMs = stats(invocations.map((i) => i.realMs ?? 0));

    const perDay: PerDay = {
      transitions,
      invocations: invocations.length,
      schedules: executions.filter((e) => e.kind === 'scheduled').length,
    };
    console.log(`${label} (simulated in ${f(realSeconds, 2)} s)`);
    const rows: [string, string][] = [
      ['windows exported', `${windows}`],
      ['state transitions per window', `${f(transitions / windows, 2)}  (${transitions} per day)`],
      [
        'Lambda invocations per window',
        `${f(perDay.invocations / windows, 2)}  (${perDay.invocations} per day)`,
      ],
      [
        'DescribeExport calls per export',
        `avg ${f(stats([...describes.values()]).avg, 2)}, max ${stats([...describes.values()]).max}`,
      ],
      ['start lag after exportable (s)', `avg ${f(stats(startLag).avg)}, max ${f(stats(startLag).max)}`],
      ['commit lag after export end (s)', `avg ${f(stats(commitLag).avg)}, max ${f(stats(commitLag).max)}`],
      ['window end -> committed (s)', `avg ${f(stats(freshness).avg)}, max ${f(stats(freshness).max)}`],
      ['handler time, local fakes (ms)', `avg ${f(realMs.avg)}, max ${f(realMs.max)} (no network)`],
    ];
    for (const [k, v] of rows) console.log(`  ${k.padEnd(34)} ${v}`);
    const figures: SteadyFigures = {
      transitionsPerWindow: transitions / windows,
      invocationsPerWindow: perDay.invocations / windows,
      describesPerExport: stats([...describes.values()]).avg,
      startLagSeconds: stats(startLag).avg,
    };
    if (!withCost) return figures;

    printMonthlyCost(perDay);
    return figures;
  } finally {
    await scenario.dispose();
  }
}

async function pauseCatchUp(): Promise<void> {
  const scenario: Scenario = await startScenario({ tickRole });
  const { aws, run, settings } = scenario;
  try {
    await run.runFor(2 * HOUR);
    aws.ssm.set(settings.actionParameterName, 'PAUSE');
    // Resumed mid-period, as an operator would, not exactly at a scheduled time.
    await run.runFor(6 * HOUR + 7 * MIN);
    const resumedAt = run.now;
    const requestsBefore = aws.calls.of('ExportTableToPointInTime').length;
    const transitionsBefore = run.executions.reduce((n, e) => n + e.transitions, 0);
    aws.ssm.set(settings.actionParameterName, 'RUN');
    const steadyLag = 15 * 60 + 300 + 60 + 360 + 15 * 60;
    let caughtUpAt: number | undefined;
    while (run.now < resumedAt + 12 * HOUR) {
      await run.runFor(5 * MIN);
      const state = parseState(aws.ssm.get(settings.stateParameterName)!, settings.stateParameterName);
      if (state.watermark !== null && run.now / 1000 - state.watermark <= steadyLag) {
        caughtUpAt = run.now;
        break;
      }
    }
    const requests = aws.calls.of('ExportTableToPointInTime').slice(requestsBefore);
    const transitions = run.executions.reduce((n, e) => n + e.transitions, 0) - transitionsBefore;
    console.log(
      `\n6-hour PAUSE, then RUN (max catch-up window ${settings.maxCatchUpWindowMinutes} min, ${settings.maxInFlight} in flight):`,
    );
    console.log(
      `  ${'back within steady lag after'.padEnd(34)} ${caughtUpAt ? `${f((caughtUpAt - resumedAt) / MIN, 0)} min` : 'not within 12 h'}`,
    );
    console.log(`  ${'export requests to catch up'.padEnd(34)} ${requests.length}`);
    console.log(
      `  ${'first request after RUN'.padEnd(34)} ${requests[0] ? `${f((requests[0].at - resumedAt) / MIN, 1)} min` : '-'}`,
    );
    console.log(`  ${'state transitions meanwhile'.padEnd(34)} ${transitions}`);
  } finally {
    await scenario.dispose();
  }
}

/** The same steady day with every AWS call taking 0 and 100 ms, side by side (ratio 100 ms / 0 ms). */
function printLatencyComparison(at0: SteadyFigures, at100: SteadyFigures): void {
  console.log('\nAPI latency: the steady day with every AWS call taking 0 ms and 100 ms (simulated)');
  console.log(`  ${''.padEnd(34)} ${'0 ms'.padStart(8)} ${'100 ms'.padStart(8)} ${'ratio'.padStart(7)}`);
  const rows: [string, keyof SteadyFigures][] = [
    ['state transitions per window', 'transitionsPerWindow'],
    ['Lambda invocations per window', 'invocationsPerWindow'],
    ['DescribeExport calls per export', 'describesPerExport'],
    ['start lag after exportable (s)', 'startLagSeconds'],
  ];
  for (const [label, key] of rows) {
    console.log(
      `  ${label.padEnd(34)} ${f(at0[key], 2).padStart(8)} ${f(at100[key], 2).padStart(8)} ${f(at100[key] / at0[key], 2).padStart(7)}`,
    );
  }
}

async function main(): Promise<void> {
  // The handler prints nothing but its EMF line, which the scenario captures.
  const at0 = await steadyDay(
    'Steady day: 15-min windows, 6-min incremental exports, restorable lag 5 min',
    () => 360,
    true,
  );
  const at100 = await steadyDay('\nSame day, every AWS call taking 100 ms', () => 360, false, 100);
  printLatencyComparison(at0, at100);
  // Real exports do not all take the same time, so the tick's learned duration is sometimes early.
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  await steadyDay(
    '\nSame day, incremental exports taking 4 to 12 min (uniform)',
    () => 240 + Math.floor(random() * 480),
    false,
  );
  await pauseCatchUp();
  console.log(`\n${exportCostTable()}`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
