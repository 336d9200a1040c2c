/**
 * The replica's state, kept as JSON in its own SSM parameter: which epoch it follows, the last chain
 * entry applied completely and its window end (the applied watermark), what is being applied, and
 * why it is halted. Only the apply Lambda writes it; the operator's commands write the replica's action
 * parameter instead (functions/replica/action.ts), which the Lambda only reads.
 */
import { z } from 'zod';

export const REPLICA_STATE_VERSION = 1;

/** Why a replica stopped; each is alerted once and waits for the operator. */
export type ReplicaHaltReason =
  /** The source chain started a new epoch (RESET or PITR gap) and `onNewEpoch` is `halt`. */
  | 'NEW_EPOCH'
  /** A committed entry's export files are gone from S3; applying later entries would be wrong. */
  | 'FILES_MISSING'
  /** HEAD is past an entry that cannot be found: the chain manifest is damaged. */
  | 'ENTRY_MISSING'
  /**
   * No longer decided: releases before the import bootstrap ran halted an `import` replica with it.
   * Kept so their states still parse.
   */
  | 'IMPORT_NOT_RUN'
  /** A `write` bootstrap found items in the target: the replica would not equal the source. */
  | 'TARGET_NOT_EMPTY'
  /** The import bootstrap's ImportTable ended FAILED or CANCELLED (its FailureCode in the detail). */
  | 'IMPORT_FAILED'
  /** An `import` bootstrap found its target table already there: ImportTable only creates tables. */
  | 'TARGET_EXISTS'
  /**
   * The target's key schema is not the source's (names, types, HASH/RANGE), or one of its index keys
   * has another type than the source gives that attribute: writes would merge items or be rejected.
   */
  | 'TARGET_SCHEMA_MISMATCH'
  /** The target rejected a write for good (a ValidationException for that write alone). */
  | 'WRITE_REJECTED'
  /**
   * A data file holds more records than one Distributed Map child can apply at the configured rate in
   * the invocations its history allows (functions/replica/workSizing.ts): retrying would never end.
   */
  | 'WORK_UNIT_TOO_LARGE';

/**
 * The ImportTable of an `import` bootstrap, recorded once it is sent and until it ends: the replica has
 * no epoch nor watermark meanwhile. Its epoch, sequence (0) and window end become the replica's when the
 * import completes.
 */
export interface ReplicaImport {
  importArn: string;
  clientToken: string;
  /** The full export imported, and the chain entry it is. */
  exportArn: string;
  epoch: string;
  sequence: number;
  /** The full export's window end: the replica's watermark once the import completes. */
  watermark: string;
  /** Items of the full export: an import that brings fewer halts the replica. */
  itemCount: number;
  startedAt: string;
}

/**
 * Failed attempts at the entry after the last applied (functions/replica/failures.ts): the plan applies
 * it again only from `retryAt` on, so an entry that keeps failing is tried less and less often.
 * Cleared when an entry is recorded applied.
 */
export interface ReplicaEntryFailure {
  epoch: string | null;
  /** The first entry of the apply that failed. */
  sequence: number;
  /** Consecutive failed attempts. */
  failures: number;
  /** The last error, `name: message`, bounded. */
  error: string;
  at: string;
  retryAt: string;
}

/**
 * How far a grouped apply that ran out of its invocation's time got into the entry after the last
 * applied: data files before `file`, and the first `record` records of `file`, are written. The next
 * apply of that entry goes on from there; cleared when the entry is recorded applied.
 */
export interface ReplicaPartial {
  epoch: string;
  sequence: number;
  file: number;
  record: number;
  at: string;
}

export interface ReplicaInProgress {
  executionId: string;
  /** Sequences being applied, in chain order. */
  sequences: number[];
  mode: 'group' | 'distributed';
  startedAt: string;
}

/**
 * ACTIVE applies the chain; HALTED applies nothing until rebuilt (the replica found a condition it
 * cannot get past; `halt` says which). PAUSED is written by no one any more: an earlier release's
 * `dce replica pause` wrote it here; such a state parses, and stays paused until the operator writes
 * the action parameter (functions/replica/action.ts `isLegacyPause`). A pause is now the action PAUSE.
 */
export const REPLICA_STATUSES = ['ACTIVE', 'PAUSED', 'HALTED'] as const;
export type ReplicaStatus = (typeof REPLICA_STATUSES)[number];

export const REPLICA_HALT_REASONS = [
  'NEW_EPOCH',
  'FILES_MISSING',
  'ENTRY_MISSING',
  'IMPORT_NOT_RUN',
  'TARGET_NOT_EMPTY',
  'IMPORT_FAILED',
  'TARGET_EXISTS',
  'TARGET_SCHEMA_MISMATCH',
  'WRITE_REJECTED',
  'WORK_UNIT_TOO_LARGE',
] as const satisfies readonly ReplicaHaltReason[];

export interface ReplicaState {
  schemaVersion: typeof REPLICA_STATE_VERSION;
  status: ReplicaStatus;
  /** Epoch being followed; null before the first entry is applied. */
  epoch: string | null;
  /** Last entry applied completely; -1 before the full export is applied. */
  lastAppliedSequence: number;
  /** Window end of that entry (ISO 8601): the replica equals the source as of this time. */
  watermark: string | null;
  inProgress: ReplicaInProgress | null;
  /**
   * An entry whose Distributed Map failed for a reason other than a missing file: it is applied by
   * Standard children next, since an Express child that ran out of its 5 minutes (a slow or
   * throttled target) would fail the same way every time. Absent in states written before it existed.
   */
  failedDistributedSequence?: number | null;
  /** Failed attempts at the next entry; absent in states written before it existed. */
  failure?: ReplicaEntryFailure | null;
  /**
   * A write the target rejected in a Distributed Map child, left for the step after the Map to halt
   * on (the Map's own failure does not carry its children's errors). Absent when there is none.
   */
  rejectedWrite?: { sequence: number; detail: string } | null;
  /**
   * Why and when it halted. `alerted` is false while the REPLICA_HALTED alert waits to be delivered
   * (sent again by the next execution); absent in states written before it existed.
   */
  halt: {
    reason: ReplicaHaltReason;
    detail: string;
    at: string;
    epoch: string | null;
    alerted?: boolean;
  } | null;
  /**
   * A rebaseline emptying the target before the new epoch's full export (functions/replica/clear.ts):
   * where the scan of the target stands, and how many items it deleted (a page whose save a crash lost
   * is not counted, though deleted). Absent in states written
   * before it existed.
   */
  clearing?: ReplicaClearing | null;
  /** The import bootstrap in flight (functions/replica/bootstrap.ts). Absent in states written before it existed. */
  import?: ReplicaImport | null;
  /** An entry applied in part by an invocation that ran out of time. Absent when there is none. */
  partial?: ReplicaPartial | null;
  updatedAt: string | null;
  /**
   * SSM Version of the action parameter whose REBUILD this state carried out (functions/replica/action.ts);
   * absent or null before any rebuild, and in states written before it existed.
   */
  rebuildVersion?: number | null;
}

export interface ReplicaClearing {
  /** The Scan's LastEvaluatedKey to go on from (DynamoDB JSON); null before the first page. */
  cursor: Record<string, unknown> | null;
  deleted: number;
  startedAt: string;
}

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

const StateSchema = z.object({
  schemaVersion: z.literal(REPLICA_STATE_VERSION),
  status: z.enum(REPLICA_STATUSES),
  epoch: z.string().nullable(),
  lastAppliedSequence: z.number().int().min(-1),
  watermark: z.string().nullable(),
  inProgress: z
    .object({
      executionId: z.string(),
      sequences: z.array(z.number().int().min(0)),
      mode: z.enum(['group', 'distributed']),
      startedAt: z.string(),
    })
    .nullable(),
  halt: z
    .object({
      reason: z.enum(REPLICA_HALT_REASONS),
      detail: z.string(),
      at: z.string(),
      epoch: z.string().nullable(),
      alerted: z.boolean().optional(),
    })
    .nullable(),
  failedDistributedSequence: z.number().int().min(0).nullable().optional(),
  failure: z
    .object({
      epoch: z.string().nullable(),
      sequence: z.number().int().min(0),
      failures: z.number().int().min(1),
      error: z.string(),
      at: z.string(),
      retryAt: z.string(),
    })
    .nullable()
    .optional(),
  rejectedWrite: z
    .object({ sequence: z.number().int().min(0), detail: z.string() })
    .nullable()
    .optional(),
  import: z
    .object({
      importArn: z.string(),
      clientToken: z.string(),
      exportArn: z.string(),
      epoch: z.string(),
      sequence: z.number().int().min(0),
      watermark: z.string(),
      itemCount: z.number().int().min(0),
      startedAt: z.string(),
    })
    .nullable()
    .optional(),
  partial: z
    .object({
      epoch: z.string(),
      sequence: z.number().int().min(0),
      file: z.number().int().min(0),
      record: z.number().int().min(0),
      at: z.string(),
    })
    .nullable()
    .optional(),
  clearing: z
    .object({
      cursor: z.record(z.string(), z.unknown()).nullable(),
      deleted: z.number().int().min(0),
      startedAt: z.string(),
    })
    .nullable()
    .optional(),
  updatedAt: z.string().nullable(),
  rebuildVersion: z.number().int().nullable().optional(),
});

/** Parses the parameter's value; a value that is not a replica state is an error, never a reset. */
export function parseReplicaState(text: string): ReplicaState {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`replica state is not JSON: ${(err as Error).message}`, { cause: err });
  }
  const parsed = StateSchema.safeParse(json);
  if (!parsed.success) {
    throw new Error(
      `replica state is not valid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  return parsed.data as ReplicaState;
}
