/**
 * The product working normally, end to end: the deployed definition, the real export tick, the
 * offline AWS account and a simulated scheduler. Settings: 15-minute windows and schedule, 60 s
 * margin, 4 exports in flight; DynamoDB: full exports take 10 min, incremental 6 min,
 * LatestRestorableDateTime trails now by 5 min.
 */
import { expect } from 'chai';
import {
  alertEvents,
  assertChain,
  exportRequests,
  failedExecutions,
  HOUR,
  MINUTE,
  notifications,
  withScenario,
} from '../../helpers/chainAssertions';

/** Worst steady lag: one window, the restorable lag and margin, an export, one scheduler period. */
const STEADY_LAG_SECONDS = 15 * 60 + 300 + 60 + 360 + 15 * 60;

describe('workflow: steady operation', () => {
  it('bootstraps with a full export, then keeps a gap-free chain for two days', async () => {
    await withScenario({}, async ({ aws, run, settings, metricLines }) => {
      await run.runFor(2 * 24 * HOUR);
      const chain = assertChain(aws, settings);
      const requests = exportRequests(aws);
      const full = requests[0];
      expect(full.type).to.equal('FULL_EXPORT');
      expect(full.exportTime, 'explicit ExportTime').to.be.a('number');
      expect(chain.chainStart).to.equal(full.exportTime);
      const fullExport = aws.dynamodb.exports.get(chain.entries[0].exportArn)!;
      for (const r of requests.slice(1)) {
        expect(r.type).to.equal('INCREMENTAL_EXPORT');
        expect(r.at, 'no incremental export before the full one completed').to.be.at.least(
          fullExport.endTime,
        );
      }
      expect(requests.filter((r) => r.type === 'FULL_EXPORT')).to.have.length(1);
      // Windows sit on the grid chainStart + k * 15 min and are 15 minutes long once caught up.
      for (const e of chain.entries.slice(1)) {
        expect((Date.parse(e.from) / 1000 - chain.chainStart!) % 900).to.equal(0);
      }
      const steady = chain.entries.slice(4);
      expect(steady.every((e) => Date.parse(e.to) - Date.parse(e.from) === 15 * MINUTE)).to.equal(true);
      expect(run.now / 1000 - chain.watermark!).to.be.at.most(STEADY_LAG_SECONDS);
      expect(chain.entries.length).to.be.at.least(2 * 96 - 4);
      // Each window requested once: no retries, no duplicates.
      expect(requests.length - 1 - (chain.entries.length - 1)).to.be.at.most(settings.maxInFlight);
      expect(new Set(requests.map((r) => r.token)).size).to.equal(requests.length);
      expect(failedExecutions(run)).to.deep.equal([]);
      // Each execution covers one period: its history stays far below the 25,000-event limit.
      expect(Math.max(...run.executions.map((e) => e.transitions))).to.be.below(50);
      expect(notifications(aws), 'nothing to report with notifyOnSuccess off').to.deep.equal([]);
      // The lock is released after every tick.
      expect(aws.ssm.get(settings.lockParameterName)).to.equal(undefined);
      // Polling is bounded: DynamoDB is asked about each export a few times at most.
      const describes = aws.calls.of('DescribeExport');
      const perExport = new Map<string, number>();
      for (const d of describes)
        perExport.set(d.input.ExportArn!, (perExport.get(d.input.ExportArn!) ?? 0) + 1);
      expect(Math.max(...perExport.values())).to.be.at.most(4);
      // One EMF metrics line per completed tick.
      const ticksOk = run.invocations.filter((i) => i.mode === 'TICK' && i.result?.summary?.outcome === 'OK');
      expect(metricLines.length).to.equal(ticksOk.length);
      expect(JSON.parse(metricLines[0])._aws.CloudWatchMetrics[0].Namespace).to.equal(
        settings.metricNamespace,
      );
    });
  });

  // AWS documents ExportManifest as "the name of the manifest file"; whether that is the full key of
  // manifest-summary.json or only its file name is unconfirmed. The chain must be right either way.
  for (const field of ['key', 'fileName'] as const) {
    it(`records the full manifest-summary key when ExportManifest is the ${field === 'key' ? 'full key' : 'file name only'}`, async () => {
      await withScenario({}, async ({ aws, run, settings }) => {
        aws.dynamodb.exportManifestField = field;
        await run.runFor(2 * HOUR);
        const entries = assertChain(aws, settings).entries;
        expect(entries.length).to.be.greaterThan(1);
        for (const entry of entries) {
          const exportId = entry.exportArn.split('/').pop();
          expect(entry.manifestSummaryKey).to.equal(
            `${settings.prefix}/AWSDynamoDB/${exportId}/manifest-summary.json`,
          );
        }
      });
    });
  }

  it('polls each export a bounded number of times when export durations vary from 4 to 12 minutes', async () => {
    let seed = 11;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const exportDurationSeconds = (r: { type: string }) =>
      r.type === 'FULL_EXPORT' ? 600 : 240 + Math.floor(random() * 480);
    await withScenario({ exportDurationSeconds }, async ({ aws, run, settings }) => {
      await run.runFor(24 * HOUR);
      const chain = assertChain(aws, settings);
      const perExport = new Map<string, number>();
      for (const d of aws.calls.of('DescribeExport')) {
        perExport.set(d.input.ExportArn!, (perExport.get(d.input.ExportArn!) ?? 0) + 1);
      }
      expect(Math.max(...perExport.values())).to.be.at.most(6);
      expect(run.now / 1000 - chain.watermark!).to.be.at.most(STEADY_LAG_SECONDS + 6 * 60);
      expect(failedExecutions(run)).to.deep.equal([]);
    });
  });

  it('reports successes when asked: one full-export message, then commit messages that tile the chain', async () => {
    await withScenario({ settings: { notifyOnSuccess: true } }, async ({ aws, run, settings }) => {
      await run.runFor(4 * HOUR);
      const chain = assertChain(aws, settings);
      const fulls = notifications(aws, 'FULL_EXPORT_COMMITTED');
      expect(fulls).to.have.length(1);
      expect(fulls[0].status).to.equal('SUCCESS');
      expect(fulls[0].exportArn).to.equal(chain.entries[0].exportArn);
      let cursor = chain.chainStart! * 1000;
      for (const n of notifications(aws, 'EXPORT_COMMITTED')) {
        expect(n.status).to.equal('SUCCESS');
        expect(n.table).to.equal(settings.tableName);
        expect(n.alias).to.equal(settings.alias);
        expect(Date.parse(n.window.from)).to.equal(cursor);
        cursor = Date.parse(n.window.to);
      }
      expect(cursor / 1000).to.equal(chain.watermark);
      expect(alertEvents(aws)).to.deep.equal([]);
      for (const m of aws.sns.messages) {
        expect(m.Subject!.length).to.be.at.most(100);
        expect(m.MessageAttributes).to.have.property('status');
      }
    });
  });

  for (const windowMinutes of [60, 1440]) {
    it(`keeps the chain with ${windowMinutes}-minute windows and an hourly schedule`, async () => {
      const settings = { windowMinutes, maxCatchUpWindowMinutes: 1440, schedulePeriodMinutes: 60 };
      await withScenario({ settings }, async ({ aws, run, settings: s }) => {
        await run.runFor(3 * 24 * HOUR);
        const chain = assertChain(aws, s);
        const steady = chain.entries.slice(2);
        expect(steady.length).to.be.greaterThan(0);
        for (const e of steady)
          expect(Date.parse(e.to) - Date.parse(e.from)).to.equal(windowMinutes * MINUTE);
        const worstLag = windowMinutes * 60 + 300 + 60 + 360 + 60 * 60;
        expect(run.now / 1000 - chain.watermark!).to.be.at.most(worstLag);
        expect(failedExecutions(run)).to.deep.equal([]);
        expect(notifications(aws)).to.deep.equal([]);
      });
    });
  }

  it('pauses on the operator action PAUSE and catches up within one period of RUN', async () => {
    await withScenario({ settings: { maxCatchUpWindowMinutes: 1440 } }, async ({ aws, run, settings }) => {
      await run.runFor(2 * HOUR);
      aws.ssm.set(settings.actionParameterName, 'PAUSE');
      await run.runFor(30 * MINUTE); // lets exports already in flight finish
      const pausedAt = run.now;
      const before = exportRequests(aws).length;
      await run.runFor(6 * HOUR);
      expect(exportRequests(aws).length, 'no export while paused').to.equal(before);
      const watermarkPaused = assertChain(aws, settings).watermark!;
      expect(pausedAt / 1000 - watermarkPaused).to.be.at.most(STEADY_LAG_SECONDS);
      const resumedAt = run.now;
      aws.ssm.set(settings.actionParameterName, 'RUN');
      await run.runFor(2 * HOUR);
      const after = exportRequests(aws).slice(before);
      expect(after[0].at - resumedAt, 'first export within one scheduler period').to.be.at.most(15 * MINUTE);
      expect(after[0].from).to.equal(watermarkPaused);
      expect(after[0].to! - after[0].from!, 'the backlog in one export').to.be.at.least(6 * 3600);
      const chain = assertChain(aws, settings);
      expect(run.now / 1000 - chain.watermark!).to.be.at.most(STEADY_LAG_SECONDS);
      expect(alertEvents(aws).filter((e) => e.startsWith('FAILED'))).to.deep.equal([]);
      expect(failedExecutions(run)).to.deep.equal([]);
    });
  });

  it('catches up after a 6-hour scheduler outage within one period of the next delivery', async () => {
    await withScenario({ settings: { maxCatchUpWindowMinutes: 1440 } }, async ({ aws, run, settings }) => {
      await run.runFor(2 * HOUR);
      run.scheduler.pause();
      await run.runFor(6 * HOUR);
      const watermarkPaused = assertChain(aws, settings).watermark!;
      const before = exportRequests(aws).length;
      const resumedAt = run.now;
      run.scheduler.resume();
      await run.runFor(2 * HOUR);
      const after = exportRequests(aws).slice(before);
      expect(after[0].at - resumedAt).to.be.at.most(15 * MINUTE);
      expect(after[0].from).to.equal(watermarkPaused);
      expect(after[0].to! - after[0].from!).to.be.at.least(5 * 3600);
      const chain = assertChain(aws, settings);
      expect(run.now / 1000 - chain.watermark!).to.be.at.most(STEADY_LAG_SECONDS);
      expect(failedExecutions(run)).to.deep.equal([]);
    });
  });

  it('treats a window end DynamoDB finds too close to now as "not yet" and exports the same window later', async () => {
    await withScenario({}, async ({ aws, run, settings }) => {
      await run.runFor(2 * HOUR);
      // DynamoDB's export clock trails the LatestRestorableDateTime it reports by more than the margin.
      aws.dynamodb.setExportClockSkew(settings.restorableMarginSeconds + 90);
      await run.runFor(3 * HOUR);
      const rejected = aws.calls.of(
        'ExportTableToPointInTime',
        (c) => c.outcome === 'InvalidExportTimeException' && c.at < run.now - 10 * MINUTE,
      );
      expect(rejected.length, 'some requests were refused').to.be.greaterThan(0);
      const windows = new Set(exportRequests(aws).map((r) => `${r.from}..${r.to}`));
      for (const r of rejected) {
        const from = r.input.IncrementalExportSpecification!.ExportFromTime!.getTime() / 1000;
        const to = r.input.IncrementalExportSpecification!.ExportToTime!.getTime() / 1000;
        expect(windows.has(`${from}..${to}`), 'the refused window was exported later').to.equal(true);
      }
      const chain = assertChain(aws, settings);
      expect(run.now / 1000 - chain.watermark!).to.be.at.most(STEADY_LAG_SECONDS + 300);
      expect(notifications(aws).filter((n) => n.status === 'FAILED')).to.deep.equal([]);
      expect(failedExecutions(run)).to.deep.equal([]);
    });
  });

  it('follows a larger restorable lag without any refused request', async () => {
    await withScenario({}, async ({ aws, run, settings }) => {
      await run.runFor(2 * HOUR);
      aws.dynamodb.setRestorableLag(900);
      await run.runFor(4 * HOUR);
      expect(aws.calls.of('ExportTableToPointInTime', (c) => c.outcome !== 'ok')).to.deep.equal([]);
      const chain = assertChain(aws, settings);
      expect(run.now / 1000 - chain.watermark!).to.be.at.most(STEADY_LAG_SECONDS + 600);
      expect(notifications(aws)).to.deep.equal([]);
    });
  });
});
