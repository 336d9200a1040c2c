import { expect } from 'chai';
import fc from 'fast-check';
import { planWindows, windowExportableAt, windowsPerCatchUpExport } from '../../../functions/chain/windows';

const T0 = Date.parse('2026-11-24T00:00:00Z') / 1000;

describe('windows', () => {
  it('plans nothing until a whole window fits under the limit', () => {
    const base = { frontier: T0, windowSeconds: 900, maxCatchUpSeconds: 6 * 3600, slots: 3 };
    expect(planWindows({ ...base, limit: T0 + 899 })).to.deep.equal([]);
    expect(planWindows({ ...base, limit: T0 + 900 })).to.deep.equal([{ from: T0, to: T0 + 900 }]);
    expect(planWindows({ ...base, limit: T0 + 1799 })).to.deep.equal([{ from: T0, to: T0 + 900 }]);
  });

  it('catches up a 6 h backlog with ONE export when catch-up windows may be 6 h long', () => {
    const windows = planWindows({
      frontier: T0,
      limit: T0 + 6 * 3600 + 120,
      windowSeconds: 900,
      maxCatchUpSeconds: 6 * 3600,
      slots: 3,
    });
    expect(windows).to.deep.equal([{ from: T0, to: T0 + 6 * 3600 }]);
  });

  it('splits a longer backlog into catch-up windows of whole normal windows, limited by the free slots', () => {
    const windows = planWindows({
      frontier: T0,
      limit: T0 + 10 * 3600,
      windowSeconds: 1800,
      maxCatchUpSeconds: 4 * 3600 + 600,
      slots: 2,
    });
    expect(windows).to.deep.equal([
      { from: T0, to: T0 + 4 * 3600 },
      { from: T0 + 4 * 3600, to: T0 + 8 * 3600 },
    ]);
    expect(windowsPerCatchUpExport(1800, 4 * 3600 + 600)).to.equal(8);
  });

  it('never exceeds 24 h even if the catch-up setting asks for more', () => {
    expect(windowsPerCatchUpExport(3600, 48 * 3600)).to.equal(24);
  });

  it('rejects windows outside 15 min..24 h', () => {
    expect(() =>
      planWindows({ frontier: T0, limit: T0 + 3600, windowSeconds: 600, maxCatchUpSeconds: 600, slots: 1 }),
    ).to.throw(/15 min/);
  });

  it('property: contiguous, on the grid, within bounds and under the limit', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 15, max: 1440 }),
        fc.integer({ min: 0, max: 1440 }),
        fc.integer({ min: 0, max: 7 * 86400 }),
        fc.integer({ min: 0, max: 10 }),
        (windowMinutes, extraCatchUp, backlog, slots) => {
          const windowSeconds = windowMinutes * 60;
          const maxCatchUpSeconds = Math.min(1440, windowMinutes + extraCatchUp) * 60;
          const windows = planWindows({
            frontier: T0,
            limit: T0 + backlog,
            windowSeconds,
            maxCatchUpSeconds,
            slots,
          });
          expect(windows.length).to.be.at.most(slots);
          let cursor = T0;
          for (const w of windows) {
            expect(w.from).to.equal(cursor);
            expect(w.to - w.from).to.be.within(900, 86400);
            expect((w.to - w.from) % windowSeconds).to.equal(0);
            expect(w.to - w.from).to.be.at.most(Math.max(windowSeconds, maxCatchUpSeconds));
            expect(w.to).to.be.at.most(T0 + backlog);
            cursor = w.to;
          }
          // Free slots left => everything exportable is covered.
          if (windows.length < slots) expect(T0 + backlog - cursor).to.be.lessThan(windowSeconds);
        },
      ),
    );
  });

  it('a window is exportable once the restorable point, trailing by the lag, passes its end plus the margin', () => {
    expect(windowExportableAt(T0, 900, 60, 300)).to.equal(T0 + 1260);
    expect(windowExportableAt(T0, 900, 60, 300.2)).to.equal(T0 + 1261);
  });
});
