/**
 * Settings of one replica's apply Lambda. The Pulumi component passes them as one environment
 * variable (`toReplicaEnvironment`), the Lambda reads them back (`fromReplicaEnvironment`), and
 * tests build them directly: one shape, one mapping.
 */

import { z } from 'zod';

/** The words each enumerated setting accepts; the stack config schema takes them from here. */
export const REPLICA_BOOTSTRAPS = ['write', 'import'] as const;
export const ON_NEW_EPOCH = ['halt', 'rebaseline'] as const;

const name = z.string().min(1);

/**
 * The settings, as a schema: the one shape the component writes and the Lambda reads back, every
 * problem named (`fromReplicaEnvironment`). The type is derived from it.
 */
// Not strict: during `pulumi up` a function may briefly run its previous code with newer settings.
export const replicaSettingsSchema = z.object({
  /** The source table's alias (metric dimension, messages). */
  alias: name,
  /** The replica's alias within its table. */
  replicaAlias: name,
  sourceTableName: name,
  /** Bucket and prefix of the source chain. */
  bucket: name,
  prefix: z.string(),
  /** SSM parameter holding the replica state (functions/replica/state.ts). */
  stateParameterName: name,
  /**
   * SSM parameter holding the operator's action (functions/replica/action.ts), which the Lambda only
   * reads. @default `replicaActionParameterName(stateParameterName)` (functions/shared/names.ts)
   */
  actionParameterName: name.optional(),
  targetTableName: name,
  /** Region of the target table; the Lambda's own Region when absent. */
  targetRegion: name.optional(),
  /** Role assumed for writes to the target, when it is in another account. */
  roleArn: name.optional(),
  bootstrap: z.enum(REPLICA_BOOTSTRAPS),
  onNewEpoch: z.enum(ON_NEW_EPOCH),
  /** Items written per second in total (a Distributed Map worker gets its share). */
  maxWritesPerSecond: z.number().int().positive(),
  /** Distributed Map children at once. */
  concurrency: z.number().int().positive(),
  /** Topic for the replica's alerts (the table's notification topic). */
  notificationTopicArn: name,
  metricNamespace: name.optional(),
  /** How long one execution's claim on the replica holds, in seconds. */
  leaseSeconds: z.number().int().positive(),
});

export type ReplicaSettings = z.infer<typeof replicaSettingsSchema>;

const VARIABLE = 'DCE_REPLICA_SETTINGS';

export function toReplicaEnvironment(settings: ReplicaSettings): Record<string, string> {
  return { [VARIABLE]: JSON.stringify(settings) };
}

/** The settings the Lambda runs with; throws naming every missing or wrong field. */
export function fromReplicaEnvironment(env: Record<string, string | undefined>): ReplicaSettings {
  const text = env[VARIABLE];
  if (!text) throw new Error(`${VARIABLE} is not set`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`${VARIABLE} is not JSON: ${(error as Error).message}`, { cause: error });
  }
  const parsed = replicaSettingsSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  throw new Error(`${VARIABLE}: ${problems.join('; ')}`);
}
