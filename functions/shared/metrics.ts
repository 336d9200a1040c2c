/**
 * Names of the CloudWatch metrics the export tick emits (embedded metric format, so no API call and
 * no extra IAM). The dashboard and alarms in `components/` use the same constants.
 */
export const METRIC_DIMENSION = 'Table';

export const METRICS = {
  /** Seconds between now and the committed watermark; the freshness of the chain. */
  chainLagSeconds: 'ChainLagSeconds',
  /** Exports started but not yet seen COMPLETED or FAILED. */
  inFlightExports: 'InFlightExports',
  exportsStarted: 'ExportsStarted',
  exportsCompleted: 'ExportsCompleted',
  exportsFailed: 'ExportsFailed',
  /**
   * Notifications recorded but not yet accepted by SNS after the tick tried to publish them. Above
   * zero for a while means notifications cannot be delivered (topic, its key or the publish
   * permission); the chain itself is not held back by it.
   */
  notificationsPending: 'NotificationsPending',
  /**
   * Notifications this tick had to drop from the bounded outbox (SNS refusing them for long). Each is
   * also counted in the NOTIFICATIONS_DROPPED message sent first once SNS accepts messages again.
   */
  notificationsDropped: 'NotificationsDropped',
} as const;

/** The second dimension of a replica's metrics, beside `METRIC_DIMENSION` (the source table's alias). */
export const REPLICA_METRIC_DIMENSION = 'Replica';

/** Names of the metrics each replica's apply Lambda emits; its lag alarm uses the same constants. */
export const REPLICA_METRICS = {
  /** Seconds between now and the watermark the replica has applied; emitted by every plan step. */
  replicaLagSeconds: 'ReplicaLagSeconds',
} as const;

/** The second dimension of an Iceberg feed's metrics, beside `METRIC_DIMENSION`: the feed's view `<db>.<table>`. */
export const ICEBERG_METRIC_DIMENSION = 'IcebergTable';

/** Names of the metrics an Iceberg feed's plan/commit Lambda emits; its lag alarm uses the same constants. */
export const ICEBERG_METRICS = {
  /**
   * Seconds between the chain's committed watermark (its HEAD) and the lake's watermark: how far the
   * lake is behind the chain, whatever the chain's own lag. Emitted by every plan step, paused or halted too.
   */
  icebergLagSeconds: 'IcebergLagSeconds',
  /** Bytes Athena scanned for the statement just committed (what Athena bills, 10 MB minimum a query). */
  dataScannedInBytes: 'DataScannedInBytes',
} as const;

/** Default namespace; settings.metricNamespace overrides it. */
export const DEFAULT_METRIC_NAMESPACE = 'DynamoDBContinuousExports';
