/**
 * The chain state: what the export tick keeps in the SSM state parameter between runs.
 *
 * It is small on purpose (a standard parameter holds 4 KB): the committed history lives in the chain
 * manifest in S3; the state holds only the committed watermark and the exports not yet committed
 * (starting, in flight, failed and waiting for a retry, or completed and waiting for an earlier window).
 * Times are whole epoch seconds.
 */
import { z } from 'zod';
import { NotificationFactSchema } from './notificationFacts';
import { MAX_RESET_ID_LENGTH } from './operatorAction';
import { BILLING_SAMPLES } from './costAwareWindow';

/** How many recent durations of each type are kept. */
export const DURATION_SAMPLES = 5;

export const STATE_SCHEMA_VERSION = 1;

/** Largest serialized state a standard SSM parameter accepts. */
export const MAX_STATE_BYTES = 4096;

const seconds = z.number().int().nonnegative();

export const TrackedExportSchema = z.object({
  type: z.enum(['FULL', 'INCREMENTAL']),
  /** Inclusive window start; the export time for a full export. */
  from: seconds,
  /** Exclusive window end; the export time for a full export. */
  to: seconds,
  /** 1 for the first request of this window; a new attempt gets a new client token. */
  attempt: z.number().int().positive(),
  /**
   * STARTING: recorded before the request is sent, so a crash between request and save is repaired by
   * sending the same request (same client token) again. IN_PROGRESS: DynamoDB accepted it.
   * COMPLETED: done, waiting to be committed in order. FAILED: waiting for its retry (`notBefore`).
   */
  status: z.enum(['STARTING', 'IN_PROGRESS', 'COMPLETED', 'FAILED']),
  arn: z.string().optional(),
  /** When the current attempt was requested. */
  startedAt: seconds.optional(),
  /** When to call DescribeExport next. */
  nextCheckAt: seconds.optional(),
  /** DescribeExport calls made for the current attempt. */
  checks: z.number().int().nonnegative(),
  /** Earliest time the next request for this window may be sent (retry back-off, "not yet" answers). */
  notBefore: seconds.optional(),
  completed: z
    .object({
      endTime: seconds,
      itemCount: z.number().int().nonnegative(),
      billedSizeBytes: z.number().int().nonnegative(),
      /** Absent when it is the default `<prefix>/AWSDynamoDB/<exportId>/manifest-summary.json` (saves space). */
      manifestSummaryKey: z.string().optional(),
    })
    .optional(),
  lastError: z.object({ code: z.string(), message: z.string() }).optional(),
  /**
   * Id of the request profile (`ChainState.profiles`) this export was requested with: the bucket,
   * prefix, format and view type of the request, so a resend repeats it exactly and its chain entry
   * describes the export as it was made, whatever the settings say later. Absent in states written
   * before profiles existed (the current settings are used then).
   */
  profile: z.number().int().nonnegative().optional(),
});
export type TrackedExport = z.infer<typeof TrackedExportSchema>;

export const IncidentSchema = z.object({
  /** The cause: kind and subject, e.g. `PITR_GAP`, `EXPORT_FAILED:S3NoSuchBucket`. One alert per key. */
  key: z.string(),
  openedAt: seconds,
  /** When the last alert or reminder was recorded for sending; 0 = none yet. */
  lastNotifiedAt: seconds,
  /** Reminders sent so far (drives the back-off). */
  reminders: z.number().int().nonnegative().default(0),
  occurrences: z.number().int().positive(),
  /** Set when evidence showed the cause gone; resolved after a hold unless it comes back. */
  clearedAt: seconds.optional(),
});
export type Incident = z.infer<typeof IncidentSchema>;

/** What an export request was made with; exports refer to one by id. */
export const RequestProfileSchema = z.object({
  id: z.number().int().nonnegative(),
  bucket: z.string(),
  /** Account that owns the bucket, when it was set. */
  bucketOwnerAccountId: z.string().optional(),
  prefix: z.string(),
  exportFormat: z.enum(['DYNAMODB_JSON', 'ION']),
  exportViewType: z.enum(['NEW_AND_OLD_IMAGES', 'NEW_IMAGE']),
  kmsKeyArn: z.string().optional(),
});
export type RequestProfile = z.infer<typeof RequestProfileSchema>;

export const ChainStateSchema = z.object({
  schemaVersion: z.literal(STATE_SCHEMA_VERSION),
  /** Current epoch id (`YYYYMMDDTHHMMSSZ`), null before the first full export was requested. */
  epoch: z.string().nullable(),
  /** Export time of the epoch's completed full export; null until it completed. */
  chainStart: seconds.nullable(),
  /** End of the contiguous run of committed exports; null until the full export completed. */
  watermark: seconds.nullable(),
  /** Sequence number of the last committed chain entry; -1 before the full export is committed. */
  sequence: z.number().int().min(-1),
  /** Exports not yet committed, ordered by `from`. */
  exports: z.array(TrackedExportSchema),
  incidents: z.array(IncidentSchema),
  /** The execution currently driving the chain; others exit without side effects. */
  driver: z.object({ executionId: z.string(), scheduledAt: seconds, leaseUntil: seconds }).nullable(),
  /** Learned figures that make the timing better: expected export durations, PITR lag. */
  stats: z.object({
    /** Expected durations, learned from the samples below (see durations.ts). */
    fullExportSeconds: z.number().nonnegative(),
    incrementalExportSeconds: z.number().nonnegative(),
    /** The last few observed export durations of each type, oldest first. */
    fullExportSamples: z.array(seconds).max(DURATION_SAMPLES).default([]),
    incrementalExportSamples: z.array(seconds).max(DURATION_SAMPLES).default([]),
    restorableLagSeconds: z.number().nonnegative(),
    /**
     * The last few committed incremental exports: window length and billed bytes, oldest first, what
     * cost-aware windows and `dce status`'s cost estimate are computed from (costAwareWindow.ts).
     */
    billing: z
      .array(z.object({ seconds: z.number().int().positive(), bytes: z.number().int().nonnegative() }))
      .max(BILLING_SAMPLES)
      .default([]),
    /** Length of the windows the tick plans now (absent before it planned one). */
    windowSeconds: seconds.optional(),
  }),
  lastRun: z.object({ at: seconds, outcome: z.string(), error: z.string().optional() }).nullable(),
  /** Request profiles referred to by `exports` (usually one; two while settings change mid-flight). */
  profiles: z.array(RequestProfileSchema).default([]),
  /**
   * Notifications recorded but not yet published, oldest first. Saved with the decisions that caused
   * them, published after the state is saved, removed once SNS accepted them.
   */
  outbox: z.array(NotificationFactSchema).default([]),
  /**
   * Notifications dropped from the bounded outbox so far, of every kind (see outbox.ts): each drop is
   * also counted in the NOTIFICATIONS_DROPPED message sent first once SNS accepts messages again.
   */
  notificationsDropped: z.number().int().nonnegative().default(0),
  /**
   * The RESET carried out last, by its identity (its nonce, or for a plain RESET its version and
   * modification time: see operatorAction.ts). A RESET is consumed by recording it rather than by
   * writing RUN back, so the tick never overwrites what an operator wrote meanwhile. Null before any,
   * and in a state written before it was recorded.
   */
  lastReset: z.string().min(1).max(MAX_RESET_ID_LENGTH).nullable().default(null),
  /** Version of the action parameter at that RESET (all an older state records of it). */
  resetVersion: z.number().int().nullable().default(null),
});
export type ChainState = z.infer<typeof ChainStateSchema>;

export function initialState(): ChainState {
  return {
    schemaVersion: STATE_SCHEMA_VERSION,
    epoch: null,
    chainStart: null,
    watermark: null,
    sequence: -1,
    exports: [],
    incidents: [],
    driver: null,
    stats: {
      fullExportSeconds: 900,
      incrementalExportSeconds: 360,
      fullExportSamples: [],
      incrementalExportSamples: [],
      restorableLagSeconds: 300,
      billing: [],
    },
    lastRun: null,
    profiles: [],
    outbox: [],
    notificationsDropped: 0,
    lastReset: null,
    resetVersion: null,
  };
}

/** The value Pulumi gives the state parameter when it creates it. */
export function initialStateJson(): string {
  return serializeState(initialState());
}

/** The state parameter holds something that is not a valid chain state. Never overwritten. */
export class ChainStateCorruptError extends Error {
  constructor(parameterName: string, problem: string) {
    super(
      `The chain state in SSM parameter ${parameterName} is not valid (${problem}). ` +
        'It was left untouched. Fix the value, or set the action parameter to RESET to start a new epoch with a full export.',
    );
    this.name = 'ChainStateCorruptError';
  }
}

/** The state parameter does not exist (it is created by `pulumi up`). */
export class ChainStateMissingError extends Error {
  constructor(parameterName: string) {
    super(
      `The chain state parameter ${parameterName} does not exist. It is created by 'pulumi up'; ` +
        'run it again to recreate it (a new chain then starts with a full export).',
    );
    this.name = 'ChainStateMissingError';
  }
}

export function parseState(text: string, parameterName: string): ChainState {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ChainStateCorruptError(parameterName, `not JSON: ${(error as Error).message}`);
  }
  const parsed = ChainStateSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .slice(0, 5)
      .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
      .join('; ');
    throw new ChainStateCorruptError(parameterName, problems);
  }
  return parsed.data;
}

/** Compact JSON; throws when it would not fit the parameter. */
export function serializeState(state: ChainState): string {
  const text = JSON.stringify(ChainStateSchema.parse(state));
  if (Buffer.byteLength(text, 'utf8') > MAX_STATE_BYTES) {
    throw new Error(
      `The chain state is ${Buffer.byteLength(text, 'utf8')} bytes, over the ${MAX_STATE_BYTES}-byte limit of a standard SSM parameter`,
    );
  }
  return text;
}
