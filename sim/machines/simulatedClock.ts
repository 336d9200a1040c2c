/**
 * The simulated clock of a local run, as one object handed to the runner and the scheduler.
 *
 * It is a @sinonjs/fake-timers clock installed globally, and it has to be global: the state machine
 * interpreter (aws-local-stepfunctions) waits in Wait states and Retry back-off with the global
 * `setTimeout` and offers no clock option; the export tick handler reads `Date.now()` (through
 * `functions/shared/time.ts`) and sleeps with the global `setTimeout`, exactly as it does in Lambda; the AWS
 * SDK signs requests with `Date`. What can take the clock as an argument does: the runner and the
 * scheduler use this object, never the globals, and only this file knows how fake-timers keeps its
 * timers.
 */
import FakeTimers from '@sinonjs/fake-timers';

/** A timer id of the simulated clock. */
export type SimulatedTimerId = ReturnType<ReturnType<typeof FakeTimers.install>['setTimeout']>;

export interface SimulatedClock {
  /** Simulated time, epoch ms. */
  readonly now: number;
  setTimeout(callback: () => void, delayMs: number): SimulatedTimerId;
  clearTimeout(id: SimulatedTimerId): void;
  /** Advances by `ms`, firing the timers due on the way and letting promise chains run between them. */
  tickAsync(ms: number): Promise<void>;
  /** When the earliest pending timer is due, epoch ms; undefined when none is pending. */
  nextTimerAt(): number | undefined;
  /** Restores the real `Date` and timers. */
  uninstall(): void;
}

/** The fake-timers internals `nextTimerAt` reads: the library has no public "when is the next timer". */
interface FakeTimersInternals {
  timerHeap?: { peek?: () => { callAt: number } | undefined };
  timers?: Map<number, { callAt: number }> | Record<string, { callAt: number }>;
}

/**
 * Installs the simulated clock at `startMs`. Only `Date` and the timers are faked: `setImmediate` and
 * `nextTick` stay real so promises and real I/O (a local S3 server) keep working, and
 * `performance.now` stays real to measure handler time.
 */
export function installSimulatedClock(startMs: number): SimulatedClock {
  const clock = FakeTimers.install({
    now: startMs,
    toFake: ['Date', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'],
    loopLimit: 1_000_000,
    // The SDK's HTTP handler clears timer ids it never set (-1) after each request; without this the
    // clock would warn about "native timers" on the first one. Passing them to the real clearTimeout
    // is what happens without a simulated clock.
    shouldClearNativeTimers: true,
  });
  const internals = clock as unknown as FakeTimersInternals;
  return {
    get now() {
      return clock.now;
    },
    setTimeout: (callback, delayMs) => clock.setTimeout(callback, delayMs),
    clearTimeout: (id) => clock.clearTimeout(id),
    tickAsync: async (ms) => {
      await clock.tickAsync(ms);
    },
    nextTimerAt: () => {
      const first = internals.timerHeap?.peek?.();
      if (first) return first.callAt;
      const timers =
        internals.timers instanceof Map
          ? [...internals.timers.values()]
          : Object.values(internals.timers ?? {});
      if (timers.length === 0) return undefined;
      return Math.min(...timers.map((t) => t.callAt));
    },
    uninstall: () => clock.uninstall(),
  };
}
