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
} as const;

/** Default namespace; settings.metricNamespace overrides it. */
export const DEFAULT_METRIC_NAMESPACE = 'DynamoDBContinuousExports';
