/**
 * The decisions of one export tick, as pure functions of (state, observations, settings, now).
 *
 * A tick goes: `exportsToDescribe` (which in-flight exports are due for a DescribeExport) -> the
 * handler describes them and reads PITR -> `planTick` (apply what was observed, commit completed
 * windows in order, handle the operator action, PITR and incidents, decide what to start) -> the
 * handler writes the chain manifest, publishes, saves the state with the new requests recorded as
 * STARTING, sends them -> `applyStartOutcome` for each answer -> `computeWake`.
 *
 * Invariants kept here: the watermark only moves over COMPLETED exports, contiguously and in order; a
 * recorded window never changes (a retry reuses identical from/to with attempt + 1); windows are
 * `[from, to)` on the grid `chainStart + k * window`, 15 min..24 h long, ending at or before
 * floor(LatestRestorableDateTime - margin) when requested.
 */
import {
  CHAIN_SCHEMA_VERSION,
  chainEntryKey,
  compactTime,
  exportDataPrefix,
  isoTime,
  parseCompactTime,
  type ChainCurrent,
  type ChainEntry,
  type ChainHead,
} from './chainManifest';
import { HOURLY, raiseIncident, resolveIncident } from './incidents';
import { draft, type NotificationDraft } from './notifications';
import type { WorkflowSettings } from './settings';
import type { ChainState, Incident, TrackedExport } from './state';
import { floorToMinute, iso } from './time';
import { planWindows, windowExportableAt } from './windows';

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
/** Warn when the lag passes this fraction of the PITR recovery period. */
export const PITR_WINDOW_WARN_FRACTION = 0.8;
export const DEFAULT_RECOVERY_PERIOD_DAYS = 35;
const EWMA_ALPHA = 0.3;
const MAX_ERROR_MESSAGE = 160;

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
      itemCount: number;
      billedSizeBytes: number;
      manifestSummaryKey: string;
    }
  | { arn: string; status: 'FAILED'; code: string; message: string }
  /** The call itself failed (after retries); the export is read again on the next tick. */
  | { arn: string; status: 'UNREADABLE'; code: string; message: string };

export interface TickInput {
  state: ChainState;
  settings: WorkflowSettings;
  now: number;
  /** Raw value of the action parameter; null when the parameter is absent (treated as RUN). */
  action: string | null;
  pitr: PitrObservation;
  describes: DescribeObservation[];
}

/** Chain manifest objects to write before the state is saved. */
export interface CommitPlan {
  entries: ChainEntry[];
  head: ChainHead | null;
  current: ChainCurrent | null;
}

export interface TickCounters {
  started: number;
  completed: number;
  failed: number;
}

export interface TickPlan {
  state: ChainState;
  commits: CommitPlan;
  notifications: NotificationDraft[];
  /** Exports recorded as STARTING in `state`, to be sent (in this order) after the state is saved. */
  starts: TrackedExport[];
  /** The action parameter was RESET and must be set back to RUN. */
  resetAction: boolean;
  /** Whether requests may be sent (RUN, PITR usable, no blocking gap): drives the wake time. */
  startsAllowed: boolean;
  mode: 'RUN' | 'PAUSE';
  /** Dropped uncommitted exports when a new epoch began. */
  dropped: string[];
  counters: TickCounters;
}

/**
 * Where DynamoDB writes an export's manifest-summary.json according to the documented layout. Used when
 * DescribeExport gives no ExportManifest; that ExportManifest holds this full key is unconfirmed, so an
 * ExportManifest that differs is kept as given.
 */
export function defaultManifestSummaryKey(prefix: string, exportArn: string): string {
  return `${exportDataPrefix(prefix, exportArn)}manifest-summary.json`;
}

/**
 * Makes the state fit a standard parameter if it would not: error details go first (they are in the
 * notifications already), then the oldest incidents that are not tied to a live window.
 */
export function fitState(state: ChainState, fits: (s: ChainState) => boolean): ChainState {
  if (fits(state)) return state;
  let s: ChainState = { ...state, exports: state.exports.map((e) => ({ ...e, lastError: undefined })) };
  while (!fits(s) && s.incidents.length > 0) s = { ...s, incidents: s.incidents.slice(1) };
  return s;
}

/** SUCCESS message closing the failure alert of an export that finally completed. */
function recoveredNote(e: TrackedExport, message: string): NotificationDraft {
  return draft({
    status: 'SUCCESS',
    event: 'EXPORT_RECOVERED',
    title: `${e.type === 'FULL' ? 'full' : 'incremental'} export recovered`,
    type: e.type,
    window: { from: e.from, to: e.to },
    exportArn: e.arn ?? null,
    attempt: e.attempt,
    message,
  });
}

/** Typical duration of an export of this type, learned (EWMA). */
export function typicalSeconds(state: ChainState, type: TrackedExport['type']): number {
  return type === 'FULL' ? state.stats.fullExportSeconds : state.stats.incrementalExportSeconds;
}

/** Interval between DescribeExport calls once the export has taken longer than typical. */
export function recheckSeconds(state: ChainState, type: TrackedExport['type']): number {
  return Math.max(60, Math.round(0.25 * typicalSeconds(state, type)));
}

/** Back-off before the next attempt of a FAILED export. */
export function failureBackoffSeconds(type: TrackedExport['type'], attempt: number): number {
  if (type === 'FULL') return Math.min(3600, 300 * attempt);
  return Math.min(1800, 60 * 2 ** Math.min(attempt - 1, 10));
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

function sortExports(exports: TrackedExport[]): TrackedExport[] {
  return [...exports].sort((a, b) => (a.type === b.type ? a.from - b.from : a.type === 'FULL' ? -1 : 1));
}

function ewma(previous: number, sample: number): number {
  return Math.round((1 - EWMA_ALPHA) * previous + EWMA_ALPHA * Math.max(0, sample));
}

function windowLabel(e: { from: number; to: number }): string {
  return `[${iso(e.from)}, ${iso(e.to)})`;
}

function failureKey(e: Pick<TrackedExport, 'type' | 'from'>): string {
  return e.type === 'FULL' ? 'FULL_EXPORT_FAILED' : `EXPORT_FAILED:${e.from}`;
}

function notYetKey(e: Pick<TrackedExport, 'type' | 'from'>): string {
  return `NOT_YET:${e.type === 'FULL' ? 'FULL' : e.from}`;
}

/** Keys of incidents that belong to one epoch's windows and end with it. */
function isEpochIncident(key: string): boolean {
  return (
    key.startsWith('EXPORT_FAILED:') ||
    key.startsWith('NOT_YET:') ||
    key === 'FULL_EXPORT_FAILED' ||
    key === 'PITR_GAP' ||
    key === 'PITR_WINDOW'
  );
}

/** Mutable working copy used inside one decision. */
interface Work {
  state: ChainState;
  notes: NotificationDraft[];
  counters: TickCounters;
  settings: WorkflowSettings;
  now: number;
}

function raise(
  w: Work,
  key: string,
  options: { remindAfterSeconds: number | null; notifyAfterSeconds?: number },
  note: (kind: 'OPEN' | 'REMIND', incident: Incident) => NotificationDraft,
): void {
  const r = raiseIncident(w.state.incidents, key, w.now, options);
  w.state.incidents = r.incidents;
  if (r.notify) w.notes.push(note(r.notify, r.incident));
}

function resolve(w: Work, key: string): Incident | null {
  const r = resolveIncident(w.state.incidents, key);
  w.state.incidents = r.incidents;
  return r.resolved;
}

/** Replaces (or removes) the tracked export of the same type and window start: windows never overlap. */
function replaceExport(
  w: Work,
  target: Pick<TrackedExport, 'type' | 'from'>,
  next: TrackedExport | null,
): void {
  w.state.exports = sortExports(
    w.state.exports.flatMap((e) =>
      e.type === target.type && e.from === target.from ? (next ? [next] : []) : [e],
    ),
  );
}

function trimError(code: string, message: string): { code: string; message: string } {
  return { code: code.slice(0, 80), message: message.slice(0, MAX_ERROR_MESSAGE) };
}

function recordFailure(w: Work, e: TrackedExport, code: string, message: string): void {
  const failed: TrackedExport = {
    ...e,
    status: 'FAILED',
    nextCheckAt: undefined,
    notBefore: w.now + failureBackoffSeconds(e.type, e.attempt),
    lastError: trimError(code, message),
  };
  replaceExport(w, e, failed);
  w.counters.failed++;
  const full = e.type === 'FULL';
  raise(w, failureKey(e), { remindAfterSeconds: HOURLY }, (kind) =>
    draft({
      status: 'FAILED',
      event: full ? 'FULL_EXPORT_FAILED' : 'EXPORT_FAILED',
      title: `${full ? 'full' : 'incremental'} export failed${kind === 'REMIND' ? ' (still failing)' : ''}`,
      type: e.type,
      window: { from: e.from, to: e.to },
      exportArn: e.arn ?? null,
      attempt: e.attempt,
      message:
        `${full ? 'The full export' : `The incremental export of ${windowLabel(e)}`} failed ` +
        `(attempt ${e.attempt}): ${code}: ${message}. It is requested again automatically ` +
        `${full ? 'as a new full export' : 'for the identical window'} after a back-off; nothing is skipped.`,
      hint:
        'Check the FailureCode: bucket existence, bucket policy, KMS key policy and DynamoDB export quotas. ' +
        'No action is needed if the next attempt succeeds.',
    }),
  );
}

function applyDescribe(w: Work, obs: DescribeObservation): void {
  const e = w.state.exports.find((x) => x.arn === obs.arn);
  if (!e) return;
  const checks = e.checks + 1;
  switch (obs.status) {
    case 'IN_PROGRESS':
      replaceExport(w, e, { ...e, checks, nextCheckAt: w.now + recheckSeconds(w.state, e.type) });
      return;
    case 'UNREADABLE':
      replaceExport(w, e, {
        ...e,
        checks,
        nextCheckAt: w.now + 60,
        lastError: trimError(obs.code, obs.message),
      });
      return;
    case 'FAILED':
      recordFailure(w, { ...e, checks }, obs.code, obs.message);
      return;
    case 'COMPLETED': {
      const duration = obs.endTime - (obs.startTime ?? e.startedAt ?? obs.endTime);
      if (e.type === 'FULL')
        w.state.stats.fullExportSeconds = ewma(w.state.stats.fullExportSeconds, duration);
      else w.state.stats.incrementalExportSeconds = ewma(w.state.stats.incrementalExportSeconds, duration);
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
          ...(obs.manifestSummaryKey === defaultManifestSummaryKey(w.settings.prefix, obs.arn)
            ? {}
            : { manifestSummaryKey: obs.manifestSummaryKey }),
        },
      });
      w.counters.completed++;
      return;
    }
  }
}

function chainEntry(
  settings: WorkflowSettings,
  epoch: string,
  sequence: number,
  e: TrackedExport,
): ChainEntry {
  const completed = e.completed;
  if (!completed || !e.arn) throw new Error('only a completed export with an ARN can be committed');
  const entry: ChainEntry = {
    schemaVersion: CHAIN_SCHEMA_VERSION,
    epoch,
    sequence,
    type: e.type,
    from: isoTime(e.from),
    to: isoTime(e.to),
    exportArn: e.arn,
    bucket: settings.bucket,
    manifestSummaryKey: completed.manifestSummaryKey ?? defaultManifestSummaryKey(settings.prefix, e.arn),
    itemCount: completed.itemCount,
    billedSizeBytes: completed.billedSizeBytes,
    completedAt: isoTime(completed.endTime),
    exportFormat: settings.exportFormat,
  };
  if (e.type === 'INCREMENTAL') entry.exportViewType = settings.exportViewType;
  return entry;
}

function commitCompleted(w: Work): CommitPlan {
  const plan: CommitPlan = { entries: [], head: null, current: null };
  const s = w.state;
  if (s.epoch === null) return plan;
  const epoch = s.epoch;
  const committedIncrementals: TrackedExport[] = [];
  let fullCommitted: TrackedExport | null = null;
  if (s.chainStart === null) {
    const full = s.exports.find((e) => e.type === 'FULL' && e.status === 'COMPLETED');
    if (full) {
      plan.entries.push(chainEntry(w.settings, epoch, 0, full));
      s.chainStart = full.to;
      s.watermark = full.to;
      s.sequence = 0;
      plan.current = { schemaVersion: CHAIN_SCHEMA_VERSION, epoch };
      replaceExport(w, full, null);
      fullCommitted = full;
      const was = resolve(w, failureKey(full));
      resolve(w, notYetKey(full));
      if (was && was.lastNotifiedAt > 0) {
        w.notes.push(
          recoveredNote(
            full,
            `The full export completed on attempt ${full.attempt}; the chain of epoch ${epoch} starts at ${iso(full.to)}.`,
          ),
        );
      }
    }
  }
  if (s.chainStart !== null && s.watermark !== null) {
    for (;;) {
      const next = s.exports.find(
        (e) => e.type === 'INCREMENTAL' && e.status === 'COMPLETED' && e.from === s.watermark,
      );
      if (!next) break;
      s.sequence += 1;
      plan.entries.push(chainEntry(w.settings, epoch, s.sequence, next));
      s.watermark = next.to;
      replaceExport(w, next, null);
      committedIncrementals.push(next);
      resolve(w, notYetKey(next));
      const was = resolve(w, failureKey(next));
      if (was && was.lastNotifiedAt > 0) {
        w.notes.push(
          recoveredNote(
            next,
            `The incremental export of ${windowLabel(next)} completed on attempt ${next.attempt} and is committed; the chain has no gap.`,
          ),
        );
      }
    }
  }
  if (plan.entries.length > 0 && s.chainStart !== null && s.watermark !== null) {
    const last = plan.entries[plan.entries.length - 1];
    plan.head = {
      schemaVersion: CHAIN_SCHEMA_VERSION,
      epoch,
      chainStart: isoTime(s.chainStart),
      watermark: isoTime(s.watermark),
      lastSequence: s.sequence,
      lastEntryKey: chainEntryKey(
        w.settings.prefix,
        epoch,
        last.sequence,
        Date.parse(last.from) / 1000,
        Date.parse(last.to) / 1000,
      ),
    };
  }
  if (w.settings.notifyOnSuccess) {
    if (fullCommitted) {
      w.notes.push(
        draft({
          status: 'SUCCESS',
          event: 'FULL_EXPORT_COMMITTED',
          title: 'full export committed, chain started',
          type: 'FULL',
          window: { from: fullCommitted.from, to: fullCommitted.to },
          exportArn: fullCommitted.arn ?? null,
          attempt: fullCommitted.attempt,
          message: `The full export of epoch ${epoch} at ${iso(fullCommitted.to)} completed; incremental exports follow from there.`,
        }),
      );
    }
    if (committedIncrementals.length > 0) {
      const first = committedIncrementals[0];
      const last = committedIncrementals[committedIncrementals.length - 1];
      w.notes.push(
        draft({
          status: 'SUCCESS',
          event: 'EXPORT_COMMITTED',
          title: `${committedIncrementals.length} incremental export(s) committed`,
          type: 'INCREMENTAL',
          window: { from: first.from, to: last.to },
          exportArn: last.arn ?? null,
          attempt: last.attempt,
          message: `Committed ${committedIncrementals.length} incremental export(s) covering ${windowLabel({ from: first.from, to: last.to })}: ${committedIncrementals.map((e) => e.arn).join(', ')}.`,
        }),
      );
    }
  }
  return plan;
}

/** Starts a new epoch: drops every uncommitted export and the incidents tied to the old windows. */
function beginEpoch(w: Work): string[] {
  const dropped = w.state.exports.filter((e) => e.arn).map((e) => e.arn as string);
  w.state.epoch = compactTime(w.now);
  w.state.chainStart = null;
  w.state.watermark = null;
  w.state.sequence = -1;
  w.state.exports = [];
  w.state.incidents = w.state.incidents.filter((i) => !isEpochIncident(i.key));
  return dropped;
}

function newStarting(type: TrackedExport['type'], from: number, to: number, attempt: number): TrackedExport {
  return { type, from, to, attempt, status: 'STARTING', checks: 0 };
}

/** Requests to send now; records new ones (and retries) as STARTING. */
function planStarts(w: Work, pitr: PitrObservation): TrackedExport[] {
  const s = w.state;
  const starts: TrackedExport[] = [];
  if (s.chainStart === null) {
    const full = s.exports.find((e) => e.type === 'FULL');
    const exportTime = fullExportTime(pitr.latest, w.now, w.settings.restorableMarginSeconds, pitr.earliest);
    if (!full) {
      if (exportTime === null) return starts; // nothing restorable yet: the next run tries again
      const e = newStarting('FULL', exportTime, exportTime, 1);
      s.exports = sortExports([...s.exports, e]);
      starts.push(e);
    } else if (full.status === 'FAILED' && (full.notBefore ?? 0) <= w.now) {
      if (exportTime === null) return starts;
      // A new full export may take a newer snapshot time: the chain starts wherever it completes.
      const e = newStarting('FULL', exportTime, exportTime, full.attempt + 1);
      replaceExport(w, full, e);
      starts.push(e);
    } else if (full.status === 'STARTING' && (full.notBefore ?? 0) <= w.now) {
      if (full.lastError && exportTime !== null && exportTime !== full.to) {
        // DynamoDB refused this request (so it started nothing): ask for a time it can export now.
        const e: TrackedExport = {
          ...newStarting('FULL', exportTime, exportTime, full.attempt),
          lastError: full.lastError,
        };
        replaceExport(w, full, e);
        starts.push(e);
      } else {
        // Possibly accepted before a crash: resend it unchanged (same ClientToken).
        starts.push(full);
      }
    }
    return starts;
  }
  if (pitr.latest === undefined) return starts;
  const limit = restorableLimit(pitr.latest, w.settings.restorableMarginSeconds);
  for (const e of [...s.exports]) {
    if (e.type !== 'INCREMENTAL' || (e.notBefore ?? 0) > w.now || e.to > limit) continue;
    if (e.status === 'FAILED') {
      const retry: TrackedExport = newStarting('INCREMENTAL', e.from, e.to, e.attempt + 1);
      replaceExport(w, e, retry);
      starts.push(retry);
    } else if (e.status === 'STARTING') {
      starts.push(e);
    }
  }
  const incrementals = s.exports.filter((e) => e.type === 'INCREMENTAL');
  const slots = effectiveMaxInFlight(w.settings) - incrementals.length;
  const frontier = incrementals.reduce((max, e) => Math.max(max, e.to), s.watermark ?? s.chainStart);
  const windows = planWindows({
    frontier,
    limit,
    windowSeconds: w.settings.windowMinutes * 60,
    maxCatchUpSeconds: w.settings.maxCatchUpWindowMinutes * 60,
    slots,
  });
  for (const win of windows) {
    const e = newStarting('INCREMENTAL', win.from, win.to, 1);
    s.exports = sortExports([...s.exports, e]);
    starts.push(e);
  }
  return starts;
}

/** The earliest `from` that still needs a request: a retry waiting, or the frontier. */
export function nextRequestFrom(state: ChainState): number | null {
  if (state.chainStart === null) return null;
  const incrementals = state.exports.filter((e) => e.type === 'INCREMENTAL');
  const waiting = incrementals
    .filter((e) => e.status === 'FAILED' || e.status === 'STARTING')
    .map((e) => e.from);
  const frontier = incrementals.reduce((max, e) => Math.max(max, e.to), state.watermark ?? state.chainStart);
  return Math.min(frontier, ...waiting);
}

/** Everything one tick decides, from what it observed. */
export function planTick(input: TickInput): TickPlan {
  const { settings, now, pitr } = input;
  const w: Work = {
    state: structuredClone(input.state),
    notes: [],
    counters: { started: 0, completed: 0, failed: 0 },
    settings,
    now,
  };
  const s = w.state;

  // Learned PITR lag: follow increases at once (waking early wastes a tick), decreases slowly.
  if (pitr.status === 'ENABLED' && pitr.latest !== undefined) {
    const observed = Math.max(0, now - pitr.latest);
    s.stats.restorableLagSeconds =
      observed >= s.stats.restorableLagSeconds ? observed : ewma(s.stats.restorableLagSeconds, observed);
  }

  // A successful tick ends a run-failure incident.
  const runFailed = resolve(w, 'RUN_FAILED');
  if (runFailed && runFailed.lastNotifiedAt > 0) {
    w.notes.push(
      draft({
        status: 'SUCCESS',
        event: 'RUN_RECOVERED',
        title: 'export runs recovered',
        message: `The export tick runs again after failing since ${iso(runFailed.openedAt)}.`,
      }),
    );
  }

  // Operator action.
  const raw = input.action === null ? 'RUN' : input.action.trim();
  let mode: 'RUN' | 'PAUSE';
  let reset = false;
  if (raw === 'RUN' || raw === 'PAUSE' || raw === 'RESET') {
    resolve(w, 'ACTION_INVALID');
    mode = raw === 'PAUSE' ? 'PAUSE' : 'RUN';
    reset = raw === 'RESET';
  } else {
    mode = 'PAUSE';
    raise(w, 'ACTION_INVALID', { remindAfterSeconds: HOURLY }, () =>
      draft({
        status: 'FAILED',
        event: 'ACTION_INVALID',
        title: `invalid action ${JSON.stringify(raw).slice(0, 40)}`,
        message:
          `The action parameter ${settings.actionParameterName} holds ${JSON.stringify(raw.slice(0, 100))}, ` +
          'which is not one of RUN, PAUSE, RESET. The chain behaves as paused: in-flight exports are still ' +
          'tracked and committed, no new export is requested.',
        hint: `Set ${settings.actionParameterName} to RUN, PAUSE or RESET (for example with 'dce resume').`,
      }),
    );
  }

  for (const obs of input.describes) applyDescribe(w, obs);
  const commits = commitCompleted(w);

  let dropped: string[] = [];
  if (reset) {
    dropped = beginEpoch(w);
    w.notes.push(
      draft({
        status: 'WARNING',
        event: 'RESET',
        title: 'chain reset, new epoch started',
        message:
          `The operator requested RESET. Epoch ${s.epoch} begins with a new full export. ` +
          (dropped.length > 0
            ? `Uncommitted exports dropped from the chain: ${dropped.join(', ')}.`
            : 'No uncommitted export was dropped.'),
        hint: 'Consumers must re-bootstrap from the new epoch (see chain/CURRENT.json).',
      }),
    );
  }

  // PITR and the table.
  let startsAllowed = mode === 'RUN';
  if (pitr.status === 'TABLE_NOT_FOUND') {
    startsAllowed = false;
    raise(w, 'TABLE_DELETED', { remindAfterSeconds: null }, () =>
      draft({
        status: 'FAILED',
        event: 'TABLE_DELETED',
        title: 'table not found, exports stopped',
        message: `Table ${settings.tableName} was not found. No export is requested; runs keep checking in case it comes back.`,
        hint: 'If the table was deleted on purpose, remove it from the stack config. A recreated table starts a new epoch.',
      }),
    );
  } else {
    const was = resolve(w, 'TABLE_DELETED');
    if (was && was.lastNotifiedAt > 0) {
      w.notes.push(
        draft({
          status: 'WARNING',
          event: 'TABLE_FOUND',
          title: 'table found again',
          message: `Table ${settings.tableName} exists again; the chain continues if its PITR history allows.`,
        }),
      );
    }
  }
  if (pitr.status === 'DISABLED') {
    startsAllowed = false;
    raise(w, 'PITR_DISABLED', { remindAfterSeconds: null }, () =>
      draft({
        status: 'WARNING',
        event: 'PITR_DISABLED',
        title: 'point-in-time recovery is disabled',
        message: `Point-in-time recovery is disabled on ${settings.tableName}: no export can be requested. In-flight exports are still tracked.`,
        hint: 'Enable PITR again. History from before re-enabling is lost, so the chain will likely need a new epoch (PITR_GAP).',
      }),
    );
  } else if (pitr.status === 'ENABLED') {
    const was = resolve(w, 'PITR_DISABLED');
    if (was && was.lastNotifiedAt > 0) {
      w.notes.push(
        draft({
          status: 'SUCCESS',
          event: 'PITR_ENABLED',
          title: 'point-in-time recovery enabled again',
          message: `Point-in-time recovery is enabled again on ${settings.tableName}; exports resume if no history is missing.`,
        }),
      );
    }
  }

  // The next window must still be restorable.
  let starts: TrackedExport[] = [];
  if (startsAllowed && pitr.status === 'ENABLED') {
    if (s.epoch === null) beginEpoch(w);
    const from = nextRequestFrom(s);
    if (from !== null && pitr.earliest !== undefined && from < pitr.earliest) {
      const gapNote = (kind: 'OPEN' | 'REMIND') =>
        draft({
          status: 'FAILED',
          event: 'PITR_GAP',
          title: `PITR gap: the chain cannot continue${kind === 'REMIND' ? ' (still)' : ''}`,
          window: { from, to: pitr.earliest as number },
          message:
            `The next window starts at ${iso(from)}, before the earliest restorable time ${iso(pitr.earliest as number)}: ` +
            'that history is gone (PITR was disabled or the lag exceeded the recovery period). ' +
            (settings.onPitrGap === 'reset'
              ? 'A new epoch with a new full export starts automatically.'
              : 'The chain waits for the operator.'),
          hint:
            settings.onPitrGap === 'reset'
              ? 'Consumers must re-bootstrap from the new epoch (see chain/CURRENT.json).'
              : "Set the action parameter to RESET (for example 'dce reset') to start a new epoch with a full export.",
        });
      if (settings.onPitrGap === 'reset') {
        w.notes.push(gapNote('OPEN'));
        dropped = [...dropped, ...beginEpoch(w)];
        w.notes.push(
          draft({
            status: 'WARNING',
            event: 'NEW_EPOCH',
            title: 'new epoch started after a PITR gap',
            message: `Epoch ${s.epoch} begins with a new full export.${dropped.length > 0 ? ` Dropped: ${dropped.join(', ')}.` : ''}`,
          }),
        );
      } else {
        raise(w, 'PITR_GAP', { remindAfterSeconds: HOURLY }, (kind) => gapNote(kind));
        startsAllowed = false;
      }
    } else {
      resolve(w, 'PITR_GAP');
    }
    if (startsAllowed) starts = planStarts(w, pitr);
  }

  // Warn before the lag eats the PITR recovery period.
  if (s.watermark !== null && pitr.status === 'ENABLED') {
    const period = (pitr.recoveryPeriodDays ?? DEFAULT_RECOVERY_PERIOD_DAYS) * 86400;
    const lag = now - s.watermark;
    if (lag > PITR_WINDOW_WARN_FRACTION * period) {
      raise(w, 'PITR_WINDOW', { remindAfterSeconds: null }, () =>
        draft({
          status: 'WARNING',
          event: 'PITR_WINDOW_WARNING',
          title: 'chain lag approaches the PITR recovery period',
          message: `The chain is ${Math.round(lag / 3600)} h behind, over ${Math.round(PITR_WINDOW_WARN_FRACTION * 100)} % of the ${period / 86400}-day PITR recovery period. If it falls further behind, history is lost and a new epoch is needed.`,
          hint: 'Find what holds the chain back (failed exports, PAUSE, quotas) and fix it soon.',
        }),
      );
    } else {
      resolve(w, 'PITR_WINDOW');
    }
  }

  return {
    state: s,
    commits,
    notifications: w.notes,
    starts,
    resetAction: reset,
    startsAllowed,
    mode,
    dropped,
    counters: w.counters,
  };
}

/** How a start request was answered. */
export type StartOutcome =
  | { kind: 'STARTED'; arn: string }
  /** InvalidExportTimeException while the window is not exportable yet: same request again later. */
  | { kind: 'NOT_YET'; code: string; message: string }
  | { kind: 'PITR_UNAVAILABLE'; code: string; message: string }
  | { kind: 'TABLE_NOT_FOUND'; code: string; message: string }
  /** Any other refusal: recorded as a failure of this attempt, retried with a new attempt. */
  | { kind: 'REJECTED'; code: string; message: string };

export interface StartResult {
  state: ChainState;
  notifications: NotificationDraft[];
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
  const w: Work = {
    state: structuredClone(state),
    notes: [],
    counters: { started: 0, completed: 0, failed: 0 },
    settings,
    now,
  };
  const e = w.state.exports.find(
    (x) =>
      x.type === sent.type && x.from === sent.from && x.attempt === sent.attempt && x.status === 'STARTING',
  );
  if (!e) return { state: w.state, notifications: [], counters: w.counters };
  switch (outcome.kind) {
    case 'STARTED': {
      replaceExport(w, e, {
        ...e,
        status: 'IN_PROGRESS',
        arn: outcome.arn,
        startedAt: now,
        nextCheckAt: now + typicalSeconds(w.state, e.type),
        notBefore: undefined,
        lastError: undefined,
        checks: 0,
      });
      w.counters.started++;
      resolve(w, notYetKey(e));
      break;
    }
    case 'NOT_YET': {
      replaceExport(w, e, {
        ...e,
        notBefore: now + NOT_YET_RETRY_SECONDS,
        lastError: trimError(outcome.code, outcome.message),
      });
      raise(
        w,
        notYetKey(e),
        { remindAfterSeconds: null, notifyAfterSeconds: NOT_YET_WARN_AFTER_SECONDS },
        (_k, incident) =>
          draft({
            status: 'WARNING',
            event: 'EXPORT_NOT_YET_ALLOWED',
            title: 'export refused as not yet allowed for 30+ min',
            type: e.type,
            window: { from: e.from, to: e.to },
            attempt: e.attempt,
            message: `DynamoDB has refused the ${e.type === 'FULL' ? 'full' : 'incremental'} export of ${windowLabel(e)} with ${outcome.code} since ${iso(incident.openedAt)}: ${outcome.message}. It keeps being requested unchanged every minute.`,
            hint: 'Check the table clock skew and raise restorableMarginSeconds if this persists.',
          }),
      );
      break;
    }
    case 'PITR_UNAVAILABLE':
    case 'TABLE_NOT_FOUND': {
      replaceExport(w, e, {
        ...e,
        notBefore: now + NOT_YET_RETRY_SECONDS,
        lastError: trimError(outcome.code, outcome.message),
      });
      const table = outcome.kind === 'TABLE_NOT_FOUND';
      raise(w, table ? 'TABLE_DELETED' : 'PITR_DISABLED', { remindAfterSeconds: null }, () =>
        draft({
          status: table ? 'FAILED' : 'WARNING',
          event: table ? 'TABLE_DELETED' : 'PITR_DISABLED',
          title: table ? 'table not found, exports stopped' : 'point-in-time recovery is unavailable',
          message: `The export request was refused: ${outcome.code}: ${outcome.message}.`,
          hint: table
            ? 'Remove the table from the stack config if it was deleted on purpose.'
            : 'Enable PITR on the table.',
        }),
      );
      break;
    }
    case 'REJECTED':
      recordFailure(w, e, outcome.code, outcome.message);
      break;
  }
  return { state: w.state, notifications: w.notes, counters: w.counters };
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
  if (startsAllowed && state.chainStart !== null) {
    const incrementals = state.exports.filter((e) => e.type === 'INCREMENTAL');
    if (incrementals.length < effectiveMaxInFlight(settings)) {
      const frontier = incrementals.reduce(
        (max, e) => Math.max(max, e.to),
        state.watermark ?? state.chainStart,
      );
      candidates.push(windowExportableAt(frontier, settings.windowMinutes * 60, margin, lag));
    }
  }
  const earliest = candidates.length > 0 ? Math.min(...candidates) : periodEnd;
  const wakeAt = Math.max(now + MIN_WAKE_SECONDS, earliest);
  return { wakeAt, next: wakeAt >= periodEnd ? 'DONE' : 'WAIT' };
}

/** The execution a tick belongs to: its scheduled time and the end of its period. */
export interface ExecutionInfo {
  executionId: string;
  scheduledAt: number;
  periodEnd: number;
}

/** Extra lease beyond the period end, so a slow last tick keeps its claim. */
export const DRIVER_LEASE_EXTRA_SECONDS = 120;

export type DriverDecision =
  | { kind: 'DRIVE'; driver: NonNullable<ChainState['driver']> }
  /** Another execution drives the chain (duplicate delivery, older overlap, or this one was superseded). */
  | { kind: 'STAND_DOWN'; reason: string };

/** Which execution drives the chain: the newest one with a live lease. */
export function decideDriver(
  current: ChainState['driver'],
  exec: ExecutionInfo,
  now: number,
): DriverDecision {
  const mine = {
    executionId: exec.executionId,
    scheduledAt: exec.scheduledAt,
    leaseUntil: exec.periodEnd + DRIVER_LEASE_EXTRA_SECONDS,
  };
  if (!current || current.executionId === exec.executionId) return { kind: 'DRIVE', driver: mine };
  if (current.leaseUntil > now && current.scheduledAt >= exec.scheduledAt) {
    return {
      kind: 'STAND_DOWN',
      reason: `execution ${current.executionId} (scheduled ${iso(current.scheduledAt)}) drives the chain until ${iso(current.leaseUntil)}`,
    };
  }
  return { kind: 'DRIVE', driver: mine };
}
