/**
 * CloudWatch embedded metric format: one JSON log line per tick carries the metrics, so no API call
 * and no extra IAM permission is needed. Metric names come from `metrics.ts`.
 *
 * Kept by hand rather than `aws-embedded-metrics` or `@aws-lambda-powertools/metrics`: one record of
 * a few numbers per tick is 40 lines, the bundle stays free of runtime dependencies (only the SDK,
 * which Lambda provides), and the record is a pure function that the component tests check against
 * the alarms (namespace, dimension, metric names) without a library's buffering or environment.
 */
import { DEFAULT_METRIC_NAMESPACE, METRIC_DIMENSION, METRICS } from './metrics';

export interface TickMetrics {
  chainLagSeconds: number;
  inFlightExports: number;
  exportsStarted: number;
  exportsCompleted: number;
  exportsFailed: number;
  notificationsPending: number;
  notificationsDropped: number;
}

const UNITS: Record<keyof TickMetrics, string> = {
  chainLagSeconds: 'Seconds',
  inFlightExports: 'Count',
  exportsStarted: 'Count',
  exportsCompleted: 'Count',
  exportsFailed: 'Count',
  notificationsPending: 'Count',
  notificationsDropped: 'Count',
};

/** The EMF record for one tick. */
export function emfRecord(
  namespace: string | undefined,
  alias: string,
  metrics: TickMetrics,
  timestampMs: number,
): Record<string, unknown> {
  const names = Object.keys(UNITS) as (keyof TickMetrics)[];
  const record: Record<string, unknown> = {
    _aws: {
      Timestamp: timestampMs,
      CloudWatchMetrics: [
        {
          Namespace: namespace || DEFAULT_METRIC_NAMESPACE,
          Dimensions: [[METRIC_DIMENSION]],
          Metrics: names.map((name) => ({ Name: METRICS[name], Unit: UNITS[name] })),
        },
      ],
    },
    [METRIC_DIMENSION]: alias,
  };
  for (const name of names) record[METRICS[name]] = metrics[name];
  return record;
}

export type LineLogger = (line: string) => void;

/** Writes the record as one line through `log` (console.log in Lambda, which CloudWatch ingests). */
export function emitMetrics(
  log: LineLogger,
  namespace: string | undefined,
  alias: string,
  metrics: TickMetrics,
  timestampMs: number,
): void {
  log(JSON.stringify(emfRecord(namespace, alias, metrics, timestampMs)));
}
