/**
 * The stack config: one validation that reports every problem at once, and the resolved settings it
 * returns.
 *
 * Config is structured (`pulumi config set --path 'tables[0].tableName' orders`):
 *   dynamodb-continuous-exports:tables    one entry per exported table
 *   dynamodb-continuous-exports:defaults  any per-table field except tableName/alias/replicas, for all tables
 * A table's own value wins over the default; `bucket` and `tags` are merged key by key.
 *
 * Everything is checked before any resource is created, so a bad config never leaves a half-deployed
 * stack behind. The schema (table.ts, with its sections bucket.ts and replica.ts) holds every field,
 * what it accepts and its default; the types below are derived from it.
 *
 * A table goes through three steps: its entry as written is checked against the schema without
 * defaults (so `defaults` and the table report their own problems under their own paths); it is merged
 * with `defaults` and parsed again, which applies the defaults and the rules across its fields; the
 * rules that need the stack run last (tableChecks.ts), then the rules across tables (stack.ts).
 */
import { resolveIceberg } from './iceberg';
import { componentName } from '../names';
import { coerceNumbers } from './coerce';
import { ConfigError, closest, zodProblems, type ConfigProblem } from './errors';
import { asWritten } from './fields';
import {
  defaultsSchema,
  duplicateTableProblems,
  fieldsFromDefaults,
  mergeDefaults,
  overlappingPrefixProblems,
  PROJECT_NAME,
  sharedReplicaTargetProblems,
  TABLES_WORDS,
  TOP_LEVEL_KEYS,
  unknownKeyProblems,
} from './stack';
import { checkTableInStack, type StackContext } from './tableChecks';
import { tableSchema, type TableConfig, type TableInput, type TableSettingsInput } from './table';

export { bucketNameProblems, type BucketInput } from './bucket';
export { ConfigError, formatProblem, type ConfigProblem } from './errors';
export {
  deriveReplicaAlias,
  REPLICA_DEFAULTS,
  replicaTargetKey,
  type ReplicaConfig,
  type ReplicaInput,
} from './replica';
export { PROJECT_NAME } from './stack';
export {
  deriveAlias,
  LOG_RETENTION_DAYS,
  MAX_TAGS,
  tableSchema,
  type BucketConfig,
  type TableConfig,
  type TableInput,
  type TableSettingsInput,
} from './table';
export { defaultLagAlarmMinutes } from '../../functions/chain/settings';

/** The raw config values as read from the stack. */
export interface RawConfig {
  tables: unknown;
  defaults?: unknown;
  /** The stack's Region (`aws:region`), when known: a KMS key must be in the bucket's Region. */
  region?: string;
  /** Every other config key of this project (without the namespace), to catch typos like `table`. */
  otherSettings?: Record<string, unknown>;
}

/** The outcome of a valid config: the tables, and what AWS accepts but is probably not meant. */
export interface CheckedConfig {
  tables: TableConfig[];
  /** Shown by `pulumi preview` and `pulumi up` (pulumi.log.warn). */
  warnings: string[];
}

/** A table entry as written: no default applied yet. */
const writtenTableSchema = asWritten(tableSchema);

/** The table name of a raw `tables` entry, when it has one that is a string. */
function entryTableName(entry: unknown): string | undefined {
  const name = entry && typeof entry === 'object' ? (entry as { tableName?: unknown }).tableName : undefined;
  return typeof name === 'string' ? name : undefined;
}

/** The `defaults` entry as written; reports its problems and gives {} when it has any. */
function parseDefaults(
  raw: RawConfig,
  problems: ConfigProblem[],
  coerced: Map<string, unknown>,
): TableSettingsInput {
  if (raw.defaults === undefined) return {};
  const input = coerceNumbers(raw.defaults, defaultsSchema, 'defaults', coerced);
  const parsed = defaultsSchema.safeParse(input, { reportInput: true });
  if (parsed.success) return parsed.data;
  problems.push(...zodProblems(parsed.error, { schema: defaultsSchema, base: 'defaults', coerced }));
  return {};
}

/** Throws when there is no table to export, with every problem found so far. */
function requireTables(
  raw: RawConfig,
  problems: ConfigProblem[],
): asserts raw is RawConfig & { tables: unknown[] } {
  if (Array.isArray(raw.tables) && raw.tables.length > 0) return;
  // `table:` instead of `tables:` is reported once, as the misspelt key with its hint.
  const misspelt = Object.keys(raw.otherSettings ?? {}).some(
    (key) => closest(key, TOP_LEVEL_KEYS) === 'tables',
  );
  if (raw.tables !== undefined || !misspelt)
    problems.push({ path: 'tables', value: raw.tables, message: `allowed: ${TABLES_WORDS}` });
  throw new ConfigError(problems);
}

/**
 * One entry of `tables`: checked as written, merged with `defaults`, parsed again (defaults applied,
 * rules across its fields), then checked against the stack. Undefined when it has any problem.
 */
function parseTable(
  entry: unknown,
  index: number,
  defaults: TableSettingsInput,
  coerced: Map<string, unknown>,
  context: StackContext,
): TableConfig | undefined {
  const base = `tables[${index}]`;
  const written = writtenTableSchema.safeParse(entry, { reportInput: true });
  if (!written.success) {
    const table = { index, name: entryTableName(entry) };
    context.problems.push(
      ...zodProblems(written.error, { schema: writtenTableSchema, base, table, coerced }),
    );
    return undefined;
  }
  const own: TableInput = written.data;
  const fromDefaults = fieldsFromDefaults(defaults, own);
  const merged = mergeDefaults(defaults, own);
  const before = context.problems.length;
  const resolved = tableSchema.safeParse(merged, { reportInput: true });
  if (!resolved.success) {
    const table = { index, name: merged.tableName };
    context.problems.push(...zodProblems(resolved.error, { schema: tableSchema, base, table, fromDefaults }));
  }
  checkTableInStack(merged, index, fromDefaults, context);
  if (!resolved.success || context.problems.length !== before) return undefined;
  const { iceberg, ...table } = resolved.data;
  return iceberg
    ? { ...table, iceberg: resolveIceberg(iceberg, { stack: context.stack, alias: table.alias }) }
    : table;
}

/** `validateConfig`, also returning the warnings for what AWS accepts but is probably a mistake. */
export function checkConfig(
  raw: RawConfig,
  stack: string,
  nameOf: (alias: string) => string = (alias) => componentName(stack, alias),
): CheckedConfig {
  const problems: ConfigProblem[] = unknownKeyProblems(PROJECT_NAME, raw.otherSettings ?? {});
  const context: StackContext = {
    stack,
    region: raw.region,
    nameOf,
    problems,
    warnings: [],
    stackBlamed: new Map(),
  };
  const coerced = new Map<string, unknown>();
  const defaults = parseDefaults(raw, problems, coerced);
  requireTables(raw, problems);
  const entries = raw.tables.map((entry, index) =>
    coerceNumbers(entry, writtenTableSchema, `tables[${index}]`, coerced),
  );
  const resolved = entries.map((entry, index) => parseTable(entry, index, defaults, coerced, context));
  // Checks across tables. Entries that failed above still take part when their field parsed.
  problems.push(
    ...duplicateTableProblems(
      entries.map((entry, index) => resolved[index]?.tableName ?? entryTableName(entry)),
      resolved,
    ),
    ...overlappingPrefixProblems(resolved),
    ...sharedReplicaTargetProblems(resolved, raw.region),
  );
  if (problems.length > 0) throw new ConfigError(problems);
  return { tables: resolved.filter((t): t is TableConfig => t !== undefined), warnings: context.warnings };
}

/**
 * Validates the whole config and applies defaults. Throws one `ConfigError` that lists every
 * problem (in every table and in `defaults`); returns one resolved entry per table otherwise.
 */
export function validateConfig(
  raw: RawConfig,
  stack: string,
  nameOf: (alias: string) => string = (alias) => componentName(stack, alias),
): TableConfig[] {
  return checkConfig(raw, stack, nameOf).tables;
}

/**
 * Validates the settings of one table given directly (the args of one component), whose physical
 * names derive from `componentName`.
 */
export function validateTable(input: TableInput, stack: string, componentName: string): TableConfig {
  return validateConfig({ tables: [input] }, stack, () => componentName)[0];
}
