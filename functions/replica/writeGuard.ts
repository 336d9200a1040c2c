/**
 * The last check before each write to the target: every BatchWriteItem an apply sends (each retry
 * too) goes through this guard, which refuses it
 *
 * - past the invocation's last write time (functions/replica/workSizing.ts): a throttled write group
 *   would otherwise run into the Lambda's timeout, which kills the invocation and loses where it
 *   stood; refused, the apply reports how far it got and the next invocation goes on from there;
 * - once the claim the apply runs under has moved (taken over, released after its Map failed, reset
 *   by a rebuild, or halted): a straggler, a child Lambda still running after its Map Run failed,
 *   stops instead of writing an older entry's records over a later execution's writes.
 *
 * The claim is confirmed by reading the replica state, at most once per `confirmMs` (so a few reads a
 * second however many batches), and once before the first write. A write can therefore start at most
 * `confirmMs` after the claim moved; the plan waits longer than that before another execution claims
 * the entry after a failed Map (functions/replica/failureSteps.ts).
 */
import { BatchWriteItemCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDbSender } from '../../apply';

/** A write refused because the invocation's time for writes is over. */
export class WriteDeadlineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReplicaWriteDeadline';
  }
}

/** A write refused because the claim the apply runs under is no longer this apply's. */
export class ClaimMovedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReplicaClaimMoved';
  }
}

/** How long a confirmation of the claim is relied on, by default. */
export const CLAIM_CONFIRM_MS = 1_000;

export interface WriteGuardOptions {
  target: DynamoDbSender;
  /** Epoch ms. */
  now: () => number;
  /** No write is sent at or after this (epoch ms). */
  lastWriteAt: number;
  /** Whether the claim still stands; undefined when the apply runs under no claim to check. */
  claimHolds?: () => Promise<boolean>;
  /** What the claim is, for the error. */
  claim: string;
  /** @default CLAIM_CONFIRM_MS */
  confirmMs?: number;
}

/** The target, with every BatchWriteItem checked first; other calls pass through. */
export function guardWrites(options: WriteGuardOptions): DynamoDbSender {
  const { target, now, lastWriteAt, claimHolds, claim } = options;
  const confirmMs = options.confirmMs ?? CLAIM_CONFIRM_MS;
  let confirmedAt = -Infinity;
  let confirming: Promise<void> | undefined;
  const confirm = (): Promise<void> => {
    if (!claimHolds || now() - confirmedAt < confirmMs) return Promise.resolve();
    // Batches in flight at once share one read.
    confirming ??= (async () => {
      try {
        const asked = now();
        if (!(await claimHolds()))
          throw new ClaimMovedError(`the claim of ${claim} moved: this apply writes nothing more`);
        confirmedAt = asked;
      } finally {
        confirming = undefined;
      }
    })();
    return confirming;
  };
  const send = async (command: Parameters<DynamoDbSender['send']>[0]) => {
    if (command instanceof BatchWriteItemCommand) {
      if (now() >= lastWriteAt)
        throw new WriteDeadlineError(
          `the invocation's time for writes ended at ${new Date(lastWriteAt).toISOString()}`,
        );
      await confirm();
    }
    return target.send(command);
  };
  return { send: send as DynamoDbSender['send'] };
}

/**
 * How long after a claim ended without its entry being recorded (its Map failed, its execution
 * stopped) another execution may claim the replica: far longer than a confirmation is relied on plus
 * one BatchWriteItem in flight, so a straggler's last write lands before the next execution's first.
 */
export const CLAIM_SUCCESSOR_WAIT_SECONDS = 60;

/**
 * Whether the execution DescribeExecution describes has ended, long enough ago for its claim to be
 * taken over (see `CLAIM_SUCCESSOR_WAIT_SECONDS`); `now` in epoch ms.
 */
export function claimHolderEndedAt(described: { status?: string; stopDate?: Date }, now: number): boolean {
  if (described.status === undefined || described.status === 'RUNNING') return false;
  const stopped = described.stopDate?.getTime();
  return stopped === undefined || now - stopped >= CLAIM_SUCCESSOR_WAIT_SECONDS * 1000;
}
