/**
 * How much work one apply invocation takes on, from the write rate and the Lambda's timeout (pure).
 *
 * Every apply is bounded by time, not by records: an invocation writes for at most its budget (a safe
 * fraction of the timeout), then stops once the writes in flight are written and reports where it
 * stands; the next invocation goes on from there. So the sizes below only decide how work is split
 * for speed and cost; none of them is needed for an apply to finish, except the two hard limits a
 * Distributed Map child has: Express children stop at 5 minutes, and a Standard child's history holds
 * 25,000 events, which bounds how many invocations one child can chain.
 *
 * - A grouped apply (one Lambda for consecutive small entries) takes at most as many records as the
 *   rate writes in its budget; a larger entry goes to the Distributed Map.
 * - A Distributed Map child gets a batch of data files holding about one invocation's records at the
 *   child's rate; a data file larger than that is one batch, applied by the child in several
 *   invocations. The child's rate is the total rate divided by the children that actually run at
 *   once: the Map's MaxConcurrency, which is min(concurrency, batches, rate), so each runs at least
 *   one write a second and together they never pass the rate.
 */

/** The apply Lambda's timeout (functions/shared/lambdaHandlers.ts `REPLICA_APPLY_HANDLER`). */
export const APPLY_LAMBDA_TIMEOUT_SECONDS = 900;

/**
 * Seconds an invocation writes before it stops at the next write group: two thirds of the timeout,
 * leaving the rest for reading and checking a data file before its first write, and for the group in
 * flight at the budget.
 */
export const APPLY_BUDGET_SECONDS = 600;

/**
 * No write is sent this long after an invocation's budget ends (a throttled group would otherwise run
 * into the timeout): what was written up to the last complete group is kept, and the next invocation
 * goes on from there.
 */
export const WRITE_DEADLINE_MARGIN_SECONDS = 60;

/** Seconds of writes an Express child is planned for, well inside its 300-second limit. */
export const EXPRESS_CHILD_BUDGET_SECONDS = 200;

/**
 * Invocations one Standard child may chain: each is about 7 history events (a Task and the Choice after
 * it), so 2,500 stay well under the 25,000-event history with room for retries.
 */
export const MAX_CHILD_INVOCATIONS = 2_500;

/**
 * Batches (children) of one Map Run at most. Each child returns `{}` (3 bytes in the collected
 * results), so 10,000 children stay near 30 KB, far under the 256 KiB the Map's result may hold.
 */
export const MAX_MAP_CHILDREN = 10_000;

/** Writes gathered before they are sent, for an invocation stopping on time: about 10 seconds' worth. */
export function writeGroupSize(writesPerSecond: number): number {
  return Math.max(25, Math.min(2_000, Math.floor(writesPerSecond * 10)));
}

/** Epoch ms deadlines of an invocation started at `startedAt` with `budgetSeconds`. */
export function invocationDeadlines(
  startedAt: number,
  budgetSeconds: number,
): { stopAt: number; lastWriteAt: number } {
  return {
    stopAt: startedAt + budgetSeconds * 1000,
    lastWriteAt: startedAt + (budgetSeconds + WRITE_DEADLINE_MARGIN_SECONDS) * 1000,
  };
}

/** Records a grouped apply takes at most at `maxWritesPerSecond`: what it writes in its budget. */
export function groupRecordCap(maxWritesPerSecond: number): number {
  return Math.max(1, Math.floor(maxWritesPerSecond * APPLY_BUDGET_SECONDS));
}

/** What the plan step tells the Distributed Map and its children. */
export interface DistributedWork {
  /** ItemBatcher's MaxItemsPerBatch: data files per child. */
  filesPerBatch: number;
  batches: number;
  /** The Map's MaxConcurrency: children at once. */
  children: number;
  /** Each child's share of the rate. */
  childWritesPerSecond: number;
  /** Records of the largest batch. */
  largestBatchRecords: number;
  /** Invocations the largest batch needs at the child's rate. */
  invocationsPerLargestBatch: number;
  childType: 'EXPRESS' | 'STANDARD';
  /** Seconds each child invocation writes before it stops. */
  budgetSeconds: number;
}

export type DistributedPlan =
  | { ok: true; work: DistributedWork }
  /** A data file that even one child chaining its most invocations cannot apply at the rate. */
  | { ok: false; detail: string };

export interface DistributedInputs {
  files: readonly { itemCount: number; dataFileS3Key: string }[];
  maxWritesPerSecond: number;
  concurrency: number;
  /** The entry's Map failed before: Standard children, whatever the estimate. */
  standardOnly: boolean;
  /** Records of a batch at most, when fewer than one invocation writes. @default Infinity */
  maxBatchRecords?: number;
}

/** Sums of consecutive runs of `perBatch` files, in manifest order (as ItemBatcher cuts them). */
function batchRecords(files: readonly { itemCount: number }[], perBatch: number): number[] {
  const sums: number[] = [];
  for (let i = 0; i < files.length; i += perBatch)
    sums.push(files.slice(i, i + perBatch).reduce((n, f) => n + f.itemCount, 0));
  return sums;
}

/** How a Distributed Map splits an entry's data files; see the module comment. */
export function planDistributedWork(inputs: DistributedInputs): DistributedPlan {
  const { files, maxWritesPerSecond: rate, concurrency } = inputs;
  const atMost = Math.max(1, Math.min(concurrency, Math.floor(rate)));
  const firstGuess = Math.max(1, Math.min(atMost, files.length));
  const perInvocation = Math.min(
    (rate / firstGuess) * APPLY_BUDGET_SECONDS,
    inputs.maxBatchRecords ?? Infinity,
  );
  const largestFile = Math.max(1, ...files.map((f) => f.itemCount));
  const filesPerBatch = Math.max(
    1,
    Math.floor(perInvocation / largestFile),
    Math.ceil(files.length / MAX_MAP_CHILDREN),
  );
  const sums = batchRecords(files, filesPerBatch);
  // Fewer batches than the first guess only raises each child's share: a batch still fits.
  const children = Math.max(1, Math.min(atMost, sums.length));
  const childWritesPerSecond = rate / children;
  const largestBatchRecords = Math.max(0, ...sums);
  const seconds = largestBatchRecords / childWritesPerSecond;
  const invocations = Math.max(1, Math.ceil(seconds / APPLY_BUDGET_SECONDS));
  if (invocations > MAX_CHILD_INVOCATIONS) {
    const largest = files.reduce((a, b) => (b.itemCount > a.itemCount ? b : a));
    return {
      ok: false,
      detail: `a batch of ${largestBatchRecords} records (data file ${largest.dataFileS3Key} holds ${largest.itemCount}) needs ${invocations} invocations of ${APPLY_BUDGET_SECONDS} s at ${round(childWritesPerSecond)} writes/s per child, more than the ${MAX_CHILD_INVOCATIONS} one child can chain; raise maxWritesPerSecond`,
    };
  }
  const express = !inputs.standardOnly && seconds <= EXPRESS_CHILD_BUDGET_SECONDS;
  return {
    ok: true,
    work: {
      filesPerBatch,
      batches: sums.length,
      children,
      childWritesPerSecond,
      largestBatchRecords,
      invocationsPerLargestBatch: invocations,
      childType: express ? 'EXPRESS' : 'STANDARD',
      budgetSeconds: express ? EXPRESS_CHILD_BUDGET_SECONDS : APPLY_BUDGET_SECONDS,
    },
  };
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
