/**
 * The chain the replay tests rebuild a table from: a full export an hour into a seeded workload,
 * then six contiguous 30-minute incremental windows. Shared so that the replay tests of every format
 * and file size replay the same history.
 */
import { generateWorkload } from '../../sim/workload';
import { contiguousWindows } from './exportChain';

export const REPLAY_BUCKET = 'replay-bucket';
export const REPLAY_PREFIX = 'exports/orders';
export const HOUR = 3600;
/** Start of the workload's traffic, epoch seconds. */
export const T0 = Date.UTC(2026, 10, 3, 0, 0, 0) / 1000;
/** Time of the full export. */
export const START = T0 + HOUR;
export const WINDOWS = contiguousWindows(START, 30 * 60, 6);
/** End of the last incremental window: the table replayed in full equals the source just before. */
export const END = WINDOWS[WINDOWS.length - 1][1];

/** Traffic from an hour before the full export to the end of the last window. */
export function replaySource(seed = 99) {
  return generateWorkload({ from: T0, to: END, writesPerMinute: 8, seed, keySpace: 80 });
}
