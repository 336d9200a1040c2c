/**
 * The export side of a run's cost (pure): how many incremental exports the chain made, how long their
 * windows were, what they billed, and what that pace costs a month under DynamoDB's rule that an
 * incremental export bills at least 10 MB (functions/chain/costAwareWindow.ts, docs/cost.md). This is
 * what cost-aware windows change; the orchestration estimate (cost.ts) is the rest.
 */
import { MONTH_SECONDS, monthlyExportCost } from '../../functions/chain/costAwareWindow';

/** One completed incremental export: its window (epoch seconds) and its billed size. */
export interface IncrementalExport {
  from: number;
  to: number;
  billedBytes: number;
}

export interface ExportCostOutcome {
  /** Completed incremental exports. */
  incrementals: number;
  /** The same count at the run's pace for a 30-day month. */
  incrementalsPerMonth: number;
  /** Window lengths in minutes: shortest, longest, and the last one's. */
  windowMinutes: { min: number; max: number; last: number } | null;
  billedBytes: number;
  /**
   * Places where the windows, in time order, do not meet exactly (an export's start is not the end of
   * the one before); 0 for a gap-free chain, whatever the lengths.
   */
  gaps: number;
  /** What the incrementals cost a month at the run's pace, each at least 10 MB at $0.10/GB ([U] price). */
  monthlyUsd: number | null;
}

/** Pure: the export cost of a run's completed incremental exports over `seconds` simulated. */
export function exportCostOf(exports: readonly IncrementalExport[], seconds: number): ExportCostOutcome {
  // A window exported twice (a retry after a delivery raced) counts once.
  const unique = new Map(exports.map((e) => [`${e.from}:${e.to}`, e]));
  const sorted = [...unique.values()].sort((a, b) => a.from - b.from);
  const minutes = sorted.map((e) => (e.to - e.from) / 60);
  return {
    incrementals: sorted.length,
    incrementalsPerMonth: seconds > 0 ? (sorted.length * MONTH_SECONDS) / seconds : 0,
    windowMinutes:
      minutes.length === 0
        ? null
        : { min: Math.min(...minutes), max: Math.max(...minutes), last: minutes[minutes.length - 1] },
    billedBytes: sorted.reduce((n, e) => n + e.billedBytes, 0),
    gaps: sorted.filter((e, i) => i > 0 && e.from !== sorted[i - 1].to).length,
    monthlyUsd: monthlyExportCost(sorted.map((e) => ({ seconds: e.to - e.from, bytes: e.billedBytes }))),
  };
}
