/**
 * At-least-once scheduler delivery and overlapping executions: whatever runs at the same time, each
 * window is exported once and the state stays valid.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import {
  assertChain,
  exportRequests,
  exportsByWindow,
  failedExecutions,
  HOUR,
  MINUTE,
  notifications,
  readState,
  withScenario,
} from '../../helpers/chainAssertions';

const STEADY_LAG_SECONDS = 15 * 60 + 300 + 60 + 360 + 15 * 60;

describe('workflow: duplicate and overlapping executions', () => {
  it('exports each window once when every delivery is duplicated, some at the same instant', async () => {
    await withScenario(
      {
        scheduler: {
          duplicates: (t) => (Math.floor(t / (15 * MINUTE)) % 3) + 1,
          duplicateDelaySeconds: 0,
          deliveryDelaySeconds: (t) => (Math.floor(t / (15 * MINUTE)) % 4) * 20,
        },
      },
      async ({ aws, run, settings }) => {
        await run.runFor(12 * HOUR);
        expect(run.executions.filter((e) => e.kind === 'duplicate').length).to.be.greaterThan(48);
        const chain = assertChain(aws, settings);
        for (const [window, exps] of exportsByWindow(aws)) {
          expect(exps.length, `exports of ${window}`).to.equal(1);
        }
        // Repeating the same request (same client token) is allowed; a second token for a window is not.
        const tokensPerWindow = new Map<string, Set<string | undefined>>();
        for (const r of exportRequests(aws)) {
          const key = `${r.type}:${r.from ?? r.exportTime}..${r.to ?? ''}`;
          tokensPerWindow.set(key, (tokensPerWindow.get(key) ?? new Set()).add(r.token));
        }
        for (const [key, tokens] of tokensPerWindow) expect(tokens.size, key).to.equal(1);
        expect(run.now / 1000 - chain.watermark!).to.be.at.most(STEADY_LAG_SECONDS);
        expect(failedExecutions(run)).to.deep.equal([]);
        expect(notifications(aws)).to.deep.equal([]);
        expect(aws.ssm.get(settings.lockParameterName)).to.equal(undefined);
        // The duplicates really did contend: some ticks found the lock held or another driver.
        const outcomes = new Set(run.invocations.map((i) => i.result?.summary?.outcome));
        expect([...outcomes].filter((o) => o !== 'OK')).not.to.be.empty;
        // Duplicates end quickly instead of driving the chain a second time.
        const durations = run.executions
          .filter((e) => e.kind === 'duplicate' && e.endedAt !== undefined)
          .map((e) => e.endedAt! - e.startedAt);
        expect(Math.max(...durations)).to.be.at.most(15 * MINUTE);
      },
    );
  });

  it('keeps the chain and the state valid under executions started at arbitrary times', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            atMinute: fc.integer({ min: 0, max: 6 * 60 }),
            scheduledOffsetMinutes: fc.integer({ min: -60, max: 15 }),
            withInput: fc.boolean(),
          }),
          { minLength: 1, maxLength: 12 },
        ),
        async (extras) => {
          await withScenario({}, async ({ aws, run, settings }) => {
            for (const x of extras) {
              const at = run.start + x.atMinute * MINUTE;
              const input = x.withInput
                ? { scheduledTime: new Date(at + x.scheduledOffsetMinutes * MINUTE).toISOString() }
                : {};
              run.startExecution(input, { at });
            }
            await run.runFor(7 * HOUR);
            const chain = assertChain(aws, settings);
            expect(run.now / 1000 - chain.watermark!).to.be.at.most(STEADY_LAG_SECONDS);
            for (const [, exps] of exportsByWindow(aws)) expect(exps).to.have.length(1);
            expect(readState(aws, settings).exports.length).to.be.at.most(settings.maxInFlight + 1);
            expect(notifications(aws).filter((n) => n.status === 'FAILED')).to.deep.equal([]);
          });
        },
      ),
      { numRuns: 4, seed: 20260302 },
    );
  });
});
