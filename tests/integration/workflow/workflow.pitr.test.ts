/**
 * Point-in-time recovery turned off and on, history lost, and the table deleted.
 *
 * Re-enabling PITR starts a new history at the moment it is re-enabled (R): EarliestRestorableDateTime
 * jumps to R. A running chain can never bridge that: its next window starts where the last requested
 * window ended, which is at most LatestRestorableDateTime - margin, i.e. before PITR was disabled and so
 * before R. So once a chain has started, disabling PITR always ends in a PITR gap, and the scenarios
 * check what must still hold: exports already accepted finish and are committed, one warning, no
 * request while PITR is off, the gap found at once, and a new epoch by RESET or automatically.
 * The lossless case is a table whose PITR is off before the chain starts: no history is needed from
 * before R, so the chain starts after it without a gap.
 */
import { expect } from 'chai';
import { chainCurrentKey } from '../../../functions/shared/chainManifest';
import {
  assertChain,
  chainEntries,
  exportRequests,
  failedExecutions,
  HOUR,
  MINUTE,
  notifications,
  readState,
  withScenario,
} from '../../helpers/chainAssertions';

const STEADY_LAG_SECONDS = 15 * 60 + 300 + 60 + 360 + 15 * 60;

describe('workflow: PITR and table lifecycle', () => {
  it('starts the chain without loss when PITR is enabled only after deployment', async () => {
    await withScenario({}, async ({ aws, run, settings }) => {
      aws.dynamodb.disablePitr(settings.tableName);
      await run.runFor(2 * HOUR);
      expect(exportRequests(aws)).to.deep.equal([]);
      expect(notifications(aws).map((n) => `${n.status}:${n.event}`)).to.deep.equal([
        'WARNING:PITR_DISABLED',
      ]);
      const enabledAt = run.now;
      aws.dynamodb.enablePitr(settings.tableName);
      await run.runFor(3 * HOUR);
      const chain = assertChain(aws, settings);
      expect(chain.chainStart! * 1000).to.be.at.least(enabledAt);
      expect(run.now / 1000 - chain.watermark!).to.be.at.most(STEADY_LAG_SECONDS);
      expect(notifications(aws).map((n) => `${n.status}:${n.event}`)).to.deep.equal([
        'WARNING:PITR_DISABLED',
        'SUCCESS:PITR_ENABLED',
      ]);
      expect(failedExecutions(run)).to.deep.equal([]);
    });
  });

  it('with onPitrGap=alert: commits what was in flight, warns once, alerts the gap hourly, waits for RESET', async () => {
    await withScenario({}, async ({ aws, run, settings }) => {
      await run.runFor(2 * HOUR + 16 * MINUTE); // just after the :15 tick requested a window
      const lastRequest = exportRequests(aws).at(-1)!;
      expect(run.now - lastRequest.at).to.be.below(5 * MINUTE);
      const requestsAtDisable = exportRequests(aws).length;
      aws.dynamodb.disablePitr(settings.tableName);
      await run.runFor(HOUR);
      expect(exportRequests(aws).length, 'nothing requested while PITR is off').to.equal(requestsAtDisable);
      const before = assertChain(aws, settings);
      expect(before.watermark, 'in-flight exports committed').to.equal(lastRequest.to);
      expect(notifications(aws).map((n) => n.event)).to.deep.equal(['PITR_DISABLED']);

      const reenabledAt = run.now;
      const requestsBefore = exportRequests(aws).length;
      aws.dynamodb.enablePitr(settings.tableName);
      await run.runFor(3 * HOUR + 30 * MINUTE);
      expect(exportRequests(aws).length, 'the chain waits').to.equal(requestsBefore);
      const gaps = notifications(aws, 'PITR_GAP');
      expect(gaps[0].status).to.equal('FAILED');
      expect(Date.parse(gaps[0].time) - reenabledAt).to.be.at.most(16 * MINUTE);
      expect(gaps[0].window.from).to.equal(new Date(before.watermark! * 1000).toISOString());
      // One alert, then reminders about hourly.
      expect(gaps.length).to.be.within(3, 5);
      for (let i = 1; i < gaps.length; i++) {
        expect(Date.parse(gaps[i].time) - Date.parse(gaps[i - 1].time)).to.be.at.least(HOUR);
      }
      const stillOld = assertChain(aws, settings);
      expect(stillOld.epoch).to.equal(before.epoch);
      expect(stillOld.entries.length).to.equal(before.entries.length);

      const resetAt = run.now;
      aws.ssm.set(settings.actionParameterName, 'RESET');
      await run.runFor(3 * HOUR);
      const after = assertChain(aws, settings);
      expect(after.epoch).not.to.equal(before.epoch);
      expect(after.chainStart! * 1000).to.be.at.least(resetAt - 10 * MINUTE);
      // The RESET stays in the parameter (consumed by its version, never written back) and ran once.
      expect(aws.ssm.get(settings.actionParameterName)).to.equal('RESET');
      expect(notifications(aws, 'RESET')).to.have.length(1);
      expect(JSON.parse(aws.s3.text(settings.bucket, chainCurrentKey(settings.prefix))!).epoch).to.equal(
        after.epoch,
      );
      // The old epoch's manifest is left as it was.
      expect(chainEntries(aws, settings, before.epoch!).length).to.equal(before.entries.length);
      expect(run.now / 1000 - after.watermark!).to.be.at.most(STEADY_LAG_SECONDS);
      const gapsAfterReset = notifications(aws, 'PITR_GAP').filter(
        (n) => Date.parse(n.time) > resetAt + 15 * MINUTE,
      );
      expect(gapsAfterReset).to.deep.equal([]);
    });
  });

  it('with onPitrGap=reset: starts a new epoch by itself, alerting once', async () => {
    await withScenario({ settings: { onPitrGap: 'reset' } }, async ({ aws, run, settings }) => {
      await run.runFor(2 * HOUR);
      const before = assertChain(aws, settings);
      aws.dynamodb.disablePitr(settings.tableName);
      await run.runFor(30 * MINUTE);
      const reenabledAt = run.now;
      aws.dynamodb.enablePitr(settings.tableName);
      await run.runFor(4 * HOUR);
      const after = assertChain(aws, settings);
      expect(after.epoch).not.to.equal(before.epoch);
      expect(after.chainStart! * 1000).to.be.at.least(reenabledAt);
      expect(notifications(aws, 'PITR_GAP')).to.have.length(1);
      expect(notifications(aws, 'NEW_EPOCH')).to.have.length(1);
      expect(run.now / 1000 - after.watermark!).to.be.at.most(STEADY_LAG_SECONDS);
      expect(readState(aws, settings).incidents.filter((i) => i.key.startsWith('PITR_GAP'))).to.deep.equal(
        [],
      );
    });
  });

  it('starts a new epoch on RESET while exports are in flight, without mixing the two epochs', async () => {
    await withScenario({}, async ({ aws, run, settings }) => {
      await run.runFor(3 * HOUR + 2 * MINUTE); // an incremental export was just requested
      const before = assertChain(aws, settings);
      const inFlight = aws.dynamodb.inFlight().map((e) => e.arn);
      expect(inFlight.length).to.be.greaterThan(0);
      const resetAt = run.now;
      aws.ssm.set(settings.actionParameterName, 'RESET');
      await run.runFor(3 * HOUR);
      const after = assertChain(aws, settings);
      expect(after.epoch).not.to.equal(before.epoch);
      expect(after.chainStart! * 1000).to.be.at.least(resetAt - 10 * MINUTE);
      for (const arn of inFlight) {
        expect(
          after.entries.some((e) => e.exportArn === arn),
          'old-epoch export not in the new epoch',
        ).to.equal(false);
      }
      // The RESET stays in the parameter (consumed by its version, never written back) and ran once.
      expect(aws.ssm.get(settings.actionParameterName)).to.equal('RESET');
      expect(notifications(aws, 'RESET')).to.have.length(1);
      expect(run.now / 1000 - after.watermark!).to.be.at.most(STEADY_LAG_SECONDS);
    });
  });

  it('warns before the lag reaches the PITR recovery period, and reports the gap once it has', async () => {
    await withScenario({}, async ({ aws, run, settings }) => {
      aws.dynamodb.tables.get(settings.tableName)!.recoveryPeriodInDays = 1;
      await run.runFor(2 * HOUR);
      aws.ssm.set(settings.actionParameterName, 'PAUSE');
      await run.runFor(26 * HOUR);
      aws.ssm.set(settings.actionParameterName, 'RUN');
      await run.runFor(HOUR);
      const events = notifications(aws).map((n) => n.event);
      expect(events).to.include('PITR_WINDOW_WARNING');
      expect(events).to.include('PITR_GAP');
      expect(events.indexOf('PITR_WINDOW_WARNING')).to.be.below(events.indexOf('PITR_GAP'));
      expect(notifications(aws, 'PITR_WINDOW_WARNING')).to.have.length(1);
      assertChain(aws, settings);
    });
  });

  it('stops cleanly when the table is deleted: one notification, every later run ends at its first tick', async () => {
    await withScenario({}, async ({ aws, run, settings }) => {
      await run.runFor(2 * HOUR);
      const deletedAt = run.now;
      aws.dynamodb.deleteTable(settings.tableName);
      const requests = exportRequests(aws).length;
      await run.runFor(4 * HOUR);
      expect(exportRequests(aws).length).to.equal(requests);
      expect(notifications(aws).map((n) => `${n.status}:${n.event}`)).to.deep.equal(['FAILED:TABLE_DELETED']);
      const later = run.executions.filter(
        (e) => e.startedAt > deletedAt + 30 * MINUTE && e.status !== 'RUNNING',
      );
      expect(later.length).to.be.greaterThan(10);
      for (const e of later) {
        expect(e.status).to.equal('SUCCEEDED');
        expect(e.invocations, `${e.name} ticks`).to.equal(1);
      }
      expect(failedExecutions(run)).to.deep.equal([]);
      assertChain(aws, settings);
    });
  });
});
