/**
 * Incremental windows. Windows are `[from, to)` on the grid `chainStart + k * window`, each starts where
 * the previous ends, and none ends later than the restorable limit. A backlog of two or more windows is
 * coalesced into exports of up to `maxCatchUpWindowMinutes` (a whole number of windows), so a long
 * outage is caught up with few exports.
 */

/** DynamoDB's bounds on an incremental export window. */
export const MIN_WINDOW_SECONDS = 15 * 60;
export const MAX_WINDOW_SECONDS = 24 * 60 * 60;

export interface Window {
  from: number;
  to: number;
}

export interface WindowPlanInput {
  /** Where the next window starts: a grid point. */
  frontier: number;
  /** Latest allowed window end: floor(LatestRestorableDateTime - margin). */
  limit: number;
  windowSeconds: number;
  maxCatchUpSeconds: number;
  /** How many new exports may be started. */
  slots: number;
}

/** Number of normal windows one export may cover while catching up (at least 1). */
export function windowsPerCatchUpExport(windowSeconds: number, maxCatchUpSeconds: number): number {
  const cap = Math.min(Math.max(maxCatchUpSeconds, windowSeconds), MAX_WINDOW_SECONDS);
  return Math.max(1, Math.floor(cap / windowSeconds));
}

/** The next windows to request, in order, contiguous from `frontier`. */
export function planWindows(input: WindowPlanInput): Window[] {
  const { frontier, limit, windowSeconds, slots } = input;
  if (windowSeconds < MIN_WINDOW_SECONDS || windowSeconds > MAX_WINDOW_SECONDS) {
    throw new Error(`window of ${windowSeconds} s is outside DynamoDB's 15 min..24 h`);
  }
  const available = Math.floor((limit - frontier) / windowSeconds);
  if (available <= 0 || slots <= 0) return [];
  const perExport = available >= 2 ? windowsPerCatchUpExport(windowSeconds, input.maxCatchUpSeconds) : 1;
  const out: Window[] = [];
  let from = frontier;
  let remaining = available;
  while (remaining > 0 && out.length < slots) {
    const count = Math.min(perExport, remaining);
    out.push({ from, to: from + count * windowSeconds });
    from += count * windowSeconds;
    remaining -= count;
  }
  return out;
}

/** When the window starting at `frontier` becomes exportable, given the table's restorable lag. */
export function windowExportableAt(
  frontier: number,
  windowSeconds: number,
  marginSeconds: number,
  restorableLagSeconds: number,
): number {
  return frontier + windowSeconds + marginSeconds + Math.ceil(restorableLagSeconds);
}
