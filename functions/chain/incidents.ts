/**
 * Incidents: one alert per cause, not one per run or per window.
 *
 * An incident is keyed by its cause: its kind plus what it is about (`EXPORT_FAILED:<FailureCode>`,
 * `START_REFUSED:<error>`, `PITR_GAP`, `RUN_FAILED:<error>`, ...). It opens with one alert (optionally
 * only once it has lasted a while, or once the caller says it matters), reminds with a back-off (1 h,
 * 2 h, 4 h, 8 h, then daily: at most 5 messages in its first day, 1 a day after that), and resolves
 * with one message when it has really cleared:
 *
 * - Only evidence of the same kind clears an incident (a refused start clears when a start is
 *   accepted; a failed export when an export started after the failure completes; a failed run when a
 *   run completes). The planner decides what counts as evidence; this module only keeps the books.
 * - Hysteresis: a cleared incident is held for `RESOLVE_HOLD_SECONDS` before it is resolved. Raised
 *   again meanwhile, it simply continues (no second OPEN alert); so a cause that comes and goes alerts
 *   once, not once per flap.
 *
 * These functions are pure; the resulting messages go through the outbox (`outbox.ts`).
 */
import type { NotificationEvent } from './notificationFacts';
import type { Incident } from './state';

/** Gaps between reminders: the n-th reminder comes REMINDER_BACKOFF[min(n, last)] after the previous message. */
export const REMINDER_BACKOFF_SECONDS = [3600, 7200, 14400, 28800, 86400] as const;

/** A cleared incident is resolved once it has stayed clear this long. */
export const RESOLVE_HOLD_SECONDS = 600;

/** At most this many incidents are kept, so the state stays small. */
export const MAX_INCIDENTS = 10;

/** What kind of incident a key is, by its prefix. */
export interface IncidentKind {
  /** Key prefix (up to the first ':'). */
  kind: string;
  /** Remind while the incident lasts. */
  remind: boolean;
  /** Event of the resolution message (sent only when the incident was alerted). */
  resolvedEvent: NotificationEvent;
  /** Ends with the epoch its windows belong to (dropped silently when a new epoch begins). */
  epochBound: boolean;
}

const KINDS: IncidentKind[] = [
  { kind: 'EXPORT_FAILED', remind: true, resolvedEvent: 'EXPORT_RECOVERED', epochBound: false },
  { kind: 'START_REFUSED', remind: true, resolvedEvent: 'INCIDENT_RESOLVED', epochBound: false },
  { kind: 'START_THROTTLED', remind: true, resolvedEvent: 'INCIDENT_RESOLVED', epochBound: false },
  { kind: 'DESCRIBE_UNREADABLE', remind: true, resolvedEvent: 'INCIDENT_RESOLVED', epochBound: false },
  { kind: 'START_PITR_UNAVAILABLE', remind: false, resolvedEvent: 'INCIDENT_RESOLVED', epochBound: false },
  { kind: 'START_TABLE_NOT_FOUND', remind: false, resolvedEvent: 'INCIDENT_RESOLVED', epochBound: false },
  { kind: 'NOT_YET', remind: false, resolvedEvent: 'INCIDENT_RESOLVED', epochBound: true },
  { kind: 'PITR_DISABLED', remind: false, resolvedEvent: 'PITR_ENABLED', epochBound: false },
  { kind: 'TABLE_DELETED', remind: false, resolvedEvent: 'TABLE_FOUND', epochBound: false },
  { kind: 'PITR_GAP', remind: true, resolvedEvent: 'INCIDENT_RESOLVED', epochBound: true },
  { kind: 'PITR_WINDOW', remind: false, resolvedEvent: 'INCIDENT_RESOLVED', epochBound: true },
  { kind: 'ACTION_INVALID', remind: true, resolvedEvent: 'INCIDENT_RESOLVED', epochBound: false },
  { kind: 'RUN_FAILED', remind: true, resolvedEvent: 'RUN_RECOVERED', epochBound: false },
];

/** The events that resolve an incident: each closes an alert someone received. */
export const RESOLUTION_EVENTS: ReadonlySet<NotificationEvent> = new Set(KINDS.map((k) => k.resolvedEvent));

export type IncidentKindName =
  | 'EXPORT_FAILED'
  | 'START_REFUSED'
  | 'START_THROTTLED'
  | 'DESCRIBE_UNREADABLE'
  | 'START_PITR_UNAVAILABLE'
  | 'START_TABLE_NOT_FOUND'
  | 'NOT_YET'
  | 'PITR_DISABLED'
  | 'TABLE_DELETED'
  | 'PITR_GAP'
  | 'PITR_WINDOW'
  | 'ACTION_INVALID'
  | 'RUN_FAILED';

/** `kind` or `kind:subject`; the subject (an error name) is cut so keys stay short. */
export function incidentKey(kind: IncidentKindName, subject?: string): string {
  return subject === undefined ? kind : `${kind}:${subject.slice(0, 60)}`;
}

export function kindOf(key: string): IncidentKind {
  const name = key.split(':')[0];
  const found = KINDS.find((k) => k.kind === name);
  if (!found) throw new Error(`unknown incident kind in key ${JSON.stringify(key)}`);
  return found;
}

/** The subject part of a key (`EXPORT_FAILED:S3NoSuchBucket` -> `S3NoSuchBucket`). */
export function subjectOf(key: string): string | undefined {
  const i = key.indexOf(':');
  return i < 0 ? undefined : key.slice(i + 1);
}

export interface RaiseOptions {
  /** Only alert once the incident has lasted this long. @default 0 */
  notifyAfterSeconds?: number;
  /** Record the incident but do not alert yet (for example: throttling while the lag is small). */
  quiet?: boolean;
}

export interface RaiseResult {
  incidents: Incident[];
  /** OPEN: first alert; REMIND: a reminder; null: stay quiet. */
  notify: 'OPEN' | 'REMIND' | null;
  incident: Incident;
}

/** When the next reminder of a notified incident is due. */
export function nextReminderAt(incident: Incident): number | null {
  if (incident.lastNotifiedAt === 0 || !kindOf(incident.key).remind) return null;
  const gap = REMINDER_BACKOFF_SECONDS[Math.min(incident.reminders, REMINDER_BACKOFF_SECONDS.length - 1)];
  return incident.lastNotifiedAt + gap;
}

/** Records that the cause `key` is (still) present and decides whether to alert now. */
export function raiseIncident(
  incidents: readonly Incident[],
  key: string,
  now: number,
  options: RaiseOptions = {},
): RaiseResult {
  kindOf(key); // every key names a known kind: its reminders and resolution depend on it
  const existing = incidents.find((i) => i.key === key);
  const incident: Incident = existing
    ? { ...existing, occurrences: existing.occurrences + 1, clearedAt: undefined }
    : { key, openedAt: now, lastNotifiedAt: 0, reminders: 0, occurrences: 1 };
  let notify: RaiseResult['notify'] = null;
  if (incident.lastNotifiedAt === 0) {
    if (!options.quiet && now - incident.openedAt >= (options.notifyAfterSeconds ?? 0)) notify = 'OPEN';
  } else {
    const due = nextReminderAt(incident);
    if (due !== null && now >= due) notify = 'REMIND';
  }
  if (notify === 'OPEN') incident.lastNotifiedAt = now;
  if (notify === 'REMIND') {
    incident.lastNotifiedAt = now;
    incident.reminders += 1;
  }
  let next = existing ? incidents.map((i) => (i.key === key ? incident : i)) : [...incidents, incident];
  if (next.length > MAX_INCIDENTS) next = next.slice(next.length - MAX_INCIDENTS);
  return { incidents: next, notify, incident };
}

/** Evidence that the cause is gone: the incident starts its hold (no-op when absent or already held). */
export function clearIncident(incidents: readonly Incident[], key: string, now: number): Incident[] {
  return incidents.map((i) => (i.key === key && i.clearedAt === undefined ? { ...i, clearedAt: now } : i));
}

/** Clears every incident whose key matches. */
export function clearIncidents(
  incidents: readonly Incident[],
  matches: (incident: Incident) => boolean,
  now: number,
): Incident[] {
  return incidents.map((i) => (matches(i) && i.clearedAt === undefined ? { ...i, clearedAt: now } : i));
}

export interface SettleResult {
  incidents: Incident[];
  /** Incidents resolved now that had been alerted: each gets one resolution message. */
  resolved: Incident[];
}

/** Resolves the incidents that stayed clear for the hold time. */
export function settleIncidents(incidents: readonly Incident[], now: number): SettleResult {
  const done = (i: Incident) => i.clearedAt !== undefined && now - i.clearedAt >= RESOLVE_HOLD_SECONDS;
  return {
    incidents: incidents.filter((i) => !done(i)),
    resolved: incidents.filter((i) => done(i) && i.lastNotifiedAt > 0),
  };
}

/** Drops the incidents that end with an epoch (a new epoch makes them moot). */
export function dropEpochIncidents(incidents: readonly Incident[]): Incident[] {
  return incidents.filter((i) => !kindOf(i.key).epochBound);
}
