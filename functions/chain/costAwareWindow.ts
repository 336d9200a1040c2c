/**
 * Cost-aware windows: how long the next incremental window is, from what recent exports billed.
 *
 * DynamoDB bills an incremental export for at least 10 MB ([U]: reported, not confirmed; see
 * /docs/cost.md). A table that changes by less than that per window pays for the minimum every time,
 * so with `windowMode: costAware` the window grows to where an export would just reach the minimum,
 * `ceil(10 MB / r)` for a change rate `r`, within `[windowMinutes, maxStalenessMinutes]` (and DynamoDB's
 * 24 h) and in whole `windowMinutes`, so every boundary stays on the grid `chainStart + k * window`.
 *
 * The planner asks for the length only for windows that start at the frontier (the end of the last
 * window requested), so a new length takes effect at a window boundary: windows still meet exactly,
 * each chain entry's from and to record the length it was made with, and consumers (replica, replay,
 * verify) read the chain as before.
 *
 * `r` comes from the last few committed exports' billed sizes over their windows. A burst shortens
 * the next window at once: when the latest export billed more than the minimum, its own rate counts
 * even if the few before were quiet. Whether DescribeExport's BilledSizeBytes already includes the
 * minimum is [U]: an export that billed exactly the minimum only says its changes fit in it, so it
 * counts as half of it, which doubles the window until the changes show (either answer works; with
 * the minimum included a quiet table lengthens by doubling, without it in one step).
 */
import { MAX_WINDOW_SECONDS } from './windows';
import type { WorkflowSettings } from './settings';

/** DynamoDB's minimum billed size of one incremental export, bytes ([U]: 10 MB, decimal as billed). */
export const MIN_BILLED_BYTES = 10_000_000;
/** Recent committed exports the rate is estimated from. */
export const BILLING_SAMPLES = 3;
/** Price of a GB of incremental export ([U] us-east-1 list price, $0.10 per GB). */
export const EXPORT_PRICE_PER_GB = 0.1;
/** A month, for the cost estimates: 30 days. */
export const MONTH_SECONDS = 30 * 86_400;

/** One committed incremental export: its window length and what DynamoDB said it billed. */
export interface BillingSample {
  seconds: number;
  bytes: number;
}

type WindowSettings = Pick<WorkflowSettings, 'windowMinutes' | 'windowMode' | 'maxStalenessMinutes'>;

/** The samples kept after one more export: the last `BILLING_SAMPLES`, oldest first. */
export function addBillingSample(samples: readonly BillingSample[], sample: BillingSample): BillingSample[] {
  return [...samples, sample].slice(-BILLING_SAMPLES);
}

/** Bytes a sample counts for in the rate: its billed size, but half of it when it is exactly the minimum. */
function countedBytes(sample: BillingSample): number {
  return sample.bytes === MIN_BILLED_BYTES ? MIN_BILLED_BYTES / 2 : sample.bytes;
}

/**
 * The change rate, bytes per second: the recent exports' bytes over their windows, or the latest
 * export's own rate when it billed more than the minimum and that is higher. Null without samples.
 */
export function estimatedRate(samples: readonly BillingSample[]): number | null {
  const recent = samples.filter((s) => s.seconds > 0).slice(-BILLING_SAMPLES);
  if (recent.length === 0) return null;
  const seconds = recent.reduce((n, s) => n + s.seconds, 0);
  const average = recent.reduce((n, s) => n + countedBytes(s), 0) / seconds;
  const latest = recent[recent.length - 1];
  return latest.bytes > MIN_BILLED_BYTES ? Math.max(average, latest.bytes / latest.seconds) : average;
}

/** The longest window the settings allow, in whole base windows: min(maxStaleness, 24 h). */
export function longestWindowSeconds(settings: WindowSettings): number {
  const base = settings.windowMinutes * 60;
  if (settings.windowMode !== 'costAware') return base;
  const top = Math.min((settings.maxStalenessMinutes ?? 1440) * 60, MAX_WINDOW_SECONDS);
  return Math.max(base, Math.floor(top / base) * base);
}

/**
 * The length of the next window, seconds: `windowMinutes` for fixed windows and before any export
 * billed; otherwise `clamp(ceil(10 MB / r), windowMinutes, maxStalenessMinutes)` rounded up to whole
 * windows (an export then bills about the minimum, not less), and the longest window when nothing
 * changed.
 */
export function nextWindowSeconds(settings: WindowSettings, samples: readonly BillingSample[]): number {
  const base = settings.windowMinutes * 60;
  if (settings.windowMode !== 'costAware') return base;
  const longest = longestWindowSeconds(settings);
  const rate = estimatedRate(samples);
  if (rate === null) return base;
  if (rate <= 0) return longest;
  const wanted = Math.ceil(MIN_BILLED_BYTES / rate);
  return Math.min(longest, Math.max(base, Math.ceil(wanted / base) * base));
}

/** What one export of `bytes` processed costs: at least the minimum. */
export function exportCost(bytes: number): number {
  return (Math.max(bytes, MIN_BILLED_BYTES) / 1e9) * EXPORT_PRICE_PER_GB;
}

/**
 * Monthly cost of the incremental exports at the pace of the samples: what they billed (each at
 * least the minimum) over the time they cover, for a month. Null without samples.
 */
export function monthlyExportCost(samples: readonly BillingSample[]): number | null {
  const seconds = samples.reduce((n, s) => n + s.seconds, 0);
  if (samples.length === 0 || seconds <= 0) return null;
  return (samples.reduce((n, s) => n + exportCost(s.bytes), 0) / seconds) * MONTH_SECONDS;
}
