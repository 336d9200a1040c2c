/**
 * The stack outputs: what the Pulumi program (index.ts) exports and the `dce` operator CLI
 * (cli/target.ts) reads from `pulumi stack output --json`. Declared once, here: index.ts builds its
 * outputs to these schemas (the compiler checks it, a test parses what it exports), and the CLI checks
 * what it reads against them, naming a field of the wrong type. Keep it stable: operators keep stack
 * output files; a field is added as optional for the reader (`readTableOutputSchema`), never renamed.
 */
import type * as pulumi from '@pulumi/pulumi';
import { z } from 'zod';
import { ON_NEW_EPOCH, REPLICA_BOOTSTRAPS } from '../functions/replica/settings';

/** The names of the program's stack outputs (`export const <name>` in index.ts). */
export const STACK_OUTPUTS = {
  /** One entry per table, keyed by alias (`tableOutputSchema`). */
  tables: 'tables',
  /** Where each table's exports and chain manifest are (`bucketLocationSchema`). */
  bucketLocations: 'bucketLocations',
} as const;

/** A replica's entry in `tables.<alias>.replicas`. */
export const replicaOutputSchema = z.object({
  alias: z.string(),
  targetTableName: z.string(),
  targetRegion: z.string(),
  targetTableArn: z.string(),
  roleArn: z.string().optional(),
  bootstrap: z.enum(REPLICA_BOOTSTRAPS),
  onNewEpoch: z.enum(ON_NEW_EPOCH),
  /** Whether a schedule starts it; absent from outputs of earlier versions (scheduled). */
  scheduled: z.boolean().optional(),
  stateParameterName: z.string(),
  /** The operator's action parameter (RUN, PAUSE, REBUILD) that `dce replica` writes. */
  actionParameterName: z.string(),
  stateMachineArn: z.string(),
  applyFunctionName: z.string(),
  applyRoleArn: z.string(),
  lagAlarmName: z.string(),
  /**
   * With `roleArn`: the trust policy and the permissions of that role, for the target account's owner
   * (JSON); for an `import` bootstrap the permissions include ImportTable and reading the export.
   */
  targetRoleTrustPolicy: z.string().optional(),
  targetRolePermissions: z.string().optional(),
  /**
   * With `roleArn`, an `import` bootstrap and an existing bucket: the statements (a JSON array) the
   * bucket's owner adds to its policy so that the target role can read the full export.
   */
  importBucketPolicyStatements: z.string().optional(),
});

/** The table's Iceberg feed, `tables.<alias>.iceberg` (components/consumers/icebergFeed.ts). */
export const icebergOutputSchema = z.object({
  /** The readers' view, `<database>.<table>`. */
  view: z.string(),
  stateParameterName: z.string(),
  /** The operator's action parameter (RUN, PAUSE, REBUILD) that `dce iceberg` writes. */
  actionParameterName: z.string(),
  lockParameterName: z.string(),
  stateMachineArn: z.string(),
  workGroupName: z.string(),
  lagAlarmName: z.string(),
  /** The plan Lambda's settings (JSON, functions/iceberg/feed.ts `IcebergSettings`): `dce iceberg sql` plans with them. */
  settings: z.string(),
});

const parametersSchema = z.object({ action: z.string(), state: z.string(), lock: z.string() });

/** One table's entry in the `tables` output, keyed by alias. */
export const tableOutputSchema = z.object({
  tableName: z.string(),
  tableArn: z.string(),
  bucket: z.string(),
  /** Key prefix without leading or trailing slash. */
  prefix: z.string(),
  /** `s3://<bucket>/<prefix>/AWSDynamoDB/` */
  exportsUri: z.string(),
  /** `s3://<bucket>/<prefix>/chain/` */
  chainManifestUri: z.string(),
  stateMachineArn: z.string(),
  notificationTopicArn: z.string(),
  alarmTopicArn: z.string(),
  /** SSM parameter names of the operator action, the chain state and the tick's lock. */
  parameters: parametersSchema,
  scheduleName: z.string(),
  dashboardName: z.string(),
  tickFunctionName: z.string(),
  /** Normal incremental window; the CLI estimates the next due window from it. */
  windowMinutes: z.number().int(),
  /** For a bucket in another account: the statement its owner must add to the bucket policy (JSON). */
  crossAccountBucketPolicyStatements: z.string().optional(),
  replicas: z.array(replicaOutputSchema).optional(),
  iceberg: icebergOutputSchema.optional(),
});

/** One entry of the `bucketLocations` output. */
export const bucketLocationSchema = tableOutputSchema
  .pick({ tableName: true, bucket: true, prefix: true, exportsUri: true, chainManifestUri: true })
  .extend({ alias: z.string() });

export type TableOutput = z.output<typeof tableOutputSchema>;
export type ReplicaOutput = z.output<typeof replicaOutputSchema>;
export type IcebergOutput = z.output<typeof icebergOutputSchema>;
export type BucketLocation = z.output<typeof bucketLocationSchema>;

/**
 * What the CLI accepts for one table: every field optional, as older stacks lack some (and a stack
 * output written by hand may name only what a command needs); flat parameter names as older versions
 * wrote them; fields it does not know are kept.
 */
export const readTableOutputSchema = z.looseObject({
  ...tableOutputSchema.partial().shape,
  parameters: z.looseObject(parametersSchema.partial().shape).optional(),
  replicas: z.array(z.looseObject(replicaOutputSchema.partial().shape)).optional(),
  iceberg: z.looseObject(icebergOutputSchema.partial().shape).optional(),
  actionParameterName: z.string().optional(),
  stateParameterName: z.string().optional(),
  lockParameterName: z.string().optional(),
});

export type ReadTableOutput = z.output<typeof readTableOutputSchema>;

/**
 * A value as a component builds it: any field may still be a Pulumi output (an ARN, a physical name)
 * that the deployment resolves into the shape `T`.
 */
export type Deployed<T> = T extends string | number | boolean
  ? pulumi.Input<T>
  : T extends readonly (infer U)[]
    ? pulumi.Input<Deployed<U>[]>
    : { [K in keyof T]: Deployed<T[K]> };
