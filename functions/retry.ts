/**
 * The one retry policy for AWS calls. Transient errors (throttling, 5xx, LimitExceededException,
 * network and SDK client errors) are retried with exponential backoff and full jitter; when they
 * persist the call fails with an error named `TransientAwsError`, which the state machine retries
 * with its own, longer backoff. Anything else is thrown unchanged at once.
 *
 * Why not the SDK's own retry strategy (`maxAttempts`, `@smithy/util-retry`): it lives inside the SDK
 * client, so the in-process fakes the scenario tests and the simulation run the tick against would
 * never exercise it, and what is tested would not be what deploys. This policy wraps `send`, so it
 * runs identically against real clients and fakes; the SDK clients are created with `maxAttempts: 1`
 * so that it is the only one. The SDK's `$retryable` flag is honoured below.
 */

const TRANSIENT_NAMES = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'ProvisionedThroughputExceededException',
  'ProvisionedThroughputExceeded',
  'TooManyRequestsException',
  'TooManyRequests',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  // SSM: too many concurrent updates of one parameter; a later try succeeds.
  'TooManyUpdates',
  'LimitExceededException',
  'InternalServerError',
  'InternalServerErrorException',
  'InternalFailure',
  'InternalError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'NetworkingError',
  'SdkClientException',
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
]);

const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
]);

/** The error a persistently failing transient AWS call ends with; the state machine retries it. */
export class TransientAwsError extends Error {
  constructor(
    message: string,
    /** Name of the last underlying error. */
    readonly causeName: string,
  ) {
    super(message);
    this.name = 'TransientAwsError';
  }
}

/** Name of an AWS SDK (or any) error, as reported by the service. */
export function errorName(error: unknown): string {
  if (error && typeof error === 'object') {
    const e = error as { name?: unknown; code?: unknown; Code?: unknown };
    if (typeof e.name === 'string' && e.name !== 'Error') return e.name;
    if (typeof e.Code === 'string') return e.Code;
    if (typeof e.code === 'string') return e.code;
    if (typeof e.name === 'string') return e.name;
  }
  return 'UnknownError';
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** True when a retry may succeed: throttling, 5xx, LimitExceededException, network/SDK client errors. */
export function isTransientError(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  const e = error as {
    name?: unknown;
    code?: unknown;
    $metadata?: { httpStatusCode?: number };
    $retryable?: unknown;
  };
  if (typeof e.name === 'string' && TRANSIENT_NAMES.has(e.name)) return true;
  if (typeof e.code === 'string' && TRANSIENT_CODES.has(e.code)) return true;
  const status = e.$metadata?.httpStatusCode;
  if (typeof status === 'number' && (status >= 500 || status === 429)) return true;
  if (e.$retryable) return true;
  return false;
}

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
