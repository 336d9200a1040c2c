/**
 * Incremental export cost per table and month, fixed 15-minute windows beside cost-aware ones, at a
 * few change rates: a month of windows planned by the export tick's own rules (`nextWindowSeconds`,
 * `planWindows`), each export billing the table's changes over its window and at least DynamoDB's
 * 10 MB minimum ([U], like the $0.10 per GB). Staleness is how old the newest exported change can be:
 * the window, plus the restorable lag (5 min), the margin (1 min) and an export (6 min).
 */
import {
  addBillingSample,
  exportCost,
  MONTH_SECONDS,
  nextWindowSeconds,
  type BillingSample,
} from '../functions/chain/costAwareWindow';
import { planWindows } from '../functions/chain/windows';
import type { WorkflowSettings } from '../functions/chain/settings';

type WindowSettings = Pick<WorkflowSettings, 'windowMinutes' | 'windowMode' | 'maxStalenessMinutes'>;

/** Seconds a window's changes wait, besides the window itself, before they are exported. */
const EXPORT_DELAY_SECONDS = 5 * 60 + 60 + 6 * 60;

/** The change rates compared, bytes of changes per day. */
export const BENCH_RATES: { label: string; bytesPerDay: number }[] = [
  { label: '10 MB a day', bytesPerDay: 10e6 },
  { label: '100 MB a day', bytesPerDay: 100e6 },
  { label: '1 GB a day', bytesPerDay: 1e9 },
  { label: '10 GB a day', bytesPerDay: 10e9 },
];

export interface MonthFigures {
  exports: number;
  monthlyUsd: number;
  /** Longest window planned once past the first one, seconds. */
  longestWindowSeconds: number;
}

/** A month of windows at a steady change rate, planned by the tick's rules, and what they bill. */
export function exportMonth(settings: WindowSettings, bytesPerSecond: number): MonthFigures {
  let frontier = 0;
  let samples: BillingSample[] = [];
  const figures: MonthFigures = { exports: 0, monthlyUsd: 0, longestWindowSeconds: 0 };
  while (frontier < MONTH_SECONDS) {
    const windowSeconds = nextWindowSeconds(settings, samples);
    const [window] = planWindows({
      frontier,
      limit: frontier + windowSeconds,
      windowSeconds,
      maxCatchUpSeconds: windowSeconds,
      slots: 1,
    });
    const seconds = window.to - window.from;
    const bytes = Math.round(bytesPerSecond * seconds);
    figures.exports++;
    figures.monthlyUsd += exportCost(bytes);
    if (figures.exports > 1) figures.longestWindowSeconds = Math.max(figures.longestWindowSeconds, seconds);
    samples = addBillingSample(samples, { seconds, bytes });
    frontier = window.to;
  }
  return figures;
}

const minutes = (seconds: number) =>
  seconds >= 3600 ? `${+(seconds / 3600).toFixed(1)} h` : `${Math.round(seconds / 60)} min`;

/** The table `npm run bench` prints. */
export function exportCostTable(maxStalenessMinutes = 1440): string {
  const fixed: WindowSettings = { windowMinutes: 15, windowMode: 'fixed' };
  const aware: WindowSettings = { windowMinutes: 15, windowMode: 'costAware', maxStalenessMinutes };
  const lines = [
    `Incremental export cost per table and month (15-minute windows; cost-aware up to ${minutes(maxStalenessMinutes * 60)})`,
    `  ${'changes'.padEnd(14)} ${'fixed'.padStart(8)} ${'staleness'.padStart(10)} ${'cost-aware'.padStart(11)} ${'staleness'.padStart(10)} ${'exports'.padStart(9)}`,
  ];
  for (const { label, bytesPerDay } of BENCH_RATES) {
    const f = exportMonth(fixed, bytesPerDay / 86_400);
    const a = exportMonth(aware, bytesPerDay / 86_400);
    lines.push(
      `  ${label.padEnd(14)} ${`$${f.monthlyUsd.toFixed(2)}`.padStart(8)} ${minutes(f.longestWindowSeconds + EXPORT_DELAY_SECONDS).padStart(10)} ` +
        `${`$${a.monthlyUsd.toFixed(2)}`.padStart(11)} ${minutes(a.longestWindowSeconds + EXPORT_DELAY_SECONDS).padStart(10)} ${`${f.exports} -> ${a.exports}`.padStart(9)}`,
    );
  }
  return lines.join('\n');
}
