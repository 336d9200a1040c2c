/**
 * The decisions of one export tick, as pure functions of (state, observations, settings, now).
 *
 * A tick goes: `exportsToDescribe` (which in-flight exports are due for a DescribeExport) -> the
 * handler describes them and reads PITR -> `planTick` (apply what was observed, commit completed
 * windows in order, handle the operator action, PITR and incidents, decide what to start) -> the
 * handler writes the chain manifest, saves the state with the new requests recorded as STARTING and
 * the new notification facts in its outbox, sends the requests -> `applyStartOutcome` for each answer
 * -> `finishTick` -> saves -> publishes the outbox.
 *
 * Invariants kept here: the watermark only moves over COMPLETED exports, contiguously and in order; a
 * recorded window never changes (a retry reuses identical from/to with attempt + 1); a request that
 * may have been accepted is only ever sent again unchanged (same client token, same profile); windows
 * are `[from, to)` on the grid `chainStart + k * window`, 15 min..24 h long, ending at or before
 * floor(LatestRestorableDateTime - margin) when requested.
 */
import { commitCompleted, defaultManifestSummaryKey, droppedIds, type CommitPlan } from './commits';
import { compactTime } from '../shared/chainManifest';
import { dropEpochIncidents, incidentKey } from './incidents';
import { clip, type NotificationFact } from './notificationFacts';
import { learnDuration } from './durations';
import { addFacts, boundState, withoutDetails } from './outbox';
import {
  clear,
  keyIs,
  kindIs,
  newWork,
  profileIdFor,
  profileOf,
  pruneProfiles,
  raise,
  replaceExport,
  settle,
  sortExports,
  trimError,
  type TickCounters,
  type Work,
} from './planWork';
import { parseAction, recordReset, resetCarriedOut, type ActionObservation } from './operatorAction';
import type { WorkflowSettings } from './settings';
import type { ChainState, TrackedExport } from './state';
import {
  chainLagSeconds,
  failureBackoffSeconds,
  firstCheckAt,
  frontierOf,
  fullExportTime,
  NOT_YET_RETRY_SECONDS,
  NOT_YET_WARN_AFTER_SECONDS,
  effectiveMaxInFlight,
  nextRequestFrom,
  recheckSeconds,
  restorableLimit,
  throttleBackoffSeconds,
} from './timing';
import { planWindows } from './windows';
import { addBillingSample, nextWindowSeconds } from './costAwareWindow';

export type { CommitPlan, TickCounters };

/** Warn when the lag passes this fraction of the PITR recovery period. */
export const PITR_WINDOW_WARN_FRACTION = 0.8;
export const DEFAULT_RECOVERY_PERIOD_DAYS = 35;
const EWMA_ALPHA = 0.3;

/** What DescribeContinuousBackups said. Times in epoch seconds. */
export interface PitrObservation {
  status: 'ENABLED' | 'DISABLED' | 'TABLE_NOT_FOUND';
  earliest?: number;
  latest?: number;
  recoveryPeriodDays?: number;
}

/** What DescribeExport said about one tracked export. */
export type DescribeObservation =
  | { arn: string; status: 'IN_PROGRESS' }
  | {
      arn: string;
      status: 'COMPLETED';
      startTime?: number;
      endTime: number;
      /** EndTime - StartTime to the millisecond, rounded up, when both were given. */
      durationSeconds?: number;
      itemCount: number;
      billedSizeBytes: number;
      manifestSummaryKey: string;
    }
  | { arn: string; status: 'FAILED'; code: string; message: string }
  /** The call itself failed (after retries); the export is read again on the next tick. */
  | { arn: string; status: 'UNREADABLE'; code: string; message: string };

export type { ActionObservation };

export interface TickInput {
  state: ChainState;
  settings: WorkflowSettings;
  now: number;
  action: ActionObservation;
  pitr: PitrObservation;
  describes: DescribeObservation[];
}

export interface TickPlan {
  /** The state to save, with the new facts already in its outbox. */
  state: ChainState;
  commits: CommitPlan;
  /** Facts recorded by this plan (also in `state.outbox`). */
  notifications: NotificationFact[];
  /** Exports recorded as STARTING in `state`, to be sent (in this order) after the state is saved. */
  starts: TrackedExport[];
  /** Whether requests may be sent (RUN, PITR usable, no blocking gap): drives the wake time. */
  startsAllowed: boolean;
  mode: 'RUN' | 'PAUSE';
  /** A RESET was carried out by this plan. */
  reset: boolean;
  /** Dropped uncommitted exports when a new epoch began. */
  dropped: string[];
  counters: TickCounters;
}

/**
 * Makes the state fit a standard parameter if it would not: error details go first (they are in the
 * notifications already), then outbox details, then the oldest incidents that are not open.
 */
export function fitState(state: ChainState, fits: (s: ChainState) => boolean): ChainState {
  if (fits(state)) return state;
  let s: ChainState = { ...state, exports: state.exports.map((e) => ({ ...e, lastError: undefined })) };
  if (!fits(s)) s = { ...s, outbox: withoutDetails(s.outbox) };
  // Fewer waiting messages; every dropped one is counted (NOTIFICATIONS_DROPPED, notificationsDropped).
  for (let max = s.outbox.length - 1; !fits(s) && max >= 1; max--) {
    s = boundState(s, max, s.lastRun?.at ?? 0);
  }
  while (!fits(s) && s.incidents.some((i) => i.clearedAt !== undefined)) {
    const i = s.incidents.findIndex((x) => x.clearedAt !== undefined);
    s = { ...s, incidents: s.incidents.filter((_, j) => j !== i) };
  }
  while (!fits(s) && s.incidents.length > 0) s = { ...s, incidents: s.incidents.slice(1) };
  return s;
}

function ewma(previous: number, sample: number): number {
  return Math.round((1 - EWMA_ALPHA) * previous + EWMA_ALPHA * Math.max(0, sample));
}

function recordFailure(w: Work, e: TrackedExport, code: string, message: string, refused: boolean): void {
  replaceExport(w, e, {
    ...e,
    status: 'FAILED',
    nextCheckAt: undefined,
    notBefore: w.now + failureBackoffSeconds(e.type, e.attempt),
    lastError: trimError(code, message),
  });
  w.counters.failed++;
  const key = incidentKey(refused ? 'START_REFUSED' : 'EXPORT_FAILED', code);
  raise(w, key, {}, () => ({
    event: refused ? 'EXPORT_REFUSED' : e.type === 'FULL' ? 'FULL_EXPORT_FAILED' : 'EXPORT_FAILED',
    type: e.type,
    window: { from: e.from, to: e.to },
    exportArn: e.arn,
    attempt: e.attempt,
    code: code.slice(0, 120),
    detail: clip(message),
  }));
}

function applyDescribe(w: Work, obs: DescribeObservation): void {
  const e = w.state.exports.find((x) => x.arn === obs.arn);
  if (!e) return;
  const checks = e.checks + 1;
  // Any answer from DescribeExport is the evidence that clears an unreadable-export incident.
  if (obs.status !== 'UNREADABLE') clear(w, kindIs('DESCRIBE_UNREADABLE'));
  switch (obs.status) {
    case 'IN_PROGRESS':
      replaceExport(w, e, {
        ...e,
        checks,
        nextCheckAt: w.now + recheckSeconds(w.state, e.type, w.now - (e.startedAt ?? w.now)),
      });
      return;
    case 'UNREADABLE': {
      replaceExport(w, e, {
        ...e,
        checks,
        nextCheckAt: w.now + 60,
        lastError: trimError(obs.code, obs.message),
      });
      // Read again every minute, never forgotten; alerted once the chain is late because of it.
      const lag = chainLagSeconds(w.state, w.now);
      raise(
        w,
        incidentKey('DESCRIBE_UNREADABLE', obs.code),
        { quiet: lag <= w.settings.lagAlarmMinutes * 60 },
        () => ({
          event: 'EXPORT_UNREADABLE',
          exportArn: e.arn,
          code: obs.code.slice(0, 120),
          detail: clip(obs.message),
          lagSeconds: lag,
        }),
      );
      return;
    }
    case 'FAILED':
      recordFailure(w, { ...e, checks }, obs.code, obs.message, false);
      return;
    case 'COMPLETED': {
      const duration = obs.durationSeconds ?? obs.endTime - (obs.startTime ?? e.startedAt ?? obs.endTime);
      w.state.stats = learnDuration(w.state.stats, e.type, duration);
      const defaultKey = defaultManifestSummaryKey(profileOf(w.state, e, w.settings).prefix, obs.arn);
      replaceExport(w, e, {
        ...e,
        checks,
        status: 'COMPLETED',
        nextCheckAt: undefined,
        lastError: undefined,
        completed: {
          endTime: obs.endTime,
          itemCount: obs.itemCount,
          billedSizeBytes: obs.billedSizeBytes,
          ...(obs.manifestSummaryKey === defaultKey ? {} : { manifestSummaryKey: obs.manifestSummaryKey }),
        },
      });
      w.counters.completed++;
      // What it billed over its window: the change rate cost-aware windows and status go by.
      if (e.type === 'INCREMENTAL' && e.to > e.from) {
        const sample = { seconds: e.to - e.from, bytes: Math.round(obs.billedSizeBytes) };
        w.state.stats = { ...w.state.stats, billing: addBillingSample(w.state.stats.billing, sample) };
      }
      // Evidence against export failures that began before this export was requested.
      const startedAt = e.startedAt ?? obs.startTime ?? obs.endTime;
      const before = new Set(w.state.incidents.filter((i) => i.openedAt <= startedAt).map((i) => i.key));
      clear(w, (k) => kindIs('EXPORT_FAILED')(k) && before.has(k));
      return;
    }
  }
}

/** Starts a new epoch: drops every uncommitted export and the incidents tied to the old windows. */
function beginEpoch(w: Work): string[] {
  const dropped = w.state.exports.filter((e) => e.arn).map((e) => e.arn as string);
  w.state.epoch = compactTime(w.now);
  w.state.chainStart = null;
  w.state.watermark = null;
  w.state.sequence = -1;
  w.state.exports = [];
  w.state.incidents = dropEpochIncidents(w.state.incidents);
  return dropped;
}

function newStarting(
  w: Work,
  type: TrackedExport['type'],
  from: number,
  to: number,
  attempt: number,
): TrackedExport {
  return { type, from, to, attempt, status: 'STARTING', checks: 0, profile: profileIdFor(w) };
}

/** The full export request to send now, if any. */
function planFullStart(w: Work, pitr: PitrObservation): TrackedExport[] {
  const s = w.state;
  const full = s.exports.find((e) => e.type === 'FULL');
  const exportTime = fullExportTime(pitr.latest, w.now, w.settings.restorableMarginSeconds, pitr.earliest);
  if (!full) {
    if (exportTime === null) return []; // nothing restorable yet: the next run tries again
    const e = newStarting(w, 'FULL', exportTime, exportTime, 1);
    s.exports = sortExports([...s.exports, e]);
    return [e];
  }
  if ((full.notBefore ?? 0) > w.now) return [];
  if (full.status === 'FAILED') {
    if (exportTime === null) return [];
    // A new full export may take a newer snapshot time: the chain starts wherever it completes.
    const e = newStarting(w, 'FULL', exportTime, exportTime, full.attempt + 1);
    replaceExport(w, full, e);
    return [e];
  }
  if (full.status !== 'STARTING') return [];
  if (full.lastError && exportTime !== null && exportTime !== full.to) {
    // DynamoDB refused exactly this request (so it started nothing): ask for a time it can export
    // now. The new request carries no error: once sent, it may have been accepted, and only the same
    // request (same token) may be sent again, however long ago it was.
    const e = newStarting(w, 'FULL', exportTime, exportTime, full.attempt);
    replaceExport(w, full, e);
    return [e];
  }
  // Possibly accepted before a crash: resend it unchanged (same ClientToken).
  return [full];
}

/** Requests to send now; records new ones (and retries) as STARTING. */
function planStarts(w: Work, pitr: PitrObservation): TrackedExport[] {
  const s = w.state;
  if (s.chainStart === null) return planFullStart(w, pitr);
  if (pitr.latest === undefined) return [];
  const starts: TrackedExport[] = [];
  const limit = restorableLimit(pitr.latest, w.settings.restorableMarginSeconds);
  for (const e of [...s.exports]) {
    if (e.type !== 'INCREMENTAL' || (e.notBefore ?? 0) > w.now || e.to > limit) continue;
    if (e.status === 'FAILED') {
      const retry = newStarting(w, 'INCREMENTAL', e.from, e.to, e.attempt + 1);
      replaceExport(w, e, retry);
      starts.push(retry);
    } else if (e.status === 'STARTING') {
      starts.push(e);
    }
  }
  const incrementals = s.exports.filter((e) => e.type === 'INCREMENTAL').length;
  // New windows start at the frontier, a window boundary: a new length takes effect only there.
  const windowSeconds = nextWindowSeconds(w.settings, s.stats.billing);
  if (s.stats.windowSeconds !== windowSeconds) s.stats = { ...s.stats, windowSeconds };
  const windows = planWindows({
    frontier: frontierOf(s) as number,
    limit,
    windowSeconds,
    maxCatchUpSeconds: w.settings.maxCatchUpWindowMinutes * 60,
    slots: effectiveMaxInFlight(w.settings) - incrementals,
  });
  for (const win of windows) {
    const e = newStarting(w, 'INCREMENTAL', win.from, win.to, 1);
    s.exports = sortExports([...s.exports, e]);
    starts.push(e);
  }
  return starts;
}

/** Operator action: RUN, PAUSE or RESET (each RESET carried out once: see operatorAction.ts). */
function applyAction(w: Work, action: ActionObservation): { mode: 'RUN' | 'PAUSE'; reset: boolean } {
  const parsed = parseAction(action.value);
  if (parsed.kind === 'INVALID') {
    const code = parsed.value.slice(0, 100);
    raise(w, 'ACTION_INVALID', {}, () => ({ event: 'ACTION_INVALID', code }));
    return { mode: 'PAUSE', reset: false };
  }
  clear(w, keyIs('ACTION_INVALID'));
  if (parsed.kind !== 'RESET') return { mode: parsed.kind, reset: false };
  if (resetCarriedOut(action, w.state)) return { mode: 'RUN', reset: false };
  Object.assign(w.state, recordReset(action));
  return { mode: 'RUN', reset: true };
}

/** PITR and table checks from DescribeContinuousBackups; false when no export can be requested. */
function applyPitr(w: Work, pitr: PitrObservation): boolean {
  if (pitr.status === 'TABLE_NOT_FOUND') {
    raise(w, 'TABLE_DELETED', {}, () => ({ event: 'TABLE_DELETED' }));
    return false;
  }
  clear(w, keyIs('TABLE_DELETED'));
  if (pitr.status === 'DISABLED') {
    raise(w, 'PITR_DISABLED', {}, () => ({ event: 'PITR_DISABLED' }));
    return false;
  }
  clear(w, keyIs('PITR_DISABLED'));
  return true;
}

/** The next window must still be restorable; a gap waits for the operator or starts a new epoch. */
function checkPitrGap(w: Work, pitr: PitrObservation, dropped: string[]): boolean {
  const from = nextRequestFrom(w.state);
  if (from === null || pitr.earliest === undefined || from >= pitr.earliest) {
    clear(w, keyIs('PITR_GAP'));
    return true;
  }
  const gap = { from, to: pitr.earliest };
  if (w.settings.onPitrGap !== 'reset') {
    raise(w, 'PITR_GAP', {}, () => ({ event: 'PITR_GAP', window: gap }));
    return false;
  }
  const oldEpoch = w.state.epoch;
  w.facts.push({ id: `PITR_GAP@${w.now}#0`, event: 'PITR_GAP', at: w.now, epoch: oldEpoch, window: gap });
  dropped.push(...beginEpoch(w));
  w.facts.push({
    id: `epoch@${w.state.epoch}`,
    event: 'NEW_EPOCH',
    at: w.now,
    epoch: w.state.epoch,
    dropped: droppedIds(dropped),
  });
  return true;
}

/** Everything one tick decides, from what it observed. */
export function planTick(input: TickInput): TickPlan {
  const { settings, now, pitr } = input;
  const w = newWork(input.state, settings, now);
  const s = w.state;

  // Learned PITR lag: follow increases at once (waking early wastes a tick), decreases slowly.
  if (pitr.status === 'ENABLED' && pitr.latest !== undefined) {
    const observed = Math.max(0, now - pitr.latest);
    s.stats.restorableLagSeconds =
      observed >= s.stats.restorableLagSeconds ? observed : ewma(s.stats.restorableLagSeconds, observed);
  }

  const { mode, reset } = applyAction(w, input.action);
  for (const obs of input.describes) applyDescribe(w, obs);
  // The old epoch's commits are planned before a RESET begins a new one: its entries and HEAD are
  // written first, under its own epoch.
  const commits = commitCompleted(w);

  const dropped: string[] = [];
  if (reset) {
    dropped.push(...beginEpoch(w));
    w.facts.push({
      id: `reset@${s.epoch}`,
      event: 'RESET',
      at: now,
      epoch: s.epoch,
      dropped: droppedIds(dropped),
    });
  }

  let startsAllowed = applyPitr(w, pitr) && mode === 'RUN';
  let starts: TrackedExport[] = [];
  if (startsAllowed && pitr.status === 'ENABLED') {
    if (s.epoch === null) beginEpoch(w);
    startsAllowed = checkPitrGap(w, pitr, dropped);
    if (startsAllowed) starts = planStarts(w, pitr);
  }

  // Warn before the lag eats the PITR recovery period.
  if (s.watermark !== null && pitr.status === 'ENABLED') {
    const period = (pitr.recoveryPeriodDays ?? DEFAULT_RECOVERY_PERIOD_DAYS) * 86400;
    const lag = now - s.watermark;
    if (lag > PITR_WINDOW_WARN_FRACTION * period) {
      raise(w, 'PITR_WINDOW', {}, () => ({
        event: 'PITR_WINDOW_WARNING',
        lagSeconds: lag,
        periodSeconds: period,
      }));
    } else {
      clear(w, keyIs('PITR_WINDOW'));
    }
  }

  pruneProfiles(s);
  return {
    state: addFacts(s, w.facts, now),
    commits,
    notifications: w.facts,
    starts,
    startsAllowed,
    mode,
    reset,
    dropped,
    counters: w.counters,
  };
}

/** How a start request was answered. */
export type StartOutcome =
  /** `startTimeMs`: the export's StartTime from the answer, when it carried one. */
  | { kind: 'STARTED'; arn: string; startTimeMs?: number }
  /** InvalidExportTimeException while the window is not exportable yet: same request again later. */
  | { kind: 'NOT_YET'; code: string; message: string }
  | { kind: 'PITR_UNAVAILABLE'; code: string; message: string }
  | { kind: 'TABLE_NOT_FOUND'; code: string; message: string }
  /**
   * Throttled, or no clear answer after retries (timeouts, 5xx): it may have been accepted, so the
   * same request (same token) is sent again after a back-off. Never fails the execution.
   */
  | { kind: 'THROTTLED'; code: string; message: string }
  /** Any other refusal: recorded as a failure of this attempt, retried with a new attempt. */
  | { kind: 'REJECTED'; code: string; message: string };

export interface StartResult {
  state: ChainState;
  notifications: NotificationFact[];
  counters: TickCounters;
}

/** Records the answer to one start request. */
export function applyStartOutcome(
  state: ChainState,
  sent: Pick<TrackedExport, 'type' | 'from' | 'attempt'>,
  outcome: StartOutcome,
  settings: WorkflowSettings,
  now: number,
): StartResult {
  const w = newWork(state, settings, now);
  const e = w.state.exports.find(
    (x) =>
      x.type === sent.type && x.from === sent.from && x.attempt === sent.attempt && x.status === 'STARTING',
  );
  if (!e) return { state: w.state, notifications: [], counters: w.counters };
  const refusal = outcome.kind === 'STARTED' ? null : trimError(outcome.code, outcome.message);
  const retryLater = (seconds: number, lastError: TrackedExport['lastError']) =>
    replaceExport(w, e, { ...e, notBefore: now + seconds, lastError });
  switch (outcome.kind) {
    case 'STARTED': {
      const startMs = outcome.startTimeMs ?? now * 1000;
      replaceExport(w, e, {
        ...e,
        status: 'IN_PROGRESS',
        arn: outcome.arn,
        startedAt: Math.floor(startMs / 1000),
        nextCheckAt: firstCheckAt(w.state, e.type, startMs),
        notBefore: undefined,
        lastError: undefined,
        checks: 0,
      });
      w.counters.started++;
      clear(
        w,
        kindIs(
          'START_REFUSED',
          'START_THROTTLED',
          'START_PITR_UNAVAILABLE',
          'START_TABLE_NOT_FOUND',
          'NOT_YET',
        ),
      );
      break;
    }
    case 'NOT_YET':
      retryLater(NOT_YET_RETRY_SECONDS, refusal ?? undefined);
      raise(w, 'NOT_YET', { notifyAfterSeconds: NOT_YET_WARN_AFTER_SECONDS }, () => ({
        event: 'EXPORT_NOT_YET_ALLOWED',
        type: e.type,
        window: { from: e.from, to: e.to },
        attempt: e.attempt,
        code: outcome.code,
        detail: clip(outcome.message),
      }));
      break;
    case 'PITR_UNAVAILABLE':
    case 'TABLE_NOT_FOUND': {
      retryLater(NOT_YET_RETRY_SECONDS, refusal ?? undefined);
      const table = outcome.kind === 'TABLE_NOT_FOUND';
      raise(w, table ? 'START_TABLE_NOT_FOUND' : 'START_PITR_UNAVAILABLE', {}, () => ({
        event: table ? 'TABLE_DELETED' : 'PITR_DISABLED',
        code: outcome.code,
        detail: clip(outcome.message),
      }));
      break;
    }
    case 'THROTTLED': {
      // No error recorded: the request may have been accepted, so only the same one may follow.
      const lag = chainLagSeconds(w.state, now);
      const quiet = lag <= settings.lagAlarmMinutes * 60;
      const incident = raise(w, 'START_THROTTLED', { quiet }, () => ({
        event: 'EXPORT_THROTTLED',
        code: outcome.code,
        detail: clip(outcome.message),
        lagSeconds: lag,
      }));
      retryLater(throttleBackoffSeconds(incident.occurrences), undefined);
      break;
    }
    case 'REJECTED':
      recordFailure(w, e, outcome.code, outcome.message, true);
      break;
  }
  return { state: addFacts(w.state, w.facts, now), notifications: w.facts, counters: w.counters };
}

/**
 * The end of a tick that got through all its steps: that is the evidence that clears run failures.
 * Incidents that stayed clear for the hold time are resolved (one message each, if alerted).
 */
export function finishTick(state: ChainState, settings: WorkflowSettings, now: number): StartResult {
  const w = newWork(state, settings, now);
  clear(w, kindIs('RUN_FAILED'));
  settle(w);
  return { state: addFacts(w.state, w.facts, now), notifications: w.facts, counters: w.counters };
}

/** Records a failed tick as an incident keyed by its error; alerts once, then with back-off. */
export function recordRunFailure(
  state: ChainState,
  settings: WorkflowSettings,
  now: number,
  error: { name: string; cause: string },
): StartResult {
  const w = newWork(state, settings, now);
  raise(w, incidentKey('RUN_FAILED', error.name), {}, () => ({
    event: 'RUN_FAILED',
    code: error.name.slice(0, 120),
    detail: clip(error.cause || 'no cause given'),
  }));
  w.state.lastRun = { at: now, outcome: 'FAILED', error: error.name.slice(0, 100) };
  return { state: addFacts(w.state, w.facts, now), notifications: w.facts, counters: w.counters };
}
