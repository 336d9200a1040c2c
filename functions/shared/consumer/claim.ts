/**
 * Claiming under the lease: how a consumer of the chain makes sure one execution at a time moves its
 * cursor. The cursor is an SSM parameter, which has no conditional overwrite; the consumer's lease
 * (functions/shared/lease.ts, create-only SSM parameters) is what makes a claim exclusive:
 *
 * 1. plan from the cursor as read (no lease held: planning reads only);
 * 2. take the lease, read the cursor again, and claim only if it is unchanged since planned
 *    (`unchangedSincePlanned`): another execution that claimed, committed or halted in between wins;
 * 3. release the lease; the claim in the cursor (`inProgress`, with its execution and start) keeps the
 *    others off (BUSY) until it is committed or its own lease (`claimIsLive`) runs out.
 */
import { acquireLease, releaseLease, type AcquireOptions, type SsmCall } from '../lease';

/** The fields every consumer's cursor has, which a claim compares. */
export interface ConsumerCursor {
  status: string;
  epoch: string | null;
  lastAppliedSequence: number;
  inProgress: unknown;
}

/**
 * The one rule for "nobody moved the cursor since I planned": the status, the epoch, the last entry
 * applied and the claim are the same, and so are the consumer's own `also` fields (the replica's
 * rebuild version and import in flight).
 */
export function unchangedSincePlanned<S extends ConsumerCursor>(
  planned: S,
  current: S,
  also: readonly (keyof S)[] = [],
): boolean {
  const key = (s: S) =>
    JSON.stringify([
      s.status,
      s.epoch,
      s.lastAppliedSequence,
      s.inProgress,
      ...also.map((f) => s[f] ?? null),
    ]);
  return key(planned) === key(current);
}

/** Whether a claim started at `startedAt` still holds at `now` (both epoch seconds). */
export function claimIsLive(startedAt: number, now: number, leaseSeconds: number): boolean {
  return now - startedAt < leaseSeconds;
}

/**
 * Runs `work` holding the consumer's lease, and releases it whatever happens. `held: false` when
 * another execution holds the lease: nothing ran.
 */
export async function underLease<T>(
  ssmCall: SsmCall,
  lease: AcquireOptions,
  work: () => Promise<T>,
): Promise<{ held: false } | { held: true; value: T }> {
  if (!(await acquireLease(ssmCall, lease))) return { held: false };
  try {
    return { held: true, value: await work() };
  } finally {
    await releaseLease(ssmCall, lease.lockName);
  }
}
