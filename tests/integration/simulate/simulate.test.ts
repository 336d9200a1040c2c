import { expect } from 'chai';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { listAllKeys } from '../../../format';
import fc from 'fast-check';
import { CLI_OPERATOR_TOOLS } from '../../../cli/simulate';
import { formatSimulationReport } from '../../../cli/simulateReport';
import { estimateMonthlyCost } from '../../../sim/simulation/cost';
import { runSimulation } from '../../../sim/simulation/engine';
import { faultPlan, faultRandom } from '../../../sim/simulation/faults';
import type { OperatorTools } from '../../../sim/simulation/operatorTools';
import { tableDifferences, type SimulationReport } from '../../../sim/simulation/report';
import type { SendClient } from '../../../sim/machines/localRun';

describe('npm run simulate (sim/simulation/engine.ts)', () => {
  describe('one simulated day with faults, on the local S3 server', function () {
    // Real servers and a real replay; about 10 s on an idle 2-core machine.
    this.timeout(180_000);
    let report: SimulationReport;

    before(async () => {
      report = await runSimulation(
        {
          days: 1,
          rate: 4,
          window: 15,
          seed: 7,
          faults: 'some',
          s3: 'server',
          ssm: 'server',
          iceberg: true,
          dr: true,
        },
        CLI_OPERATOR_TOOLS,
      );
    });

    it('ends with a gap-free chain that verify --deep accepts', () => {
      expect(report.chain.problems, JSON.stringify(report.chain.problems)).to.deep.equal([]);
      expect(report.chain.ok).to.equal(true);
      // One full export plus incremental windows covering most of the day.
      expect(report.windows.committed).to.be.greaterThan(40);
      expect(report.windows.incremental).to.equal(report.windows.committed - 1);
    });

    it('keeps the watermark close to the end of the run', () => {
      // Window + restorable lag + export duration + margin: well under an hour at 15-minute windows.
      expect(report.chain.lagSeconds).to.be.a('number');
      expect(report.chain.lagSeconds!).to.be.lessThan(3600);
    });

    it('replays the chain into a table identical to the source as of the watermark', () => {
      expect(report.replay.error).to.equal(undefined);
      expect(report.replay.firstDifferences).to.deep.equal([]);
      expect(report.replay.identical).to.equal(true);
      expect(report.replay.items).to.equal(report.replay.expectedItems);
      expect(report.replay.items).to.be.greaterThan(0);
      expect(report.replay.watermark).to.equal(report.chain.watermark);
      expect(report.ok).to.equal(true);
    });

    it('keeps the replica identical to the source through its own state machine, bootstrapped by its Distributed Map', () => {
      const r = report.replica;
      expect(r.error).to.equal(undefined);
      expect(r.firstDifferences).to.deep.equal([]);
      expect(r.identical).to.equal(true);
      expect(r.status).to.equal('ACTIVE');
      expect(r.items).to.equal(r.expectedItems);
      expect(r.items).to.be.greaterThan(0);
      // Its last executions caught up with the chain; at the end it lagged at most a period behind it.
      expect(r.watermark).to.equal(report.chain.watermark);
      expect(r.lagBehindChainSeconds).to.equal(0);
      expect(r.lagAtEndSeconds).to.be.at.most(report.chain.lagSeconds! + 15 * 60);
      // The full export (several data files) went through the Distributed Map, in several children.
      expect(r.distributedMap.runs).to.be.at.least(1);
      expect(r.distributedMap.children).to.be.greaterThan(r.distributedMap.runs);
      expect(r.executions.failed, JSON.stringify(r.executions.failedBy)).to.equal(0);
      expect(r.alerts).to.equal(0);
      expect(r.ok).to.equal(true);
    });

    it("keeps the Iceberg feed's lake table identical to the source as of its watermark, through Athena on DuckDB", () => {
      const i = report.iceberg!;
      expect(i.error).to.equal(undefined);
      expect(i.firstDifferences).to.deep.equal([]);
      expect(i).to.include({ identical: true, status: 'ACTIVE', ok: true });
      expect(i.rows).to.equal(i.expectedItems).and.to.be.greaterThan(0);
      expect(i.queries.merges).to.be.greaterThan(1);
      expect(i.viewEpoch).to.equal(report.chain.epoch);
      expect(formatSimulationReport(report)).to.match(
        /^iceberg: +simulation_lake\.orders .* identical to the source/m,
      );
    });

    it('replicates the chain to the protected copy, verified there, and restores from it into the second Region: identical', () => {
      const { copy, restore } = report.dr!;
      expect(copy.error).to.equal(undefined);
      expect(copy).to.include({ ok: true, bucket: 'dce-simulation-exports-dr' });
      expect(copy.missing).to.deep.equal([]);
      expect(copy.verify).to.include({ ok: true, epoch: report.chain.epoch, entries: report.chain.entries });
      expect(restore.error).to.equal(undefined);
      expect(restore).to.include({ ok: true, identical: true, bucket: 'dce-simulation-exports-dr' });
      expect(restore.point!.sequence)
        .to.be.greaterThan(0)
        .and.lessThan(report.chain.entries - 1);
      expect(restore.items).to.equal(restore.expectedItems).and.to.be.greaterThan(0);
      const text = formatSimulationReport(report);
      expect(text).to.match(/^dr copy: +OK: dce-simulation-exports-dr /m);
      expect(text).to.match(/^restore: +orders-restored .* identical to the source as of that point/m);
      // And dce restore --distributed with the replica without a schedule, on the local servers.
      expect(report.dr!.distributed).to.include({ ok: true, identical: true, executions: 1 });
      expect(text).to.match(
        /^restore --distributed: +orders-restored-distributed .* identical to the source/m,
      );
    });

    it('survives the injected faults: each failed export is retried, the pause is seen and recovered from', () => {
      expect(report.exports.failed).to.equal(report.faults.failedExportsInjected);
      expect(report.exports.retriedWindows).to.be.at.most(report.exports.failed);
      expect(report.faults.pauses).to.have.length(1);
      const phases = report.phases.map((p) => p.phase);
      expect(phases[0]).to.equal('BOOTSTRAPPING');
      expect(phases).to.include('PAUSED');
      expect(phases.indexOf('PAUSED')).to.be.lessThan(phases.lastIndexOf('CHAINING'));
      expect(report.finalPhase).to.equal('CHAINING');
      expect(report.executions.failed).to.equal(0);
    });

    it('drives SSM through the local endpoint and S3 through the local server', () => {
      expect(report.ssm.requests.PutParameter).to.be.greaterThan(0);
      expect(report.ssm.requests.GetParameters).to.be.greaterThan(0);
      expect(report.s3.tickRequests).to.be.greaterThan(report.windows.committed);
      expect(report.s3.exportWriterRequests).to.be.greaterThan(report.windows.committed);
    });

    it('estimates the orchestration cost from the counts of the run', () => {
      expect(report.transitions).to.be.greaterThan(report.executions.total);
      const sfn = report.cost.items.find((i) => i.item.startsWith('Step Functions'))!;
      expect(sfn.monthlyUsd).to.be.closeTo(((report.transitions * 30) / 1) * 0.000025, 1e-9);
      expect(report.cost.monthlyUsd).to.be.greaterThan(0).and.lessThan(5);
    });
  });

  describe('one simulated day at chaos (a RESET), with the in-process S3 and SSM', function () {
    this.timeout(180_000);
    let report: SimulationReport;

    before(async () => {
      report = await runSimulation(
        { days: 1, rate: 4, window: 15, seed: 3, faults: 'chaos', s3: 'memory', ssm: 'memory' },
        CLI_OPERATOR_TOOLS,
      );
    });

    it('the replica halts at the new epoch with one alert, identical to the source as of its watermark', () => {
      const r = report.replica;
      expect(report.faults.resets).to.have.length(1);
      expect(r.status).to.equal('HALTED');
      expect(r.halt).to.match(/^NEW_EPOCH: /);
      expect(r.alerts).to.equal(1);
      expect(r.epoch).to.not.equal(report.chain.epoch);
      expect(r.identical, r.firstDifferences.join('\n')).to.equal(true);
      expect(r.lastAppliedSequence).to.be.greaterThan(0);
      // Halted at the RESET: its watermark is before it.
      expect(Date.parse(r.watermark!)).to.be.at.most(Date.parse(report.faults.resets[0]));
      expect(r.ok).to.equal(true);
    });

    it('samples the phase as dce status does: RESET_PENDING only until the RESET is carried out', () => {
      const resetAt = report.faults.resets[0];
      const pending = report.phases.filter((p) => p.phase === 'RESET_PENDING');
      expect(pending.map((p) => p.at)).to.deep.equal([resetAt]);
      const after = report.phases.filter((p) => Date.parse(p.at) > Date.parse(resetAt));
      expect(after, 'a phase after the RESET was carried out').not.to.be.empty;
      expect(Date.parse(after[0].at) - Date.parse(resetAt)).to.be.at.most(3600_000);
      expect(report.finalPhase).to.be.oneOf(['CHAINING', 'CATCHING_UP']);
    });
  });

  describe('a lake the Iceberg feed never merged into', function () {
    this.timeout(180_000);

    it('fails the run, and the report names the iceberg row', async () => {
      // The deployed definition with its Merge replaced by a Pass: the cursor advances, the lake does not.
      const tools: OperatorTools = {
        ...CLI_OPERATOR_TOOLS,
        async deploy(config, target) {
          const deployment = await CLI_OPERATOR_TOOLS.deploy(config, target);
          const feed = deployment.iceberg!;
          const definition = JSON.parse(feed.definition) as { States: Record<string, { Next?: string }> };
          definition.States.Merge = {
            Type: 'Pass',
            Result: { queryExecutionId: 'none', dataScannedInBytes: 0 },
            ResultPath: '$.query',
            Next: definition.States.Merge.Next,
          } as never;
          return { ...deployment, iceberg: { ...feed, definition: JSON.stringify(definition) } };
        },
      };
      const report = await runSimulation(
        {
          days: 0.25,
          rate: 4,
          window: 15,
          seed: 2,
          faults: 'none',
          s3: 'memory',
          ssm: 'memory',
          iceberg: true,
        },
        tools,
      );
      expect(report.replica.ok).to.equal(true);
      expect(report.iceberg).to.include({ ok: false, identical: false });
      expect(report.ok).to.equal(false);
      const text = formatSimulationReport(report);
      expect(text).to.match(/^dynamodb-continuous-exports simulation: FAILED/);
      expect(text).to.match(/^iceberg: .*DIFFERS from the source/m);
    });
  });

  describe('a protected copy that lost a data file', function () {
    this.timeout(180_000);

    it('fails the run, and the report names the dr copy and restore rows', async () => {
      let deleted = '';
      const tools: OperatorTools = {
        ...CLI_OPERATOR_TOOLS,
        async restoreTable(options) {
          // The copy loses one export data file before the restore reads it.
          const keys = await listAllKeys(options.s3, options.bucket, `${options.prefix}/AWSDynamoDB/`);
          deleted = keys.find((k) => k.endsWith('.json.gz'))!;
          await options.s3.send(new DeleteObjectCommand({ Bucket: options.bucket, Key: deleted }));
          return CLI_OPERATOR_TOOLS.restoreTable(options);
        },
      };
      const report = await runSimulation(
        { days: 0.25, rate: 4, window: 15, seed: 2, faults: 'none', s3: 'memory', ssm: 'memory', dr: true },
        tools,
      );
      expect(deleted).to.match(/\/data\/.*\.json\.gz$/);
      expect(report.replica.ok).to.equal(true);
      expect(report.dr!.copy.ok).to.equal(false);
      expect(report.dr!.copy.missing).to.deep.equal([deleted]);
      // The copy was made by the stack's own rule, as its replication role, evaluated by IAM.
      expect(report.dr!.copy.rule).to.deep.equal({
        id: 'dce-chain',
        prefix: 'exports/orders/',
        deleteMarkers: 'Disabled',
        role: 'simulation-orders-replication',
      });
      expect(report.dr!.copy.denied).to.deep.equal([]);
      expect(report.dr!.copy.objects).to.be.greaterThan(0);
      expect(report.iam.roles['simulation-orders-replication']?.evaluated).to.be.greaterThan(0);
      // dce restore --distributed with the replica without a schedule: one-shot executions of its
      // deployed machine, through the Distributed Map, stopped a third of the way into the epoch.
      const distributed = report.dr!.distributed!;
      expect(distributed.error).to.equal(undefined);
      expect(distributed).to.include({ ok: true, identical: true, replica: 'restore', executions: 1 });
      expect(distributed.point!.sequence)
        .to.be.greaterThan(0)
        .and.lessThan(report.chain.entries - 1);
      expect(distributed.children).to.be.greaterThan(1);
      expect(distributed.items).to.equal(distributed.expectedItems).and.to.be.greaterThan(0);
      expect(report.iam.roles['simulation-orders-restore-apply-role']?.evaluated).to.be.greaterThan(0);
      expect(report.dr!.restore.ok).to.equal(false);
      expect(report.ok).to.equal(false);
      const text = formatSimulationReport(report);
      expect(text).to.match(/^dr copy: +PROBLEMS: /m);
      expect(text).to.match(/^restore: +FAILED: /m);
      expect(text).to.contain(`dr copy: missing ${deleted}`);
      expect(text).to.match(
        /^restore --distributed: +orders-restored-distributed by replica restore to entry \d+ .* identical to the source/m,
      );
    });
  });

  describe("the simulated operator's PutParameter throttled", function () {
    this.timeout(180_000);

    it('is tried again as dce does, and the run goes on with the pause it asked for', async () => {
      // Every first PutParameter of an operator command is throttled, as `--faults chaos` may.
      let throttled = 0;
      const tools: OperatorTools = {
        ...CLI_OPERATOR_TOOLS,
        setAction(options) {
          let first = true;
          const ssm: SendClient = {
            send(command) {
              if (first && command.constructor.name === 'PutParameterCommand') {
                first = false;
                throttled += 1;
                return Promise.reject(
                  Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }),
                );
              }
              return options.ssm.send(command);
            },
          };
          return CLI_OPERATOR_TOOLS.setAction({ ...options, ssm });
        },
      };
      const report = await runSimulation(
        { days: 0.3, rate: 4, window: 15, seed: 5, faults: 'some', s3: 'memory', ssm: 'memory' },
        tools,
      );
      expect(throttled).to.equal(2);
      expect(report.faults.pauses).to.have.length(1);
      expect(report.phases.map((p) => p.phase)).to.include('PAUSED');
      expect(report.chain.ok).to.equal(true);
    });
  });

  describe('one simulated day at chaos with a rebaselining replica, in-process S3 and SSM', function () {
    this.timeout(180_000);

    it('the replica empties itself at the RESET and follows the new epoch: identical, no alert', async () => {
      const report = await runSimulation(
        {
          days: 1,
          rate: 4,
          window: 15,
          seed: 3,
          faults: 'chaos',
          s3: 'memory',
          ssm: 'memory',
          replicaOnNewEpoch: 'rebaseline',
        },
        CLI_OPERATOR_TOOLS,
      );
      const r = report.replica;
      expect(report.faults.resets).to.have.length(1);
      expect(r.onNewEpoch).to.equal('rebaseline');
      expect(r.status).to.equal('ACTIVE');
      expect(r.epoch).to.equal(report.chain.epoch);
      expect(r.watermark).to.equal(report.chain.watermark);
      expect(r.identical, r.firstDifferences.join('\n')).to.equal(true);
      expect(r.alerts).to.equal(0);
      expect(r.executions.failed, JSON.stringify(r.executions.failedBy)).to.equal(0);
      expect(r.ok).to.equal(true);
    });
  });

  describe('half a simulated day with ION exports, in-process S3 and SSM', function () {
    this.timeout(180_000);

    it('the replica reads the ION chain through its Distributed Map and groups: identical to the source', async () => {
      const report = await runSimulation(
        {
          days: 0.5,
          rate: 4,
          window: 15,
          seed: 4,
          faults: 'some',
          s3: 'memory',
          ssm: 'memory',
          format: 'ion',
        },
        CLI_OPERATOR_TOOLS,
      );
      const r = report.replica;
      expect(r.identical, r.firstDifferences.join('\n')).to.equal(true);
      expect(r.watermark).to.equal(report.chain.watermark);
      expect(r.distributedMap.children).to.be.greaterThan(1);
      expect(report.ok).to.equal(true);
    });
  });

  describe('half a simulated day with an import-bootstrapped replica, in-process S3 and SSM', function () {
    this.timeout(180_000);

    it('one ImportTable creates the replica from the full export, then the chain is applied: identical', async () => {
      const report = await runSimulation(
        {
          days: 0.5,
          rate: 4,
          window: 15,
          seed: 6,
          faults: 'some',
          s3: 'memory',
          ssm: 'memory',
          replicaBootstrap: 'import',
        },
        CLI_OPERATOR_TOOLS,
      );
      const r = report.replica;
      expect(r.bootstrap).to.equal('import');
      expect(r.importRequests).to.equal(1);
      expect(r.status).to.equal('ACTIVE');
      expect(r.identical, r.firstDifferences.join('\n')).to.equal(true);
      expect(r.watermark).to.equal(report.chain.watermark);
      expect(r.executions.failed, JSON.stringify(r.executions.failedBy)).to.equal(0);
      expect(report.ok).to.equal(true);
    });
  });

  describe('pure parts', () => {
    it('injects nothing at fault level none, and more at chaos than at some', () => {
      const none = faultPlan('none');
      expect(none.transient).to.deep.equal([]);
      expect(none.exportFailureRate + none.duplicateRate + none.skipRate).to.equal(0);
      expect(none.pauses).to.deep.equal([]);
      const some = faultPlan('some');
      const chaos = faultPlan('chaos');
      expect(chaos.exportFailureRate).to.be.greaterThan(some.exportFailureRate);
      expect(chaos.duplicateRate).to.be.greaterThan(some.duplicateRate);
      expect(chaos.transient.length).to.be.greaterThan(some.transient.length);
      for (const plan of [some, chaos]) {
        for (const [a, b] of plan.pauses) expect(0 < a && a < b && b < 1).to.equal(true);
      }
    });

    it('draws the same fault sequence for the same seed, in [0, 1)', () => {
      fc.assert(
        fc.property(fc.integer(), (seed) => {
          const a = faultRandom(seed);
          const b = faultRandom(seed);
          for (let i = 0; i < 20; i++) {
            const x = a();
            expect(x).to.equal(b());
            expect(x >= 0 && x < 1).to.equal(true);
          }
        }),
      );
    });

    it('scales costs linearly to a 30-day month', () => {
      fc.assert(
        fc.property(
          fc.double({ min: 0.25, max: 60, noNaN: true }),
          fc.nat(100_000),
          fc.nat(10_000),
          (days, transitions, invocations) => {
            const counts = {
              days,
              transitions,
              invocations,
              lambdaMs: invocations * 50,
              lambdaMemoryMb: 256,
              schedulerInvocations: invocations,
              s3PutsAndLists: invocations,
              s3Gets: invocations,
              snsPublishes: 0,
            };
            const one = estimateMonthlyCost(counts);
            const doubled = estimateMonthlyCost({
              ...counts,
              transitions: transitions * 2,
              invocations: invocations * 2,
              lambdaMs: invocations * 100,
              schedulerInvocations: invocations * 2,
              s3PutsAndLists: invocations * 2,
              s3Gets: invocations * 2,
            });
            expect(doubled.monthlyUsd).to.be.closeTo(one.monthlyUsd * 2, 1e-9);
            const sum = one.items.reduce((s, i) => s + i.monthlyUsd, 0);
            expect(one.monthlyUsd).to.be.closeTo(sum, 1e-12);
            expect(one.items[0].monthlyUsd).to.be.closeTo((transitions * 30 * 0.000025) / days, 1e-9);
          },
        ),
      );
    });

    it('lists missing, extra and different items, and nothing for equal tables', () => {
      const a = new Map([
        ['k1', 'x'],
        ['k2', 'y'],
        ['k3', 'z'],
      ]);
      expect(tableDifferences(a, new Map(a))).to.deep.equal([]);
      const b = new Map([
        ['k1', 'x'],
        ['k3', 'changed'],
        ['k4', 'new'],
      ]);
      const diffs = tableDifferences(a, b);
      expect(diffs[0]).to.equal('missing in the replayed table: k2');
      expect(diffs[1]).to.match(/^differs: k3/);
      expect(diffs[2]).to.equal('not in the source table: k4');
      expect(tableDifferences(a, new Map(), 2)).to.have.length(2);
    });
  });
});
