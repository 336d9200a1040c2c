/**
 * What a failed apply means for the replica (pure; functions/replica/failureSteps.ts carries it out).
 *
 * - A committed entry's file gone from S3: halt `FILES_MISSING` (the entry is never skipped).
 * - A write the target rejects for good (apply/errors.ts `WriteRejectedError`: a ValidationException
 *   for that write alone): halt `WRITE_REJECTED`, naming the key and DynamoDB's message. Applying the
 *   entry again would fail the same way every period.
 * - Anything else (a transient error that persisted, a denied call, a Lambda out of time) may pass:
 *   the failure is counted in the state. After one failure the next execution applies the entry
 *   again (most failures pass); after more, the plan applies it again only once a backoff has passed,
 *   doubling with each failure of the same entry, so an entry that keeps failing costs a few attempts
 *   a day rather than one every period.
 */
import { EntryFilesMissingError, WriteRejectedError } from '../../apply';
import { errorMessage, errorName } from '../../format';
import type { ReplicaEntryFailure, ReplicaHaltReason, ReplicaState } from './state';

/** Backoff after the second failure of an entry, doubled per further failure, up to `max`. */
export const FAILURE_BACKOFF_SECONDS = { first: 300, max: 6 * 3600 } as const;

/** Longest error text kept in the state (an SSM parameter holds at most 4 KB). */
const MAX_ERROR = 300;
const MAX_DETAIL = 1000;

const bounded = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/** Seconds to wait after the `failures`-th consecutive failure of one entry: none after the first. */
export function failureBackoffSeconds(failures: number): number {
  if (failures <= 1) return 0;
  const { first, max } = FAILURE_BACKOFF_SECONDS;
  return Math.min(max, first * 2 ** Math.min(failures - 2, 30));
}

export type ApplyFailure =
  | { kind: 'HALT'; reason: Extract<ReplicaHaltReason, 'FILES_MISSING' | 'WRITE_REJECTED'>; detail: string }
  | { kind: 'RETRY_LATER'; error: string };

/** `chain entry 4`, `chain entries 4-9`. */
function entriesText(sequences: readonly number[]): string {
  if (sequences.length <= 1) return `chain entry ${sequences[0] ?? '?'}`;
  return `chain entries ${sequences[0]}-${sequences[sequences.length - 1]}`;
}

/** What a failure of applying `sequences` means; see the module comment. */
export function classifyApplyFailure(error: unknown, sequences: readonly number[]): ApplyFailure {
  if (error instanceof EntryFilesMissingError)
    return { kind: 'HALT', reason: 'FILES_MISSING', detail: error.message };
  if (error instanceof WriteRejectedError) {
    return {
      kind: 'HALT',
      reason: 'WRITE_REJECTED',
      detail: bounded(
        `applying ${entriesText(sequences)}: target rejected the write of key ${error.key}: ${error.reason}`,
        MAX_DETAIL,
      ),
    };
  }
  return { kind: 'RETRY_LATER', error: bounded(`${errorName(error)}: ${errorMessage(error)}`, MAX_ERROR) };
}

/** The state with one more failure of the apply starting at `sequence` (of `epoch`), at `now` (epoch seconds). */
export function withEntryFailure(
  state: ReplicaState,
  at: { epoch: string | null; sequence: number; error: string; now: number },
): ReplicaState {
  const previous = state.failure;
  const failures =
    previous && previous.epoch === at.epoch && previous.sequence === at.sequence ? previous.failures + 1 : 1;
  const failure: ReplicaEntryFailure = {
    epoch: at.epoch,
    sequence: at.sequence,
    failures,
    error: at.error,
    at: Math.floor(at.now),
    // Never before the backoff has passed: the second is rounded up.
    retryAt: Math.ceil(at.now + failureBackoffSeconds(failures)),
  };
  return { ...state, failure };
}

/**
 * The failure that holds entry `sequence` of `epoch` back at `now` (epoch seconds): recorded for that
 * entry, with its backoff not yet passed. Undefined when the entry may be applied.
 */
export function heldBackBy(
  state: Pick<ReplicaState, 'failure'>,
  epoch: string,
  sequence: number,
  now: number,
): ReplicaEntryFailure | undefined {
  const failure = state.failure;
  if (!failure || failure.sequence !== sequence || (failure.epoch !== null && failure.epoch !== epoch))
    return undefined;
  return now < failure.retryAt ? failure : undefined;
}

/** The state without failures nor a rejected write: the replica got past them. */
export function withoutFailures(state: ReplicaState): ReplicaState {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  const { failure, rejectedWrite, ...rest } = state;
  return rest;
}
