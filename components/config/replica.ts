/**
 * The `replicas` section of a table (per table only, never in `defaults`): each replica is another
 * DynamoDB table, in this or another account and Region, kept equal to the source as of the chain's
 * watermark by applying the chain (see docs/replica.md). Its schema, defaults and the rules across the
 * replicas of one table.
 */
import { z } from 'zod';
import { ON_NEW_EPOCH, REPLICA_BOOTSTRAPS } from '../../functions/replica/settings';
import { replicaPhysicalNames } from '../names';
import type { ConfigProblem } from './errors';
import { ALIAS_PATTERN, ALIAS_WORDS, defaultsOf, flag, int, oneOf, tableName, withEveryKey } from './fields';

/** The replica alias derived from its target table name (at most 20 characters). */
export function deriveReplicaAlias(tableName: string): string {
  return tableName
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 20)
    .replace(/^-+|-+$/g, '');
}

const replicaShape = {
  /** Name of the target table. */
  tableName: tableName(),
  /**
   * Region of the target table.
   * @default the stack's Region
   */
  region: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/)
    .optional()
    .describe('an AWS Region name such as eu-west-1'),
  /**
   * Role to assume for writes to the target (a role in the target account, trusting the apply
   * Lambda's role). Without it the apply Lambda's own role writes.
   * @default none (same account)
   */
  roleArn: z
    .string()
    .regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/)
    .optional()
    .describe('an IAM role ARN: arn:aws:iam::<12-digit account>:role/<name>'),
  /**
   * Short name used in the replica's resource names, at most 20 characters.
   * @default the target table name, lower-cased, characters outside [a-z0-9-] replaced by '-'
   */
  alias: z.string().max(20).regex(ALIAS_PATTERN).optional().describe(`${ALIAS_WORDS}, at most 20 characters`),
  /**
   * How the replica starts: `write` applies the full export with BatchWriteItem into an existing,
   * empty table; `import` has DynamoDB ImportTable create a new table from the full export (that
   * table is then not managed by Pulumi).
   * @default 'write'
   */
  bootstrap: oneOf(REPLICA_BOOTSTRAPS, {
    write: 'into an existing empty table',
    import: 'ImportTable into a new table',
  }).default('write'),
  /**
   * Upper bound on items written per second, per worker, 1..1,000,000.
   * @default 1000
   */
  maxWritesPerSecond: int(1, 1_000_000).default(1000),
  /**
   * Distributed Map children applying data files at once, 1..1000.
   * @default 10
   */
  concurrency: int(1, 1000).default(10),
  /**
   * What happens when the source chain starts a new epoch: `halt` (one alert, no writes until the
   * operator rebuilds) or `rebaseline` (empty the target, then apply the new epoch's full export and
   * follow it, with no alert; see docs/replica.md, "New epoch").
   * @default 'halt'
   */
  onNewEpoch: oneOf(ON_NEW_EPOCH).default('halt'),
  /**
   * Whether a schedule starts the replica's workflow every period. `false` deploys the workflow
   * without a schedule: it runs only when `dce restore --distributed --replica <alias>` starts it as a
   * one-shot restore that stops at the point asked for (docs/disaster-recovery.md).
   * @default true
   */
  schedule: flag().default(true),
};

const optionalKeys = Object.entries(replicaShape).map(([k, s]) => (s.isOptional() ? `${k}?` : k));

/** One replica: written fields, defaults, the rules across its fields, and its derived alias. */
export const replicaSchema = z
  .strictObject(replicaShape)
  .superRefine((replica, ctx) => {
    if (replica.onNewEpoch === 'rebaseline' && replica.bootstrap === 'import')
      ctx.addIssue({
        code: 'custom',
        path: ['onNewEpoch'],
        input: replica.onNewEpoch,
        message:
          'rebaseline rewrites the existing replica table, which an import bootstrap (always a new table) cannot do',
        params: { allowed: 'halt, or bootstrap write' },
      });
  })
  .transform((replica) =>
    withEveryKey(replicaShape, { ...replica, alias: replica.alias ?? deriveReplicaAlias(replica.tableName) }),
  );

/** The `replicas` field of a table. */
export const replicasSchema = z
  .array(replicaSchema)
  .default([])
  .describe(`a list of replica tables, each {${optionalKeys.join(', ')}}`);

/** One replica as written in the stack config. */
export type ReplicaInput = z.input<typeof replicaSchema>;
/** A replica with every default applied. */
export type ReplicaConfig = z.output<typeof replicaSchema>;

/** Defaults of the replica fields. */
export const REPLICA_DEFAULTS = defaultsOf(replicaShape) as Pick<
  ReplicaConfig,
  'bootstrap' | 'maxWritesPerSecond' | 'concurrency' | 'onNewEpoch' | 'schedule'
>;

/** Where a replica writes: its table, Region and (through its role) account. */
export function replicaTargetKey(
  replica: Pick<ReplicaInput, 'tableName' | 'region' | 'roleArn'>,
  stackRegion?: string,
): string {
  const account = replica.roleArn?.split(':')[4] ?? 'stack account';
  return `${replica.tableName} in ${replica.region ?? stackRegion ?? 'the stack Region'}, ${account}`;
}

/** The table whose replicas are checked, as `replicaProblems` needs it. */
export interface ReplicaSource {
  index: number;
  tableName: string;
  /** The component name that prefixes the replicas' physical names. */
  component: string;
  stackRegion?: string;
  /** `bucket.ownerAccountId`: the exports are in a bucket of another account. */
  bucketOwnerAccountId?: string;
}

/**
 * A replica of exports in another account's bucket. Refused rather than supported: the replica reads
 * the chain with the apply Lambda's role, its Distributed Map reads each large entry's file list with
 * the state machine's role (an ItemReader, which Step Functions documents for a bucket in the state
 * machine's own account and Region), and an import reads the export as the target role. In another
 * account's bucket every one of them needs a statement in a bucket policy (and with SSE-KMS a key
 * policy) the stack neither owns nor can check; the Distributed Map's would fail only at the first
 * large entry, a replica that stops long after it was deployed. Checked here, before any resource
 * exists: the stack's account is not known yet, and bucket.ownerAccountId is set only for a bucket of
 * another account.
 */
function crossAccountBucketMessage(alias: string, source: ReplicaSource): string {
  return (
    `replica "${alias}" of table "${source.tableName}" cannot read its exports: ` +
    `bucket.ownerAccountId puts them in a bucket of account ${source.bucketOwnerAccountId}, whose policy this ` +
    'stack cannot set for the roles that read them (the apply Lambda, the Distributed Map reader, an import role); ' +
    'allowed: replicas only of a table whose bucket is in the stack account (created here, or ' +
    'bucket.existingName without bucket.ownerAccountId)'
  );
}

/** The first physical name of the replica that is longer than AWS allows, if any. */
function overlongReplicaName(component: string, alias: string): string | undefined {
  return Object.entries(replicaPhysicalNames(component, alias)).find(
    ([what, name]) => what !== 'base' && name.length > 64,
  )?.[1];
}

/**
 * Problems of one table's replicas that no single replica shows: two replicas with one alias or one
 * target, a replica that is the source table itself, a replica of exports in another account's
 * bucket, and names too long for AWS.
 */
export function replicaProblems(replicas: readonly ReplicaInput[], source: ReplicaSource): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const table = { index: source.index, name: source.tableName };
  const aliases = new Map<string, number>();
  const targets = new Map<string, number>();
  replicas.forEach((replica, r) => {
    const at = (field?: string) => `tables[${source.index}].replicas[${r}]${field ? `.${field}` : ''}`;
    const report = (field: string | undefined, value: unknown, message: string) =>
      problems.push({ path: at(field), table, value, message });
    const alias = replica.alias ?? deriveReplicaAlias(replica.tableName);
    if (alias === '') report('alias', replica.alias, 'the target table name gives no usable alias; set one');
    else if (aliases.has(alias))
      report(
        'alias',
        alias,
        `replicas[${aliases.get(alias)}] has the same alias; allowed: an alias no other replica of this table uses (set alias explicitly)`,
      );
    else aliases.set(alias, r);
    const target = replicaTargetKey(replica, source.stackRegion);
    if (targets.has(target))
      report(
        'tableName',
        replica.tableName,
        `replicas[${targets.get(target)}] already writes to ${target}; allowed: each target once`,
      );
    else targets.set(target, r);
    const sameRegion = replica.region === undefined || replica.region === source.stackRegion;
    if (replica.tableName === source.tableName && sameRegion && replica.roleArn === undefined)
      report(
        'tableName',
        replica.tableName,
        'is the source table itself; allowed: another table, or the same name in another Region or account',
      );
    if (source.bucketOwnerAccountId !== undefined)
      report(undefined, alias, crossAccountBucketMessage(alias, source));
    const long = alias === '' ? undefined : overlongReplicaName(source.component, alias);
    if (long)
      report(
        'alias',
        alias,
        `makes the name "${long}" ${long.length} characters long (AWS limit 64); set a shorter replica alias`,
      );
  });
  return problems;
}
