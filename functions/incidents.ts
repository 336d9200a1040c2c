/**
 * Incidents: one alert per problem, not one per run. An incident is opened the first time a problem is
 * seen, notified once (optionally only after it has lasted a while), reminded at most every
 * `remindAfterSeconds`, and resolved when the problem is gone. The state records `lastNotifiedAt`
 * (0 = not notified yet); the handler publishes before it saves that record, so a failed publish is
 * simply retried on the next run.
 */
import type { Incident } from './state';

/** Reminders of a persisting problem are sent at most this often. */
export const HOURLY = 3600;

/** At most this many incidents are kept, so the state stays small. */
export const MAX_INCIDENTS = 12;

export interface RaiseOptions {
  /** Remind while the problem persists, at most this often; null = never remind. */
  remindAfterSeconds: number | null;
  /** Only notify once the problem has lasted this long. @default 0 */
  notifyAfterSeconds?: number;
}

export interface RaiseResult {
  incidents: Incident[];
  /** OPEN: first notification of this incident; REMIND: a reminder; null: stay quiet. */
  notify: 'OPEN' | 'REMIND' | null;
  incident: Incident;
}

/** Records that the problem `key` is (still) present and decides whether to notify now. */
export function raiseIncident(
  incidents: readonly Incident[],
  key: string,
  now: number,
  options: RaiseOptions,
): RaiseResult {
  const existing = incidents.find((i) => i.key === key);
  const incident: Incident = existing
    ? { ...existing, occurrences: existing.occurrences + 1 }
    : { key, openedAt: now, lastNotifiedAt: 0, occurrences: 1 };
  let notify: RaiseResult['notify'] = null;
  if (incident.lastNotifiedAt === 0) {
    if (now - incident.openedAt >= (options.notifyAfterSeconds ?? 0)) notify = 'OPEN';
  } else if (
    options.remindAfterSeconds !== null &&
    now - incident.lastNotifiedAt >= options.remindAfterSeconds
  ) {
    notify = 'REMIND';
  }
  if (notify) incident.lastNotifiedAt = now;
  let next = existing ? incidents.map((i) => (i.key === key ? incident : i)) : [...incidents, incident];
  if (next.length > MAX_INCIDENTS) next = next.slice(next.length - MAX_INCIDENTS);
  return { incidents: next, notify, incident };
}

export interface ResolveResult {
  incidents: Incident[];
  /** The incident that was open, or null. `resolved.lastNotifiedAt > 0` means someone was alerted. */
  resolved: Incident | null;
}

export function resolveIncident(incidents: readonly Incident[], key: string): ResolveResult {
  const resolved = incidents.find((i) => i.key === key) ?? null;
  return { incidents: incidents.filter((i) => i.key !== key), resolved };
}

export function hasIncident(incidents: readonly Incident[], key: string): boolean {
  return incidents.some((i) => i.key === key);
}
