/**
 * The config of one table: its fields, what each accepts, its defaults, and the rules across its
 * fields. The types of a table as written (`TableInput`) and with every default applied
 * (`TableConfig`) are derived from this schema; nothing else declares them.
 *
 * Adding a section (`iceberg:`, `dr:`, ...):
 *   1. write `components/config/<section>.ts` exporting the section's zod schema: each field with
 *      `.describe('what it accepts, in words')` and its `.default()`, rules across the section's own
 *      fields as a `.superRefine` on its object (they run on the value merged with `defaults`);
 *   2. add one line to `SHARED_SECTIONS` (also allowed in `defaults`, merged key by key with the
 *      table's own) or to `TABLE_SECTIONS` (per table only), e.g. `iceberg: icebergSchema.optional(),`.
 * Error messages, unknown-field hints, the `defaults` schema, the types and the config reference test
 * (tests/unit/deploy/configReference.test.ts, which wants the new keys in docs/deploy.md) follow.
 * Rules that need the stack (its name, Region, the other tables) belong in tableChecks.ts or stack.ts.
 */
import { z } from 'zod';
import {
  defaultLagAlarmMinutes,
  EXPORT_FORMATS,
  EXPORT_VIEW_TYPES,
  ON_PITR_GAP,
} from '../../functions/chain/settings';
import { slug } from '../names';
import { bucketSchema } from './bucket';
import { ALIAS_PATTERN, ALIAS_WORDS, emailList, flag, int, oneOf, tableName, withEveryKey } from './fields';
import { icebergSchema, icebergTableProblems, type IcebergConfig } from './iceberg';
import { PROTECTION_SHAPE, resolveProtection } from './protection';
import { longestWindowMinutes, windowModeShape, WINDOW_MODE_DEFAULTS } from './windowMode';
import { replicasSchema } from './replica';

/** AWS allows at most 50 user tags on a resource. */
export const MAX_TAGS = 50;

/** Retention values CloudWatch Logs accepts (days). */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/** The alias derived from a table name (may be empty, which validation rejects). */
export function deriveAlias(tableName: string): string {
  return slug(tableName);
}

/** Sections allowed in `defaults` as well as in a table; the table's own keys win. */
const SHARED_SECTIONS = {
  /**
   * Destination bucket and prefix.
   * @default a created bucket (kept on `pulumi destroy`), prefix = alias
   */
  bucket: bucketSchema.prefault({}),
};

/** Sections of one table only: never in `defaults`. */
const TABLE_SECTIONS = {
  /**
   * Tables kept equal to this one by applying its chain.
   * @default []
   */
  replicas: replicasSchema,
  /**
   * An Apache Iceberg table kept fresh from this table's chain by Athena MERGE (components/config/iceberg.ts,
   * docs/iceberg.md). Its database and table names default from the stack name, so the stack's checks
   * resolve them (index.ts `parseTable`).
   * @default none
   */
  iceberg: icebergSchema.optional(),
};

/** The per-table fields that `defaults` may set for every table. */
export const settingsShape = {
  /**
   * Extra addresses notified of each completed export (email subscriptions filtered on
   * `status: SUCCESS`; ignored when `notifyOnSuccess` is false).
   * @default []
   */
  successEmails: emailList().default([]),
  /**
   * Addresses notified of failures and warnings, and of CloudWatch alarms.
   * @default []
   */
  failureEmails: emailList().default([]),
  /**
   * Length of a normal incremental export window in minutes, 15..1440.
   * @default 15
   */
  windowMinutes: int(15, 1440).default(15),
  /**
   * Largest window used while catching up a backlog, windowMinutes..1440.
   * @default 1440
   */
  maxCatchUpWindowMinutes: int(15, 1440, 'an integer from windowMinutes to 1440').default(1440),
  /**
   * Format of the exported data files.
   * @default 'DYNAMODB_JSON'
   */
  exportFormat: oneOf(EXPORT_FORMATS).default('DYNAMODB_JSON'),
  /**
   * View type of incremental exports.
   * @default 'NEW_AND_OLD_IMAGES'
   */
  exportViewType: oneOf(EXPORT_VIEW_TYPES).default('NEW_AND_OLD_IMAGES'),
  /**
   * Customer managed KMS key (key ARN) for SSE-KMS of export objects, and for the default encryption
   * of a created bucket.
   * @default SSE-S3 (AES256)
   */
  kmsKeyArn: z
    .string()
    .regex(/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/)
    .optional()
    .describe('a KMS key ARN: arn:aws:kms:<region>:<12-digit account>:key/<key id>'),
  /**
   * Publish a message for every completed export.
   * @default true
   */
  notifyOnSuccess: flag().default(true),
  /**
   * What to do when PITR history has a gap: alert and stop, or start a new epoch.
   * @default 'alert'
   */
  onPitrGap: oneOf(ON_PITR_GAP).default('alert'),
  /**
   * Retention of the Lambda and state machine log groups, in days (a value CloudWatch accepts).
   * @default 30
   */
  logRetentionDays: z
    .number()
    .refine((n) => (LOG_RETENTION_DAYS as readonly number[]).includes(n), { message: 'not a retention' })
    .describe(`one of ${LOG_RETENTION_DAYS.join(', ')}`)
    .default(30),
  /**
   * Tags for every resource of the table that takes tags.
   * @default {}
   */
  tags: z
    .record(
      z
        .string()
        .min(1)
        .max(128)
        .refine((k) => !k.toLowerCase().startsWith('aws:'), {
          message: 'the "aws:" prefix is reserved for AWS',
        }),
      z.string().max(256),
    )
    .describe(
      `a map of at most ${MAX_TAGS} tag keys (1-128 characters, not starting with "aws:") to values (0-256 characters)`,
    )
    .default({}),
  /**
   * Upper bound on incremental exports in flight at once, 1..10.
   * @default 4
   */
  maxInFlight: int(1, 10).default(4),
  /**
   * How far behind LatestRestorableDateTime a window end must stay, 0..3600 s.
   * @default 60
   */
  restorableMarginSeconds: int(0, 3600).default(60),
  /**
   * Chain lag (minutes) above which the lag alarm fires, and past which quiet slow-downs (throttled
   * export requests) are notified. The one lag threshold of a table; its replicas' lag alarms use it too.
   * @default 3 * windowMinutes + 30
   */
  lagAlarmMinutes: int(1, 50400, 'an integer greater than windowMinutes, at most 50400 (35 days)').optional(),
  ...windowModeShape,
  ...PROTECTION_SHAPE,
  ...SHARED_SECTIONS,
};

const tableShape = {
  /** Name of the DynamoDB table (in the stack's account and Region). PITR must be enabled on it. */
  tableName: tableName(),
  /**
   * Short name used in resource names, SSM paths and metric dimensions.
   * @default tableName lower-cased, characters outside [a-z0-9-] replaced by '-', trimmed of '-'
   */
  alias: z.string().regex(ALIAS_PATTERN).optional().describe(ALIAS_WORDS),
  ...settingsShape,
  ...TABLE_SECTIONS,
};

type Fields = z.output<z.ZodObject<typeof tableShape>>;

/** Rules across the fields of one table that need nothing but the table (merged with `defaults`). */
function tableRules(t: Fields, ctx: z.RefinementCtx): void {
  const issue = (path: string, input: unknown, message: string) =>
    ctx.addIssue({ code: 'custom', path: [path], input, message });
  if (t.alias === undefined && deriveAlias(t.tableName) === '')
    ctx.addIssue({
      code: 'custom',
      path: ['alias'],
      input: undefined,
      message: 'the table name gives no usable alias; set one',
    });
  if (t.maxCatchUpWindowMinutes < t.windowMinutes)
    issue(
      'maxCatchUpWindowMinutes',
      t.maxCatchUpWindowMinutes,
      `is less than windowMinutes (${t.windowMinutes})`,
    );
  if (t.lagAlarmMinutes !== undefined && t.lagAlarmMinutes <= t.windowMinutes)
    issue('lagAlarmMinutes', t.lagAlarmMinutes, `is not greater than windowMinutes (${t.windowMinutes})`);
  for (const message of icebergTableProblems({ exportFormat: t.exportFormat, hasIceberg: !!t.iceberg }))
    issue('exportFormat', t.exportFormat, message);
  if (
    t.windowMode === 'costAware' &&
    t.maxStalenessMinutes !== undefined &&
    t.maxStalenessMinutes < t.windowMinutes
  )
    issue('maxStalenessMinutes', t.maxStalenessMinutes, `is less than windowMinutes (${t.windowMinutes})`);
  const tagCount = Object.keys(t.tags).length;
  if (tagCount > MAX_TAGS)
    issue(
      'tags',
      `${tagCount} tags`,
      `AWS allows at most ${MAX_TAGS} tags on a resource (defaults.tags and the table's tags together)`,
    );
}

/** The defaults that depend on other fields: alias, bucket prefix, lag alarm, success addresses. */
function resolveDerived(t: Fields) {
  const alias = t.alias ?? deriveAlias(t.tableName);
  const windowMode = {
    windowMode: t.windowMode,
    maxStalenessMinutes: t.maxStalenessMinutes ?? WINDOW_MODE_DEFAULTS.maxStalenessMinutes,
  };
  return withEveryKey(tableShape, {
    ...t,
    alias,
    bucket: withEveryKey(bucketSchema.shape, { ...t.bucket, prefix: t.bucket.prefix ?? alias }),
    // Nobody is notified of successes when notifyOnSuccess is false (addresses from defaults included).
    successEmails: t.notifyOnSuccess ? t.successEmails : [],
    maxStalenessMinutes: windowMode.maxStalenessMinutes,
    // A cost-aware table's lag grows with its longest window: the default alarm allows for it.
    lagAlarmMinutes:
      t.lagAlarmMinutes ??
      defaultLagAlarmMinutes(t.windowMinutes) +
        longestWindowMinutes(windowMode, t.windowMinutes) -
        t.windowMinutes,
    ...resolveProtection(t, alias),
  });
}

/** One entry of `tables`: parsing it (after merging `defaults`) applies every default. */
export const tableSchema = z.strictObject(tableShape).superRefine(tableRules).transform(resolveDerived);

/** The fields `defaults` may hold (no tableName, alias or per-table section). */
export const settingsSchema = z
  .strictObject(settingsShape)
  .describe('an object with per-table fields (not tableName, alias or replicas)');

/** One entry of `tables` as written in the stack config (before defaults). */
export type TableInput = z.input<typeof tableSchema>;
/** The per-table fields `defaults` may set, as written. */
export type TableSettingsInput = z.input<typeof settingsSchema>;
/**
 * A table's settings with every default applied. `iceberg` is the one section resolved with the stack
 * (its Glue names derive from the stack name): after the schema, `parseTable` resolves it.
 */
export type TableConfig = Omit<z.output<typeof tableSchema>, 'iceberg'> & { iceberg?: IcebergConfig };
/** Where a table's exports go, with every default applied. */
export type BucketConfig = TableConfig['bucket'];
