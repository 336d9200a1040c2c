/**
 * The working copy one decision changes (a clone of the state, the facts it records, its counters),
 * and the small operations every decision uses on it: incidents, tracked exports, request profiles.
 */
import {
  clearIncidents,
  kindOf,
  raiseIncident,
  settleIncidents,
  subjectOf,
  type RaiseOptions,
} from './incidents';
import type { NotificationFact } from './notificationFacts';
import type { WorkflowSettings } from './settings';
import type { ChainState, Incident, RequestProfile, TrackedExport } from './state';

export interface TickCounters {
  started: number;
  completed: number;
  failed: number;
}

/** Mutable working copy used inside one decision. */
export interface Work {
  state: ChainState;
  facts: NotificationFact[];
  counters: TickCounters;
  settings: WorkflowSettings;
  now: number;
}

export function newWork(state: ChainState, settings: WorkflowSettings, now: number): Work {
  return {
    state: structuredClone(state),
    facts: [],
    counters: { started: 0, completed: 0, failed: 0 },
    settings,
    now,
  };
}

/** The facts of an incident alert, without id and event (added by `raise`). */
export type IncidentFact = Omit<NotificationFact, 'id' | 'at' | 'epoch' | 'since' | 'reminder'> &
  Partial<Pick<NotificationFact, 'epoch'>>;

/** Records that the cause `key` is present; alerts (OPEN or REMIND) with the fact `make` returns. */
export function raise(
  w: Work,
  key: string,
  options: RaiseOptions,
  make: (incident: Incident) => IncidentFact,
): Incident {
  const r = raiseIncident(w.state.incidents, key, w.now, options);
  w.state.incidents = r.incidents;
  if (r.notify) {
    const fact = make(r.incident);
    w.facts.push({
      epoch: w.state.epoch,
      ...fact,
      id: `${key}@${r.incident.openedAt}#${r.incident.reminders}`,
      at: w.now,
      since: r.incident.openedAt,
      reminder: r.incident.reminders,
    });
  }
  return r.incident;
}

/** Evidence that causes are gone: matching incidents start their hold. */
export function clear(w: Work, matches: (key: string) => boolean): void {
  w.state.incidents = clearIncidents(w.state.incidents, (i) => matches(i.key), w.now);
}

export const keyIs = (key: string) => (k: string) => k === key;
export const kindIs =
  (...kinds: string[]) =>
  (k: string) =>
    kinds.includes(k.split(':')[0]);

/** Resolves incidents that stayed clear for the hold time; one message for each that was alerted. */
export function settle(w: Work): void {
  const r = settleIncidents(w.state.incidents, w.now);
  w.state.incidents = r.incidents;
  for (const incident of r.resolved) {
    const kind = kindOf(incident.key);
    w.facts.push({
      id: `${incident.key}@${incident.openedAt}#resolved`,
      event: kind.resolvedEvent,
      at: w.now,
      epoch: w.state.epoch,
      code:
        kind.resolvedEvent === 'INCIDENT_RESOLVED' ? incident.key : (subjectOf(incident.key) ?? incident.key),
      since: incident.openedAt,
    });
  }
}

export function sortExports(exports: TrackedExport[]): TrackedExport[] {
  return [...exports].sort((a, b) => (a.type === b.type ? a.from - b.from : a.type === 'FULL' ? -1 : 1));
}

/** Replaces (or removes) the tracked export of the same type and window start: windows never overlap. */
export function replaceExport(
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

const MAX_ERROR_MESSAGE = 160;

export function trimError(code: string, message: string): { code: string; message: string } {
  return { code: code.slice(0, 80), message: message.slice(0, MAX_ERROR_MESSAGE) };
}

/** The request profile of the current settings. */
export function currentProfile(settings: WorkflowSettings): Omit<RequestProfile, 'id'> {
  const p: Omit<RequestProfile, 'id'> = {
    bucket: settings.bucket,
    prefix: settings.prefix,
    exportFormat: settings.exportFormat,
    exportViewType: settings.exportViewType,
  };
  if (settings.bucketOwnerAccountId) p.bucketOwnerAccountId = settings.bucketOwnerAccountId;
  if (settings.kmsKeyArn) p.kmsKeyArn = settings.kmsKeyArn;
  return p;
}

function sameProfile(a: Omit<RequestProfile, 'id'>, b: Omit<RequestProfile, 'id'>): boolean {
  return (
    a.bucket === b.bucket &&
    a.prefix === b.prefix &&
    a.exportFormat === b.exportFormat &&
    a.exportViewType === b.exportViewType &&
    a.bucketOwnerAccountId === b.bucketOwnerAccountId &&
    a.kmsKeyArn === b.kmsKeyArn
  );
}

/** Id of the profile of the current settings, added to the state when new. */
export function profileIdFor(w: Work): number {
  const wanted = currentProfile(w.settings);
  const found = w.state.profiles.find((p) => sameProfile(p, wanted));
  if (found) return found.id;
  const id = w.state.profiles.reduce((max, p) => Math.max(max, p.id + 1), 0);
  w.state.profiles = [...w.state.profiles, { id, ...wanted }];
  return id;
}

/**
 * What an export was requested with: its recorded profile, or (for an export recorded before profiles
 * existed) the current settings.
 */
export function profileOf(
  state: ChainState,
  e: Pick<TrackedExport, 'profile'>,
  settings: WorkflowSettings,
): Omit<RequestProfile, 'id'> {
  const found = e.profile === undefined ? undefined : state.profiles.find((p) => p.id === e.profile);
  return found ?? currentProfile(settings);
}

/** Drops profiles no tracked export refers to. */
export function pruneProfiles(state: ChainState): void {
  const used = new Set(state.exports.map((e) => e.profile));
  state.profiles = state.profiles.filter((p) => used.has(p.id));
}
