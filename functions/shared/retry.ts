/**
 * The one retry policy for AWS calls. Transient errors (throttling, 5xx, LimitExceededException,
 * network and SDK client errors, as format/transientErrors.ts classifies them for every caller) are
 * retried with exponential backoff and full jitter; when they persist the call fails with an error
 * named `TransientAwsError`, which the state machine retries with its own, longer backoff. Anything
 * else is thrown unchanged at once.
 *
 * Why not the SDK's own retry strategy (`maxAttempts`, `@smithy/util-retry`): it lives inside the SDK
 * client, so the in-process fakes the scenario tests and the simulation run the tick against would
 * never exercise it, and what is tested would not be what deploys. This policy wraps `send`, so it
 * runs identically against real clients and fakes; the SDK clients are created with `maxAttempts: 1`
 * so that it is the only one. The SDK's `$retryable` flag is honoured.
 */

import { TransientAwsError, errorMessage, errorName, isTransientError } from '../../format/transientErrors';

// The classification is shared with the apply engine (format/transientErrors.ts); re-exported here
// for the callers of the retry policy.
export { TransientAwsError, errorMessage, errorName, isTransientError };

export interface RetryOptions {
  /** Total tries including the first. @default 4 */
  attempts?: number;
  /** @default 200 */
  baseDelayMs?: number;
  /** @default 5000 */
  maxDelayMs?: number;
  /** Source of jitter in [0, 1). @default Math.random */
  random?: () => number;
  /** Waits between tries. @default setTimeout */
  sleep?: (ms: number) => Promise<void>;
}

/** Full jitter: uniform in [0, min(max, base * 2^retry)). */
export function backoffDelayMs(retry: number, options: RetryOptions = {}): number {
  const base = options.baseDelayMs ?? 200;
  const max = options.maxDelayMs ?? 5000;
  const random = options.random ?? Math.random;
  return Math.floor(random() * Math.min(max, base * 2 ** retry));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Runs `call`, retrying transient errors; throws `TransientAwsError` when they persist. */
export async function withRetry<T>(
  label: string,
  call: () => Promise<T>,
  options: RetryOptions = {},
): Promise<T> {
  const attempts = options.attempts ?? 4;
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      return await call();
    } catch (error) {
      if (!isTransientError(error)) throw error;
      last = error;
      if (i + 1 < attempts) await (options.sleep ?? sleep)(backoffDelayMs(i, options));
    }
  }
  throw new TransientAwsError(
    `${label} failed ${attempts} times with transient errors; last: ${errorName(last)}: ${errorMessage(last)}`,
    errorName(last),
  );
}
