/**
 * One export that takes a whole day must not slow down the ones after it: the expected export
 * duration is robust to an outlier, so the short exports that follow are checked right when they are
 * expected to end, and the chain catches up within the hour instead of lagging for half a day.
 */
import { expect } from 'chai';
import { FIRST_CHECK_BOUND_SECONDS, MAX_RECHECK_SECONDS } from '../../../functions/chain/timing';
import { assertChain, failedExecutions, HOUR, withScenario } from '../../helpers/chainAssertions';

const DAY_SECONDS = 86_400;

describe('hardening: one slow export', () => {
  it('an incremental export taking 24 hours: the short exports after it are checked when they end, and the lag recovers within the hour', async () => {
    let slowNext = false;
    await withScenario(
      {
        restorableLagSeconds: 300,
        exportDurationSeconds: (r) => {
          if (r.type === 'FULL_EXPORT') return 600;
          if (!slowNext) return 360;
          slowNext = false;
          return DAY_SECONDS;
        },
      },
      async ({ aws, run, settings, metricLines }) => {
        await run.runFor(4 * HOUR);
        slowNext = true;
        await run.runFor(28 * HOUR);
        const exports = [...aws.dynamodb.exports.values()];
        const slow = exports.find((e) => e.endTime - e.startTime >= DAY_SECONDS * 1000);
        expect(slow, 'the slow export').to.not.equal(undefined);
        expect(run.now, 'the run goes on past the slow export').to.be.greaterThan(slow!.endTime + 2 * HOUR);

        // The slow export itself: checked less and less often, and seen done within the longest interval.
        const slowChecks = aws.calls.of('DescribeExport', (c) => c.input.ExportArn === slow!.arn);
        expect(slowChecks.length, 'checks of the day-long export').to.be.within(20, 150);
        const seenDone = slowChecks[slowChecks.length - 1].at;
        expect((seenDone - slow!.endTime) / 1000).to.be.within(
          0,
          MAX_RECHECK_SECONDS + FIRST_CHECK_BOUND_SECONDS,
        );

        // Every export started after the slow one: checked first within the bound past its expected
        // end (each took the expected 360 s), not hours later.
        const later = exports.filter(
          (e) => e !== slow && e.startTime > slow!.startTime && e.endTime < run.now,
        );
        expect(later.length, 'exports after the slow one').to.be.greaterThan(3);
        for (const e of later) {
          const first = aws.calls.of('DescribeExport', (c) => c.input.ExportArn === e.arn)[0];
          expect(first, `a check of ${e.arn}`).to.not.equal(undefined);
          const delay = (first.at - e.endTime) / 1000;
          expect(delay, `first check of ${e.arn} after its end, seconds`).to.be.within(
            0,
            FIRST_CHECK_BOUND_SECONDS,
          );
        }

        // The lag is back under the alarm threshold within the hour after the slow export ended.
        const lags = metricLines.map(
          (l) => JSON.parse(l) as { _aws: { Timestamp: number }; ChainLagSeconds: number },
        );
        const late = lags.filter((m) => m._aws.Timestamp >= slow!.endTime + HOUR);
        expect(late.length).to.be.greaterThan(0);
        const over = late.filter((m) => m.ChainLagSeconds > settings.lagAlarmMinutes * 60);
        expect(
          over.map(
            (m) => `${new Date(m._aws.Timestamp).toISOString()} ${Math.round(m.ChainLagSeconds / 60)} min`,
          ),
          'lag over the alarm threshold an hour after the slow export ended',
        ).to.deep.equal([]);
        expect(run.now / 1000 - assertChain(aws, settings).watermark!).to.be.at.most(
          settings.lagAlarmMinutes * 60,
        );
        expect(failedExecutions(run)).to.deep.equal([]);
      },
    );
  });
});
