/**
 * Errors shaped like the ones AWS SDK v3 clients throw, so code under test classifies them the same
 * way it would in Lambda: `name` is the service's error code, `$fault` says whose fault it is,
 * `$metadata.httpStatusCode` carries the HTTP status, `$retryable` is set for throttling.
 */

/** An error as an AWS SDK v3 client surfaces it. */
export interface AwsLikeError extends Error {
  $fault?: 'client' | 'server';
  $metadata: { httpStatusCode?: number; requestId?: string; attempts?: number; totalRetryDelay?: number };
  $retryable?: { throttling: boolean };
  /** Node network errors carry an errno-style code (ECONNRESET, ETIMEDOUT). */
  code?: string;
}

let requestCounter = 0;

/** A service error: a response from AWS with an error code. */
export function serviceError(
  name: string,
  message: string,
  httpStatusCode = 400,
  extra: Partial<AwsLikeError> = {},
): AwsLikeError {
  const error = new Error(message) as AwsLikeError;
  error.name = name;
  error.$fault = httpStatusCode >= 500 ? 'server' : 'client';
  requestCounter += 1;
  error.$metadata = {
    httpStatusCode,
    requestId: `fake-${requestCounter.toString(16).padStart(8, '0')}`,
    attempts: 1,
    totalRetryDelay: 0,
  };
  Object.assign(error, extra);
  return error;
}

/** Kinds of transient failure a scenario can inject into any command. */
export type TransientFault =
  | 'ThrottlingException'
  | 'InternalServerError'
  | 'ServiceUnavailable'
  | 'LimitExceededException'
  | 'TimeoutError'
  | 'SdkClientException';

export const TRANSIENT_FAULTS: readonly TransientFault[] = [
  'ThrottlingException',
  'InternalServerError',
  'ServiceUnavailable',
  'LimitExceededException',
  'TimeoutError',
  'SdkClientException',
];

/**
 * Builds the error a real SDK client would throw for a transient failure.
 *
 * The JavaScript SDK has no `SdkClientException` class (that name comes from the Java SDK and from
 * Step Functions' `*.SdkClientException` errors). Its equivalent in JavaScript is a Node network error
 * that reaches the caller after the SDK's own retries: a plain `Error` with an errno `code` such as
 * ECONNRESET and no HTTP status. That is what is injected, so the code under test must classify
 * network errors by their shape, as it has to in Lambda. `TimeoutError` is what
 * @smithy/node-http-handler throws when a socket or connection times out (no HTTP status either).
 */
export function transientError(kind: TransientFault, command: string): AwsLikeError {
  const where = `(injected into ${command})`;
  switch (kind) {
    case 'ThrottlingException':
      return serviceError(kind, `Rate exceeded ${where}`, 400, { $retryable: { throttling: true } });
    case 'InternalServerError':
      return serviceError(kind, `Internal server error ${where}`, 500);
    case 'ServiceUnavailable':
      return serviceError(kind, `Service unavailable ${where}`, 503);
    case 'LimitExceededException':
      return serviceError(kind, `Too many operations for a given subscriber ${where}`, 400);
    case 'TimeoutError': {
      const error = new Error(
        `@smithy/node-http-handler - the request socket timed out after 30000 ms of inactivity ${where}`,
      ) as AwsLikeError;
      error.name = 'TimeoutError';
      error.code = 'ETIMEDOUT';
      error.$metadata = { attempts: 3, totalRetryDelay: 300 };
      return error;
    }
    case 'SdkClientException': {
      const error = new Error(`socket hang up ${where}`) as AwsLikeError;
      error.code = 'ECONNRESET';
      error.$metadata = { attempts: 3, totalRetryDelay: 300 };
      return error;
    }
  }
}
