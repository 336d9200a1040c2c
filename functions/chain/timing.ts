/**
 * When things happen: export times, window limits, back-offs, completion checks and the wake time of
 * the state machine. Pure functions of the chain state, the settings and the clock.
 */
import { parseCompactTime } from '../shared/chainManifest';
import type { WorkflowSettings } from './settings';
import type { ChainState, TrackedExport } from './state';
import { floorToMinute } from '../shared/time';
import { windowExportableAt } from './windows';
import { nextWindowSeconds } from './costAwareWindow';

/**
 * Upper bound on uncommitted incremental exports kept in the state, whatever `maxInFlight` says: each
 * tracked export takes up to ~400 bytes and the state must fit a 4 KB standard parameter.
 */
export const STATE_IN_FLIGHT_CAP = 6;
/** Never wake sooner than this after a tick. */
export const MIN_WAKE_SECONDS = 10;
/** "Not yet" answers to a start are retried after this long. */
export const NOT_YET_RETRY_SECONDS = 60;
/** A window refused as "not yet" for this long is reported (WARNING, once). */
export const NOT_YET_WARN_AFTER_SECONDS = 30 * 60;
/**
 * A completion check is scheduled this long after the export is expected to end: DynamoDB's StartTime
 * and the learned duration are exact to the second, so a check at exactly that second could arrive a
 * fraction of a second early and cost a second check one recheck interval later.
 */
export const CHECK_SLACK_SECONDS = 2;
/**
 * No export waits longer than this past its expected end (StartTime + expected duration) for its first
 * DescribeExport: the slack, plus the shortest gap between two ticks when another tick just ran.
 */
export const FIRST_CHECK_BOUND_SECONDS = CHECK_SLACK_SECONDS + MIN_WAKE_SECONDS;
/** Throttled start requests are sent again after this long, doubling up to the maximum. */
export const THROTTLE_RETRY_SECONDS = 60;
export const THROTTLE_RETRY_MAX_SECONDS = 900;

/**
 * Expected duration of an export of this type: the median of its last few observed durations
 * (`durations.ts`), so that one slow export does not delay the checks of the ones after it.
 */
export function typicalSeconds(state: ChainState, type: TrackedExport['type']): number {
  return type === 'FULL' ? state.stats.fullExportSeconds : state.stats.incrementalExportSeconds;
}

/** The interval between completion checks of one export never grows past this. */
export const MAX_RECHECK_SECONDS = 900;

/**
 * Interval between DescribeExport calls once an export has run past its expected duration: a quarter
 * of how long it has run so far (or of the expected duration, when that is more), at least 60 s and at
 * most `MAX_RECHECK_SECONDS`. Checks thin out as an export runs long (a day-long export costs about a
 * hundred checks, not a thousand), and none is seen done more than a quarter of its run time, nor
 * 15 minutes, after it ended.
 */
export function recheckSeconds(state: ChainState, type: TrackedExport['type'], elapsedSeconds = 0): number {
  const base = Math.max(typicalSeconds(state, type), elapsedSeconds);
  return Math.min(MAX_RECHECK_SECONDS, Math.max(60, Math.round(0.25 * base)));
}

/**
 * First completion check of an export DynamoDB accepted at `startTimeMs` (its StartTime, to the
 * millisecond when the answer carries it): when it should have finished, plus `CHECK_SLACK_SECONDS`
 * (the tick comes within `FIRST_CHECK_BOUND_SECONDS` of that end).
 */
export function firstCheckAt(state: ChainState, type: TrackedExport['type'], startTimeMs: number): number {
  return Math.ceil(startTimeMs / 1000 + typicalSeconds(state, type)) + CHECK_SLACK_SECONDS;
}

/** Back-off before the next attempt of a FAILED export. */
export function failureBackoffSeconds(type: TrackedExport['type'], attempt: number): number {
  if (type === 'FULL') return Math.min(3600, 300 * attempt);
  return Math.min(1800, 60 * 2 ** Math.min(attempt - 1, 10));
}

/** Back-off after the n-th throttled start in a row (n >= 1). */
export function throttleBackoffSeconds(n: number): number {
  return Math.min(THROTTLE_RETRY_MAX_SECONDS, THROTTLE_RETRY_SECONDS * 2 ** Math.min(n - 1, 10));
}

/** Export time of a new full export: min(LatestRestorable, now) - margin, floored to a minute. */
export function fullExportTime(latest: number | undefined, now: number, marginSeconds: number): number;
export function fullExportTime(
  latest: number | undefined,
  now: number,
  marginSeconds: number,
  earliest: number | undefined,
): number | null;
/**
 * With `earliest` (PITR enabled only recently): never before EarliestRestorableDateTime, so the
 * request is not refused forever; null when no whole minute is restorable yet.
 */
export function fullExportTime(
  latest: number | undefined,
  now: number,
  marginSeconds: number,
  earliest?: number,
): number | null {
  const upper = Math.min(latest ?? now, now);
  const t = floorToMinute(upper - marginSeconds);
  if (earliest === undefined || t >= earliest) return t;
  const first = Math.ceil(earliest / 60) * 60;
  return first <= upper ? first : null;
}

/** Latest allowed end of an incremental window. */
export function restorableLimit(latest: number, marginSeconds: number): number {
  return floorToMinute(latest - marginSeconds);
}

export function effectiveMaxInFlight(settings: WorkflowSettings): number {
  return Math.max(1, Math.min(settings.maxInFlight, STATE_IN_FLIGHT_CAP));
}

/** Exports whose status should be read now. */
export function exportsToDescribe(state: ChainState, now: number): string[] {
  return state.exports
    .filter((e) => e.status === 'IN_PROGRESS' && e.arn && (e.nextCheckAt ?? 0) <= now)
    .map((e) => e.arn as string);
}

/** Seconds between now and the watermark (or the epoch start before the full export completed). */
export function chainLagSeconds(state: ChainState, now: number): number {
  if (state.watermark !== null) return Math.max(0, now - state.watermark);
  if (state.epoch !== null) {
    try {
      return Math.max(0, now - parseCompactTime(state.epoch));
    } catch {
      return 0;
    }
  }
  return 0;
}

/** End of the last window already tracked (or committed): where the next new window starts. */
export function frontierOf(state: ChainState): number | null {
  if (state.chainStart === null) return null;
  return state.exports
    .filter((e) => e.type === 'INCREMENTAL')
    .reduce((max, e) => Math.max(max, e.to), state.watermark ?? state.chainStart);
}

/** The earliest `from` that still needs a request: a retry waiting, or the frontier. */
export function nextRequestFrom(state: ChainState): number | null {
  const frontier = frontierOf(state);
  if (frontier === null) return null;
  const waiting = state.exports
    .filter((e) => e.type === 'INCREMENTAL' && (e.status === 'FAILED' || e.status === 'STARTING'))
    .map((e) => e.from);
  return Math.min(frontier, ...waiting);
}

export interface WakeInput {
  state: ChainState;
  settings: WorkflowSettings;
  now: number;
  /** End of the execution's scheduler period. */
  periodEnd: number;
  startsAllowed: boolean;
}

/**
 * When to tick again: the earliest of the next in-flight check, the next retry, and the moment the
 * next window becomes exportable; never sooner than 10 s. At or past the period end the execution
 * ends (DONE) and the next scheduled one takes over.
 */
export function computeWake(input: WakeInput): { wakeAt: number; next: 'WAIT' | 'DONE' } {
  const { state, settings, now, periodEnd, startsAllowed } = input;
  const candidates: number[] = [];
  const margin = settings.restorableMarginSeconds;
  const lag = state.stats.restorableLagSeconds;
  for (const e of state.exports) {
    if (e.status === 'IN_PROGRESS') candidates.push(e.nextCheckAt ?? now);
    else if ((e.status === 'STARTING' || e.status === 'FAILED') && startsAllowed) {
      const restorableAt = e.type === 'INCREMENTAL' ? e.to + margin + lag : 0;
      candidates.push(Math.max(e.notBefore ?? now, restorableAt));
    }
  }
  const frontier = frontierOf(state);
  if (startsAllowed && frontier !== null) {
    const incrementals = state.exports.filter((e) => e.type === 'INCREMENTAL').length;
    if (incrementals < effectiveMaxInFlight(settings)) {
      const windowSeconds = nextWindowSeconds(settings, state.stats.billing);
      candidates.push(windowExportableAt(frontier, windowSeconds, margin, lag));
    }
  }
  const earliest = candidates.length > 0 ? Math.min(...candidates) : periodEnd;
  const wakeAt = Math.max(now + MIN_WAKE_SECONDS, earliest);
  return { wakeAt, next: wakeAt >= periodEnd ? 'DONE' : 'WAIT' };
}
