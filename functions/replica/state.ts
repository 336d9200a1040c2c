/**
 * The replica's state, kept as JSON in its own SSM parameter: which epoch it follows, the last chain
 * entry applied completely and its window end (the applied watermark), what is being applied, and
 * why it is halted. Only the apply Lambda writes it; the operator's commands write the replica's action
 * parameter instead (functions/replica/action.ts), which the Lambda only reads.
 *
 * The schema is the one source: the types are derived from it. Times are whole epoch seconds, as in
 * the chain's state. Version 1 wrote them as ISO 8601 text: such a state still parses (each time is
 * read as its epoch second) and is written back as version 2.
 */
import { z } from 'zod';
import { toSeconds } from '../shared/time';

export const REPLICA_STATE_VERSION = 2;

/** Why a replica stopped; each is alerted once and waits for the operator. */
export const REPLICA_HALT_REASONS = [
  /** The source chain started a new epoch (RESET or PITR gap) and `onNewEpoch` is `halt`. */
  'NEW_EPOCH',
  /** A committed entry's export files are gone from S3; applying later entries would be wrong. */
  'FILES_MISSING',
  /** HEAD is past an entry that cannot be found: the chain manifest is damaged. */
  'ENTRY_MISSING',
  /**
   * No longer decided: releases before the import bootstrap ran halted an `import` replica with it.
   * Kept so their states still parse.
   */
  'IMPORT_NOT_RUN',
  /** A `write` bootstrap found items in the target: the replica would not equal the source. */
  'TARGET_NOT_EMPTY',
  /** The import bootstrap's ImportTable ended FAILED or CANCELLED (its FailureCode in the detail). */
  'IMPORT_FAILED',
  /** An `import` bootstrap found its target table already there: ImportTable only creates tables. */
  'TARGET_EXISTS',
  /**
   * The target's key schema is not the source's (names, types, HASH/RANGE), or one of its index keys
   * has another type than the source gives that attribute: writes would merge items or be rejected.
   */
  'TARGET_SCHEMA_MISMATCH',
  /** The target rejected a write for good (a ValidationException for that write alone). */
  'WRITE_REJECTED',
  /**
   * A data file holds more records than one Distributed Map child can apply at the configured rate in
   * the invocations its history allows (functions/replica/workSizing.ts): retrying would never end.
   */
  'WORK_UNIT_TOO_LARGE',
] as const;
export type ReplicaHaltReason = (typeof REPLICA_HALT_REASONS)[number];

/**
 * ACTIVE applies the chain; HALTED applies nothing until rebuilt (the replica found a condition it
 * cannot get past; `halt` says which). PAUSED is written by no one any more: an earlier release's
 * `dce replica pause` wrote it here; such a state parses, and stays paused until the operator writes
 * the action parameter (functions/replica/action.ts `isLegacyPause`). A pause is now the action PAUSE.
 */
export const REPLICA_STATUSES = ['ACTIVE', 'PAUSED', 'HALTED'] as const;
export type ReplicaStatus = (typeof REPLICA_STATUSES)[number];

/** A time in whole epoch seconds; ISO 8601 text (version 1 of the state) is read as its second. */
const seconds = z.union([z.number().int(), z.string()]).transform((value, ctx) => {
  if (typeof value === 'number') return value;
  const parsed = toSeconds(value);
  if (parsed === undefined) {
    ctx.addIssue({ code: 'custom', message: `not a time: ${JSON.stringify(value)}` });
    return z.NEVER;
  }
  return parsed;
});
const sequence = z.number().int().min(0);

const InProgressSchema = z.object({
  executionId: z.string(),
  /** Sequences being applied, in chain order. */
  sequences: z.array(sequence),
  mode: z.enum(['group', 'distributed']),
  startedAt: seconds,
});
export type ReplicaInProgress = z.infer<typeof InProgressSchema>;

/**
 * Failed attempts at the entry after the last applied (functions/replica/failures.ts): the plan applies
 * it again only from `retryAt` on, so an entry that keeps failing is tried less and less often.
 * Cleared when an entry is recorded applied.
 */
const EntryFailureSchema = z.object({
  epoch: z.string().nullable(),
  /** The first entry of the apply that failed. */
  sequence,
  /** Consecutive failed attempts. */
  failures: z.number().int().min(1),
  /** The last error, `name: message`, bounded. */
  error: z.string(),
  at: seconds,
  retryAt: seconds,
});
export type ReplicaEntryFailure = z.infer<typeof EntryFailureSchema>;

/**
 * The ImportTable of an `import` bootstrap, recorded once it is sent and until it ends: the replica has
 * no epoch nor watermark meanwhile. Its epoch, sequence (0) and window end become the replica's when the
 * import completes.
 */
const ImportSchema = z.object({
  importArn: z.string(),
  clientToken: z.string(),
  /** The full export imported, and the chain entry it is. */
  exportArn: z.string(),
  epoch: z.string(),
  sequence,
  /** The full export's window end: the replica's watermark once the import completes. */
  watermark: seconds,
  /** Items of the full export: an import that brings fewer halts the replica. */
  itemCount: z.number().int().min(0),
  startedAt: seconds,
});
export type ReplicaImport = z.infer<typeof ImportSchema>;

/**
 * How far a grouped apply that ran out of its invocation's time got into the entry after the last
 * applied: data files before `file`, and the first `record` records of `file`, are written. The next
 * apply of that entry goes on from there; cleared when the entry is recorded applied.
 */
const PartialSchema = z.object({
  epoch: z.string(),
  sequence,
  file: z.number().int().min(0),
  record: z.number().int().min(0),
  at: seconds,
});
export type ReplicaPartial = z.infer<typeof PartialSchema>;

/**
 * A rebaseline emptying the target before the new epoch's full export (functions/replica/clear.ts):
 * where the scan of the target stands, and how many items it deleted (a page whose save a crash lost
 * is not counted, though deleted).
 */
const ClearingSchema = z.object({
  /** The Scan's LastEvaluatedKey to go on from (DynamoDB JSON); null before the first page. */
  cursor: z.record(z.string(), z.unknown()).nullable(),
  deleted: z.number().int().min(0),
  startedAt: seconds,
});
export type ReplicaClearing = z.infer<typeof ClearingSchema>;

/**
 * Why and when it halted. `alerted` is false while the REPLICA_HALTED alert waits to be delivered
 * (sent again by the next execution); absent in states written before it existed.
 */
const HaltSchema = z.object({
  reason: z.enum(REPLICA_HALT_REASONS),
  detail: z.string(),
  at: seconds,
  epoch: z.string().nullable(),
  alerted: z.boolean().optional(),
});
export type ReplicaHalt = z.infer<typeof HaltSchema>;

/** Fields added after the first release are optional: states written before them still parse. */
export const ReplicaStateSchema = z.object({
  schemaVersion: z
    .union([z.literal(1), z.literal(REPLICA_STATE_VERSION)])
    .transform(() => REPLICA_STATE_VERSION),
  status: z.enum(REPLICA_STATUSES),
  /** Epoch being followed; null before the first entry is applied. */
  epoch: z.string().nullable(),
  /** Last entry applied completely; -1 before the full export is applied. */
  lastAppliedSequence: z.number().int().min(-1),
  /** Window end of that entry: the replica equals the source as of this time. */
  watermark: seconds.nullable(),
  inProgress: InProgressSchema.nullable(),
  halt: HaltSchema.nullable(),
  /**
   * An entry whose Distributed Map failed for a reason other than a missing file: it is applied by
   * Standard children next, since an Express child that ran out of its 5 minutes (a slow or
   * throttled target) would fail the same way every time.
   */
  failedDistributedSequence: sequence.nullable().optional(),
  /** Failed attempts at the next entry. */
  failure: EntryFailureSchema.nullable().optional(),
  /**
   * A write the target rejected in a Distributed Map child, left for the step after the Map to halt
   * on (the Map's own failure does not carry its children's errors).
   */
  rejectedWrite: z.object({ sequence, detail: z.string() }).nullable().optional(),
  /** The import bootstrap in flight (functions/replica/bootstrap.ts). */
  import: ImportSchema.nullable().optional(),
  /** An entry applied in part by an invocation that ran out of time. */
  partial: PartialSchema.nullable().optional(),
  clearing: ClearingSchema.nullable().optional(),
  updatedAt: seconds.nullable(),
  /**
   * SSM Version of the action parameter whose REBUILD this state carried out (functions/replica/action.ts);
   * absent or null before any rebuild.
   */
  rebuildVersion: z.number().int().nullable().optional(),
});
export type ReplicaState = z.infer<typeof ReplicaStateSchema>;

/**
 * What a claim compares besides the cursor's own fields (functions/shared/consumer/claim.ts
 * `unchangedSincePlanned`): a rebuild carried out, or an import started or recorded, since the plan.
 */
export const REPLICA_CLAIM_ALSO_COMPARES = ['rebuildVersion', 'import'] as const;

export function initialReplicaState(): ReplicaState {
  return {
    schemaVersion: REPLICA_STATE_VERSION,
    status: 'ACTIVE',
    epoch: null,
    lastAppliedSequence: -1,
    watermark: null,
    inProgress: null,
    halt: null,
    updatedAt: null,
  };
}

/** Parses the parameter's value; a value that is not a replica state is an error, never a reset. */
export function parseReplicaState(text: string): ReplicaState {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`replica state is not JSON: ${(err as Error).message}`, { cause: err });
  }
  const parsed = ReplicaStateSchema.safeParse(json);
  if (!parsed.success) {
    throw new Error(
      `replica state is not valid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  return parsed.data;
}

/** The parameter's value for `state`, stamped with the time it is written (epoch milliseconds). */
export function serializeReplicaState(state: ReplicaState, nowMs: number): string {
  return JSON.stringify({ ...state, updatedAt: Math.floor(nowMs / 1000) });
}
