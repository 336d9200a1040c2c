import { expect } from 'chai';
import fc from 'fast-check';
import { exportCostOf, type IncrementalExport } from '../../../sim/simulation/exportCost';

const T0 = 1_800_000_000;
const DAY = 86_400;

/** Windows that meet exactly, from `T0`, of the given lengths (minutes) and billed sizes. */
function chain(windows: { minutes: number; bytes: number }[]): IncrementalExport[] {
  let at = T0;
  return windows.map((w) => {
    const e = { from: at, to: at + w.minutes * 60, billedBytes: w.bytes };
    at = e.to;
    return e;
  });
}

describe("a simulation's export cost (sim/simulation/exportCost.ts)", () => {
  it('a month of 15-minute windows under the minimum: 2,880 exports, $2.88', () => {
    const month = chain(Array.from({ length: 2880 }, () => ({ minutes: 15, bytes: 300 })));
    const c = exportCostOf(month, 30 * DAY);
    expect(c).to.include({ incrementals: 2880, incrementalsPerMonth: 2880, billedBytes: 864_000, gaps: 0 });
    expect(c.windowMinutes).to.deep.equal({ min: 15, max: 15, last: 15 });
    expect(c.monthlyUsd).to.be.closeTo(2.88, 1e-9);
  });

  it('a month of one-day windows under the minimum: 30 exports, $0.03; above it, what they billed', () => {
    expect(
      exportCostOf(chain(Array.from({ length: 30 }, () => ({ minutes: 1440, bytes: 5_000 }))), 30 * DAY)
        .monthlyUsd,
    ).to.be.closeTo(0.03, 1e-9);
    // 1 GB a day billed: $0.10 a day, whatever the window.
    expect(
      exportCostOf(chain(Array.from({ length: 30 }, () => ({ minutes: 1440, bytes: 1e9 }))), 30 * DAY)
        .monthlyUsd,
    ).to.be.closeTo(3, 1e-9);
  });

  it('counts a gap and an overlap, and a window exported twice once', () => {
    const [a, b, c] = chain([
      { minutes: 15, bytes: 1 },
      { minutes: 15, bytes: 1 },
      { minutes: 15, bytes: 1 },
    ]);
    expect(exportCostOf([a, c], DAY).gaps).to.equal(1);
    expect(exportCostOf([a, { ...b, from: b.from - 60 }, c], DAY).gaps).to.equal(1);
    expect(exportCostOf([c, a, b, b], DAY)).to.include({ incrementals: 3, gaps: 0 });
    expect(exportCostOf([], DAY)).to.deep.include({ incrementals: 0, windowMinutes: null, monthlyUsd: null });
  });

  it('for any windows that meet: no gap, the last length is the latest window, and the monthly cost is at least the minimum per window at their pace', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            minutes: fc.integer({ min: 1, max: 96 }).map((k) => k * 15),
            bytes: fc.nat(50_000_000),
          }),
          { minLength: 1, maxLength: 50 },
        ),
        (windows) => {
          const exports = chain(windows);
          const seconds = exports[exports.length - 1].to - T0;
          const c = exportCostOf([...exports].reverse(), seconds);
          expect(c.gaps).to.equal(0);
          expect(c.incrementals).to.equal(windows.length);
          expect(c.windowMinutes!.last).to.equal(windows[windows.length - 1].minutes);
          const floor = ((windows.length * 0.01 * 0.1) / seconds) * 30 * DAY;
          expect(c.monthlyUsd!).to.be.at.least(floor - 1e-9);
          expect(c.incrementalsPerMonth).to.be.closeTo((windows.length * 30 * DAY) / seconds, 1e-9);
        },
      ),
    );
  });
});
