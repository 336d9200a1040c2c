/**
 * The one classification of AWS errors every caller retries: throttling, 5xx, LimitExceededException,
 * and network and SDK client errors (a timeout, a reset connection, "socket hang up"). The export
 * tick's retry policy (functions/shared/retry.ts), the apply engine's batch writer (apply/batchWriter.ts) and
 * the replica all ask it, so one error is never transient for one caller and fatal for another.
 *
 * It lives in the format module because that is the one module every layer may import (the apply
 * engine imports nothing else); it uses nothing of the export format.
 */

/** Throttling: the request was right, the service wants it later. Retrying only slows a caller down. */
const THROTTLING_NAMES = new Set([
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
]);

/** Service-side failures and the network: a later try may succeed. */
const OTHER_TRANSIENT_NAMES = new Set([
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

/** Node's network error codes (`error.code`) worth another try. */
const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
]);

/** Messages of network failures that reach the caller without a code (Node's HTTP agent). */
const TRANSIENT_MESSAGES = [/socket hang up/i, /^read ECONNRESET/, /^connect ETIMEDOUT/];

/** The error a persistently failing transient AWS call ends with; the state machines retry it. */
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

/** True for throttling: a request DynamoDB (or any service) wants later, never a wrong request. */
export function isThrottlingError(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  const e = error as { name?: unknown; $metadata?: { httpStatusCode?: number } };
  if (typeof e.name === 'string' && THROTTLING_NAMES.has(e.name)) return true;
  return e.$metadata?.httpStatusCode === 429;
}

/** True when a retry may succeed: throttling, 5xx, LimitExceededException, network/SDK client errors. */
export function isTransientError(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  if (isThrottlingError(error)) return true;
  const e = error as {
    name?: unknown;
    code?: unknown;
    message?: unknown;
    $metadata?: { httpStatusCode?: number };
    $retryable?: unknown;
  };
  if (typeof e.name === 'string' && OTHER_TRANSIENT_NAMES.has(e.name)) return true;
  if (typeof e.code === 'string' && TRANSIENT_CODES.has(e.code)) return true;
  const status = e.$metadata?.httpStatusCode;
  if (typeof status === 'number' && status >= 500) return true;
  if (e.$retryable) return true;
  const message = typeof e.message === 'string' ? e.message : '';
  return TRANSIENT_MESSAGES.some((m) => m.test(message));
}
