import { expect } from 'chai';
import { Command } from 'commander';
import { runDce } from '../../../cli/dce';
import { CLI_OPERATOR_TOOLS, phaseDetail, simulateCommand } from '../../../cli/simulate';
import { fromEnvironment } from '../../../functions/chain/settings';
import { deploySimulation } from '../../../cli/deployedAccess';
import { simulationStackConfig, type DeploymentTarget } from '../../../sim/simulation/deployment';
import { runSimulation } from '../../../sim/simulation/engine';
import type { OperatorTools } from '../../../sim/simulation/operatorTools';
import type { SimulationProgress } from '../../../sim/simulation/report';
import { addSimulateOptions, simulateFlags, type ParsedSimulateFlags } from '../../../sim/simulation/options';
import { SCALE_SIZES } from '../../../sim/simulation/scaleSizes';
import { operatorEvents } from '../../../sim/simulation/workflowRun';
import { capturedIo } from '../../helpers/capturedIo';

const capture = () => capturedIo();

/** The flags as the command line parser hands them over. */
function parse(argv: string[]): ParsedSimulateFlags {
  const cmd = addSimulateOptions(new Command('simulate')).exitOverride();
  cmd.configureOutput({ writeErr: () => undefined });
  cmd.parse(argv, { from: 'user' });
  return cmd.opts<ParsedSimulateFlags>();
}

const TARGET: DeploymentTarget = { stack: 'simulation', region: 'us-east-1', account: '123456789012' };

/** The settings the simulated table's export tick is deployed with, for the run's flags. */
async function deployedSettings(options: Parameters<typeof simulationStackConfig>[0]) {
  const deployment = await deploySimulation(simulationStackConfig(options), TARGET);
  return fromEnvironment(deployment.exportChain.environment);
}

describe('simulate command (cli/simulate.ts, sim/simulation/options.ts)', () => {
  describe('--dr', () => {
    it("renders the stack's dr: replication under mocks: a created export bucket, the rule and its role", async () => {
      const { options } = simulateFlags(parse(['--dr']));
      const deployment = await deploySimulation(simulationStackConfig(options), TARGET);
      // dr: needs a bucket the stack creates: the run then exports into it.
      expect(fromEnvironment(deployment.exportChain.environment).bucket).to.equal(
        `simulation-orders-exports-${TARGET.account}`,
      );
      expect(deployment.replication!.roleName).to.equal('simulation-orders-replication');
      expect(deployment.replication!.rules).to.deep.equal([
        {
          id: 'dce-chain',
          status: 'Enabled',
          priority: 1,
          filter: { prefix: 'exports/orders/' },
          deleteMarkerReplication: { status: 'Disabled' },
          destination: { bucket: 'arn:aws:s3:::dce-simulation-exports-dr', metrics: { status: 'Enabled' } },
        },
      ]);
      const role = deployment.roles.find((r) => r.name === 'simulation-orders-replication');
      expect(role?.policies.length).to.equal(1);
      // Without --dr: the existing bucket, no replication.
      const plain = await deploySimulation(simulationStackConfig(simulateFlags(parse([])).options), TARGET);
      expect(plain.replication).to.equal(undefined);
      expect(fromEnvironment(plain.exportChain.environment).bucket).to.equal('dce-simulation-exports');
    });
  });

  describe('--format', () => {
    it('defaults to DYNAMODB_JSON exports', async () => {
      const { options } = simulateFlags(parse([]));
      expect(options.format).to.equal('json');
      expect((await deployedSettings(options)).exportFormat).to.equal('DYNAMODB_JSON');
    });

    it('asks the tick for ION exports with --format ion', async () => {
      const { options } = simulateFlags(parse(['--format', 'ion']));
      expect(options.format).to.equal('ion');
      // The Iceberg feed reads DYNAMODB_JSON only: the stack config would refuse it.
      expect(options.iceberg).to.equal(false);
      expect((await deployedSettings(options)).exportFormat).to.equal('ION');
    });

    it('refuses another format with exit 2 and a message naming the flag, the value and the choices', async () => {
      const { io, stderr } = capture();
      expect(await runDce(['simulate', '--format', 'xml'], io)).to.equal(2);
      expect(stderr()).to.contain('--format "xml": expected json or ion');
    });
  });

  describe('--scale', () => {
    /** The replica's write limit the simulated stack deploys for these flags. */
    const replicaRate = (options: ReturnType<typeof simulateFlags>['options']) =>
      (simulationStackConfig(options) as { tables: { replicas: { maxWritesPerSecond: number }[] }[] })
        .tables[0].replicas[0].maxWritesPerSecond;

    it('defaults to the quick level and a quarter day, and deploys a replica limited to 20 writes a second', () => {
      const { options } = simulateFlags(parse(['--scale']));
      expect(options).to.include({ scale: 'quick', days: 0.25 });
      expect(replicaRate(options)).to.equal(SCALE_SIZES.quick.replicaWritesPerSecond).and.equal(20);
      expect(simulateFlags(parse(['--scale', '--days', '1'])).options).to.include({
        scale: 'quick',
        days: 1,
      });
      const plain = simulateFlags(parse([])).options;
      expect(plain.scale).to.equal(undefined);
      expect(plain.days).to.equal(2);
      expect(replicaRate(plain)).to.equal(1000);
      expect(plain).to.include({ iceberg: true, dr: false });
      expect(simulateFlags(parse(['--no-iceberg', '--dr'])).options).to.include({
        iceberg: false,
        dr: true,
      });
    });

    it('runs the production-scale sizes with --scale full: 200,000 items in two files, a replica at 100 writes/s', () => {
      const { options } = simulateFlags(parse(['--scale', 'full']));
      expect(options).to.include({ scale: 'full', days: 0.25 });
      expect(replicaRate(options)).to.equal(100);
      const full = SCALE_SIZES.full;
      expect(full.initialItems).to.be.at.least(200_000);
      expect(full.burstChanges).to.be.at.least(150_000);
      expect(full.initialItems / full.itemsPerFile).to.equal(2);
    });

    it('refuses another level with exit 2, naming the flag, the value and the choices', async () => {
      const { io, stderr } = capture();
      expect(await runDce(['simulate', '--scale', 'huge'], io)).to.equal(2);
      expect(stderr()).to.contain('--scale "huge": expected quick or full');
    });
  });

  describe('settings of the simulated table', () => {
    it('derives the schedule period from the window, as the component does', async () => {
      for (const [window, period] of [
        [15, 15],
        [30, 30],
        [60, 60],
        [240, 60],
        [1440, 60],
      ]) {
        expect((await deployedSettings({ window })).schedulePeriodMinutes).to.equal(period);
      }
    });
  });

  describe('--keep-servers', () => {
    it('is refused with the in-process S3, where the local servers would hold nothing', async () => {
      const { io, stderr } = capture();
      expect(await simulateCommand({ keepServers: true, fast: true }, io)).to.equal(2);
      expect(stderr()).to.contain('--keep-servers needs the local S3 server');
    });

    it('leaves the servers running, prints dce commands that read them (and operate the replica by its alias), and stops them when told', async function () {
      this.timeout(180_000);
      const { io, stdout, stderr } = capture();
      let statusCode: number | undefined;
      let statusJson = '';
      let endpoint = '';
      const replicaRuns: { code: number; json: string }[] = [];
      const icebergRuns: { code: number; json: string }[] = [];
      const code = await simulateCommand({ days: 0.25, faults: 'none', keepServers: true, json: true }, io, {
        untilStopped: async () => {
          // The line printed for a person to paste, run as it stands.
          const line = stderr()
            .split('\n')
            .find((l) => l.trim().startsWith('npx dce status '));
          expect(line, stderr()).to.be.a('string');
          const argv = line!.trim().split(/\s+/).slice(2);
          endpoint = argv[argv.indexOf('--s3-endpoint-url') + 1];
          const status = capture();
          statusCode = await runDce([...argv, '--json'], status.io);
          statusJson = status.stdout();
          // The replica lines, pause then resume, run as they stand.
          for (const command of ['pause', 'resume']) {
            const replicaLine = stderr()
              .split('\n')
              .find((l) => l.trim().startsWith(`npx dce replica ${command} `));
            expect(replicaLine, stderr()).to.be.a('string');
            const run = capture();
            const runCode = await runDce([...replicaLine!.trim().split(/\s+/).slice(2), '--json'], run.io);
            replicaRuns.push({ code: runCode, json: run.stdout() || run.stderr() });
          }
          // The Iceberg feed's lines: its next statements (from the stack output the run wrote), then pause.
          for (const command of ['sql', 'pause']) {
            const line = stderr()
              .split('\n')
              .find((l) => l.trim().startsWith(`npx dce iceberg ${command} `));
            expect(line, stderr()).to.be.a('string');
            const run = capture();
            const runCode = await runDce([...line!.trim().split(/\s+/).slice(2), '--json'], run.io);
            icebergRuns.push({ code: runCode, json: run.stdout() || run.stderr() });
          }
        },
      });
      expect(code).to.equal(0);
      // stdout stays one JSON document (the report); the commands went to stderr.
      expect(JSON.parse(stdout()).ok).to.equal(true);
      expect(stderr()).to.match(/stop them with Ctrl-C here, or: kill \d+/);
      expect(statusCode, statusJson).to.equal(0);
      const status = JSON.parse(statusJson);
      expect(status.alias).to.equal('orders');
      expect(status.lastSequence).to.be.greaterThan(10);
      expect(
        status.replicas.map((r: { alias: string; status: string }) => [r.alias, r.status]),
      ).to.deep.equal([['copy', 'ACTIVE']]);
      expect(
        replicaRuns.map((r) => r.code),
        JSON.stringify(replicaRuns),
      ).to.deep.equal([0, 0]);
      expect(
        replicaRuns.map((r) => {
          const { replica, action, changed } = JSON.parse(r.json);
          return { replica, action, changed };
        }),
      ).to.deep.equal([
        { replica: 'copy', action: 'PAUSE', changed: true },
        { replica: 'copy', action: 'RUN', changed: true },
      ]);
      expect(
        icebergRuns.map((r) => r.code),
        JSON.stringify(icebergRuns),
      ).to.deep.equal([0, 0]);
      const [sql, pause] = icebergRuns.map((r) => JSON.parse(r.json));
      expect(sql).to.include({ view: 'simulation_lake.orders' });
      expect(sql.notes.join(' ')).to.match(/not due yet|nothing pending/);
      expect(pause).to.include({ action: 'PAUSE', changed: true });
      expect(status.iceberg).to.include({ status: 'running' });
      // Stopped once told to: the S3 endpoint no longer answers.
      let refused = false;
      await fetch(endpoint).catch(() => (refused = true));
      expect(refused).to.equal(true);
    });
  });

  describe('progress', () => {
    it('says what the replay is doing instead of counting committed windows', () => {
      const text = phaseDetail({
        phase: 'replaying',
        simulatedSeconds: 86400,
        totalSeconds: 86400,
        committed: 0,
        lagSeconds: null,
        replay: { exportsApplied: 3, exports: 10, items: 250 },
      });
      expect(text).to.equal('replay: 3/10 exports applied, 250 items written');
      for (const phase of ['verifying', 'replaying', 'comparing'] as const) {
        const detail = phaseDetail({
          phase,
          simulatedSeconds: 1,
          totalSeconds: 1,
          committed: 0,
          lagSeconds: null,
        });
        expect(detail).not.to.contain('committed');
      }
    });
  });

  describe('the engine and the operator tools it is given', () => {
    it('runs verify and replay through them and passes on the progress they report', async function () {
      this.timeout(120_000);
      const seen: SimulationProgress[] = [];
      const verifies: boolean[] = [];
      const tools: OperatorTools = {
        ...CLI_OPERATOR_TOOLS,
        async verifyChain(options) {
          verifies.push(options.deep);
          options.onProgress?.({ entriesTotal: 2, entriesDone: 1, filesRead: 3 });
          return CLI_OPERATOR_TOOLS.verifyChain(options);
        },
      };
      const report = await runSimulation(
        { days: 0.25, rate: 4, window: 15, seed: 3, faults: 'none', s3: 'memory', ssm: 'memory' },
        tools,
        { onProgress: (p) => seen.push(p) },
      );
      expect(report.ok).to.equal(true);
      expect(verifies).to.deep.equal([true]);
      const phases = [...new Set(seen.map((p) => p.phase))];
      expect(phases).to.deep.equal(['starting', 'running', 'verifying', 'replaying', 'comparing', 'done']);
      expect(seen.find((p) => p.verify)?.verify).to.deep.equal({
        exportsChecked: 1,
        exports: 2,
        filesRead: 3,
      });
      const replays = seen.filter((p) => p.replay).map((p) => p.replay!);
      expect(replays).not.to.be.empty;
      for (const r of replays) expect(r.exports).to.equal(report.replay.exportsApplied);
      expect(replays[replays.length - 1].items).to.equal(report.replay.puts + report.replay.deletes);
    });
  });

  describe('operator events', () => {
    it('puts pauses and resets on the quarter-hour grid, in time order', () => {
      const start = 1_800_000_000 - (1_800_000_000 % 900);
      const events = operatorEvents({ pauses: [[0.4, 0.55]], resets: [0.2] }, start, 86400);
      expect(events.map((e) => e.action)).to.deep.equal(['RESET', 'PAUSE', 'RUN']);
      for (const e of events) expect((e.at - start) % 900).to.equal(0);
      expect(events[1].at).to.equal(start + Math.round((0.4 * 86400) / 900) * 900);
    });
  });
});
