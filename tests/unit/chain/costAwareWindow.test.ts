import { expect } from 'chai';
import fc from 'fast-check';
import {
  addBillingSample,
  BILLING_SAMPLES,
  estimatedRate,
  exportCost,
  longestWindowSeconds,
  MIN_BILLED_BYTES,
  MONTH_SECONDS,
  monthlyExportCost,
  nextWindowSeconds,
  type BillingSample,
} from '../../../functions/chain/costAwareWindow';
import { MAX_WINDOW_SECONDS, planWindows } from '../../../functions/chain/windows';
import type { WindowMode } from '../../../functions/chain/settings';
import { exportCostTable, exportMonth } from '../../../tools/benchWindows';

const CHAIN_START = 1_790_000_000;

/** Cost-aware settings: a window of 15 min..24 h and a staleness bound from it to 24 h. */
const costAwareSettings = fc.integer({ min: 15, max: 1440 }).chain((windowMinutes) =>
  fc.record({
    windowMinutes: fc.constant(windowMinutes),
    maxStalenessMinutes: fc.integer({ min: windowMinutes, max: 1440 }),
    windowMode: fc.constant<WindowMode>('costAware'),
  }),
);

/** A change rate in bytes per second: none, quiet, around the minimum per window, a burst. */
const rate = fc.oneof(
  fc.constant(0),
  fc.double({ min: 0, max: 100, noNaN: true }),
  fc.double({ min: 100, max: 20_000, noNaN: true }),
  fc.double({ min: 20_000, max: 2_000_000, noNaN: true }),
);

interface Step {
  from: number;
  to: number;
  bytes: number;
  next: number;
}

/**
 * Runs the chain's windows as the planner plans them (from the frontier, once each is exportable),
 * each export billing its rate over its window; `minimumIncluded` makes the billed size at least the
 * minimum, as DynamoDB may report it ([U]).
 */
function runWindows(
  settings: { windowMinutes: number; maxStalenessMinutes: number; windowMode: WindowMode },
  rates: number[],
  minimumIncluded: boolean,
): Step[] {
  let frontier = CHAIN_START;
  let samples: BillingSample[] = [];
  const steps: Step[] = [];
  for (const r of rates) {
    const length = nextWindowSeconds(settings, samples);
    const [window] = planWindows({
      frontier,
      limit: frontier + length,
      windowSeconds: length,
      maxCatchUpSeconds: 1440 * 60,
      slots: 1,
    });
    const processed = Math.round(r * (window.to - window.from));
    const bytes = minimumIncluded ? Math.max(processed, MIN_BILLED_BYTES) : processed;
    samples = addBillingSample(samples, { seconds: window.to - window.from, bytes });
    steps.push({ ...window, bytes, next: nextWindowSeconds(settings, samples) });
    frontier = window.to;
  }
  return steps;
}

describe('cost-aware windows (functions/chain/costAwareWindow.ts)', () => {
  it('windows tile from the chain start on the grid, between windowMinutes and min(maxStaleness, 24 h)', () => {
    fc.assert(
      fc.property(
        costAwareSettings,
        fc.array(rate, { minLength: 1, maxLength: 40 }),
        fc.boolean(),
        (s, rates, minIncl) => {
          const base = s.windowMinutes * 60;
          let cursor = CHAIN_START;
          for (const step of runWindows(s, rates, minIncl)) {
            expect(step.from, 'meets the previous window').to.equal(cursor);
            const length = step.to - step.from;
            expect(length).to.be.at.least(base);
            expect(length).to.be.at.most(Math.min(s.maxStalenessMinutes * 60, MAX_WINDOW_SECONDS));
            expect((step.from - CHAIN_START) % base, 'on the grid').to.equal(0);
            expect(length % base).to.equal(0);
            cursor = step.to;
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('shortens as soon as an export bills more than the minimum, and at least halves past twice the minimum', () => {
    fc.assert(
      fc.property(
        costAwareSettings,
        fc.array(rate, { minLength: 1, maxLength: 40 }),
        fc.boolean(),
        (s, rates, minIncl) => {
          const base = s.windowMinutes * 60;
          for (const step of runWindows(s, rates, minIncl)) {
            const length = step.to - step.from;
            if (step.bytes > MIN_BILLED_BYTES) expect(step.next).to.be.at.most(length);
            if (step.bytes >= 2 * MIN_BILLED_BYTES && length >= 2 * base) {
              expect(step.next).to.be.below(length);
              expect(step.next).to.be.at.most(Math.max(base, Math.ceil(length / 2 / base) * base));
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a quiet table reaches the longest window: at once when exports bill their size, by doubling when they bill the minimum', () => {
    fc.assert(
      fc.property(costAwareSettings, (s) => {
        const longest = longestWindowSeconds(s);
        expect(runWindows(s, [0], false)[0].next).to.equal(longest);
        const steps = runWindows(s, new Array(40).fill(0), true);
        for (let i = 1; i < steps.length; i++)
          expect(steps[i].to - steps[i].from).to.be.at.least(steps[i - 1].to - steps[i - 1].from);
        expect(steps[steps.length - 1].next).to.equal(longest);
      }),
    );
  });

  it('an export then bills about the minimum: the window is where the rate reaches 10 MB, rounded up to the grid', () => {
    const s = { windowMinutes: 15, maxStalenessMinutes: 1440, windowMode: 'costAware' as WindowMode };
    // 10 MB an hour: one-hour windows.
    const perSecond = MIN_BILLED_BYTES / 3600;
    expect(nextWindowSeconds(s, [{ seconds: 900, bytes: Math.round(perSecond * 900) }])).to.equal(3600);
    // 10 MB in 50 minutes: rounded up to 60.
    expect(
      nextWindowSeconds(s, [{ seconds: 900, bytes: Math.round((MIN_BILLED_BYTES / 3000) * 900) }]),
    ).to.equal(3600);
    // A burst: 100 MB in an hour, back to 15 minutes at once although the exports before were quiet.
    const quiet = [
      { seconds: 86_400, bytes: 1000 },
      { seconds: 86_400, bytes: 2000 },
    ];
    expect(nextWindowSeconds(s, [...quiet, { seconds: 86_400, bytes: 100 * MIN_BILLED_BYTES }])).to.equal(
      900,
    );
  });

  it('fixed windows ignore what exports billed; no sample means the configured window', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 15, max: 1440 }),
        fc.array(fc.record({ seconds: fc.integer({ min: 900, max: 86_400 }), bytes: fc.nat() }), {
          maxLength: 5,
        }),
        (windowMinutes, samples) => {
          expect(
            nextWindowSeconds({ windowMinutes, windowMode: 'fixed', maxStalenessMinutes: 1440 }, samples),
          ).to.equal(windowMinutes * 60);
          expect(nextWindowSeconds({ windowMinutes }, samples)).to.equal(windowMinutes * 60);
          expect(nextWindowSeconds({ windowMinutes, windowMode: 'costAware' }, [])).to.equal(
            windowMinutes * 60,
          );
        },
      ),
    );
  });

  it('keeps the last few samples and estimates the rate over them', () => {
    let samples: BillingSample[] = [];
    for (let i = 1; i <= 5; i++) samples = addBillingSample(samples, { seconds: 900, bytes: i * 1000 });
    expect(samples.map((x) => x.bytes)).to.deep.equal([3000, 4000, 5000].slice(-BILLING_SAMPLES));
    expect(estimatedRate(samples)).to.be.closeTo(12_000 / 2700, 1e-9);
    expect(estimatedRate([])).to.equal(null);
  });

  it('prices exports at the minimum at least: the issue table for 15 minutes, an hour and a day', () => {
    const quiet = (seconds: number) => monthlyExportCost([{ seconds, bytes: 1000 }])!;
    expect(quiet(900)).to.be.closeTo(2.88, 1e-9);
    expect(quiet(3600)).to.be.closeTo(0.72, 1e-9);
    expect(quiet(86_400)).to.be.closeTo(0.03, 1e-9);
    expect(exportCost(2e9)).to.be.closeTo(0.2, 1e-12);
    expect(monthlyExportCost([])).to.equal(null);
    expect(MONTH_SECONDS).to.equal(30 * 86_400);
  });

  it('the bench: a quiet table pays about a 96th at one-day windows; a busy one the same as fixed', () => {
    const fixed = { windowMinutes: 15, windowMode: 'fixed' as WindowMode };
    const aware = { windowMinutes: 15, windowMode: 'costAware' as WindowMode, maxStalenessMinutes: 1440 };
    const quiet = 10e6 / 86_400;
    expect(exportMonth(fixed, quiet).monthlyUsd).to.be.closeTo(2.88, 1e-6);
    const cheap = exportMonth(aware, quiet);
    expect(cheap.longestWindowSeconds).to.equal(86_400);
    expect(cheap.monthlyUsd).to.be.below(2.88 / 90);
    const busy = 10e9 / 86_400;
    expect(exportMonth(aware, busy)).to.deep.equal(exportMonth(fixed, busy));
    expect(exportCostTable()).to.match(/10 MB a day\s+\$2\.88\s+27 min\s+\$0\.03\s+24\.2 h/);
  });
});
