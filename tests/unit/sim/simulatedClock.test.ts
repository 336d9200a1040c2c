import { expect } from 'chai';
import { installSimulatedClock } from '../../../sim/machines/simulatedClock';

describe('simulated clock (sim/machines/simulatedClock.ts)', () => {
  const START = Date.UTC(2026, 2, 2);

  it('runs Date and the global timers on simulated time while installed, and restores them after', async () => {
    const clock = installSimulatedClock(START);
    const fired: number[] = [];
    try {
      expect(Date.now()).to.equal(START);
      setTimeout(() => fired.push(Date.now()), 60_000);
      await clock.tickAsync(59_999);
      expect(fired).to.deep.equal([]);
      await clock.tickAsync(1);
      expect(fired).to.deep.equal([START + 60_000]);
    } finally {
      clock.uninstall();
    }
    expect(Math.abs(Date.now() - START)).to.be.greaterThan(86_400_000);
  });

  it('tells when the earliest pending timer is due, whichever way it was set', async () => {
    const clock = installSimulatedClock(START);
    try {
      expect(clock.nextTimerAt()).to.equal(undefined);
      const late = clock.setTimeout(() => undefined, 5_000);
      setTimeout(() => undefined, 2_000);
      expect(clock.nextTimerAt()).to.equal(START + 2_000);
      await clock.tickAsync(2_000);
      expect(clock.nextTimerAt()).to.equal(START + 5_000);
      clock.clearTimeout(late);
      expect(clock.nextTimerAt()).to.equal(undefined);
    } finally {
      clock.uninstall();
    }
  });

  it('passes clears of timers it never set to the real clearTimeout instead of warning', () => {
    const clock = installSimulatedClock(START);
    const warnings: unknown[] = [];
    const warn = console.warn;
    console.warn = (...args: unknown[]) => warnings.push(args);
    try {
      clearTimeout(-1 as unknown as ReturnType<typeof setTimeout>);
    } finally {
      console.warn = warn;
      clock.uninstall();
    }
    expect(warnings).to.deep.equal([]);
  });
});
