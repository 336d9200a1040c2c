/**
 * What the Iceberg feed does next, and how a finished or failed query moves its cursor (pure; the
 * Lambda in functions/iceberg/handler.ts does the I/O).
 *
 * Plan rules, in order:
 * 1. A halted feed stays halted until the operator rebuilds it (docs/iceberg.md).
 * 2. Another execution's claim younger than the lease is left alone (BUSY).
 * 3. A new epoch in the chain halts the feed (`onNewEpoch: halt`) or starts a new table for it
 *    (`rebuild`): the view keeps selecting the old table until the new one holds the new full export.
 * 4. DDL first: the epoch's table (CREATE TABLE IF NOT EXISTS), then one ADD COLUMNS per projection the
 *    config gained.
 * 5. Only committed entries (at or below HEAD), strictly in order from the one after the last merged;
 *    a missing entry below HEAD halts, never skips. The full export is merged alone, at once; then the
 *    view is swapped to this epoch's table, and built again whenever the projection columns it lists
 *    differ from the config's (a column added or dropped reaches the readers).
 * 6. Incremental exports wait until `mergeEveryMinutes` have passed since the last merge, then up to
 *    `maxExportsPerMerge` consecutive ones are merged in one statement.
 * 7. A claim left by a crash (the query ran, its commit did not) is planned again with the same batch,
 *    so its ClientRequestToken is the same and Athena answers with the query already run.
 *
 * Every statement names the table it runs on by epoch and generation (`epochTableName`): after the
 * operator's rebuild (functions/iceberg/action.ts) the cursor builds a new generation of the epoch's
 * table, and the view is swapped to it once it has merged as far as the old table had (`viewSequence`),
 * so readers never see the lake go back in time; after a new epoch, once it holds the full export.
 * The operator's PAUSE is decided before planning (functions/iceberg/action.ts).
 */
import type { ConsumerChainView, ConsumerEntry } from '../shared/consumer/chainReading';
import { claimIsLive as consumerClaimIsLive } from '../shared/consumer/claim';
import { newEpochDecision } from '../shared/consumer/newEpoch';
import { generationOf, type IcebergClaim, type IcebergFeedState, type IcebergHaltReason } from './state';

/** A committed chain entry, as the plan needs it (functions/shared/consumer/chainReading.ts). */
export type IcebergEntry = Omit<ConsumerEntry, 'itemCount'>;

export type IcebergChainView = ConsumerChainView<IcebergEntry>;

export interface IcebergPlanContext {
  executionId: string;
  /** Epoch seconds. */
  now: number;
  leaseSeconds: number;
  onNewEpoch: 'rebuild' | 'halt';
  mergeEveryMinutes: number;
  maxExportsPerMerge: number;
  /** The projection columns the config asks for, in order. */
  columns: string[];
}

/** The statement a plan asks for, before its token is made. */
export type IcebergStatement = Omit<IcebergClaim, 'executionId' | 'token' | 'attempt' | 'startedAt'>;

export type IcebergPlan =
  | { action: 'IDLE'; reason: string }
  | { action: 'BUSY'; executionId: string }
  | { action: 'HALTED'; reason: IcebergHaltReason }
  | { action: 'HALT'; reason: IcebergHaltReason; detail: string }
  | { action: 'REBUILD'; fromEpoch: string; toEpoch: string }
  | { action: 'DDL'; statement: IcebergStatement }
  | { action: 'MERGE'; statement: IcebergStatement; entries: IcebergEntry[] };

function claimIsLive(claim: IcebergClaim, now: number, leaseSeconds: number): boolean {
  return consumerClaimIsLive(Date.parse(claim.startedAt) / 1000, now, leaseSeconds);
}

/** A statement's `generation` field: absent for generation 0, so its token stays what it always was. */
function generationField(generation: number): { generation?: number } {
  return generation === 0 ? {} : { generation };
}

function sameColumns(a: string[] | undefined, b: string[] | undefined): boolean {
  return a !== undefined && b !== undefined && a.length === b.length && a.every((c, i) => c === b[i]);
}

function sameStatement(a: IcebergStatement, b: IcebergStatement): boolean {
  return (
    a.kind === b.kind &&
    a.epoch === b.epoch &&
    generationOf(a) === generationOf(b) &&
    a.fromSequence === b.fromSequence &&
    a.toSequence === b.toSequence &&
    a.column === b.column &&
    (a.kind !== 'VIEW' || sameColumns(a.columns, b.columns))
  );
}

/** The attempt a statement runs as: a claim left for the same statement keeps its attempt (and token). */
export function attemptFor(state: IcebergFeedState, statement: IcebergStatement): number {
  const claim = state.inProgress;
  return claim && sameStatement(claim, statement) ? claim.attempt : 0;
}

/** Up to `max` consecutive committed entries from the first, none FULL (a FULL export is merged alone). */
function incrementalRun(entries: IcebergEntry[], max: number, upTo: number): IcebergEntry[] {
  const run: IcebergEntry[] = [];
  for (const e of entries) {
    if (run.length >= max || e.sequence > upTo || e.type !== 'INCREMENTAL') break;
    if (run.length > 0 && e.sequence !== run[run.length - 1].sequence + 1) break;
    run.push(e);
  }
  return run;
}

function mergeOf(epoch: string, generation: number, entries: IcebergEntry[]): IcebergPlan {
  const last = entries[entries.length - 1];
  return {
    action: 'MERGE',
    statement: {
      kind: 'MERGE',
      epoch,
      ...generationField(generation),
      fromSequence: entries[0].sequence,
      toSequence: last.sequence,
      to: last.to,
    },
    entries,
  };
}

export function planIceberg(
  state: IcebergFeedState,
  chain: IcebergChainView,
  context: IcebergPlanContext,
): IcebergPlan {
  if (state.status === 'HALTED') return { action: 'HALTED', reason: state.halt?.reason ?? 'QUERY_FAILED' };
  const claim = state.inProgress;
  if (
    claim &&
    claim.executionId !== context.executionId &&
    claimIsLive(claim, context.now, context.leaseSeconds)
  )
    return { action: 'BUSY', executionId: claim.executionId };
  const newEpoch = newEpochDecision(state, chain.currentEpoch, {
    startOver: context.onNewEpoch === 'rebuild',
    holder: 'the lake',
    stops: 'merges',
  });
  if (newEpoch?.kind === 'START_OVER')
    return { action: 'REBUILD', fromEpoch: newEpoch.fromEpoch, toEpoch: newEpoch.toEpoch };
  if (newEpoch?.kind === 'HALT') return { action: 'HALT', reason: 'NEW_EPOCH', detail: newEpoch.detail };
  const epoch = state.epoch ?? chain.currentEpoch;
  if (epoch === '') return { action: 'IDLE', reason: 'the chain has no epoch yet' };
  const generation = generationOf(state);
  const table = { epoch, ...generationField(generation) };
  if (!state.tableCreated) return { action: 'DDL', statement: { kind: 'CREATE_TABLE', ...table } };
  const missing = context.columns.find((c) => !state.columns.includes(c));
  if (missing !== undefined)
    return { action: 'DDL', statement: { kind: 'ADD_COLUMN', ...table, column: missing } };
  // The view lists its columns: it is built again when they are not the config's (absent: built once).
  // After a rebuild within the view's epoch it moves to the new table only once that has merged as far
  // as the old one had, so readers never see the lake go back in time.
  const newTableBehind =
    state.viewEpoch === epoch &&
    (state.viewGeneration ?? 0) !== generation &&
    state.lastAppliedSequence < (state.viewSequence ?? -1);
  if (
    state.lastAppliedSequence >= 0 &&
    !newTableBehind &&
    (state.viewEpoch !== epoch ||
      (state.viewGeneration ?? 0) !== generation ||
      !sameColumns(state.viewColumns, context.columns))
  )
    return { action: 'DDL', statement: { kind: 'VIEW', ...table, columns: [...context.columns] } };
  if (!chain.head) return { action: 'IDLE', reason: `epoch ${epoch} has no committed entry yet` };
  const expected = state.lastAppliedSequence + 1;
  if (chain.head.lastSequence < expected)
    return { action: 'IDLE', reason: `up to date at sequence ${state.lastAppliedSequence}` };
  const first = chain.entries.find((e) => e.sequence >= expected);
  if (!first || first.sequence !== expected)
    return {
      action: 'HALT',
      reason: 'ENTRY_MISSING',
      detail: `chain entry ${expected} of epoch ${epoch} is missing while HEAD is at sequence ${chain.head.lastSequence}`,
    };
  if (first.type === 'FULL') return mergeOf(epoch, generation, [first]);
  const committed = chain.entries.filter((e) => e.sequence >= expected);
  // A batch whose query may have run already is planned again exactly (same token).
  if (
    claim?.kind === 'MERGE' &&
    claim.epoch === epoch &&
    generationOf(claim) === generation &&
    claim.fromSequence === expected
  ) {
    const again = incrementalRun(committed, claim.toSequence! - expected + 1, claim.toSequence!);
    if (again.length === claim.toSequence! - expected + 1) return mergeOf(epoch, generation, again);
  }
  const last = state.lastMergeAt === null ? undefined : Date.parse(state.lastMergeAt) / 1000;
  if (last !== undefined && context.now - last < context.mergeEveryMinutes * 60)
    return {
      action: 'IDLE',
      reason: `next merge at ${new Date((last + context.mergeEveryMinutes * 60) * 1000).toISOString()} (mergeEveryMinutes ${context.mergeEveryMinutes})`,
    };
  return mergeOf(
    epoch,
    generation,
    incrementalRun(committed, context.maxExportsPerMerge, chain.head.lastSequence),
  );
}

/** Thrown when a commit no longer matches the cursor (another execution moved it): nothing is written. */
export class IcebergCommitConflict extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IcebergCommitConflict';
  }
}

/** What a finished query reports. */
export interface QueryResult {
  queryExecutionId: string;
  dataScannedInBytes: number;
}

function committedAlready(state: IcebergFeedState, claim: IcebergClaim, columns: string[]): boolean {
  if (state.epoch !== claim.epoch || generationOf(state) !== generationOf(claim)) return false;
  switch (claim.kind) {
    case 'MERGE':
      return state.lastAppliedSequence >= claim.toSequence!;
    case 'CREATE_TABLE':
      return state.tableCreated;
    case 'ADD_COLUMN':
      return state.columns.includes(claim.column!) || !columns.includes(claim.column!);
    default:
      return (
        state.viewEpoch === claim.epoch &&
        (state.viewGeneration ?? 0) === generationOf(claim) &&
        sameColumns(state.viewColumns, claim.columns ?? columns)
      );
  }
}

/**
 * The cursor after the claimed statement succeeded: a compare-and-set (the claim must still be the
 * state's, and a MERGE must start right after the last merged entry). A commit repeated after it was
 * written changes nothing.
 */
export function commitClaim(
  state: IcebergFeedState,
  claim: IcebergClaim,
  result: QueryResult,
  context: { now: number; columns: string[] },
): IcebergFeedState {
  const at = new Date(context.now * 1000).toISOString();
  if (state.inProgress?.token !== claim.token) {
    if (state.inProgress === null && committedAlready(state, claim, context.columns)) return state;
    throw new IcebergCommitConflict(
      `the cursor no longer holds this execution's claim (${claim.kind} ${claim.fromSequence ?? ''}); another execution moved it`,
    );
  }
  const next: IcebergFeedState = {
    ...state,
    epoch: claim.epoch,
    inProgress: null,
    lastQuery: { id: result.queryExecutionId, dataScannedInBytes: result.dataScannedInBytes, at },
    updatedAt: at,
  };
  switch (claim.kind) {
    case 'CREATE_TABLE':
      return { ...next, tableCreated: true, columns: [...context.columns] };
    case 'ADD_COLUMN':
      return { ...next, columns: [...state.columns, claim.column!] };
    case 'VIEW': {
      // The view is on this table now: nothing holds it any longer.
      const { viewSequence: _held, ...moved } = next;
      return {
        ...moved,
        viewEpoch: claim.epoch,
        viewGeneration: generationOf(claim),
        viewColumns: [...(claim.columns ?? context.columns)],
      };
    }
    case 'MERGE':
      if (state.lastAppliedSequence !== claim.fromSequence! - 1)
        throw new IcebergCommitConflict(
          `the batch starts at ${claim.fromSequence} but the cursor is at ${state.lastAppliedSequence}`,
        );
      // The bootstrap does not start the mergeEveryMinutes wait: the first incrementals follow at once.
      return {
        ...next,
        lastAppliedSequence: claim.toSequence!,
        watermark: claim.to!,
        lastMergeAt: claim.fromSequence === 0 ? state.lastMergeAt : at,
      };
  }
}

/**
 * The text of a failed task: the query's StateChangeReason when the cause is a QueryExecution (what a
 * failed `.sync` Athena task carries), else the error and cause as they are.
 */
export function failureText(error: { Error?: string; Cause?: string }): string {
  try {
    const cause = JSON.parse(error.Cause ?? '') as {
      QueryExecution?: { Status?: { StateChangeReason?: string } };
    };
    const reason = cause.QueryExecution?.Status?.StateChangeReason;
    if (typeof reason === 'string') return `${error.Error ?? 'Error'}: ${reason}`;
  } catch {
    // not JSON: the cause as it is
  }
  return `${error.Error ?? 'Error'}: ${error.Cause ?? ''}`;
}

/** Failed queries retried before the feed halts. */
export const MAX_QUERY_ATTEMPTS = 5;

/** Errors worth another attempt: Iceberg commit conflicts (a compaction) and throttling. */
export function isRetryableQueryError(text: string): boolean {
  return /ICEBERG_COMMIT_ERROR|TooManyRequests|Throttl|Rate exceeded/i.test(text);
}

/**
 * The cursor after the claimed statement failed: a retryable error bumps the attempt (a new token, so
 * Athena runs a new query) and waits with backoff; any other error, or too many, halts the feed.
 */
export function failClaim(
  state: IcebergFeedState,
  claim: IcebergClaim,
  errorText: string,
  now: number,
): { state: IcebergFeedState; retryInSeconds?: number } {
  const at = new Date(now * 1000).toISOString();
  if (state.inProgress?.token !== claim.token) return { state };
  const attempt = claim.attempt + 1;
  if (isRetryableQueryError(errorText) && attempt < MAX_QUERY_ATTEMPTS)
    return {
      state: { ...state, inProgress: { ...claim, attempt }, updatedAt: at },
      retryInSeconds: Math.min(900, 30 * 2 ** claim.attempt),
    };
  return {
    state: {
      ...state,
      status: 'HALTED',
      inProgress: null,
      halt: {
        reason: 'QUERY_FAILED',
        detail: `${claim.kind}${claim.fromSequence === undefined ? '' : ` of entries ${claim.fromSequence}-${claim.toSequence}`} failed after ${attempt} attempt${attempt === 1 ? '' : 's'}: ${errorText.slice(0, 600)}`,
        at,
        alerted: false,
      },
      updatedAt: at,
    },
  };
}
