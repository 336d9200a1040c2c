/**
 * CloudWatch embedded metric format: one JSON log line per tick carries the metrics, so no API call
 * and no extra IAM permission is needed. Metric names come from `metrics.ts`.
 *
 * Kept by hand rather than `aws-embedded-metrics` or `@aws-lambda-powertools/metrics`: one record of
 * a few numbers per tick is 40 lines, the bundle stays free of runtime dependencies (only the SDK,
 * which Lambda provides), and the record is a pure function that the component tests check against
 * the alarms (namespace, dimension, metric names) without a library's buffering or environment.
 */
import {
  DEFAULT_METRIC_NAMESPACE,
  ICEBERG_METRIC_DIMENSION,
  ICEBERG_METRICS,
  METRIC_DIMENSION,
  METRICS,
  REPLICA_METRIC_DIMENSION,
  REPLICA_METRICS,
} from './metrics';

export interface TickMetrics {
  chainLagSeconds: number;
  inFlightExports: number;
  exportsStarted: number;
  exportsCompleted: number;
  exportsFailed: number;
  notificationsPending: number;
  notificationsDropped: number;
}

const UNITS: Record<keyof TickMetrics, MetricValue['unit']> = {
  chainLagSeconds: 'Seconds',
  inFlightExports: 'Count',
  exportsStarted: 'Count',
  exportsCompleted: 'Count',
  exportsFailed: 'Count',
  notificationsPending: 'Count',
  notificationsDropped: 'Count',
};

/** One metric of a record: its name (from `metrics.ts`), unit and value. */
export interface MetricValue {
  name: string;
  unit: 'Seconds' | 'Count' | 'Bytes';
  value: number;
}

/** One EMF record: the metrics under one set of dimensions (name to value, in that order). */
export function emfLine(
  namespace: string | undefined,
  dimensions: Record<string, string>,
  metrics: readonly MetricValue[],
  timestampMs: number,
): Record<string, unknown> {
  const record: Record<string, unknown> = {
    _aws: {
      Timestamp: timestampMs,
      CloudWatchMetrics: [
        {
          Namespace: namespace || DEFAULT_METRIC_NAMESPACE,
          Dimensions: [Object.keys(dimensions)],
          Metrics: metrics.map((m) => ({ Name: m.name, Unit: m.unit })),
        },
      ],
    },
    ...dimensions,
  };
  for (const m of metrics) record[m.name] = m.value;
  return record;
}

/** The EMF record for one tick. */
export function emfRecord(
  namespace: string | undefined,
  alias: string,
  metrics: TickMetrics,
  timestampMs: number,
): Record<string, unknown> {
  const names = Object.keys(UNITS) as (keyof TickMetrics)[];
  return emfLine(
    namespace,
    { [METRIC_DIMENSION]: alias },
    names.map((name) => ({ name: METRICS[name], unit: UNITS[name], value: metrics[name] })),
    timestampMs,
  );
}

/** The EMF record of a replica's lag: dimensions the source table's alias and the replica's. */
export function replicaLagRecord(
  namespace: string | undefined,
  aliases: { table: string; replica: string },
  lagSeconds: number,
  timestampMs: number,
): Record<string, unknown> {
  return emfLine(
    namespace,
    { [METRIC_DIMENSION]: aliases.table, [REPLICA_METRIC_DIMENSION]: aliases.replica },
    [{ name: REPLICA_METRICS.replicaLagSeconds, unit: 'Seconds', value: lagSeconds }],
    timestampMs,
  );
}

/** The EMF record of an Iceberg feed's metric: dimensions the source table's alias and the feed's view. */
export function icebergMetricRecord(
  namespace: string | undefined,
  dimensions: { table: string; view: string },
  metric: { lagSeconds: number } | { dataScannedInBytes: number },
  timestampMs: number,
): Record<string, unknown> {
  const value: MetricValue =
    'lagSeconds' in metric
      ? { name: ICEBERG_METRICS.icebergLagSeconds, unit: 'Seconds', value: metric.lagSeconds }
      : { name: ICEBERG_METRICS.dataScannedInBytes, unit: 'Bytes', value: metric.dataScannedInBytes };
  return emfLine(
    namespace,
    { [METRIC_DIMENSION]: dimensions.table, [ICEBERG_METRIC_DIMENSION]: dimensions.view },
    [value],
    timestampMs,
  );
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
