/**
 * Which committed window boundary a restore goes to (pure). The chain's boundaries are the end of each
 * entry's window (`to`): the full export's time, then the end of every incremental window. A table can
 * be recreated exactly as of any of them, and of nothing in between: a time inside a window goes to the
 * boundary before it (the last one at or before the time), and says so.
 *
 * A point outside the chain is refused, naming the nearest points that are valid: before the chain's
 * start (its full export) there is nothing to restore; after its watermark (HEAD) the history is not
 * exported yet.
 */

/** What a restore point is chosen from: the entries of one epoch, in sequence order. */
export interface BoundaryEntry {
  sequence: number;
  /** End of the window (ISO 8601): the boundary this entry makes restorable. */
  to: string;
}

/** `--to`: a time (epoch seconds) or a sequence number. */
export type RestoreTarget = { time: number } | { sequence: number };

/** The boundary chosen. */
export interface RestorePoint {
  /** The last entry to apply. */
  sequence: number;
  /** The restored table holds every write before this time (ISO 8601). */
  asOf: string;
  /** A time that was not itself a boundary went back to `asOf`. */
  roundedDown: boolean;
}

/** A point the chain cannot restore, with the nearest valid points. */
export class RestorePointError extends Error {
  constructor(
    message: string,
    /** The valid points nearest to what was asked (one or two). */
    readonly nearest: { sequence: number; asOf: string }[],
  ) {
    super(message);
    this.name = 'RestorePointError';
  }
}

const iso = (seconds: number) => new Date(seconds * 1000).toISOString();
const seconds = (text: string) => Date.parse(text) / 1000;
const point = (e: BoundaryEntry) => ({ sequence: e.sequence, asOf: e.to });
const describe = (e: BoundaryEntry) => `sequence ${e.sequence} (${e.to})`;

/** Pure: the boundary `target` restores to, or a `RestorePointError`. `entries` are in sequence order. */
export function chooseRestorePoint(entries: readonly BoundaryEntry[], target: RestoreTarget): RestorePoint {
  if (entries.length === 0) throw new RestorePointError('the chain has no committed entry yet', []);
  const first = entries[0];
  const last = entries[entries.length - 1];
  const range = `the chain can restore ${describe(first)} to ${describe(last)}`;
  if ('sequence' in target) {
    const entry = entries.find((e) => e.sequence === target.sequence);
    if (entry) return { sequence: entry.sequence, asOf: entry.to, roundedDown: false };
    const nearest = target.sequence < first.sequence ? first : last;
    throw new RestorePointError(
      `sequence ${target.sequence} is not in the chain; ${range}; nearest: ${describe(nearest)}`,
      [point(nearest)],
    );
  }
  const { time } = target;
  if (time < seconds(first.to))
    throw new RestorePointError(
      `${iso(time)} is before the chain's start; ${range}; nearest: ${describe(first)}`,
      [point(first)],
    );
  if (time > seconds(last.to))
    throw new RestorePointError(
      `${iso(time)} is after the chain's watermark (writes after it are not exported yet); ${range}; nearest: ${describe(last)}`,
      [point(last)],
    );
  let chosen = first;
  for (const e of entries) {
    if (seconds(e.to) > time) break;
    chosen = e;
  }
  return { sequence: chosen.sequence, asOf: chosen.to, roundedDown: seconds(chosen.to) !== time };
}
