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

/** Default namespace; settings.metricNamespace overrides it. */
export const DEFAULT_METRIC_NAMESPACE = 'DynamoDBContinuousExports';
