/**
 * A quiet table (sim/simulation/options.ts `--workload quiet`: 2 writes an hour over 20 keys) simulated
 * twice, end to end (chain, replica, verify --deep, replay, IAM), once with fixed 15-minute windows and
 * once with `windowMode: costAware` (`--window-mode cost-aware`, maxStalenessMinutes 1440).
 *
 * The rule (functions/chain/costAwareWindow.ts): the window is clamp(ceil(10 MB / r), 15 min,
 * maxStaleness). The quiet table changes by a few hundred bytes an hour, so ceil(10 MB / r) is weeks
 * and every window after the first (15 minutes: nothing has billed yet) is the bound, 1440 minutes.
 * Every export bills under the 10 MB minimum either way, so each costs the minimum, and both the
 * export count and the export bill fall by 1440 / 15 = 96: about 2,880 incrementals and $2.88 a month
 * against about 30 and $0.03.
 *
 * The cost-aware run is a whole month (30 simulated days, about 35 s on the 2-core machine). A month of
 * fixed windows takes about 200 s (docs/simulate.md), too long for the suite, and needs no month to
 * show its count: every day is the same 96 windows. So the fixed run covers `FIXED_DAYS` (3) and both
 * are compared per day. `DCE_QUIET_FIXED_DAYS=30` runs the fixed month too; `DCE_QUIET_DAYS` sets the
 * cost-aware run's length.
 */
import { expect } from 'chai';
import { Command } from 'commander';
import { CLI_OPERATOR_TOOLS } from '../../../cli/simulate';
import { formatSimulationReport } from '../../../cli/simulateReport';
import { runDce } from '../../../cli/dce';
import { deploySimulation } from '../../../cli/deployedAccess';
import { fromEnvironment } from '../../../functions/chain/settings';
import { exportCost, MIN_BILLED_BYTES, MONTH_SECONDS } from '../../../functions/chain/costAwareWindow';
import { runSimulation } from '../../../sim/simulation/engine';
import { simulationStackConfig } from '../../../sim/simulation/deployment';
import {
  addSimulateOptions,
  simulateFlags,
  type ParsedSimulateFlags,
  type SimulateOptions,
} from '../../../sim/simulation/options';
import type { SimulationReport } from '../../../sim/simulation/report';
import { capturedIo } from '../../helpers/capturedIo';

const DAYS = Number(process.env.DCE_QUIET_DAYS ?? 30);
const FIXED_DAYS = Number(process.env.DCE_QUIET_FIXED_DAYS ?? 3);
/** The factor the rule gives a quiet table: the staleness bound over the base window. */
const FACTOR = 1440 / 15;
/** What one export under the minimum costs (the minimum), and fixed 15-minute windows a month. */
const PER_EXPORT = exportCost(0);
const FIXED_MONTHLY = (MONTH_SECONDS / 900) * PER_EXPORT;

function parse(argv: string[]): ParsedSimulateFlags {
  const cmd = addSimulateOptions(new Command('simulate')).exitOverride();
  cmd.configureOutput({ writeErr: () => undefined });
  cmd.parse(argv, { from: 'user' });
  return cmd.opts<ParsedSimulateFlags>();
}

const capture = () => capturedIo();

describe('simulate: --window-mode, --max-staleness-minutes and --workload quiet', function () {
  this.timeout(60_000);

  it('deploys the simulated table with the window mode and staleness bound given', async () => {
    const { options } = simulateFlags(
      parse(['--window-mode', 'cost-aware', '--max-staleness-minutes', '120', '--workload', 'quiet']),
    );
    expect(options).to.include({ windowMode: 'costAware', maxStalenessMinutes: 120, workload: 'quiet' });
    const target = { stack: 'simulation', region: 'us-east-1', account: '123456789012' };
    const deployed = await deploySimulation(simulationStackConfig(options), target);
    expect(fromEnvironment(deployed.exportChain.environment)).to.include({
      windowMode: 'costAware',
      maxStalenessMinutes: 120,
      windowMinutes: 15,
    });
    expect(simulateFlags(parse([])).options).to.include({ windowMode: 'fixed', workload: 'steady' });
  });

  it('refuses a staleness bound without cost-aware windows, or shorter than the window, with exit 2', async () => {
    for (const [argv, message] of [
      [['--max-staleness-minutes', '120'], '--max-staleness-minutes needs --window-mode cost-aware'],
      [
        ['--window-mode', 'cost-aware', '--window', '60', '--max-staleness-minutes', '30'],
        '--max-staleness-minutes 30 is shorter than --window 60',
      ],
      [['--window-mode', 'costaware'], '--window-mode "costaware": expected fixed or cost-aware'],
      [['--workload', 'busy'], '--workload "busy": expected steady or quiet'],
      [['--workload', 'quiet', '--scale'], '--workload quiet and --scale do not go together'],
    ] as const) {
      const { io, stderr } = capture();
      expect(await runDce(['simulate', ...argv], io), argv.join(' ')).to.equal(2);
      expect(stderr()).to.contain(message);
    }
  });
});

describe(`a simulated month of a quiet table: cost-aware windows for ${DAYS} days against fixed 15-minute windows (${FIXED_DAYS} days)`, function () {
  // About 10 s for 3 fixed days and 35 s for 30 cost-aware days on an idle 2-core machine.
  this.timeout(60_000 + FIXED_DAYS * 20_000 + DAYS * 5_000);
  let fixed: SimulationReport;
  let aware: SimulationReport;
  const options = (windowMode: SimulateOptions['windowMode'], days: number): SimulateOptions => ({
    days,
    rate: 4,
    window: 15,
    seed: 3,
    faults: 'none',
    s3: 'memory',
    ssm: 'memory',
    iceberg: false,
    workload: 'quiet',
    windowMode,
  });

  before(async () => {
    fixed = await runSimulation(options('fixed', FIXED_DAYS), CLI_OPERATOR_TOOLS);
    aware = await runSimulation(options('costAware', DAYS), CLI_OPERATOR_TOOLS);
  });

  it('both runs are OK: gap-free chains (verify --deep), replays and replicas identical to the source, no IAM denial', () => {
    for (const r of [fixed, aware]) {
      expect(r.ok, formatSimulationReport(r)).to.equal(true);
      expect(r.chain.problems).to.deep.equal([]);
      expect(r.replay.identical).to.equal(true);
      expect(r.replica.identical).to.equal(true);
      expect(r.iam.denied).to.equal(0);
      // The windows, in time order, meet exactly.
      expect(r.exportCost.gaps).to.equal(0);
    }
  });

  it('every export bills under the 10 MB minimum: the quiet table is the case the rule is for', () => {
    for (const r of [fixed, aware])
      expect(r.exportCost.billedBytes / r.exportCost.incrementals).to.be.below(MIN_BILLED_BYTES / 100);
  });

  it('fixed windows: every window 15 minutes, 96 exports a day, the minimum each: $2.88 a month', () => {
    expect(fixed.exportCost.windowMinutes).to.deep.equal({ min: 15, max: 15, last: 15 });
    // The chain starts half an hour in and its watermark trails the end by about 20 minutes.
    expect(fixed.exportCost.incrementals).to.be.within(FIXED_DAYS * 96 - 4, FIXED_DAYS * 96);
    expect(fixed.exportCost.monthlyUsd).to.be.closeTo(FIXED_MONTHLY, 1e-9);
    expect(FIXED_MONTHLY).to.be.closeTo(2.88, 1e-9);
  });

  it('cost-aware windows: 15 minutes until an export has billed, then the 1440-minute bound, on the 15-minute grid', () => {
    expect(aware.exportCost.windowMinutes).to.deep.equal({ min: 15, max: 1440, last: 1440 });
    // The first window, then one a day.
    expect(aware.exportCost.incrementals).to.be.within(DAYS - 1, DAYS + 1);
  });

  it(`the export count and the modelled export bill fall by the rule's factor, 1440 / 15 = ${FACTOR}`, () => {
    // Exports a day in each run: the first 15-minute window is the only one off the bound, so the
    // ratio is within a day's export of the factor (and the fixed run's last windows still in flight).
    const countRatio = fixed.exportCost.incrementals / FIXED_DAYS / (aware.exportCost.incrementals / DAYS);
    const fixedShortfall = (FIXED_DAYS * 96 - 4) / (FIXED_DAYS * 96);
    expect(countRatio).to.be.within((FACTOR * fixedShortfall * (DAYS - 1)) / (DAYS + 1), FACTOR * 1.05);
    // The bill at each run's pace (what the exports billed over the time they cover): the cost-aware
    // pace carries its one 15-minute window, (n + 1) minimums over n days.
    const steady = 30 * PER_EXPORT;
    expect(aware.exportCost.monthlyUsd!).to.be.within(steady, steady * (1 + 1.5 / (DAYS - 1)));
    expect(fixed.exportCost.monthlyUsd! / aware.exportCost.monthlyUsd!).to.be.within(
      FACTOR / (1 + 1.5 / (DAYS - 1)),
      FACTOR,
    );
  });

  it('the cost-aware run orchestrates less: fewer Lambda invocations and state transitions', () => {
    // A day of each: the cost-aware tick still runs every 15 minutes, but starts, reads and commits
    // one export a day instead of 96.
    expect(aware.executions.invocations / DAYS).to.be.below(fixed.executions.invocations / FIXED_DAYS);
    expect(aware.transitions / DAYS).to.be.below(fixed.transitions / FIXED_DAYS);
    // The price of the longer windows: the watermark is up to a day (the bound) behind.
    expect(aware.chain.lagSeconds!).to.be.at.most(1440 * 60 + 3600);
    expect(fixed.chain.lagSeconds!).to.be.below(3600);
  });
});
