/**
 * The stack config: its types, its defaults, and one validation that reports every problem at once.
 *
 * Config is structured (`pulumi config set --path 'tables[0].tableName' orders`):
 *   dynamodb-continuous-exports:tables    one entry per exported table
 *   dynamodb-continuous-exports:defaults  any per-table field except tableName/alias, for all tables
 * A table's own value wins over the default; `bucket` and `tags` are merged key by key.
 *
 * Everything is checked before any resource is created, so a bad config never leaves a half-deployed
 * stack behind.
 */
import {
  defaultLagAlertMinutes,
  type ExportFormat,
  type ExportViewType,
  type OnPitrGap,
} from '../functions/settings';
import {
  closest,
  coerceNumbers,
  deriveReplicaAlias,
  replicaProblems,
  replicaTargetKey,
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
  tableSchema,
  zodProblems,
  type ConfigProblem,
  type ReplicaConfig,
  type ReplicaInput,
} from './configSchema';

export {
  ALLOWED,
  REPLICA_DEFAULTS,
  type ReplicaConfig,
  type ReplicaInput,
  bucketNameProblems,
  ConfigError,
  formatProblem,
  LOG_RETENTION_DAYS,
  MAX_TAGS,
  type ConfigProblem,
} from './configSchema';

/** The project name: the namespace of its config keys (`dynamodb-continuous-exports:tables`). */
export const PROJECT_NAME = 'dynamodb-continuous-exports';

/** Where the table's exports go. */
export interface BucketConfig {
  /** Use this existing bucket; when absent a bucket is created (and kept on `pulumi destroy`). */
  existingName?: string;
  /**
   * Key prefix, without leading or trailing '/'. Exports land in `<prefix>/AWSDynamoDB/`, the chain
   * manifest in `<prefix>/chain/`.
   * @default the table's alias
   */
  prefix?: string;
  /** Account that owns an existing bucket in another account (12 digits). */
  ownerAccountId?: string;
  /**
   * Turn on versioning of a created bucket. Ignored for an existing bucket.
   * @default false
   */
  versioning?: boolean;
}

/**
 * Per-table settings as written in the stack config (before defaults). The same fields, with the same
 * meaning and defaults, are the arguments of the `ContinuousExport` component (which extends this
 * interface), so each field and its default is documented only here.
 */
export interface TableSettingsInput {
  /**
   * Extra addresses notified of each completed export (email subscriptions filtered on
   * `status: SUCCESS`; ignored when `notifyOnSuccess` is false).
   * @default []
   */
  successEmails?: string[];
  /**
   * Addresses notified of failures and warnings, and of CloudWatch alarms.
   * @default []
   */
  failureEmails?: string[];
  /**
   * Length of a normal incremental export window in minutes, 15..1440.
   * @default 15
   */
  windowMinutes?: number;
  /**
   * Largest window used while catching up a backlog, windowMinutes..1440.
   * @default 1440
   */
  maxCatchUpWindowMinutes?: number;
  /**
   * Destination bucket and prefix.
   * @default a created bucket (kept on `pulumi destroy`), prefix = alias
   */
  bucket?: BucketConfig;
  /**
   * Format of the exported data files.
   * @default 'DYNAMODB_JSON'
   */
  exportFormat?: ExportFormat;
  /**
   * View type of incremental exports.
   * @default 'NEW_AND_OLD_IMAGES'
   */
  exportViewType?: ExportViewType;
  /**
   * Customer managed KMS key (key ARN) for SSE-KMS of export objects, and for the default encryption
   * of a created bucket.
   * @default SSE-S3 (AES256)
   */
  kmsKeyArn?: string;
  /**
   * Publish a message for every completed export.
   * @default true
   */
  notifyOnSuccess?: boolean;
  /**
   * What to do when PITR history has a gap: alert and stop, or start a new epoch.
   * @default 'alert'
   */
  onPitrGap?: OnPitrGap;
  /**
   * Retention of the Lambda and state machine log groups, in days (a value CloudWatch accepts).
   * @default 30
   */
  logRetentionDays?: number;
  /**
   * Tags for every resource of the table that takes tags.
   * @default {}
   */
  tags?: Record<string, string>;
  /**
   * Upper bound on incremental exports in flight at once, 1..10.
   * @default 4
   */
  maxInFlight?: number;
  /**
   * How far behind LatestRestorableDateTime a window end must stay, 0..3600 s.
   * @default 60
   */
  restorableMarginSeconds?: number;
  /**
   * Chain lag (minutes) above which the lag alarm fires.
   * @default 3 * windowMinutes + 30
   */
  lagAlarmMinutes?: number;
}

/** One entry of `tables`. */
export interface TableInput extends TableSettingsInput {
  /**
   * Tables kept equal to this one by applying its chain (per table only, not in `defaults`).
   * @default []
   */
  replicas?: ReplicaInput[];
  /** Name of the DynamoDB table (in the stack's account and Region). PITR must be enabled on it. */
  tableName: string;
  /**
   * Short name used in resource names, SSM paths and metric dimensions.
   * @default tableName lower-cased, characters outside [a-z0-9-] replaced by '-', trimmed of '-'
   */
  alias?: string;
}

/** A table's settings with every default applied. */
export interface TableConfig {
  tableName: string;
  alias: string;
  successEmails: string[];
  failureEmails: string[];
  windowMinutes: number;
  maxCatchUpWindowMinutes: number;
  bucket: { existingName?: string; prefix: string; ownerAccountId?: string; versioning: boolean };
  exportFormat: ExportFormat;
  exportViewType: ExportViewType;
  kmsKeyArn?: string;
  notifyOnSuccess: boolean;
  onPitrGap: OnPitrGap;
  logRetentionDays: number;
  tags: Record<string, string>;
  maxInFlight: number;
  restorableMarginSeconds: number;
  lagAlarmMinutes: number;
  replicas: ReplicaConfig[];
}

/** Default values of the per-table fields (lagAlarmMinutes and prefix depend on other fields). */
export const TABLE_DEFAULTS = {
  successEmails: [] as string[],
  failureEmails: [] as string[],
  windowMinutes: 15,
  maxCatchUpWindowMinutes: 1440,
  exportFormat: 'DYNAMODB_JSON' as ExportFormat,
  exportViewType: 'NEW_AND_OLD_IMAGES' as ExportViewType,
  notifyOnSuccess: true,
  onPitrGap: 'alert' as OnPitrGap,
  logRetentionDays: 30,
  maxInFlight: 4,
  restorableMarginSeconds: 60,
  versioning: false,
};

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

function merge(defaults: TableSettingsInput, table: TableInput): TableInput {
  const merged: TableInput = { ...defaults, ...table };
  if (defaults.bucket || table.bucket) merged.bucket = { ...defaults.bucket, ...table.bucket };
  if (defaults.tags || table.tags) merged.tags = { ...defaults.tags, ...table.tags };
  return merged;
}

/** Applies defaults to one table that passed the schema; reports cross-field problems. */
function resolveTable(
  input: TableInput,
  index: number,
  fromDefaults: Set<string>,
  context: Context,
): TableConfig | undefined {
  const { stack, problems, nameOf } = context;
  const table = { index, name: input.tableName };
  const at = (field: string) => `tables[${index}].${field}`;
  const origin = (field: string) => (fromDefaults.has(field) ? ' (value from defaults)' : '');
  const before = problems.length;

  const alias = input.alias ?? deriveAlias(input.tableName);
  if (alias === '') {
    problems.push({
      path: at('alias'),
      table,
      value: input.alias,
      message: `the table name gives no usable alias; set one; allowed: ${ALLOWED.alias}`,
    });
  }
  const windowMinutes = input.windowMinutes ?? TABLE_DEFAULTS.windowMinutes;
  const maxCatchUpWindowMinutes = input.maxCatchUpWindowMinutes ?? TABLE_DEFAULTS.maxCatchUpWindowMinutes;
  if (maxCatchUpWindowMinutes < windowMinutes) {
    problems.push({
      path: at('maxCatchUpWindowMinutes'),
      table,
      value: maxCatchUpWindowMinutes,
      message: `is less than windowMinutes (${windowMinutes})${origin('maxCatchUpWindowMinutes')}; allowed: ${ALLOWED.maxCatchUpWindowMinutes}`,
    });
  }
  const lagAlarmMinutes = input.lagAlarmMinutes ?? defaultLagAlarmMinutes(windowMinutes);
  if (lagAlarmMinutes <= windowMinutes) {
    problems.push({
      path: at('lagAlarmMinutes'),
      table,
      value: lagAlarmMinutes,
      message: `is not greater than windowMinutes (${windowMinutes})${origin('lagAlarmMinutes')}; allowed: ${ALLOWED.lagAlarmMinutes}`,
    });
  }
  const bucket = input.bucket ?? {};
  if (bucket.ownerAccountId !== undefined && bucket.existingName === undefined) {
    problems.push({
      path: at('bucket.ownerAccountId'),
      table,
      value: bucket.ownerAccountId,
      message: `a bucket in another account cannot be created here; set bucket.existingName too; allowed: ${ALLOWED['bucket.ownerAccountId']}`,
    });
  }
  const createsBucket = bucket.existingName === undefined;
  const stackProblem = stackNameProblem(stack, nameOf, createsBucket);
  if (stackProblem) {
    // Every alias would fail: blame the stack name once instead of each table's alias.
    if (!context.stackBlamed.get(createsBucket) && !context.stackBlamed.get(false))
      problems.push(stackProblem);
    context.stackBlamed.set(createsBucket, true);
  } else if (alias !== '') {
    const names = physicalNames(nameOf(alias), stack, alias);
    for (const long of overlongNames(names, createsBucket)) {
      problems.push({
        path: at('alias'),
        table,
        value: alias,
        message:
          `makes the ${long.kind} name "${long.name}" ${long.name.length} characters long (AWS limit ${long.limit}, stack "${stack}"); ` +
          `set a shorter alias; allowed: ${ALLOWED.alias}, short enough for every name to fit`,
      });
    }
  }
  const notifyOnSuccess = input.notifyOnSuccess ?? TABLE_DEFAULTS.notifyOnSuccess;
  if (!notifyOnSuccess && (input.successEmails ?? []).length > 0 && !fromDefaults.has('successEmails')) {
    // A table that turns success mail off while `defaults` names success addresses is fine; its own
    // successEmails next to notifyOnSuccess: false would never receive anything.
    problems.push({
      path: at('successEmails'),
      table,
      value: input.successEmails,
      message: `would never be notified: notifyOnSuccess is false${origin('notifyOnSuccess')}; remove successEmails or set notifyOnSuccess to true`,
    });
  }
  const tagCount = Object.keys(input.tags ?? {}).length;
  if (tagCount > MAX_TAGS) {
    problems.push({
      path: at('tags'),
      table,
      value: `${tagCount} tags`,
      message: `AWS allows at most ${MAX_TAGS} tags on a resource (defaults.tags and the table's tags together); allowed: ${ALLOWED.tags}`,
    });
  }
  const kmsRegion = input.kmsKeyArn?.split(':')[3];
  if (kmsRegion && context.region && kmsRegion !== context.region) {
    const message = `the key is in ${kmsRegion}, the stack deploys to ${context.region}; S3 encrypts with a KMS key only in the bucket's Region`;
    if (createsBucket) {
      problems.push({
        path: at('kmsKeyArn'),
        table,
        value: input.kmsKeyArn,
        message: `${message} (the created bucket is in ${context.region})${origin('kmsKeyArn')}; use a key in ${context.region}`,
      });
    } else {
      context.warnings.push(
        `${at('kmsKeyArn')} (table "${input.tableName}"): ${message}; this is right only if bucket ${bucket.existingName} is in ${kmsRegion}`,
      );
    }
  }
  problems.push(
    ...replicaProblems(input.replicas ?? [], {
      index,
      tableName: input.tableName,
      component: nameOf(alias),
      stackRegion: context.region,
    }),
  );
  if (problems.length > before) return undefined;
  return {
    tableName: input.tableName,
    alias,
    // Nobody is notified of successes when notifyOnSuccess is false (addresses from defaults included).
    successEmails: notifyOnSuccess ? (input.successEmails ?? TABLE_DEFAULTS.successEmails) : [],
    failureEmails: input.failureEmails ?? TABLE_DEFAULTS.failureEmails,
    windowMinutes,
    maxCatchUpWindowMinutes,
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
    lagAlarmMinutes,
    replicas: (input.replicas ?? []).map((r) => ({
      tableName: r.tableName,
      region: r.region,
      roleArn: r.roleArn,
      alias: r.alias ?? deriveReplicaAlias(r.tableName),
      bootstrap: r.bootstrap ?? REPLICA_DEFAULTS.bootstrap,
      maxWritesPerSecond: r.maxWritesPerSecond ?? REPLICA_DEFAULTS.maxWritesPerSecond,
      concurrency: r.concurrency ?? REPLICA_DEFAULTS.concurrency,
      onNewEpoch: r.onNewEpoch ?? REPLICA_DEFAULTS.onNewEpoch,
    })),
  };
}

function prefixesOverlap(a: string, b: string): boolean {
  return a === b || a.startsWith(`${b}/`) || b.startsWith(`${a}/`);
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

  let defaults: TableSettingsInput = {};
  if (raw.defaults !== undefined) {
    const input = coerceNumbers(raw.defaults, 'defaults', coerced);
    const parsed = defaultsSchema.safeParse(input, { reportInput: true });
    if (parsed.success) defaults = parsed.data as TableSettingsInput;
    else problems.push(...zodProblems(parsed.error, 'defaults', undefined, coerced));
  }

  if (!Array.isArray(raw.tables) || raw.tables.length === 0) {
    // `table:` instead of `tables:` is reported once, as the misspelt key with its hint.
    const misspelt = Object.keys(raw.otherSettings ?? {}).some(
      (key) => closest(key, TOP_LEVEL_KEYS) === 'tables',
    );
    if (raw.tables !== undefined || !misspelt)
      problems.push({ path: 'tables', value: raw.tables, message: `allowed: ${ALLOWED.tables}` });
    throw new ConfigError(problems);
  }

  const entries = raw.tables.map((entry: unknown, index: number) =>
    coerceNumbers(entry, `tables[${index}]`, coerced),
  );
  const resolved: (TableConfig | undefined)[] = entries.map((entry: unknown, index: number) => {
    const name =
      entry && typeof entry === 'object' && typeof (entry as { tableName?: unknown }).tableName === 'string'
        ? (entry as { tableName: string }).tableName
        : undefined;
    const parsed = tableSchema.safeParse(entry, { reportInput: true });
    if (!parsed.success) {
      problems.push(...zodProblems(parsed.error, `tables[${index}]`, { index, name }, coerced));
      return undefined;
    }
    const table = parsed.data as TableInput;
    const fromDefaults = new Set(
      Object.keys(defaults).filter((k) => (table as unknown as Record<string, unknown>)[k] === undefined),
    );
    return resolveTable(merge(defaults, table), index, fromDefaults, context);
  });

  // Checks across tables. Entries that failed above still take part when their field parsed.
  const seenNames = new Map<string, number>();
  const seenAliases = new Map<string, number>();
  entries.forEach((entry: unknown, index: number) => {
    const t = resolved[index];
    const tableName = t?.tableName ?? (entry as { tableName?: unknown } | null)?.tableName;
    if (typeof tableName === 'string') {
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

  // A target written by replicas of two tables would hold a mix of both.
  const replicaTargets = new Map<string, string>();
  resolved.forEach((t, index) =>
    t?.replicas.forEach((replica, r) => {
      const target = replicaTargetKey(replica, raw.region);
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
