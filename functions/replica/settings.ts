/**
 * Settings of one replica's apply Lambda. The Pulumi component passes them as one environment
 * variable (`toReplicaEnvironment`), the Lambda reads them back (`fromReplicaEnvironment`), and
 * tests build them directly: one shape, one mapping.
 */

/** The words each enumerated setting accepts; the stack config schema takes them from here. */
export const REPLICA_BOOTSTRAPS = ['write', 'import'] as const;
export const ON_NEW_EPOCH = ['halt', 'rebaseline'] as const;

export interface ReplicaSettings {
  /** The source table's alias (metric dimension, messages). */
  alias: string;
  /** The replica's alias within its table. */
  replicaAlias: string;
  sourceTableName: string;
  /** Bucket and prefix of the source chain. */
  bucket: string;
  prefix: string;
  /** SSM parameter holding the replica state (functions/replica/state.ts). */
  stateParameterName: string;
  /**
   * SSM parameter holding the operator's action (functions/replica/action.ts), which the Lambda only
   * reads. @default `replicaActionParameterName(stateParameterName)` (functions/shared/names.ts)
   */
  actionParameterName?: string;
  targetTableName: string;
  /** Region of the target table; the Lambda's own Region when absent. */
  targetRegion?: string;
  /** Role assumed for writes to the target, when it is in another account. */
  roleArn?: string;
  bootstrap: (typeof REPLICA_BOOTSTRAPS)[number];
  onNewEpoch: (typeof ON_NEW_EPOCH)[number];
  /** Items written per second in total (a Distributed Map worker gets its share). */
  maxWritesPerSecond: number;
  /** Distributed Map children at once. */
  concurrency: number;
  /** Topic for the replica's alerts (the table's notification topic). */
  notificationTopicArn: string;
  metricNamespace?: string;
  /** How long one execution's claim on the replica holds, in seconds. */
  leaseSeconds: number;
}

const VARIABLE = 'DCE_REPLICA_SETTINGS';

export function toReplicaEnvironment(settings: ReplicaSettings): Record<string, string> {
  return { [VARIABLE]: JSON.stringify(settings) };
}

export function fromReplicaEnvironment(env: Record<string, string | undefined>): ReplicaSettings {
  const text = env[VARIABLE];
  if (!text) throw new Error(`${VARIABLE} is not set`);
  const settings = JSON.parse(text) as ReplicaSettings;
  for (const field of ['alias', 'replicaAlias', 'bucket', 'stateParameterName', 'targetTableName'] as const) {
    if (typeof settings[field] !== 'string' || settings[field] === '') {
      throw new Error(`${VARIABLE}: ${field} is missing`);
    }
  }
  return settings;
}
