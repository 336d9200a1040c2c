/**
 * The data-protection settings of a table (per table, or for every table in `defaults`): the KMS key
 * of its SNS topics, S3 server access logging of the export bucket, a break-glass role that alone may
 * delete chain objects, and `dr`, a protected copy of the chain in another bucket (another Region or
 * account). Their schema, defaults, the checks across fields, and the resolved settings.
 *
 * A section of the table config (components/config/table.ts): `PROTECTION_SHAPE` joins the per-table
 * schema, `resolveProtection` gives the resolved settings and `protectionProblems` names every problem
 * across fields that needs the stack (tableChecks.ts) (see docs/disaster-recovery.md).
 */
import { z } from 'zod';

/** S3 Object Lock retention modes: GOVERNANCE can be bypassed with a permission, COMPLIANCE by no one. */
export type ObjectLockMode = 'GOVERNANCE' | 'COMPLIANCE';

/** The longest default retention S3 accepts for Object Lock: 100 years, in days. */
export const MAX_OBJECT_LOCK_DAYS = 36_500;

/** Default threshold of the replication lag alarm with replication time control (its 15-minute SLA). */
export const RTC_LAG_ALARM_SECONDS = 900;
/** Default threshold without replication time control (S3 gives no time objective then). */
export const DEFAULT_LAG_ALARM_SECONDS = 3600;

const kmsKeyArn = z.string().regex(/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/);
const roleArn = z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/);
const region = z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/);
/** A bucket name, or its ARN (`arn:aws:s3:::<name>`); S3 bucket ARNs carry no Region or account. */
const bucketRef = z.string().regex(/^(arn:aws[a-z-]*:s3:::)?[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/);

/** What each field accepts, in words, for the config's error messages. */
export const DR_ALLOWED: Record<string, string> = {
  notificationKmsKeyArn: 'a KMS key ARN: arn:aws:kms:<region>:<12-digit account>:key/<key id>',
  accessLogs: 'an object {bucket, prefix?}: the existing bucket that receives S3 server access logs',
  'accessLogs.bucket': 'an S3 bucket name or ARN',
  'accessLogs.prefix': 'at most 900 characters, not starting with "/"',
  breakGlassRoleArn: 'an IAM role ARN: arn:aws:iam::<12-digit account>:role/<name>',
  dr: 'an object {bucket, region?, accountId?, create?, kmsKeyArn?, replicationTimeControl?, objectLock?, lagAlarmSeconds?}',
  'dr.bucket': 'an S3 bucket name or ARN (arn:aws:s3:::<name>)',
  'dr.region': 'an AWS Region name such as eu-west-1',
  'dr.accountId': 'a 12-digit AWS account id',
  'dr.create': 'true or false',
  'dr.kmsKeyArn': 'a KMS key ARN in dr.region: arn:aws:kms:<region>:<12-digit account>:key/<key id>',
  'dr.replicationTimeControl': 'true or false',
  'dr.objectLock': `an object {mode: GOVERNANCE or COMPLIANCE, days: 1..${MAX_OBJECT_LOCK_DAYS}}`,
  'dr.objectLock.mode': 'GOVERNANCE or COMPLIANCE',
  'dr.objectLock.days': `an integer from 1 to ${MAX_OBJECT_LOCK_DAYS}`,
  'dr.lagAlarmSeconds': 'an integer from 60 to 86400',
};

/** `dr`: the protected copy of the chain. Documented with its defaults on `DrInput`. */
export const drSchema = z
  .strictObject({
    bucket: bucketRef.describe(DR_ALLOWED['dr.bucket']),
    region: region.optional().describe(DR_ALLOWED['dr.region']),
    accountId: z
      .string()
      .regex(/^\d{12}$/)
      .optional()
      .describe(DR_ALLOWED['dr.accountId']),
    create: z.boolean().optional().describe(DR_ALLOWED['dr.create']),
    kmsKeyArn: kmsKeyArn.optional().describe(DR_ALLOWED['dr.kmsKeyArn']),
    replicationTimeControl: z.boolean().optional().describe(DR_ALLOWED['dr.replicationTimeControl']),
    objectLock: z
      .strictObject({
        mode: z.enum(['GOVERNANCE', 'COMPLIANCE']).describe(DR_ALLOWED['dr.objectLock.mode']),
        days: z.number().int().min(1).max(MAX_OBJECT_LOCK_DAYS).describe(DR_ALLOWED['dr.objectLock.days']),
      })
      .optional()
      .describe(DR_ALLOWED['dr.objectLock']),
    lagAlarmSeconds: z
      .number()
      .int()
      .min(60)
      .max(86_400)
      .optional()
      .describe(DR_ALLOWED['dr.lagAlarmSeconds']),
  })
  .describe(DR_ALLOWED.dr);

export const accessLogsSchema = z
  .strictObject({
    bucket: bucketRef.describe(DR_ALLOWED['accessLogs.bucket']),
    prefix: z
      .string()
      .max(900)
      .refine((p) => !p.startsWith('/'), { message: 'starts with "/"' })
      .optional()
      .describe(DR_ALLOWED['accessLogs.prefix']),
  })
  .describe(DR_ALLOWED.accessLogs);

/**
 * The fields this section adds to a table's settings (and to `defaults`): one spread in
 * `settingsShape` (components/config/table.ts). `resolveProtection` gives their resolved form.
 */
export const PROTECTION_SHAPE = {
  /**
   * KMS key that encrypts the table's SNS topics.
   * @default a key the stack creates for the table's topics
   */
  notificationKmsKeyArn: kmsKeyArn.optional().describe(DR_ALLOWED.notificationKmsKeyArn),
  /** S3 server access logs of a created export bucket. @default no access logging */
  accessLogs: accessLogsSchema.optional(),
  /** The only role that may delete chain objects of a created bucket. @default no such deny */
  breakGlassRoleArn: roleArn.optional().describe(DR_ALLOWED.breakGlassRoleArn),
  /** A protected copy of the chain (S3 replication). @default none */
  dr: drSchema.optional(),
};

/** The protected copy as written in the stack config. */
export interface DrInput {
  /** The destination bucket: a name or `arn:aws:s3:::<name>`. */
  bucket: string;
  /**
   * The destination bucket's Region.
   * @default the stack's Region
   */
  region?: string;
  /**
   * The account that owns the destination bucket, when it is not the stack's: replicas are then owned
   * by that account, and its owner adds the bucket and key policy statements the stack outputs.
   * @default the stack's account
   */
  accountId?: string;
  /**
   * Create the destination bucket (versioned, encrypted, public access blocked, Object Lock when set).
   * Only in the stack's account.
   * @default false
   */
  create?: boolean;
  /** KMS key in the destination Region for the replicas. Required when the exports use SSE-KMS. */
  kmsKeyArn?: string;
  /**
   * S3 Replication Time Control: a 15-minute replication objective, with its metrics (extra cost).
   * @default false
   */
  replicationTimeControl?: boolean;
  /** Object Lock default retention of a created destination bucket. @default none */
  objectLock?: { mode: ObjectLockMode; days: number };
  /**
   * Replication latency (seconds) above which the replication lag alarm fires.
   * @default 900 with replicationTimeControl, else 3600
   */
  lagAlarmSeconds?: number;
}

/** The protection settings as written in the stack config (they join `TableSettingsInput`). */
export interface DrSettingsInput {
  /**
   * KMS key that encrypts the table's SNS topics. Its key policy must let CloudWatch and the
   * functions' roles use it (the stack outputs the statements).
   * @default a key the stack creates for the table's topics
   */
  notificationKmsKeyArn?: string;
  /**
   * S3 server access logs of a created export bucket, into this existing bucket under `prefix`.
   * @default no access logging
   */
  accessLogs?: { bucket: string; prefix?: string };
  /**
   * The only role that may delete chain objects (exports and the chain manifest) of a created bucket:
   * its bucket policy denies the deletes to everyone else.
   * @default no such deny
   */
  breakGlassRoleArn?: string;
  /** A protected copy of the chain (S3 replication). @default none */
  dr?: DrInput;
}

/** The protected copy with defaults applied. */
export interface DrConfig {
  bucket: string;
  region?: string;
  accountId?: string;
  create: boolean;
  kmsKeyArn?: string;
  replicationTimeControl: boolean;
  objectLock?: { mode: ObjectLockMode; days: number };
  lagAlarmSeconds: number;
}

/** The protection settings with defaults applied (fields of `TableConfig`). */
export interface ProtectionConfig {
  // Present, possibly undefined: spread over the table as written, each replaces the written form.
  notificationKmsKeyArn: string | undefined;
  accessLogs: { bucket: string; prefix: string } | undefined;
  breakGlassRoleArn: string | undefined;
  dr: DrConfig | undefined;
}

/** A bucket name from a name or an ARN. */
export function bucketNameOf(ref: string): string {
  return ref.replace(/^arn:aws[a-z-]*:s3:::/, '');
}

/** Pure: the protection settings of a table whose fields passed the schema. */
export function resolveProtection(input: DrSettingsInput, alias: string): ProtectionConfig {
  const dr = input.dr;
  return {
    notificationKmsKeyArn: input.notificationKmsKeyArn,
    accessLogs: input.accessLogs && {
      bucket: bucketNameOf(input.accessLogs.bucket),
      prefix: input.accessLogs.prefix ?? `s3-access-logs/${alias}/`,
    },
    breakGlassRoleArn: input.breakGlassRoleArn,
    dr: dr && {
      bucket: bucketNameOf(dr.bucket),
      region: dr.region,
      accountId: dr.accountId,
      create: dr.create ?? false,
      kmsKeyArn: dr.kmsKeyArn,
      replicationTimeControl: dr.replicationTimeControl ?? false,
      objectLock: dr.objectLock,
      lagAlarmSeconds:
        dr.lagAlarmSeconds ?? (dr.replicationTimeControl ? RTC_LAG_ALARM_SECONDS : DEFAULT_LAG_ALARM_SECONDS),
    },
  };
}

/** One cross-field problem: the field (relative to the table) and why. */
export interface ProtectionProblem {
  field: string;
  value: unknown;
  message: string;
}

/** What the checks across fields know of the table besides its protection settings. */
export interface ProtectionContext {
  /** The export bucket is created by the stack (not `bucket.existingName`). */
  createsBucket: boolean;
  /** The exports' own KMS key (`kmsKeyArn`), when they use SSE-KMS. */
  exportKmsKeyArn?: string;
  /** The stack's Region, when known. */
  stackRegion?: string;
  /** The stack's account, when known. */
  stackAccountId?: string;
}

const CREATED_ONLY =
  'the stack manages the logging, policy and replication only of an export bucket it creates; ' +
  'for bucket.existingName set it on that bucket (docs/disaster-recovery.md gives the statements)';

/** Pure: every problem across the protection fields (the schema checked each field alone). */
export function protectionProblems(input: DrSettingsInput, ctx: ProtectionContext): ProtectionProblem[] {
  const problems: ProtectionProblem[] = [];
  const report = (field: string, value: unknown, message: string) => problems.push({ field, value, message });
  if (!ctx.createsBucket) {
    if (input.accessLogs) report('accessLogs', input.accessLogs, CREATED_ONLY);
    if (input.breakGlassRoleArn) report('breakGlassRoleArn', input.breakGlassRoleArn, CREATED_ONLY);
    if (input.dr) report('dr', input.dr, CREATED_ONLY);
  }
  const dr = input.dr;
  if (!dr) return problems;
  const drRegion = dr.region ?? ctx.stackRegion;
  if (ctx.exportKmsKeyArn && !dr.kmsKeyArn)
    report(
      'dr.kmsKeyArn',
      undefined,
      'the exports use SSE-KMS (kmsKeyArn), so their replicas need a KMS key in the destination Region; ' +
        `allowed: ${DR_ALLOWED['dr.kmsKeyArn']}`,
    );
  const keyRegion = dr.kmsKeyArn?.split(':')[3];
  if (keyRegion && drRegion && keyRegion !== drRegion)
    report(
      'dr.kmsKeyArn',
      dr.kmsKeyArn,
      `the key is in ${keyRegion}, the destination bucket in ${drRegion}; S3 encrypts replicas only with a key in the destination's Region`,
    );
  const otherAccount = dr.accountId !== undefined && dr.accountId !== ctx.stackAccountId;
  if (dr.create && otherAccount)
    report(
      'dr.create',
      dr.create,
      `the stack cannot create a bucket in account ${dr.accountId}; create it there (versioned) and leave create off`,
    );
  if (dr.objectLock && !dr.create)
    report(
      'dr.objectLock',
      dr.objectLock,
      'Object Lock is set on a destination bucket the stack creates (dr.create: true); for an existing bucket set its default retention there',
    );
  return problems;
}
