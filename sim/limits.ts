/**
 * The AWS limits the offline AWS enforces, in one place: each number, where it comes from, and the
 * error AWS reports when it is crossed. The code that enforces them:
 *
 * - Lambda (timeout, memory, payloads): `sim/machines/lambdaSandbox.ts` for the in-process invocations of a
 *   local run, `sim/machines/lambdaWorker.ts` for a handler run in a heap-capped worker thread;
 * - Step Functions (payload size, history events, Express duration): `sim/machines/executionLimits.ts` for
 *   every execution the interpreter runs, `sim/machines/localMachine.ts` for Lambda task results and Express
 *   children, `sim/machines/distributedMap.ts` for the Distributed Map's item reader and collected results.
 *
 * None of them can be switched off.
 */

// ---- Lambda ----------------------------------------------------------------------------------
// Lambda quotas: https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
// ("Invocation payload (request and response): 6 MB each for request and response (synchronous)").

/** Largest request or response of a synchronous invocation: 6 MB (6,291,456 bytes). */
export const LAMBDA_SYNC_PAYLOAD_LIMIT_BYTES = 6_291_456;

/**
 * Real-time bound of one in-process invocation's own work, when the function's timeout is longer:
 * a handler that holds the simulated clock stops simulated time while it works (not while it sleeps
 * or waits for a client call), so only real time can time it out. AWS would allow the whole timeout,
 * but 60 real seconds of work in one simulated invocation is a runaway handler here (and it is under
 * the 120 s after which a local run reports a stalled clock, sim/machines/localRun.ts).
 */
export const LAMBDA_REAL_TIME_GUARD_MAX_SECONDS = 60;

/** How often (real milliseconds) a running in-process invocation's heap growth and real time are sampled. */
export const LAMBDA_SAMPLE_INTERVAL_MS = 50;

/** Lambda's memory size when a function's configuration does not say (the project's default, functions/shared/lambdaHandlers.ts). */
export const LAMBDA_DEFAULT_MEMORY_MB = 256;

// ---- Step Functions --------------------------------------------------------------------------
// Step Functions quotas: https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html

/**
 * Largest state input, state output, task result and execution input or output: 256 KiB of UTF-8
 * ("Maximum input or output size for a task, state, or execution: 256 KiB of data as a UTF-8
 * encoded string"). Crossing it is `States.DataLimitExceeded`, a terminal error that `States.ALL`
 * does not catch (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html).
 */
export const STATES_PAYLOAD_LIMIT_BYTES = 262_144;

/**
 * Events in one Standard execution's history ("Maximum execution history size: 25,000 events", a
 * hard quota: https://docs.aws.amazon.com/step-functions/latest/dg/bp-history-limit.html). AWS fails
 * the execution with `States.Runtime`, cause "The execution reached the maximum number of history
 * events (25000)." Express executions keep no history and have no such limit.
 */
export const STANDARD_HISTORY_EVENT_LIMIT = 25_000;

/**
 * How many history events AWS records for what the interpreter reports (an estimate: the interpreter
 * has no history of its own). A Task state: TaskStateEntered, then per attempt TaskScheduled,
 * TaskStarted and TaskSucceeded/TaskFailed, then TaskStateExited. Any other state: its Entered and
 * Exited events. An execution: ExecutionStarted and its end. A Distributed Map (a Task here) counts
 * as a Task: 5 events, where AWS records about 6 (MapStateEntered, MapStateStarted, MapRunStarted,
 * MapRunSucceeded, MapStateSucceeded, MapStateExited).
 */
export const HISTORY_EVENTS = {
  execution: 1,
  stateEntered: 1,
  taskAttempt: 3,
  stateExited: 1,
} as const;

/** Longest Express execution: 5 minutes ("Maximum execution time: 5 minutes", Express workflows). */
export const EXPRESS_MAX_DURATION_MS = 5 * 60_000;

// ---- sizes and errors ------------------------------------------------------------------------

/** Bytes of a value serialised as JSON (UTF-8), as AWS measures payloads. */
export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value ?? null));
}

/** An error named as AWS names it. */
export function namedError(name: string, message: string): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

/**
 * A terminal Step Functions error: neither Retry nor Catch handles it, so it fails the execution (the
 * interpreter reads `isRetryable` and `isCatchable` from the error, as it does for its own
 * `States.Runtime`).
 */
export function terminalStatesError(name: string, message: string): Error {
  return Object.assign(namedError(name, message), { isRetryable: false, isCatchable: false });
}

const DATA_WORDS = {
  input: 'received an input',
  output: 'returned an output',
  result: 'returned a result',
} as const;

/** Which payload crossed the limit: a state's input, its output, or a task's result. */
export type PayloadKind = keyof typeof DATA_WORDS;

/** `States.DataLimitExceeded` for a payload of `bytes`. */
export function dataLimitExceeded(what: PayloadKind, where: string, bytes: number): Error {
  return terminalStatesError(
    'States.DataLimitExceeded',
    `The state/task '${where}' ${DATA_WORDS[what]} with a size exceeding the maximum number of bytes service limit (${bytes} bytes, limit ${STATES_PAYLOAD_LIMIT_BYTES}).`,
  );
}

/** Fails with `States.DataLimitExceeded` when `value` is over the Step Functions payload limit. */
export function checkStatesPayload(what: PayloadKind, where: string, value: unknown): void {
  const bytes = jsonBytes(value);
  if (bytes > STATES_PAYLOAD_LIMIT_BYTES) throw dataLimitExceeded(what, where, bytes);
}

/** The error a Standard execution fails with at the history limit. */
export function historyLimitExceeded(): Error {
  return terminalStatesError(
    'States.Runtime',
    `The execution reached the maximum number of history events (${STANDARD_HISTORY_EVENT_LIMIT}).`,
  );
}

/** How an Express child running past 5 minutes ends (its status TIMED_OUT, its error `States.Timeout`). */
export const EXPRESS_TIMEOUT = {
  error: 'States.Timeout',
  cause: `The execution exceeded the maximum duration of an Express workflow (${EXPRESS_MAX_DURATION_MS / 60_000} minutes).`,
} as const;

/** Lambda's function error for an invocation past its timeout (errorType `Sandbox.Timedout`). */
export function lambdaTimedOut(timeoutSeconds: number): Error {
  return namedError('Sandbox.Timedout', `Task timed out after ${timeoutSeconds.toFixed(2)} seconds`);
}

/** Lambda's function error for an invocation past its memory size (errorType `Runtime.OutOfMemory`). */
export function lambdaOutOfMemory(memorySizeMb: number, detail: string): Error {
  return namedError(
    'Runtime.OutOfMemory',
    `Runtime exited with error: signal: killed (memory size ${memorySizeMb} MB; ${detail})`,
  );
}

/** Lambda's function error for a response over 6 MB (errorType `Function.ResponseSizeTooLarge`). */
export function lambdaResponseTooLarge(bytes: number): Error {
  return namedError(
    'Function.ResponseSizeTooLarge',
    `Response payload size (${bytes} bytes) exceeded maximum allowed payload size (${LAMBDA_SYNC_PAYLOAD_LIMIT_BYTES} bytes).`,
  );
}

/**
 * Lambda's Invoke API error for a request over 6 MB (`RequestTooLargeException`, HTTP 413), as Step
 * Functions names a Lambda API error: with the `Lambda.` prefix.
 */
export function lambdaRequestTooLarge(bytes: number): Error {
  return namedError(
    'Lambda.RequestTooLargeException',
    `Request must be smaller than ${LAMBDA_SYNC_PAYLOAD_LIMIT_BYTES} bytes for the InvokeFunction operation (got ${bytes} bytes)`,
  );
}

/** The error a Distributed Map fails with when its ItemReader cannot read its items (catchable). */
export function itemReaderFailed(state: string, detail: string): Error {
  return namedError('States.ItemReaderFailed', `Map state ${state} could not read its items: ${detail}`);
}
