/**
 * Checks of the stack config beyond the schema of one field: numbers that `pulumi config set --path`
 * made of strings, keys the program does not read, a stack name too long for any alias, the replicas
 * of one table, and the checks across tables. Used by `validateConfig` (config.ts).
 */
import { overlongNames, physicalNames, type NameKind } from './names';

/** One thing wrong with the config. */
export interface ConfigProblem {
  /** Field path as written with `pulumi config set --path`, e.g. `tables[1].bucket.prefix`. */
  path: string;
  /** The table the problem belongs to, when it belongs to one. */
  table?: { index: number; name?: string };
  /** The offending value (undefined when missing). */
  value: unknown;
  /** What is wrong and what is allowed. */
  message: string;
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

/** The config keys (without the project prefix) the program reads. */
export const TOP_LEVEL_KEYS = ['tables', 'defaults'] as const;

/** Fields whose value is a string, which `config set --path` turns into a number when it looks like one. */
const STRING_FIELDS = ['tableName', 'alias'] as const;
const STRING_BUCKET_FIELDS = ['existingName', 'prefix', 'ownerAccountId'] as const;

/** What a problem with a field Pulumi stored as a number adds to its message. */
export function numberHint(path: string, value: unknown): string {
  return (
    `Pulumi stored ${JSON.stringify(value)} as a number (config set --path does that to digits, dropping leading zeros); ` +
    `set it as text: pulumi config set --path '${path}' <value> --type string`
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Turns numbers in string fields (table name, alias, bucket fields, tag values) back into strings,
 * as `pulumi config set --path` stores `12345` as a number. Returns a copy and the paths it changed,
 * so a value that is still invalid is reported with `--type string` as the way out. A number too large
 * to be read exactly cannot be turned back and is left as it is (the schema then rejects it).
 */
export function coerceNumbers(entry: unknown, base: string, coerced: Map<string, unknown>): unknown {
  if (!isRecord(entry)) return entry;
  const out: Record<string, unknown> = { ...entry };
  const fix = (holder: Record<string, unknown>, key: string, path: string) => {
    const value = holder[key];
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) return;
    holder[key] = String(value);
    coerced.set(path, value);
  };
  for (const key of STRING_FIELDS) fix(out, key, `${base}.${key}`);
  if (isRecord(out.bucket)) {
    out.bucket = { ...out.bucket };
    for (const key of STRING_BUCKET_FIELDS)
      fix(out.bucket as Record<string, unknown>, key, `${base}.bucket.${key}`);
  }
  if (isRecord(out.tags)) {
    const tags: Record<string, unknown> = { ...out.tags };
    for (const key of Object.keys(tags)) fix(tags, key, `${base}.tags.${key}`);
    out.tags = tags;
  }
  return out;
}

/** Edit distance, for "did you mean" hints on misspelt keys. */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}

/** The candidate closest to `word`, when it is close enough to be a likely typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
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

// ---- replicas ------------------------------------------------------------------------------------

/** One replica as written in the config (after the schema); see `ReplicaInput` in config.ts. */
interface ReplicaFields {
  tableName: string;
  region?: string;
  roleArn?: string;
  alias?: string;
  bootstrap?: 'write' | 'import';
  onNewEpoch?: 'halt' | 'rebaseline';
}

/** Physical names of one replica's resources: `<component>-<replica alias>-<what>`. */
export function replicaPhysicalNames(component: string, replicaAlias: string) {
  const base = `${component}-${replicaAlias}`;
  return {
    base,
    applyFunction: `${base}-apply`,
    applyFunctionRole: `${base}-apply-role`,
    stateMachine: `${base}-replica`,
    stateMachineRole: `${base}-replica-role`,
    schedule: `${base}-replica`,
    schedulerRole: `${base}-sched-role`,
    lagAlarm: `${base}-replica-lag`,
  };
}

/** The replica alias derived from its target table name (at most 20 characters). */
export function deriveReplicaAlias(tableName: string): string {
  return tableName
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 20)
    .replace(/^-+|-+$/g, '');
}

/** Where a replica writes: its table, Region and (through its role) account. */
export function replicaTargetKey(
  replica: Pick<ReplicaFields, 'tableName' | 'region' | 'roleArn'>,
  stackRegion?: string,
): string {
  const account = replica.roleArn?.split(':')[4] ?? 'stack account';
  return `${replica.tableName} in ${replica.region ?? stackRegion ?? 'the stack Region'}, ${account}`;
}

/**
 * Problems of one table's replicas that no single field shows: two replicas with one alias or one
 * target, a replica that is the source table itself, a rebaseline that an import bootstrap cannot do,
 * a replica of exports in another account's bucket, and names too long for AWS.
 */
export function replicaProblems(
  replicas: readonly ReplicaFields[],
  source: {
    index: number;
    tableName: string;
    component: string;
    stackRegion?: string;
    /** `bucket.ownerAccountId`: the exports are in a bucket of another account. */
    bucketOwnerAccountId?: string;
  },
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const table = { index: source.index, name: source.tableName };
  const aliases = new Map<string, number>();
  const targets = new Map<string, number>();
  replicas.forEach((replica, r) => {
    const at = (field: string) => `tables[${source.index}].replicas[${r}].${field}`;
    const alias = replica.alias ?? deriveReplicaAlias(replica.tableName);
    if (alias === '') {
      problems.push({
        path: at('alias'),
        table,
        value: replica.alias,
        message: 'the target table name gives no usable alias; set one',
      });
    } else if (aliases.has(alias)) {
      problems.push({
        path: at('alias'),
        table,
        value: alias,
        message: `replicas[${aliases.get(alias)}] has the same alias; allowed: an alias no other replica of this table uses (set alias explicitly)`,
      });
    } else aliases.set(alias, r);
    const target = replicaTargetKey(replica, source.stackRegion);
    if (targets.has(target)) {
      problems.push({
        path: at('tableName'),
        table,
        value: replica.tableName,
        message: `replicas[${targets.get(target)}] already writes to ${target}; allowed: each target once`,
      });
    } else targets.set(target, r);
    const sameRegion = replica.region === undefined || replica.region === source.stackRegion;
    if (replica.tableName === source.tableName && sameRegion && replica.roleArn === undefined) {
      problems.push({
        path: at('tableName'),
        table,
        value: replica.tableName,
        message:
          'is the source table itself; allowed: another table, or the same name in another Region or account',
      });
    }
    if (source.bucketOwnerAccountId !== undefined) {
      // Refused rather than supported: the replica reads the chain with the apply Lambda's role, its
      // Distributed Map reads each large entry's file list with the state machine's role (an ItemReader,
      // which Step Functions documents for a bucket in the state machine's own account and Region), and
      // an import reads the export as the target role. In another account's bucket every one of them
      // needs a statement in a bucket policy (and with SSE-KMS a key policy) the stack neither owns nor
      // can check; the Distributed Map's would fail only at the first large entry, a replica that stops
      // long after it was deployed. Checked here, before any resource exists: the stack's account is
      // not known yet, and bucket.ownerAccountId is set only for a bucket of another account.
      problems.push({
        path: `tables[${source.index}].replicas[${r}]`,
        table,
        value: alias,
        message:
          `replica "${alias}" of table "${source.tableName}" cannot read its exports: ` +
          `bucket.ownerAccountId puts them in a bucket of account ${source.bucketOwnerAccountId}, whose policy this ` +
          'stack cannot set for the roles that read them (the apply Lambda, the Distributed Map reader, an import role); ' +
          'allowed: replicas only of a table whose bucket is in the stack account (created here, or ' +
          'bucket.existingName without bucket.ownerAccountId)',
      });
    }
    if (replica.onNewEpoch === 'rebaseline' && replica.bootstrap === 'import') {
      problems.push({
        path: at('onNewEpoch'),
        table,
        value: replica.onNewEpoch,
        message:
          'rebaseline rewrites the existing replica table, which an import bootstrap (always a new table) cannot do; allowed: halt, or bootstrap write',
      });
    }
    if (alias !== '') {
      for (const [what, name] of Object.entries(replicaPhysicalNames(source.component, alias))) {
        if (what === 'base') continue;
        if (name.length > 64) {
          problems.push({
            path: at('alias'),
            table,
            value: alias,
            message: `makes the name "${name}" ${name.length} characters long (AWS limit 64); set a shorter replica alias`,
          });
          break;
        }
      }
    }
  });
  return problems;
}

// ---- across tables -------------------------------------------------------------------------------

/** What the checks across tables read of one resolved table (see `TableConfig` in config.ts). */
interface ResolvedTable {
  tableName: string;
  alias: string;
  bucket: { existingName?: string; prefix: string };
  replicas: readonly ReplicaFields[];
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
