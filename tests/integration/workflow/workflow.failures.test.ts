/**
 * Failures the chain must survive without a gap, an overlap or a flood of alerts: exports that end
 * FAILED, and every AWS call the export tick makes failing transiently, once or for a while.
 */
import { expect } from 'chai';
import { TRANSIENT_FAULTS } from '../../../sim/fakeAws';
import {
  assertChain,
  exportRequests,
  exportsByWindow,
  failedExecutions,
  HOUR,
  MINUTE,
  notifications,
  withScenario,
} from '../../helpers/chainAssertions';

const STEADY_LAG_SECONDS = 15 * 60 + 300 + 60 + 360 + 15 * 60;

/** Every SDK command the export tick sends (functions/shared/awsActions.ts), by action name. */
const HANDLER_COMMANDS = [
  'GetParameters',
  'PutParameter',
  'DeleteParameter',
  'DescribeContinuousBackups',
  'ExportTableToPointInTime',
  'DescribeExport',
  'PutObject',
  'Publish',
];

describe('workflow: failed exports', () => {
  it('requests a failed incremental window again (attempt 2), alerts once, reports recovery, skips nothing', async () => {
    await withScenario({}, async ({ aws, run, settings }) => {
      await run.runFor(2 * HOUR);
      aws.dynamodb.failNextExports(1);
      await run.runFor(3 * HOUR);
      const failed = [...aws.dynamodb.exports.values()].filter((e) => e.fails);
      expect(failed).to.have.length(1);
      const { from, to } = failed[0].request;
      const attempts = exportsByWindow(aws).get(`${from}..${to}`)!;
      expect(attempts).to.have.length(2);
      expect(attempts[1].fails).to.equal(false);
      expect(attempts[1].request.clientToken).not.to.equal(attempts[0].request.clientToken);
      const alerts = notifications(aws, 'EXPORT_FAILED');
      expect(alerts).to.have.length(1);
      expect(alerts[0]).to.include({ status: 'FAILED', type: 'INCREMENTAL', attempt: 1 });
      expect(alerts[0].window).to.deep.equal({
        from: new Date(from! * 1000).toISOString(),
        to: new Date(to! * 1000).toISOString(),
      });
      expect(alerts[0].exportArn).to.equal(failed[0].arn);
      const recovered = notifications(aws, 'EXPORT_RECOVERED');
      expect(recovered).to.have.length(1);
      expect(recovered[0].status).to.equal('SUCCESS');
      expect(recovered[0].notificationId).to.match(new RegExp(`^${settings.alias}/EXPORT_FAILED:`));
      expect(aws.sns.messages.findIndex((m) => m.Message.includes('EXPORT_RECOVERED'))).to.be.greaterThan(
        aws.sns.messages.findIndex((m) => m.Message.includes('EXPORT_FAILED')),
      );
      const chain = assertChain(aws, settings);
      expect(chain.entries.some((e) => e.exportArn === attempts[1].arn)).to.equal(true);
      expect(run.now / 1000 - chain.watermark!).to.be.at.most(STEADY_LAG_SECONDS);
      expect(failedExecutions(run)).to.deep.equal([]);
    });
  });

  it('keeps one alert for a window that fails several times in a row', async () => {
    await withScenario({}, async ({ aws, run, settings }) => {
      await run.runFor(2 * HOUR);
      let target: number | undefined;
      aws.dynamodb.failNextExports((r) => {
        if (r.type !== 'INCREMENTAL_EXPORT') return false;
        target ??= r.from;
        return r.from === target && (exportsByWindow(aws).get(`${r.from}..${r.to}`)?.length ?? 0) < 3;
      });
      await run.runFor(4 * HOUR);
      const attempts = [...exportsByWindow(aws).values()].find((list) => list.length > 1)!;
      expect(attempts.map((e) => e.fails)).to.deep.equal([true, true, true, false]);
      const incident = attempts[3].startTime - attempts[0].startTime;
      const alerts = notifications(aws, 'EXPORT_FAILED');
      expect(alerts.length).to.be.within(1, 1 + Math.floor(incident / HOUR));
      expect(notifications(aws, 'EXPORT_RECOVERED')).to.have.length(1);
      assertChain(aws, settings);
    });
  });

  it('starts a new full export after a failed one, and no incremental export before a full one completed', async () => {
    await withScenario({}, async ({ aws, run, settings }) => {
      aws.dynamodb.failNextExports((r) => r.type === 'FULL_EXPORT' && aws.dynamodb.exports.size === 0);
      await run.runFor(4 * HOUR);
      const requests = exportRequests(aws);
      const fulls = requests.filter((r) => r.type === 'FULL_EXPORT');
      expect(fulls.length).to.equal(2);
      expect(fulls[1].token).not.to.equal(fulls[0].token);
      const goodFull = [...aws.dynamodb.exports.values()].find(
        (e) => e.request.type === 'FULL_EXPORT' && !e.fails,
      )!;
      for (const r of requests.filter((x) => x.type === 'INCREMENTAL_EXPORT')) {
        expect(r.at).to.be.at.least(goodFull.endTime);
      }
      const chain = assertChain(aws, settings);
      expect(chain.chainStart).to.equal(goodFull.request.exportTime);
      expect(notifications(aws, 'FULL_EXPORT_FAILED')).to.have.length(1);
      expect(notifications(aws, 'FULL_EXPORT_FAILED')[0].status).to.equal('FAILED');
      expect(run.now / 1000 - chain.watermark!).to.be.at.most(STEADY_LAG_SECONDS);
    });
  });
});

describe('workflow: transient AWS errors', () => {
  for (const command of HANDLER_COMMANDS) {
    it(`absorbs each kind of transient ${command} failure, once, without trace`, async () => {
      await withScenario(
        { settings: { notifyOnSuccess: command === 'Publish' } },
        async ({ aws, run, settings }) => {
          await run.runFor(HOUR);
          for (const error of TRANSIENT_FAULTS) {
            aws.injectFault({ command, error, times: 1 });
            await run.runFor(20 * MINUTE);
          }
          await run.runFor(HOUR);
          const injected = aws.calls.of(command, (c) => c.injected);
          expect(injected.map((c) => c.outcome).length, 'every fault was hit').to.equal(
            TRANSIENT_FAULTS.length,
          );
          expect(failedExecutions(run)).to.deep.equal([]);
          expect(notifications(aws).filter((n) => n.status !== 'SUCCESS')).to.deep.equal([]);
          const chain = assertChain(aws, settings);
          expect(run.now / 1000 - chain.watermark!).to.be.at.most(STEADY_LAG_SECONDS);
          expect(aws.ssm.get(settings.lockParameterName)).to.equal(undefined);
        },
      );
    });
  }

  for (const command of HANDLER_COMMANDS) {
    it(`recovers from ${command} failing for 20 minutes, alerting at most once`, async () => {
      await withScenario(
        { settings: { notifyOnSuccess: command === 'Publish' } },
        async ({ aws, run, settings }) => {
          await run.runFor(2 * HOUR);
          // Every kind of transient error, in turn, for as long as the outage lasts.
          aws.injectFault({ command, error: TRANSIENT_FAULTS, times: Infinity });
          await run.runFor(20 * MINUTE);
          aws.clearFaults();
          await run.runFor(2 * HOUR);
          const chain = assertChain(aws, settings);
          expect(run.now / 1000 - chain.watermark!).to.be.at.most(STEADY_LAG_SECONDS);
          const kinds = new Set(aws.calls.of(command, (c) => c.injected).map((c) => c.outcome));
          expect(kinds.size, 'several kinds of error were hit').to.be.at.least(3);
          expect(notifications(aws, 'RUN_FAILED').length, 'one alert per incident').to.be.at.most(1);
          expect(aws.ssm.get(settings.lockParameterName)).to.equal(undefined);
          // Transient trouble never turns into a FAILED export.
          expect([...aws.dynamodb.exports.values()].filter((e) => e.fails)).to.deep.equal([]);
        },
      );
    });
  }
});
