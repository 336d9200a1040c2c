/**
 * The tick lock: a create-only SSM parameter, so two ticks never work on the same chain at once
 * (duplicate scheduler deliveries, overlapping executions, state machine retries of a tick that is
 * still running). It is a lease: a holder that crashed leaves a value whose `expiresAt` passes, and
 * the next tick deletes it and takes over once. The lease is twice the Lambda timeout, so a live
 * holder always finishes (or is killed) before its lease ends.
 */
import { lambdaTimeoutSeconds } from './lambdaTimeout';

export const LOCK_LEASE_SECONDS = 2 * lambdaTimeoutSeconds();

/** Value stored in the lock parameter. */
export interface LockValue {
  executionId: string;
  /** Epoch seconds. */
  expiresAt: number;
}

export function lockValue(executionId: string, now: number): string {
  return JSON.stringify({ executionId, expiresAt: now + LOCK_LEASE_SECONDS });
}

/** Parses a lock value; null when it is not one (treated as expired, it can only be debris). */
export function parseLockValue(text: string | undefined): LockValue | null {
  if (!text) return null;
  try {
    const v = JSON.parse(text) as Partial<LockValue>;
    if (typeof v.executionId === 'string' && typeof v.expiresAt === 'number') {
      return { executionId: v.executionId, expiresAt: v.expiresAt };
    }
  } catch {
    // fall through
  }
  return null;
}

export function isLockExpired(value: LockValue | null, now: number): boolean {
  return value === null || value.expiresAt <= now;
}
