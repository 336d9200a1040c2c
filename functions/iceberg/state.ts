/**
 * The Iceberg feed's cursor, kept as JSON in its own SSM parameter and written only under the feed's
 * lease (functions/shared/lease.ts): which epoch's table it builds, the last chain entry merged, which
 * DDL has run, what is in flight (the claim a commit must match), and why it halted.
 *
 * Fields added after the first release (`generation`, `viewGeneration`, `viewColumns`, `rebuildVersion`,
 * the status PAUSED) are optional, so a cursor written before them still parses; absent reads as 0 /
 * null (an absent `viewColumns` rebuilds the view once).
 */
import { z } from 'zod';

export const ICEBERG_STATE_VERSION = 1;

export const ICEBERG_HALT_REASONS = ['NEW_EPOCH', 'ENTRY_MISSING', 'QUERY_FAILED'] as const;
export type IcebergHaltReason = (typeof ICEBERG_HALT_REASONS)[number];

/** What one execution claimed: the statement it runs, and the cursor move its commit makes. */
export interface IcebergClaim {
  executionId: string;
  kind: 'CREATE_TABLE' | 'ADD_COLUMN' | 'VIEW' | 'MERGE';
  epoch: string;
  /** The epoch table's generation (functions/iceberg/sql.ts `epochTableName`); absent is 0. */
  generation?: number;
  /** MERGE: the first and last sequence of the batch. */
  fromSequence?: number;
  toSequence?: number;
  /** Window end of the last export of a MERGE batch (the watermark once committed). */
  to?: string;
  /** ADD_COLUMN: the column added. */
  column?: string;
  /** VIEW: the projection columns the view lists (in the config's order). */
  columns?: string[];
  /** Athena ClientRequestToken: the same statement and attempt give the same token (one query). */
  token: string;
  /** Attempts of this statement that failed with a retryable error. */
  attempt: number;
  startedAt: string;
}

export interface IcebergFeedState {
  schemaVersion: typeof ICEBERG_STATE_VERSION;
  /** PAUSED: the operator's action parameter holds PAUSE, as the last plan read it (`dce iceberg pause`). */
  status: 'ACTIVE' | 'PAUSED' | 'HALTED';
  /** The epoch whose table the feed builds; null before the first plan. */
  epoch: string | null;
  /**
   * Which table of the epoch the feed builds: 0 for `<table>__e<epoch>`, else the version of the
   * operator's REBUILD that started `<table>__e<epoch>_r<generation>`. Absent is 0.
   */
  generation?: number;
  /** Last chain entry merged into that table; -1 before the full export. */
  lastAppliedSequence: number;
  /** The table equals the source as of this time (window end of that entry). */
  watermark: string | null;
  tableCreated: boolean;
  /** Projection columns the epoch's table has. */
  columns: string[];
  /** The epoch the readers' view selects from; null before the first swap. */
  viewEpoch: string | null;
  /** The generation of the table the view selects from. Absent is 0. */
  viewGeneration?: number;
  /** The projection columns the view lists; absent for a view built before they were recorded. */
  viewColumns?: string[];
  /**
   * After an operator's rebuild within the epoch the view selects from: the last entry the old table
   * had merged. The view moves to the new table only once it has merged as far, so readers never see
   * the table go back in time. Absent otherwise.
   */
  viewSequence?: number;
  /** The version of the operator's REBUILD this cursor carried out (functions/shared/consumer/action.ts). */
  rebuildVersion?: number | null;
  /** When the last MERGE was committed: the next waits mergeEveryMinutes from there. */
  lastMergeAt: string | null;
  inProgress: IcebergClaim | null;
  /** The last committed query, for status and metrics. */
  lastQuery: { id: string; dataScannedInBytes: number; at: string } | null;
  halt: { reason: IcebergHaltReason; detail: string; at: string; alerted: boolean } | null;
  updatedAt: string | null;
}

export function initialIcebergState(): IcebergFeedState {
  return {
    schemaVersion: ICEBERG_STATE_VERSION,
    status: 'ACTIVE',
    epoch: null,
    lastAppliedSequence: -1,
    watermark: null,
    tableCreated: false,
    columns: [],
    viewEpoch: null,
    lastMergeAt: null,
    inProgress: null,
    lastQuery: null,
    halt: null,
    updatedAt: null,
  };
}

const ClaimSchema = z.object({
  executionId: z.string(),
  kind: z.enum(['CREATE_TABLE', 'ADD_COLUMN', 'VIEW', 'MERGE']),
  epoch: z.string(),
  generation: z.number().int().min(0).optional(),
  fromSequence: z.number().int().min(0).optional(),
  toSequence: z.number().int().min(0).optional(),
  to: z.string().optional(),
  column: z.string().optional(),
  columns: z.array(z.string()).optional(),
  token: z.string(),
  attempt: z.number().int().min(0),
  startedAt: z.string(),
});

const StateSchema = z.object({
  schemaVersion: z.literal(ICEBERG_STATE_VERSION),
  status: z.enum(['ACTIVE', 'PAUSED', 'HALTED']),
  epoch: z.string().nullable(),
  generation: z.number().int().min(0).optional(),
  lastAppliedSequence: z.number().int().min(-1),
  watermark: z.string().nullable(),
  tableCreated: z.boolean(),
  columns: z.array(z.string()),
  viewEpoch: z.string().nullable(),
  viewGeneration: z.number().int().min(0).optional(),
  viewColumns: z.array(z.string()).optional(),
  viewSequence: z.number().int().min(-1).optional(),
  rebuildVersion: z.number().int().min(1).nullable().optional(),
  lastMergeAt: z.string().nullable(),
  inProgress: ClaimSchema.nullable(),
  lastQuery: z.object({ id: z.string(), dataScannedInBytes: z.number(), at: z.string() }).nullable(),
  halt: z
    .object({
      reason: z.enum(ICEBERG_HALT_REASONS),
      detail: z.string(),
      at: z.string(),
      alerted: z.boolean(),
    })
    .nullable(),
  updatedAt: z.string().nullable(),
});

/** Parses the parameter's value; anything else is an error, never a reset (a reset re-merges everything). */
export function parseIcebergState(text: string): IcebergFeedState {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`Iceberg feed state is not JSON: ${(err as Error).message}`, { cause: err });
  }
  const parsed = StateSchema.safeParse(json);
  if (!parsed.success)
    throw new Error(
      `Iceberg feed state is not valid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  return parsed.data as IcebergFeedState;
}

/** The generation of the table the cursor builds (0 when absent). */
export function generationOf(state: Pick<IcebergFeedState, 'generation'>): number {
  return state.generation ?? 0;
}
