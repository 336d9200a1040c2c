/**
 * Settings of one table's export workflow. The Pulumi component passes them to the Lambda function
 * as environment variables (`toEnvironment`), the function reads them back (`fromEnvironment`), and
 * local runs build them directly. One shape, one mapping, so what is tested is what deploys.
 */

/** The words each enumerated setting accepts; the stack config schema takes them from here. */
export const EXPORT_FORMATS = ['DYNAMODB_JSON', 'ION'] as const;
export const EXPORT_VIEW_TYPES = ['NEW_AND_OLD_IMAGES', 'NEW_IMAGE'] as const;
export const ON_PITR_GAP = ['alert', 'reset'] as const;
export const WINDOW_MODES = ['fixed', 'costAware'] as const;

export type ExportFormat = (typeof EXPORT_FORMATS)[number];
export type ExportViewType = (typeof EXPORT_VIEW_TYPES)[number];
export type OnPitrGap = (typeof ON_PITR_GAP)[number];
export type WindowMode = (typeof WINDOW_MODES)[number];

export interface WorkflowSettings {
  /** Short name used in messages, metric dimensions and parameter paths. */
  alias: string;
  tableName: string;
  tableArn: string;
  bucket: string;
  /** Key prefix without leading or trailing slash; exports land in `<prefix>/AWSDynamoDB/`. */
  prefix: string;
  /** Account that owns the bucket, for cross-account buckets. */
  bucketOwnerAccountId?: string;
  exportFormat: ExportFormat;
  exportViewType: ExportViewType;
  /** SSE-KMS key for export objects; SSE-S3 (AES256) when absent. */
  kmsKeyArn?: string;
  /** Normal incremental window length, 15..1440. */
  windowMinutes: number;
  /** Largest window used to catch up a backlog, windowMinutes..1440. */
  maxCatchUpWindowMinutes: number;
  /**
   * `costAware`: windows grow, in whole windowMinutes, up to `maxStalenessMinutes` while exports bill
   * less than DynamoDB's per-export minimum (costAwareWindow.ts). @default 'fixed'
   */
  windowMode?: WindowMode;
  /** Longest cost-aware window, windowMinutes..1440. @default 1440 */
  maxStalenessMinutes?: number;
  /** How far behind `LatestRestorableDateTime` a window end must stay. */
  restorableMarginSeconds: number;
  /** Upper bound on incremental exports in flight at once. */
  maxInFlight: number;
  /** How often the scheduler starts an execution; each execution drives the chain for this long. */
  schedulePeriodMinutes: number;
  /**
   * The chain lag threshold (minutes): the chain lag alarm fires above it, and a slow-down that
   * normally stays quiet, such as throttled export requests, is notified past it.
   */
  lagAlarmMinutes: number;
  onPitrGap: OnPitrGap;
  notifyOnSuccess: boolean;
  notificationTopicArn: string;
  stateParameterName: string;
  actionParameterName: string;
  lockParameterName: string;
  /** CloudWatch namespace of the metrics the workflow emits (embedded metric format). */
  metricNamespace: string;
}

const ENV: Record<keyof WorkflowSettings, string> = {
  alias: 'DCE_ALIAS',
  tableName: 'DCE_TABLE_NAME',
  tableArn: 'DCE_TABLE_ARN',
  bucket: 'DCE_BUCKET',
  prefix: 'DCE_PREFIX',
  bucketOwnerAccountId: 'DCE_BUCKET_OWNER',
  exportFormat: 'DCE_EXPORT_FORMAT',
  exportViewType: 'DCE_EXPORT_VIEW_TYPE',
  kmsKeyArn: 'DCE_KMS_KEY_ARN',
  windowMinutes: 'DCE_WINDOW_MINUTES',
  maxCatchUpWindowMinutes: 'DCE_MAX_CATCH_UP_WINDOW_MINUTES',
  windowMode: 'DCE_WINDOW_MODE',
  maxStalenessMinutes: 'DCE_MAX_STALENESS_MINUTES',
  restorableMarginSeconds: 'DCE_RESTORABLE_MARGIN_SECONDS',
  maxInFlight: 'DCE_MAX_IN_FLIGHT',
  schedulePeriodMinutes: 'DCE_SCHEDULE_PERIOD_MINUTES',
  lagAlarmMinutes: 'DCE_LAG_ALARM_MINUTES',
  onPitrGap: 'DCE_ON_PITR_GAP',
  notifyOnSuccess: 'DCE_NOTIFY_ON_SUCCESS',
  notificationTopicArn: 'DCE_TOPIC_ARN',
  stateParameterName: 'DCE_STATE_PARAMETER',
  actionParameterName: 'DCE_ACTION_PARAMETER',
  lockParameterName: 'DCE_LOCK_PARAMETER',
  metricNamespace: 'DCE_METRIC_NAMESPACE',
};

/**
 * Former names of variables, written and read beside the current ones for one release: during
 * `pulumi up` the function's configuration is updated before its code, so the previous code briefly
 * runs with the new environment (and a function not yet updated reads the old name).
 */
const LEGACY_ENV: Partial<Record<keyof WorkflowSettings, string>> = {
  lagAlarmMinutes: 'DCE_LAG_ALERT_MINUTES',
};

const NUMBERS = new Set<keyof WorkflowSettings>([
  'windowMinutes',
  'maxCatchUpWindowMinutes',
  'maxStalenessMinutes',
  'restorableMarginSeconds',
  'maxInFlight',
  'schedulePeriodMinutes',
  'lagAlarmMinutes',
]);
const OPTIONAL = new Set<keyof WorkflowSettings>([
  'bucketOwnerAccountId',
  'kmsKeyArn',
  'windowMode',
  'maxStalenessMinutes',
]);

/** Environment variables for the Lambda function; optional settings that are absent are omitted. */
export function toEnvironment(settings: WorkflowSettings): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of Object.keys(ENV) as (keyof WorkflowSettings)[]) {
    const value = settings[key];
    if (value === undefined) continue;
    env[ENV[key]] = String(value);
    const legacy = LEGACY_ENV[key];
    if (legacy) env[legacy] = String(value);
  }
  return env;
}

/** Reads settings back from the environment; names every missing or malformed variable at once. */
export function fromEnvironment(env: Record<string, string | undefined>): WorkflowSettings {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const key of Object.keys(ENV) as (keyof WorkflowSettings)[]) {
    const legacy = LEGACY_ENV[key];
    const raw = env[ENV[key]] || (legacy ? env[legacy] : undefined);
    if (raw === undefined || raw === '') {
      if (!OPTIONAL.has(key)) problems.push(`${ENV[key]} is not set`);
      continue;
    }
    if (NUMBERS.has(key)) {
      const n = Number(raw);
      if (!Number.isFinite(n)) problems.push(`${ENV[key]}=${JSON.stringify(raw)} is not a number`);
      out[key] = n;
    } else if (key === 'windowMode') {
      if (raw !== 'fixed' && raw !== 'costAware')
        problems.push(`${ENV[key]}=${JSON.stringify(raw)} is not fixed|costAware`);
      out[key] = raw;
    } else if (key === 'notifyOnSuccess') {
      if (raw !== 'true' && raw !== 'false')
        problems.push(`${ENV[key]}=${JSON.stringify(raw)} is not true|false`);
      out[key] = raw === 'true';
    } else {
      out[key] = raw;
    }
  }
  if (problems.length > 0) {
    throw new Error(`Invalid workflow environment: ${problems.join('; ')}`);
  }
  return out as unknown as WorkflowSettings;
}

/** How often the scheduler starts an execution: once per window, at least once an hour. */
export function schedulePeriodMinutes(windowMinutes: number): number {
  return Math.min(windowMinutes, 60);
}

/** What a table's settings are built from: everything but what derives from the rest. */
export type WorkflowSettingsInput = Omit<WorkflowSettings, 'schedulePeriodMinutes' | 'lagAlarmMinutes'> & {
  /** @default defaultLagAlarmMinutes(windowMinutes) */
  lagAlarmMinutes?: number;
};

/** The chain lag threshold (minutes) when none is configured: three windows and half an hour. */
export function defaultLagAlarmMinutes(windowMinutes: number): number {
  return 3 * windowMinutes + 30;
}

/** The longest normal window in minutes: `maxStalenessMinutes` for cost-aware windows. */
export function longestWindowMinutes(
  settings: Pick<WorkflowSettings, 'windowMinutes' | 'windowMode' | 'maxStalenessMinutes'>,
): number {
  if (settings.windowMode !== 'costAware') return settings.windowMinutes;
  return Math.max(settings.windowMinutes, Math.min(settings.maxStalenessMinutes ?? 1440, 1440));
}

/**
 * The one constructor of `WorkflowSettings`, used by the Pulumi component, the scenario tests and the
 * simulation, so that the derived settings (the schedule period) are derived the same way everywhere.
 */
export function workflowSettings(input: WorkflowSettingsInput): WorkflowSettings {
  return {
    ...input,
    schedulePeriodMinutes: schedulePeriodMinutes(input.windowMinutes),
    // A cost-aware table's lag grows with its longest window, so the default allows for it.
    lagAlarmMinutes:
      input.lagAlarmMinutes ??
      defaultLagAlarmMinutes(input.windowMinutes) + longestWindowMinutes(input) - input.windowMinutes,
  };
}
