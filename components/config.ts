/**
 * The stack config: its schema, its defaults, and one validation that reports every problem at once.
 *
 * Config is structured (`pulumi config set --path 'tables[0].tableName' orders`):
 *   dynamodb-continuous-exports:tables    one entry per exported table
 *   dynamodb-continuous-exports:defaults  any per-table field except tableName/alias, for all tables
 * A table's own value wins over the default; `bucket` and `tags` are merged key by key.
 *
 * Everything is checked before any resource is created, so a bad config never leaves a half-deployed
 * stack behind.
 */
import { z } from 'zod';
import type { ExportFormat, ExportViewType, OnPitrGap } from '../functions/settings';
import { componentName, overlongNames, physicalNames, slug } from './names';

/** Retention values CloudWatch Logs accepts (days). */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

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
  return 3 * windowMinutes + 30;
}

/** The alias derived from a table name (may be empty, which validation rejects). */
export function deriveAlias(tableName: string): string {
  return slug(tableName);
}

/** The reasons S3 would refuse a bucket name (empty when it is valid). */
export function bucketNameProblems(name: string): string[] {
  const problems: string[] = [];
  if (name.length < 3 || name.length > 63) problems.push(`is ${name.length} characters long`);
  if (!/^[a-z0-9.-]*$/.test(name)) problems.push('has characters other than a-z, 0-9, "." and "-"');
  if (!/^[a-z0-9]/.test(name) || !/[a-z0-9]$/.test(name))
    problems.push('does not start and end with a letter or digit');
  if (name.includes('..')) problems.push('has two adjacent periods');
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(name)) problems.push('looks like an IP address');
  if (name.startsWith('xn--')) problems.push('starts with "xn--"');
  if (name.endsWith('-s3alias')) problems.push('ends with "-s3alias"');
  return problems;
}

// ---- schema --------------------------------------------------------------------------------------

/** What each field accepts, in words; used in error messages. Keys are field paths without indices. */
export const ALLOWED: Record<string, string> = {
  tables: 'a non-empty list of tables',
  defaults: 'an object with per-table fields (not tableName or alias)',
  tableName: 'a DynamoDB table name: 3-255 characters a-z, A-Z, 0-9, "_", "-", "."',
  alias: 'lower-case letters, digits and "-", starting and ending with a letter or digit',
  successEmails: 'a list of email addresses',
  failureEmails: 'a list of email addresses',
  windowMinutes: 'an integer from 15 to 1440',
  maxCatchUpWindowMinutes: 'an integer from windowMinutes to 1440',
  bucket: 'an object with existingName, prefix, ownerAccountId, versioning',
  'bucket.existingName':
    'an S3 bucket name: 3-63 characters a-z, 0-9, "." and "-", starting and ending with a letter or digit, no "..", not an IP address, no "xn--" prefix, no "-s3alias" suffix',
  'bucket.prefix': '1-1024 characters, not starting or ending with "/"',
  'bucket.ownerAccountId': 'a 12-digit AWS account id, together with bucket.existingName',
  'bucket.versioning': 'true or false',
  exportFormat: 'DYNAMODB_JSON or ION',
  exportViewType: 'NEW_AND_OLD_IMAGES or NEW_IMAGE',
  kmsKeyArn: 'a KMS key ARN: arn:aws:kms:<region>:<12-digit account>:key/<key id>',
  notifyOnSuccess: 'true or false',
  onPitrGap: 'alert or reset',
  logRetentionDays: `one of ${LOG_RETENTION_DAYS.join(', ')}`,
  tags: 'a map of tag keys (1-128 characters) to values (0-256 characters)',
  maxInFlight: 'an integer from 1 to 10',
  restorableMarginSeconds: 'an integer from 0 to 3600',
  lagAlarmMinutes: 'an integer greater than windowMinutes, at most 50400 (35 days)',
};

const int = (min: number, max: number) => z.number().int().min(min).max(max);
const email = z.email();

const bucketSchema = z.strictObject({
  existingName: z.string().superRefine((name, ctx) => {
    const problems = bucketNameProblems(name);
    if (problems.length > 0) ctx.addIssue({ code: 'custom', message: problems.join(', ') });
  }),
  prefix: z
    .string()
    .min(1)
    .max(1024)
    .refine((p) => !p.startsWith('/') && !p.endsWith('/'), { message: 'starts or ends with "/"' }),
  ownerAccountId: z.string().regex(/^\d{12}$/),
  versioning: z.boolean(),
});

const settingsShape = {
  successEmails: z.array(email),
  failureEmails: z.array(email),
  windowMinutes: int(15, 1440),
  maxCatchUpWindowMinutes: int(15, 1440),
  bucket: bucketSchema.partial(),
  exportFormat: z.enum(['DYNAMODB_JSON', 'ION']),
  exportViewType: z.enum(['NEW_AND_OLD_IMAGES', 'NEW_IMAGE']),
  kmsKeyArn: z.string().regex(/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/),
  notifyOnSuccess: z.boolean(),
  onPitrGap: z.enum(['alert', 'reset']),
  logRetentionDays: z
    .number()
    .refine((n) => (LOG_RETENTION_DAYS as readonly number[]).includes(n), { message: 'not a retention' }),
  tags: z.record(z.string().min(1).max(128), z.string().max(256)),
  maxInFlight: int(1, 10),
  restorableMarginSeconds: int(0, 3600),
  lagAlarmMinutes: int(1, 50400),
};

const defaultsSchema = z.strictObject(settingsShape).partial();
const tableSchema = z
  .strictObject({
    ...settingsShape,
    tableName: z
      .string()
      .min(3)
      .max(255)
      .regex(/^[a-zA-Z0-9_.-]+$/),
    alias: z.string().regex(/^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/),
  })
  .partial()
  .required({ tableName: true });

// ---- errors --------------------------------------------------------------------------------------

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

/** Thrown when the config is invalid; the message lists every problem. */
export class ConfigError extends Error {
  constructor(readonly problems: ConfigProblem[]) {
    super(
      `Invalid dynamodb-continuous-exports config (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  - ${formatProblem(p)}`).join('\n'),
    );
    this.name = 'ConfigError';
  }
}

function formatValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

export function formatProblem(p: ConfigProblem): string {
  const table = p.table ? ` (table ${p.table.index}${p.table.name ? ` "${p.table.name}"` : ''})` : '';
  return `${p.path}${table}: got ${formatValue(p.value)}; ${p.message}`;
}

function pathText(base: string, path: readonly PropertyKey[]): string {
  let out = base;
  for (const part of path)
    out += typeof part === 'number' ? `[${part}]` : out ? `.${String(part)}` : String(part);
  return out;
}

function fieldKey(path: readonly PropertyKey[]): string {
  return path.filter((p) => typeof p !== 'number').join('.');
}

function zodProblems(error: z.ZodError, base: string, table: ConfigProblem['table']): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      const input = (issue as { input?: Record<string, unknown> }).input ?? {};
      for (const key of issue.keys) {
        const where = fieldKey(issue.path);
        const known =
          where === 'bucket'
            ? Object.keys(bucketSchema.shape)
            : base === 'defaults'
              ? Object.keys(settingsShape)
              : [...Object.keys(settingsShape), 'tableName', 'alias'];
        out.push({
          path: pathText(base, [...issue.path, key]),
          table,
          value: input[key],
          message: `unknown field; allowed fields: ${known.join(', ')}`,
        });
      }
      continue;
    }
    const key = fieldKey(issue.path);
    const allowed = ALLOWED[key] ?? ALLOWED[key.split('.')[0]] ?? issue.message;
    const detail = issue.code === 'custom' ? `${issue.message}; ` : '';
    out.push({
      path: pathText(base, issue.path),
      table,
      value: (issue as { input?: unknown }).input,
      message: `${detail}allowed: ${allowed}`,
    });
  }
  return out;
}

// ---- validation ----------------------------------------------------------------------------------

/** The raw config values as read from the stack. */
export interface RawConfig {
  tables: unknown;
  defaults?: unknown;
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
  stack: string,
  fromDefaults: Set<string>,
  problems: ConfigProblem[],
  nameOf: (alias: string) => string,
): TableConfig | undefined {
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
  if (alias !== '') {
    const names = physicalNames(nameOf(alias), stack, alias);
    const createsBucket = bucket.existingName === undefined;
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
  if (problems.length > before) return undefined;
  return {
    tableName: input.tableName,
    alias,
    successEmails: input.successEmails ?? TABLE_DEFAULTS.successEmails,
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
    notifyOnSuccess: input.notifyOnSuccess ?? TABLE_DEFAULTS.notifyOnSuccess,
    onPitrGap: input.onPitrGap ?? TABLE_DEFAULTS.onPitrGap,
    logRetentionDays: input.logRetentionDays ?? TABLE_DEFAULTS.logRetentionDays,
    tags: input.tags ?? {},
    maxInFlight: input.maxInFlight ?? TABLE_DEFAULTS.maxInFlight,
    restorableMarginSeconds: input.restorableMarginSeconds ?? TABLE_DEFAULTS.restorableMarginSeconds,
    lagAlarmMinutes,
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
  const problems: ConfigProblem[] = [];

  let defaults: TableSettingsInput = {};
  if (raw.defaults !== undefined) {
    const parsed = defaultsSchema.safeParse(raw.defaults, { reportInput: true });
    if (parsed.success) defaults = parsed.data as TableSettingsInput;
    else problems.push(...zodProblems(parsed.error, 'defaults', undefined));
  }

  if (!Array.isArray(raw.tables) || raw.tables.length === 0) {
    problems.push({ path: 'tables', value: raw.tables, message: `allowed: ${ALLOWED.tables}` });
    throw new ConfigError(problems);
  }

  const resolved: (TableConfig | undefined)[] = raw.tables.map((entry: unknown, index: number) => {
    const name =
      entry && typeof entry === 'object' && typeof (entry as { tableName?: unknown }).tableName === 'string'
        ? (entry as { tableName: string }).tableName
        : undefined;
    const parsed = tableSchema.safeParse(entry, { reportInput: true });
    if (!parsed.success) {
      problems.push(...zodProblems(parsed.error, `tables[${index}]`, { index, name }));
      return undefined;
    }
    const table = parsed.data as TableInput;
    const fromDefaults = new Set(
      Object.keys(defaults).filter((k) => (table as unknown as Record<string, unknown>)[k] === undefined),
    );
    return resolveTable(merge(defaults, table), index, stack, fromDefaults, problems, nameOf);
  });

  // Checks across tables. Entries that failed above still take part when their field parsed.
  const seenNames = new Map<string, number>();
  const seenAliases = new Map<string, number>();
  raw.tables.forEach((entry: unknown, index: number) => {
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

  if (problems.length > 0) throw new ConfigError(problems);
  return resolved as TableConfig[];
}

/**
 * Validates the settings of one table given directly (the args of one component), whose physical
 * names derive from `componentName`.
 */
export function validateTable(input: TableInput, stack: string, componentName: string): TableConfig {
  return validateConfig({ tables: [input] }, stack, () => componentName)[0];
}
