/**
 * The stack config: one validation that reports every problem at once, and the resolved settings it
 * returns. The types of the settings and their defaults are in configSchema.ts (re-exported here).
 *
 * Config is structured (`pulumi config set --path 'tables[0].tableName' orders`):
 *   dynamodb-continuous-exports:tables    one entry per exported table
 *   dynamodb-continuous-exports:defaults  any per-table field except tableName/alias, for all tables
 * A table's own value wins over the default; `bucket` and `tags` are merged key by key.
 *
 * Everything is checked before any resource is created, so a bad config never leaves a half-deployed
 * stack behind.
 */
import { longestWindowMinutes, resolveWindowMode, type WindowModeConfig } from './windowModeConfig';
import { defaultLagAlertMinutes } from '../functions/chain/settings';
import {
  closest,
  coerceNumbers,
  deriveReplicaAlias,
  duplicateTableProblems,
  overlappingPrefixProblems,
  replicaProblems,
  sharedReplicaTargetProblems,
  stackNameProblem,
  TOP_LEVEL_KEYS,
  unknownKeyProblems,
} from './configChecks';
import { componentName, overlongNames, physicalNames, slug } from './names';
import {
  ALLOWED,
  ConfigError,
  defaultsSchema,
  MAX_TAGS,
  REPLICA_DEFAULTS,
  TABLE_DEFAULTS,
  tableSchema,
  zodProblems,
  type BucketConfig,
  type ConfigProblem,
  type ReplicaConfig,
  type ReplicaInput,
  type TableConfig,
  type TableInput,
  type TableSettingsInput,
} from './configSchema';

export {
  ALLOWED,
  REPLICA_DEFAULTS,
  TABLE_DEFAULTS,
  type BucketConfig,
  type ReplicaConfig,
  type ReplicaInput,
  type TableConfig,
  type TableInput,
  type TableSettingsInput,
  bucketNameProblems,
  ConfigError,
  formatProblem,
  LOG_RETENTION_DAYS,
  MAX_TAGS,
  type ConfigProblem,
} from './configSchema';

/** The project name: the namespace of its config keys (`dynamodb-continuous-exports:tables`). */
export const PROJECT_NAME = 'dynamodb-continuous-exports';

/** The lag alarm threshold when none is configured: three windows plus half an hour. */
export function defaultLagAlarmMinutes(windowMinutes: number): number {
  return defaultLagAlertMinutes(windowMinutes);
}

/** The alias derived from a table name (may be empty, which validation rejects). */
export function deriveAlias(tableName: string): string {
  return slug(tableName);
}

// ---- validation ----------------------------------------------------------------------------------

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

/** Per-stack context of `resolveTable`. */
interface Context {
  stack: string;
  region?: string;
  nameOf: (alias: string) => string;
  problems: ConfigProblem[];
  warnings: string[];
  /** Stack-name problems already reported, by whether a bucket is created. */
  stackBlamed: Map<boolean, boolean>;
}

/** The table name of a raw `tables` entry, when it has one that is a string. */
function entryTableName(entry: unknown): string | undefined {
  const name = entry && typeof entry === 'object' ? (entry as { tableName?: unknown }).tableName : undefined;
  return typeof name === 'string' ? name : undefined;
}

function merge(defaults: TableSettingsInput, table: TableInput): TableInput {
  const merged: TableInput = { ...defaults, ...table };
  if (defaults.bucket || table.bucket) merged.bucket = { ...defaults.bucket, ...table.bucket };
  if (defaults.tags || table.tags) merged.tags = { ...defaults.tags, ...table.tags };
  return merged;
}

/** Where one table's problems go, and how they name its fields. */
interface TableScope {
  table: { index: number; name: string };
  /** The path of a field of this table, e.g. `tables[1].alias`. */
  at: (field: string) => string;
  /** Says so in a message when the field's value came from `defaults`. */
  origin: (field: string) => string;
  report: (field: string, value: unknown, message: string) => void;
}

function tableScope(
  input: TableInput,
  index: number,
  fromDefaults: Set<string>,
  problems: ConfigProblem[],
): TableScope {
  const table = { index, name: input.tableName };
  const at = (field: string) => `tables[${index}].${field}`;
  return {
    table,
    at,
    origin: (field) => (fromDefaults.has(field) ? ' (value from defaults)' : ''),
    report: (field, value, message) => problems.push({ path: at(field), table, value, message }),
  };
}

/** The alias, configured or derived from the table name; reports one that derives to nothing. */
function resolveAlias(input: TableInput, scope: TableScope): string {
  const alias = input.alias ?? deriveAlias(input.tableName);
  if (alias === '') {
    scope.report(
      'alias',
      input.alias,
      `the table name gives no usable alias; set one; allowed: ${ALLOWED.alias}`,
    );
  }
  return alias;
}

type Windows = Pick<TableConfig, 'windowMinutes' | 'maxCatchUpWindowMinutes' | 'lagAlarmMinutes'>;

/** The export window, the catch-up window and the lag alarm, which are bounded by each other. */
function resolveWindows(input: TableInput, scope: TableScope): Windows {
  const windowMinutes = input.windowMinutes ?? TABLE_DEFAULTS.windowMinutes;
  const maxCatchUpWindowMinutes = input.maxCatchUpWindowMinutes ?? TABLE_DEFAULTS.maxCatchUpWindowMinutes;
  if (maxCatchUpWindowMinutes < windowMinutes) {
    scope.report(
      'maxCatchUpWindowMinutes',
      maxCatchUpWindowMinutes,
      `is less than windowMinutes (${windowMinutes})${scope.origin('maxCatchUpWindowMinutes')}; allowed: ${ALLOWED.maxCatchUpWindowMinutes}`,
    );
  }
  // A cost-aware table's lag grows with its longest window: the default alarm allows for it.
  const longest = longestWindowMinutes(
    resolveWindowMode({ ...input, windowMinutes }, () => false).config,
    windowMinutes,
  );
  const lagAlarmMinutes =
    input.lagAlarmMinutes ?? defaultLagAlarmMinutes(windowMinutes) + longest - windowMinutes;
  if (lagAlarmMinutes <= windowMinutes) {
    scope.report(
      'lagAlarmMinutes',
      lagAlarmMinutes,
      `is not greater than windowMinutes (${windowMinutes})${scope.origin('lagAlarmMinutes')}; allowed: ${ALLOWED.lagAlarmMinutes}`,
    );
  }
  return { windowMinutes, maxCatchUpWindowMinutes, lagAlarmMinutes };
}

/** A bucket in another account must already exist: this stack cannot create it there. */
function checkBucketOwner(bucket: BucketConfig, scope: TableScope): void {
  if (bucket.ownerAccountId !== undefined && bucket.existingName === undefined) {
    scope.report(
      'bucket.ownerAccountId',
      bucket.ownerAccountId,
      `a bucket in another account cannot be created here; set bucket.existingName too; allowed: ${ALLOWED['bucket.ownerAccountId']}`,
    );
  }
}

/**
 * The physical names of the table's resources must fit AWS's limits. When the stack name alone is too
 * long, every alias would fail: the stack name is blamed once instead of each table's alias.
 */
function checkPhysicalNames(
  alias: string,
  createsBucket: boolean,
  scope: TableScope,
  context: Context,
): void {
  const { stack, nameOf } = context;
  const stackProblem = stackNameProblem(stack, nameOf, createsBucket);
  if (stackProblem) {
    if (!context.stackBlamed.get(createsBucket) && !context.stackBlamed.get(false))
      context.problems.push(stackProblem);
    context.stackBlamed.set(createsBucket, true);
  } else if (alias !== '') {
    const names = physicalNames(nameOf(alias), stack, alias);
    for (const long of overlongNames(names, createsBucket)) {
      scope.report(
        'alias',
        alias,
        `makes the ${long.kind} name "${long.name}" ${long.name.length} characters long (AWS limit ${long.limit}, stack "${stack}"); ` +
          `set a shorter alias; allowed: ${ALLOWED.alias}, short enough for every name to fit`,
      );
    }
  }
}

/** Whether successes are notified; reports a table's own success addresses that never would be. */
function resolveNotifyOnSuccess(input: TableInput, fromDefaults: Set<string>, scope: TableScope): boolean {
  const notifyOnSuccess = input.notifyOnSuccess ?? TABLE_DEFAULTS.notifyOnSuccess;
  if (!notifyOnSuccess && (input.successEmails ?? []).length > 0 && !fromDefaults.has('successEmails')) {
    // A table that turns success mail off while `defaults` names success addresses is fine; its own
    // successEmails next to notifyOnSuccess: false would never receive anything.
    scope.report(
      'successEmails',
      input.successEmails,
      `would never be notified: notifyOnSuccess is false${scope.origin('notifyOnSuccess')}; remove successEmails or set notifyOnSuccess to true`,
    );
  }
  return notifyOnSuccess;
}

/** The merged tags must stay within what AWS allows on one resource. */
function checkTagCount(input: TableInput, scope: TableScope): void {
  const tagCount = Object.keys(input.tags ?? {}).length;
  if (tagCount > MAX_TAGS) {
    scope.report(
      'tags',
      `${tagCount} tags`,
      `AWS allows at most ${MAX_TAGS} tags on a resource (defaults.tags and the table's tags together); allowed: ${ALLOWED.tags}`,
    );
  }
}

/**
 * S3 encrypts with a KMS key only in the bucket's Region. A created bucket is in the stack's Region,
 * so another Region is an error there; an existing bucket's Region is unknown here, so only a warning.
 */
function checkKmsRegion(
  input: TableInput,
  createsBucket: boolean,
  scope: TableScope,
  context: Context,
): void {
  const kmsRegion = input.kmsKeyArn?.split(':')[3];
  if (!kmsRegion || !context.region || kmsRegion === context.region) return;
  const message = `the key is in ${kmsRegion}, the stack deploys to ${context.region}; S3 encrypts with a KMS key only in the bucket's Region`;
  if (createsBucket) {
    scope.report(
      'kmsKeyArn',
      input.kmsKeyArn,
      `${message} (the created bucket is in ${context.region})${scope.origin('kmsKeyArn')}; use a key in ${context.region}`,
    );
  } else {
    context.warnings.push(
      `${scope.at('kmsKeyArn')} (table "${input.tableName}"): ${message}; this is right only if bucket ${input.bucket?.existingName} is in ${kmsRegion}`,
    );
  }
}

/** One replica with every default applied. */
function resolveReplica(replica: ReplicaInput): ReplicaConfig {
  return {
    tableName: replica.tableName,
    region: replica.region,
    roleArn: replica.roleArn,
    alias: replica.alias ?? deriveReplicaAlias(replica.tableName),
    bootstrap: replica.bootstrap ?? REPLICA_DEFAULTS.bootstrap,
    maxWritesPerSecond: replica.maxWritesPerSecond ?? REPLICA_DEFAULTS.maxWritesPerSecond,
    concurrency: replica.concurrency ?? REPLICA_DEFAULTS.concurrency,
    onNewEpoch: replica.onNewEpoch ?? REPLICA_DEFAULTS.onNewEpoch,
  };
}

/** The table's settings with every default applied, from fields already checked. */
function tableConfig(
  input: TableInput,
  alias: string,
  windows: Windows,
  notifyOnSuccess: boolean,
): Omit<TableConfig, keyof WindowModeConfig> {
  const bucket = input.bucket ?? {};
  return {
    tableName: input.tableName,
    alias,
    // Nobody is notified of successes when notifyOnSuccess is false (addresses from defaults included).
    successEmails: notifyOnSuccess ? (input.successEmails ?? TABLE_DEFAULTS.successEmails) : [],
    failureEmails: input.failureEmails ?? TABLE_DEFAULTS.failureEmails,
    windowMinutes: windows.windowMinutes,
    maxCatchUpWindowMinutes: windows.maxCatchUpWindowMinutes,
    bucket: {
      existingName: bucket.existingName,
      prefix: bucket.prefix ?? alias,
      ownerAccountId: bucket.ownerAccountId,
      versioning: bucket.versioning ?? TABLE_DEFAULTS.versioning,
    },
    exportFormat: input.exportFormat ?? TABLE_DEFAULTS.exportFormat,
    exportViewType: input.exportViewType ?? TABLE_DEFAULTS.exportViewType,
    kmsKeyArn: input.kmsKeyArn,
    notifyOnSuccess,
    onPitrGap: input.onPitrGap ?? TABLE_DEFAULTS.onPitrGap,
    logRetentionDays: input.logRetentionDays ?? TABLE_DEFAULTS.logRetentionDays,
    tags: input.tags ?? {},
    maxInFlight: input.maxInFlight ?? TABLE_DEFAULTS.maxInFlight,
    restorableMarginSeconds: input.restorableMarginSeconds ?? TABLE_DEFAULTS.restorableMarginSeconds,
    lagAlarmMinutes: windows.lagAlarmMinutes,
    replicas: (input.replicas ?? []).map(resolveReplica),
  };
}

/**
 * Applies defaults to one table that passed the schema; reports cross-field problems in a fixed order
 * (alias, windows, bucket, names, notifications, tags, KMS key, replicas). Undefined when any is found.
 */
function resolveTable(
  input: TableInput,
  index: number,
  fromDefaults: Set<string>,
  context: Context,
): TableConfig | undefined {
  const scope = tableScope(input, index, fromDefaults, context.problems);
  const before = context.problems.length;
  const alias = resolveAlias(input, scope);
  const windows = resolveWindows(input, scope);
  const windowMode = resolveWindowMode({ ...input, windowMinutes: windows.windowMinutes }, (f) =>
    fromDefaults.has(f),
  );
  for (const p of windowMode.problems) scope.report(p.field, p.value, p.message);
  checkBucketOwner(input.bucket ?? {}, scope);
  const createsBucket = input.bucket?.existingName === undefined;
  checkPhysicalNames(alias, createsBucket, scope, context);
  const notifyOnSuccess = resolveNotifyOnSuccess(input, fromDefaults, scope);
  checkTagCount(input, scope);
  checkKmsRegion(input, createsBucket, scope, context);
  context.problems.push(
    ...replicaProblems(input.replicas ?? [], {
      index,
      tableName: input.tableName,
      component: context.nameOf(alias),
      stackRegion: context.region,
      bucketOwnerAccountId: input.bucket?.ownerAccountId,
    }),
  );
  if (context.problems.length > before) return undefined;
  return { ...tableConfig(input, alias, windows, notifyOnSuccess), ...windowMode.config };
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

/** The `defaults` entry after the schema; reports its problems and gives {} when it has any. */
function parseDefaults(
  raw: RawConfig,
  problems: ConfigProblem[],
  coerced: Map<string, unknown>,
): TableSettingsInput {
  if (raw.defaults === undefined) return {};
  const input = coerceNumbers(raw.defaults, 'defaults', coerced);
  const parsed = defaultsSchema.safeParse(input, { reportInput: true });
  if (parsed.success) return parsed.data as TableSettingsInput;
  problems.push(...zodProblems(parsed.error, 'defaults', undefined, coerced));
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
    problems.push({ path: 'tables', value: raw.tables, message: `allowed: ${ALLOWED.tables}` });
  throw new ConfigError(problems);
}

/** One entry of `tables` through the schema, then merged with the defaults and resolved. */
function parseTable(
  entry: unknown,
  index: number,
  defaults: TableSettingsInput,
  coerced: Map<string, unknown>,
  context: Context,
): TableConfig | undefined {
  const name = entryTableName(entry);
  const parsed = tableSchema.safeParse(entry, { reportInput: true });
  if (!parsed.success) {
    context.problems.push(...zodProblems(parsed.error, `tables[${index}]`, { index, name }, coerced));
    return undefined;
  }
  const table = parsed.data as TableInput;
  const fromDefaults = new Set(
    Object.keys(defaults).filter((k) => (table as unknown as Record<string, unknown>)[k] === undefined),
  );
  return resolveTable(merge(defaults, table), index, fromDefaults, context);
}

/** `validateConfig`, also returning the warnings for what AWS accepts but is probably a mistake. */
export function checkConfig(
  raw: RawConfig,
  stack: string,
  nameOf: (alias: string) => string = (alias) => componentName(stack, alias),
): CheckedConfig {
  const problems: ConfigProblem[] = unknownKeyProblems(PROJECT_NAME, raw.otherSettings ?? {});
  const context: Context = {
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
  const entries = raw.tables.map((entry, index) => coerceNumbers(entry, `tables[${index}]`, coerced));
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
  return { tables: resolved as TableConfig[], warnings: context.warnings };
}

/**
 * Validates the settings of one table given directly (the args of one component), whose physical
 * names derive from `componentName`.
 */
export function validateTable(input: TableInput, stack: string, componentName: string): TableConfig {
  return validateConfig({ tables: [input] }, stack, () => componentName)[0];
}
