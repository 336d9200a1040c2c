/**
 * Learned export durations: the expected duration of an export of each type, from which its first
 * completion check is scheduled (`timing.ts`).
 *
 * The expected duration comes from the last `DURATION_SAMPLES` observed durations of that type: their
 * median gives the scale, the samples within a factor of two of it are averaged, and the others are
 * outliers that do not count. A plain mean, even a weighted one, lets one outlier drag it far: a single
 * export that takes a day would push the first check of the short exports after it hours past their
 * end, and the chain lag with it. Here one or two outliers among five samples do not move it at all,
 * ordinary variation is smoothed as by a mean, and a lasting change is followed after three exports.
 */
import { DURATION_SAMPLES, type ChainState, type TrackedExport } from './state';

export { DURATION_SAMPLES };

type Stats = ChainState['stats'];

/** The median of `samples` (the lower middle one for an even count); `fallback` when there is none. */
export function medianSeconds(samples: readonly number[], fallback: number): number {
  if (samples.length === 0) return fallback;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

/** The mean of the samples within a factor of two of their median; `fallback` when there is none. */
export function expectedSeconds(samples: readonly number[], fallback: number): number {
  const median = medianSeconds(samples, fallback);
  const near = samples.filter((s) => s >= median / 2 && s <= median * 2);
  if (near.length === 0) return median;
  return Math.round(near.reduce((sum, s) => sum + s, 0) / near.length);
}

/** The samples with `sample` added, the current expectation standing in for an empty list. */
function withSample(samples: readonly number[], current: number, sample: number): number[] {
  const previous = samples.length > 0 ? samples : [Math.round(current)];
  return [...previous, sample].slice(-DURATION_SAMPLES);
}

/**
 * The stats after an export of `type` took `seconds`. With no sample yet (a new chain, or a state from
 * before samples were kept) the current expectation counts as the first one, so a first sample that
 * is an outlier cannot replace it on its own.
 */
export function learnDuration(stats: Stats, type: TrackedExport['type'], seconds: number): Stats {
  const sample = Math.max(0, Math.round(seconds));
  if (type === 'FULL') {
    const samples = withSample(stats.fullExportSamples, stats.fullExportSeconds, sample);
    return { ...stats, fullExportSamples: samples, fullExportSeconds: expectedSeconds(samples, sample) };
  }
  const samples = withSample(stats.incrementalExportSamples, stats.incrementalExportSeconds, sample);
  return {
    ...stats,
    incrementalExportSamples: samples,
    incrementalExportSeconds: expectedSeconds(samples, sample),
  };
}
