/**
 * The config across tables: the keys of the stack config, `defaults` and how a table merges it, a
 * stack name too long for any alias, and the rules between tables (each table once, each alias once,
 * prefixes in one bucket apart, each replica target written by one table).
 */
import { overlongNames, physicalNames, type NameKind } from '../names';
import { closest, type ConfigProblem } from './errors';
import { asWritten } from './fields';
import { replicaTargetKey, type ReplicaInput } from './replica';
import { settingsSchema, type TableInput, type TableSettingsInput } from './table';

/** The project name: the namespace of its config keys (`dynamodb-continuous-exports:tables`). */
export const PROJECT_NAME = 'dynamodb-continuous-exports';

/** The config keys (without the project prefix) the program reads. */
export const TOP_LEVEL_KEYS = ['tables', 'defaults'] as const;

/** What `tables` accepts, in words. */
export const TABLES_WORDS = 'a non-empty list of tables';

/** `defaults` as written: any per-table field that is not the table's own, for every table. */
export const defaultsSchema = asWritten(settingsSchema);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A table merged with `defaults`: the table's own value wins; an object (`bucket`, `tags`, any
 * section) merges key by key.
 */
export function mergeDefaults(defaults: TableSettingsInput, table: TableInput): TableInput {
  const merged: Record<string, unknown> = { ...defaults, ...table };
  for (const [key, value] of Object.entries(defaults)) {
    const own = (table as Record<string, unknown>)[key];
    if (isRecord(value) && isRecord(own)) merged[key] = { ...value, ...own };
  }
  return merged as TableInput;
}

/** The fields of `table` whose value comes from `defaults`. */
export function fieldsFromDefaults(defaults: TableSettingsInput, table: TableInput): Set<string> {
  return new Set(Object.keys(defaults).filter((k) => (table as Record<string, unknown>)[k] === undefined));
}

/** Problems for config keys of this project that the program does not read (a typo like `table`). */
export function unknownKeyProblems(project: string, settings: Record<string, unknown>): ConfigProblem[] {
  return Object.keys(settings)
    .filter((key) => !(TOP_LEVEL_KEYS as readonly string[]).includes(key))
    .map((key) => {
      const hint = closest(key, TOP_LEVEL_KEYS);
      return {
        path: `${project}:${key}`,
        value: settings[key],
        message:
          `unknown setting${hint ? `; did you mean ${hint}?` : ''} ` +
          `(this program reads ${TOP_LEVEL_KEYS.join(' and ')}; remove it with pulumi config rm --path '${key}')`,
      };
    });
}

/** How each kind of physical name reads in a message. */
const KIND_WORDS: Record<NameKind, string> = {
  lambdaFunction: 'Lambda function',
  iamRole: 'IAM role',
  stateMachine: 'state machine',
  schedule: 'schedule',
  snsTopic: 'SNS topic',
  logGroup: 'log group',
  alarm: 'alarm',
  dashboard: 'dashboard',
  s3Bucket: 'created bucket',
  ssmParameter: 'SSM parameter',
};

/**
 * Whether the stack name alone makes some physical name too long, whatever the alias: then the stack
 * is to blame (once), not each table's alias. Returns the problem, or undefined.
 */
export function stackNameProblem(
  stack: string,
  nameOf: (alias: string) => string,
  createsBucket: boolean,
): ConfigProblem | undefined {
  const shortest = 'a';
  const long = overlongNames(physicalNames(nameOf(shortest), stack, shortest), createsBucket);
  if (long.length === 0) return undefined;
  const worst = long.reduce((a, b) => (b.name.length - b.limit > a.name.length - a.limit ? b : a));
  const excess = worst.name.length - worst.limit;
  return {
    path: 'stack name',
    value: stack,
    message:
      `is ${stack.length} characters long: even with a one-character alias the ${KIND_WORDS[worst.kind]} name "${worst.name}" is ` +
      `${worst.name.length} characters (AWS limit ${worst.limit}); use a stack name at least ${excess} characters shorter ` +
      `(pulumi stack rename, or a new stack)` +
      (long.every((n) => n.kind === 's3Bucket')
        ? ', or export into an existing bucket (bucket.existingName)'
        : ''),
  };
}

// ---- across tables -------------------------------------------------------------------------------

/** What the checks across tables read of one resolved table. */
interface ResolvedTable {
  tableName: string;
  alias: string;
  bucket: { existingName?: string; prefix: string };
  replicas: readonly Pick<ReplicaInput, 'tableName' | 'region' | 'roleArn'>[];
}

/**
 * Tables listed twice, and two tables with one alias, in the order of the entries. `names` has one
 * entry per table (undefined where none could be read); `resolved` is undefined where the table failed.
 */
export function duplicateTableProblems(
  names: readonly (string | undefined)[],
  resolved: readonly (ResolvedTable | undefined)[],
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const seenNames = new Map<string, number>();
  const seenAliases = new Map<string, number>();
  names.forEach((tableName, index) => {
    if (tableName !== undefined) {
      const first = seenNames.get(tableName);
      if (first !== undefined) {
        problems.push({
          path: `tables[${index}].tableName`,
          table: { index, name: tableName },
          value: tableName,
          message: `the same table is already listed as tables[${first}]; allowed: each table once`,
        });
      } else seenNames.set(tableName, index);
    }
    const t = resolved[index];
    if (t) {
      const first = seenAliases.get(t.alias);
      if (first !== undefined) {
        problems.push({
          path: `tables[${index}].alias`,
          table: { index, name: t.tableName },
          value: t.alias,
          message: `tables[${first}] has the same alias; allowed: an alias no other table uses (set alias explicitly)`,
        });
      } else seenAliases.set(t.alias, index);
    }
  });
  return problems;
}

function prefixesOverlap(a: string, b: string): boolean {
  return a === b || a.startsWith(`${b}/`) || b.startsWith(`${a}/`);
}

/** Tables exporting into one existing bucket under prefixes where one contains the other. */
export function overlappingPrefixProblems(resolved: readonly (ResolvedTable | undefined)[]): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  resolved.forEach((t, index) => {
    if (!t?.bucket.existingName) return;
    for (let j = 0; j < index; j++) {
      const o = resolved[j];
      if (o?.bucket.existingName !== t.bucket.existingName) continue;
      if (prefixesOverlap(o.bucket.prefix, t.bucket.prefix)) {
        problems.push({
          path: `tables[${index}].bucket.prefix`,
          table: { index, name: t.tableName },
          value: t.bucket.prefix,
          message: `overlaps the prefix "${o.bucket.prefix}" of tables[${j}] in bucket ${t.bucket.existingName}; allowed: a prefix no other table's prefix contains or is contained in`,
        });
      }
    }
  });
  return problems;
}

/**
 * A target written by replicas of two tables would hold a mix of both. (Two replicas of one table on
 * one target are reported by `replicaProblems`.)
 */
export function sharedReplicaTargetProblems(
  resolved: readonly (ResolvedTable | undefined)[],
  stackRegion?: string,
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const replicaTargets = new Map<string, string>();
  resolved.forEach((t, index) =>
    t?.replicas.forEach((replica, r) => {
      const target = replicaTargetKey(replica, stackRegion);
      const first = replicaTargets.get(target);
      if (first !== undefined && !first.startsWith(`tables[${index}]`)) {
        problems.push({
          path: `tables[${index}].replicas[${r}].tableName`,
          table: { index, name: t.tableName },
          value: replica.tableName,
          message: `${first} already writes to ${target}; allowed: each target table once in the stack`,
        });
      } else if (first === undefined) replicaTargets.set(target, `tables[${index}].replicas[${r}]`);
    }),
  );
  return problems;
}
