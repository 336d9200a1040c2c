/**
 * The schema of the stack config and the problems it reports: what each field accepts (in words, for
 * the error messages), the zod schemas of a table and of `defaults`, the types of a table's and a
 * replica's settings with their defaults, and the error that lists every problem. The validation that
 * uses them is in config.ts.
 */
import {
  WINDOW_MODE_ALLOWED,
  windowModeShape,
  type WindowModeConfig,
  type WindowModeInput,
} from './windowModeConfig';
import { z } from 'zod';
import type { ExportFormat, ExportViewType, OnPitrGap } from '../functions/chain/settings';
import { closest, numberHint, type ConfigProblem } from './configChecks';

/** AWS allows at most 50 user tags on a resource. */
export const MAX_TAGS = 50;

/** Retention values CloudWatch Logs accepts (days). */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

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
  'bucket.prefix': '1-1024 characters, not starting or ending with "/", no "//"',
  'bucket.ownerAccountId': 'a 12-digit AWS account id, together with bucket.existingName',
  'bucket.versioning': 'true or false',
  exportFormat: 'DYNAMODB_JSON or ION',
  exportViewType: 'NEW_AND_OLD_IMAGES or NEW_IMAGE',
  kmsKeyArn: 'a KMS key ARN: arn:aws:kms:<region>:<12-digit account>:key/<key id>',
  notifyOnSuccess: 'true or false',
  onPitrGap: 'alert or reset',
  logRetentionDays: `one of ${LOG_RETENTION_DAYS.join(', ')}`,
  tags: `a map of at most ${MAX_TAGS} tag keys (1-128 characters, not starting with "aws:") to values (0-256 characters)`,
  maxInFlight: 'an integer from 1 to 10',
  restorableMarginSeconds: 'an integer from 0 to 3600',
  lagAlarmMinutes: 'an integer greater than windowMinutes, at most 50400 (35 days)',
  ...WINDOW_MODE_ALLOWED,
  replicas:
    'a list of replica tables, each {tableName, region?, roleArn?, alias?, bootstrap?, maxWritesPerSecond?, concurrency?, onNewEpoch?}',
  'replicas.tableName': 'a DynamoDB table name: 3-255 characters a-z, A-Z, 0-9, "_", "-", "."',
  'replicas.region': 'an AWS Region name such as eu-west-1',
  'replicas.roleArn': 'an IAM role ARN: arn:aws:iam::<12-digit account>:role/<name>',
  'replicas.alias':
    'lower-case letters, digits and "-", starting and ending with a letter or digit, at most 20 characters',
  'replicas.bootstrap': 'write (into an existing empty table) or import (ImportTable into a new table)',
  'replicas.maxWritesPerSecond': 'an integer from 1 to 1000000',
  'replicas.concurrency': 'an integer from 1 to 1000',
  'replicas.onNewEpoch': 'halt or rebaseline',
};

/** Fields of one replica; documented with their defaults on `ReplicaInput` (below). */
export const replicaSchema = z
  .strictObject({
    tableName: z
      .string()
      .min(3)
      .max(255)
      .regex(/^[a-zA-Z0-9_.-]+$/),
    region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/),
    roleArn: z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/),
    alias: z
      .string()
      .max(20)
      .regex(/^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/),
    bootstrap: z.enum(['write', 'import']),
    maxWritesPerSecond: z.number().int().min(1).max(1_000_000),
    concurrency: z.number().int().min(1).max(1000),
    onNewEpoch: z.enum(['halt', 'rebaseline']),
  })
  .partial()
  .required({ tableName: true });

const int = (min: number, max: number) => z.number().int().min(min).max(max);
const email = z.email();
/** A list of addresses, each once: a repeated address would be subscribed twice. */
const emails = z.array(email).superRefine((list, ctx) => {
  const seen = new Set<string>();
  list.forEach((address, index) => {
    const key = address.toLowerCase();
    if (seen.has(key))
      ctx.addIssue({
        code: 'custom',
        path: [index],
        input: address,
        message: `lists ${address} a second time`,
      });
    seen.add(key);
  });
});

export const bucketSchema = z.strictObject({
  existingName: z.string().superRefine((name, ctx) => {
    const problems = bucketNameProblems(name);
    if (problems.length > 0) ctx.addIssue({ code: 'custom', message: problems.join(', ') });
  }),
  prefix: z
    .string()
    .min(1)
    .max(1024)
    .refine((p) => !p.startsWith('/') && !p.endsWith('/'), { message: 'starts or ends with "/"' })
    // S3 keeps "a//b" as a different key from "a/b": tools that normalise paths would miss the exports.
    .refine((p) => !p.includes('//'), { message: 'has an empty folder ("//")' }),
  ownerAccountId: z.string().regex(/^\d{12}$/),
  versioning: z.boolean(),
});

export const settingsShape = {
  successEmails: emails,
  failureEmails: emails,
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
  tags: z.record(
    z
      .string()
      .min(1)
      .max(128)
      .refine((k) => !k.toLowerCase().startsWith('aws:'), {
        message: 'the "aws:" prefix is reserved for AWS',
      }),
    z.string().max(256),
  ),
  maxInFlight: int(1, 10),
  restorableMarginSeconds: int(0, 3600),
  lagAlarmMinutes: int(1, 50400),
  ...windowModeShape,
};

export const defaultsSchema = z.strictObject(settingsShape).partial();
export const tableSchema = z
  .strictObject({
    ...settingsShape,
    tableName: z
      .string()
      .min(3)
      .max(255)
      .regex(/^[a-zA-Z0-9_.-]+$/),
    alias: z.string().regex(/^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/),
    // Per table only (never in defaults): a replica names one target table.
    replicas: z.array(replicaSchema),
  })
  .partial()
  .required({ tableName: true });

// ---- replicas ----------------------------------------------------------------------------------

/**
 * One replica of a table: another DynamoDB table, in this or another account and Region, kept equal
 * to the source as of the chain's watermark by applying the chain (see docs/replica.md).
 */
export interface ReplicaInput {
  /** Name of the target table. */
  tableName: string;
  /**
   * Region of the target table.
   * @default the stack's Region
   */
  region?: string;
  /**
   * Role to assume for writes to the target (a role in the target account, trusting the apply
   * Lambda's role). Without it the apply Lambda's own role writes.
   * @default none (same account)
   */
  roleArn?: string;
  /**
   * Short name used in the replica's resource names, at most 20 characters.
   * @default the target table name, lower-cased, characters outside [a-z0-9-] replaced by '-'
   */
  alias?: string;
  /**
   * How the replica starts: `write` applies the full export with BatchWriteItem into an existing,
   * empty table; `import` has DynamoDB ImportTable create a new table from the full export (that
   * table is then not managed by Pulumi).
   * @default 'write'
   */
  bootstrap?: 'write' | 'import';
  /**
   * Upper bound on items written per second, per worker, 1..1,000,000.
   * @default 1000
   */
  maxWritesPerSecond?: number;
  /**
   * Distributed Map children applying data files at once, 1..1000.
   * @default 10
   */
  concurrency?: number;
  /**
   * What happens when the source chain starts a new epoch: `halt` (one alert, no writes until the
   * operator rebuilds) or `rebaseline` (empty the target, then apply the new epoch's full export and
   * follow it, with no alert; see docs/replica.md, "New epoch").
   * @default 'halt'
   */
  onNewEpoch?: 'halt' | 'rebaseline';
}

/** A replica with every default applied. */
export interface ReplicaConfig {
  tableName: string;
  region?: string;
  roleArn?: string;
  alias: string;
  bootstrap: 'write' | 'import';
  maxWritesPerSecond: number;
  concurrency: number;
  onNewEpoch: 'halt' | 'rebaseline';
}

/** Defaults of the replica fields. */
export const REPLICA_DEFAULTS = {
  bootstrap: 'write' as const,
  maxWritesPerSecond: 1000,
  concurrency: 10,
  onNewEpoch: 'halt' as const,
};

// ---- tables --------------------------------------------------------------------------------------

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
export interface TableSettingsInput extends WindowModeInput {
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
export interface TableConfig extends WindowModeConfig {
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

// ---- errors --------------------------------------------------------------------------------------

export type { ConfigProblem };

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

export function zodProblems(
  error: z.ZodError,
  base: string,
  table: ConfigProblem['table'],
  coerced: Map<string, unknown> = new Map(),
): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      const input = (issue as { input?: Record<string, unknown> }).input ?? {};
      for (const key of issue.keys) {
        const where = fieldKey(issue.path);
        const known =
          where === 'bucket'
            ? Object.keys(bucketSchema.shape)
            : where === 'replicas'
              ? Object.keys(replicaSchema.shape)
              : base === 'defaults'
                ? Object.keys(settingsShape)
                : [...Object.keys(settingsShape), 'tableName', 'alias', 'replicas'];
        const hint = closest(key, known);
        out.push({
          path: pathText(base, [...issue.path, key]),
          table,
          value: input[key],
          message: `unknown field${hint ? `; did you mean ${hint}?` : ''}; allowed fields: ${known.join(', ')}`,
        });
      }
      continue;
    }
    const key = fieldKey(issue.path);
    const allowed = ALLOWED[key] ?? ALLOWED[key.split('.')[0]] ?? issue.message;
    const nested = (issue as { issues?: { message: string }[] }).issues ?? [];
    const detail =
      issue.code === 'custom'
        ? `${issue.message}; `
        : issue.code === 'invalid_key' && nested.length > 0
          ? `${nested.map((i) => i.message).join(', ')}; `
          : '';
    const path = pathText(base, issue.path);
    // A bad map key (a tag key) is reported with the key as the value; the number hint is about values.
    const badKey = issue.code === 'invalid_key';
    const stored = !badKey && coerced.has(path);
    const value = badKey
      ? issue.path[issue.path.length - 1]
      : stored
        ? coerced.get(path)
        : (issue as { input?: unknown }).input;
    out.push({
      path,
      table,
      value,
      message: `${detail}allowed: ${allowed}${stored ? `. ${numberHint(path, value)}` : ''}`,
    });
  }
  return out;
}
