/**
 * Run failures alerted while the chain state could not be written, and how the next good run closes
 * them.
 *
 * A failed tick is normally recorded as a RUN_FAILED incident in the state, which the next run that
 * completes resolves. When SSM itself fails, nothing can be recorded there: the failure report then
 * alerts by a stateless hourly rule (`exportTick.ts`). So that such an alert is still closed, the report
 * first writes a small marker object beside the chain manifest in S3, which does not depend on SSM:
 * which error, since when, how many alerts. The first tick of each execution reads it; when it names
 * failures, the tick adopts them as already-alerted RUN_FAILED incidents, saves them in the state, and
 * only then empties the marker. From there the incidents follow the usual rules: the run completing
 * clears them, and after the hold each is resolved with one RUN_RECOVERED. The recovery's id comes
 * from the marker (error and first alert), so the rare second copy after a crash between the save and
 * the emptying carries the same notificationId.
 */
import { z } from 'zod';
import { incidentKey, MAX_INCIDENTS } from './incidents';
import type { ChainState, Incident } from './state';

/** At most this many error names are kept in the marker (the newest alerted). */
export const MAX_MARKER_FAILURES = 5;

const seconds = z.number().int().nonnegative();

export const RunFailureMarkerSchema = z.object({
  schemaVersion: z.literal(1),
  failures: z
    .array(
      z.object({
        /** The error name the alert was sent for (its incident is `RUN_FAILED:<name>`). */
        name: z.string().min(1).max(120),
        /** When the first alert for it was sent. */
        since: seconds,
        /** When the last one was sent. */
        lastAlertAt: seconds,
        alerts: z.number().int().positive(),
      }),
    )
    .max(MAX_MARKER_FAILURES),
});
export type RunFailureMarker = z.infer<typeof RunFailureMarkerSchema>;

/** `<prefix>/chain/run-failures.json`: beside the epochs, outside any of them (consumers skip it). */
export function runFailureMarkerKey(prefix: string): string {
  return prefix === '' ? 'chain/run-failures.json' : `${prefix}/chain/run-failures.json`;
}

/** The marker once its failures are recorded in the state. */
export const EMPTY_MARKER: RunFailureMarker = { schemaVersion: 1, failures: [] };

/** The marker after one more alert for `name` at `now`. */
export function withAlert(marker: RunFailureMarker | null, errorName: string, now: number): RunFailureMarker {
  const name = errorName.slice(0, 120);
  const failures = marker?.failures ?? [];
  const existing = failures.find((f) => f.name === name);
  const updated = existing
    ? { ...existing, lastAlertAt: now, alerts: existing.alerts + 1 }
    : { name, since: now, lastAlertAt: now, alerts: 1 };
  const others = failures.filter((f) => f.name !== name);
  return {
    schemaVersion: 1,
    failures: [...others, updated].sort((a, b) => a.lastAlertAt - b.lastAlertAt).slice(-MAX_MARKER_FAILURES),
  };
}

/** The marker's JSON text, or null when it is not a marker this code wrote (it is then ignored). */
export function parseMarker(text: string): RunFailureMarker | null {
  try {
    const parsed = RunFailureMarkerSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/**
 * The state with the marker's failures as alerted RUN_FAILED incidents. One already in the state keeps
 * its opening time (the ids of its alerts); it is open again unless it was cleared after the last
 * alert of the marker.
 */
export function adoptRunFailures(state: ChainState, marker: RunFailureMarker): ChainState {
  let incidents = [...state.incidents];
  const adopted = new Set<string>();
  for (const f of marker.failures) {
    const key = incidentKey('RUN_FAILED', f.name);
    const existing = incidents.find((i) => i.key === key);
    const cleared = existing?.clearedAt;
    const incident: Incident = {
      key,
      openedAt: existing?.openedAt ?? f.since,
      lastNotifiedAt: Math.max(existing?.lastNotifiedAt ?? 0, f.lastAlertAt),
      reminders: Math.max(existing?.reminders ?? 0, f.alerts - 1),
      occurrences: (existing?.occurrences ?? 0) + f.alerts,
      ...(cleared !== undefined && cleared >= f.lastAlertAt ? { clearedAt: cleared } : {}),
    };
    incidents = existing ? incidents.map((i) => (i.key === key ? incident : i)) : [...incidents, incident];
    adopted.add(key);
  }
  // Bounded like any incident list; the adopted ones stay, since their alerts went out.
  while (incidents.length > MAX_INCIDENTS) {
    const i = incidents.findIndex((x) => !adopted.has(x.key));
    if (i < 0) break;
    incidents.splice(i, 1);
  }
  return { ...state, incidents };
}
