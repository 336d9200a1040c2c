/**
 * The `import` bootstrap's decisions (pure): what the replica does given its state, the import it
 * started (or is about to start) and what DynamoDB said of that import. The calls are made by
 * functions/replica/importBootstrap.ts; the state machine is unchanged, since each decision ends the plan step
 * with IDLE or HALT and the replica's next scheduled execution looks again.
 *
 * - IN_PROGRESS: the import is recorded in the state (once) and the replica waits: no writes.
 * - COMPLETED with every item of the full export imported: the replica holds the epoch at sequence 0,
 *   watermark the full export's window end; incremental exports follow by the ordinary apply path.
 * - COMPLETED with fewer items than the export holds, or with errors; FAILED; CANCELLING; CANCELLED:
 *   halt IMPORT_FAILED (alerted once), with the import's FailureCode and FailureMessage. (A full export
 *   holds each key once, so ImportedItemCount should equal its item count; [U] not checked against
 *   AWS: when DynamoDB gives no count, only ErrorCount is checked.)
 * - The target table exists and no import of this export into it is found: halt TARGET_EXISTS.
 * - ImportTable refused the ClientToken and no import of ours is found (yet): wait; the next execution
 *   asks again with the same ClientToken.
 */
import { iso, toSeconds } from '../shared/time';
import type { ReplicaHaltReason, ReplicaImport, ReplicaState } from './state';

/** What the import is about to be, before DynamoDB names it: the request's identity and its chain entry. */
export type ImportRequestFacts = Omit<ReplicaImport, 'importArn' | 'startedAt'>;

/** What one look at DynamoDB found (ImportTable's answer, ListImports + DescribeImport, or DescribeImport). */
export type ImportObservation =
  | {
      kind: 'import';
      importArn: string;
      /** IN_PROGRESS | COMPLETED | CANCELLING | CANCELLED | FAILED; undefined is taken as IN_PROGRESS. */
      status: string | undefined;
      startTime?: Date;
      importedItemCount?: number;
      errorCount?: number;
      failureCode?: string;
      failureMessage?: string;
    }
  /** ImportTable answered ResourceInUseException and no import of this export into the table was found. */
  | { kind: 'targetExists'; message: string }
  /** ImportTable refused the request (token conflict) and no import of ours was found. */
  | { kind: 'notFound'; error: string };

export type ImportDecision =
  /** Nothing more to do in this execution; `state` is saved when given (the import recorded). */
  | { kind: 'WAIT'; detail: string; state?: ReplicaState }
  /** The import completed: `state` holds the epoch, sequence 0 and its watermark. */
  | { kind: 'COMPLETE'; detail: string; state: ReplicaState }
  | { kind: 'HALT'; reason: Extract<ReplicaHaltReason, 'IMPORT_FAILED' | 'TARGET_EXISTS'>; detail: string };

export interface ImportDecisionContext {
  targetTableName: string;
  /** Epoch seconds: when the import is recorded as started if DynamoDB gives no StartTime. */
  now: number;
}

const ENDED_BADLY = new Set(['FAILED', 'CANCELLED', 'CANCELLING']);

/** The facts of an import already recorded in the state. */
export function recordedImportFacts(recorded: ReplicaImport): ImportRequestFacts {
  return {
    clientToken: recorded.clientToken,
    exportArn: recorded.exportArn,
    epoch: recorded.epoch,
    sequence: recorded.sequence,
    watermark: recorded.watermark,
    itemCount: recorded.itemCount,
  };
}

/** The decision for one observation of the import described by `facts`. */
export function decideImport(
  state: ReplicaState,
  facts: ImportRequestFacts,
  observation: ImportObservation,
  context: ImportDecisionContext,
): ImportDecision {
  const target = context.targetTableName;
  if (observation.kind === 'targetExists') {
    return {
      kind: 'HALT',
      reason: 'TARGET_EXISTS',
      detail: `target table ${target} already exists (${observation.message}); an import bootstrap creates its table. Delete ${target} (after checking nothing else uses it) and rebuild the replica, or set bootstrap: write to fill an existing empty table`,
    };
  }
  if (observation.kind === 'notFound') {
    return {
      kind: 'WAIT',
      detail: `ImportTable of ${facts.exportArn} into ${target} answered ${observation.error} and no import of that export into ${target} was found; the next execution asks again with the same ClientToken`,
    };
  }
  const status = observation.status ?? 'IN_PROGRESS';
  const importArn = observation.importArn;
  if (ENDED_BADLY.has(status)) {
    const why = [observation.failureCode, observation.failureMessage].filter(Boolean).join(': ');
    return {
      kind: 'HALT',
      reason: 'IMPORT_FAILED',
      detail: `import ${importArn} of ${facts.exportArn} into ${target} ended ${status}${why ? ` (${why})` : ''}; delete the table it may have created, then rebuild the replica`,
    };
  }
  if (status === 'COMPLETED') {
    const errors = observation.errorCount ?? 0;
    const imported = observation.importedItemCount;
    if (errors > 0 || (imported !== undefined && imported < facts.itemCount)) {
      return {
        kind: 'HALT',
        reason: 'IMPORT_FAILED',
        detail: `import ${importArn} of ${facts.exportArn} into ${target} completed with ${imported ?? 'an unknown number of'} of ${facts.itemCount} items and ${errors} errors (see its CloudWatch log group); the replica would not equal the source: delete ${target}, then rebuild the replica`,
      };
    }
    return {
      kind: 'COMPLETE',
      detail: `import ${importArn} completed: replica at sequence ${facts.sequence} of epoch ${facts.epoch}, watermark ${iso(facts.watermark)}; incremental exports are applied from the next execution`,
      state: {
        ...state,
        epoch: facts.epoch,
        lastAppliedSequence: facts.sequence,
        watermark: facts.watermark,
        import: null,
      },
    };
  }
  const startedAt =
    state.import?.importArn === importArn
      ? state.import.startedAt
      : (toSeconds(observation.startTime) ?? Math.floor(context.now));
  const detail = `importing ${facts.exportArn} into ${target}: import ${importArn} (${status}) since ${iso(startedAt)}; no writes until it completes`;
  if (state.import?.importArn === importArn) return { kind: 'WAIT', detail };
  return {
    kind: 'WAIT',
    detail,
    state: { ...state, import: { ...facts, importArn, startedAt } },
  };
}
