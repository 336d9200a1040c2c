/**
 * The sizes of a `--scale` run, per level: the table at the start, the export's data files, the hot
 * window and the replica's write limit. `quick` (plain `--scale`) keeps every property of a large
 * table at a size that runs in about a minute; `full` (`--scale full`) is the production-scale case
 * of docs/simulate.md: 200,000 items in two data files, a hot window of 150,000 changes, a replica
 * limited to 100 writes a second.
 */

/** The levels of `--scale`. */
export const SCALE_LEVELS = ['quick', 'full'] as const;
export type ScaleLevel = (typeof SCALE_LEVELS)[number];

/** What a `--scale` level sizes. */
export interface ScaleSizes {
  /** Items put at once before any traffic; the full export holds about these. */
  initialItems: number;
  /** How many of them carry a ~395 KB `blob` (sim/workload.ts LARGE_ITEM_BLOB_CHARACTERS). */
  largeItems: number;
  /** Distinct items updated in the two minutes of the hot window (one 15-minute window). */
  burstChanges: number;
  /** Lines per export data file: the full export is `initialItems / itemsPerFile` files. */
  itemsPerFile: number;
  /** The replica's `maxWritesPerSecond` (its `concurrency` is 2). */
  replicaWritesPerSecond: number;
}

/**
 * Per level. In both, each full-export file is more than one Distributed Map child writes in an
 * invocation ((rate ÷ 2 children) × 600 s: 6,000 records at 20/s, 30,000 at 100/s) and too large for
 * the apply engine to hold, so a child streams it over several invocations from a record offset; and
 * the hot window is more than one grouped invocation takes (rate × 600 s: 12,000 and 60,000).
 */
export const SCALE_SIZES: Record<ScaleLevel, ScaleSizes> = {
  quick: {
    initialItems: 40_000,
    largeItems: 100,
    burstChanges: 15_000,
    itemsPerFile: 20_000,
    replicaWritesPerSecond: 20,
  },
  full: {
    initialItems: 200_000,
    largeItems: 100,
    burstChanges: 150_000,
    itemsPerFile: 100_000,
    replicaWritesPerSecond: 100,
  },
};
