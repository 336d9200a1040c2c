/**
 * Runs a handler module's exported function as one Lambda invocation in a worker thread whose heap
 * is capped by the function's memory size: a real memory limit, where the in-process runner
 * (`sim/machines/lambdaSandbox.ts`) can only sample. Limits and errors as Lambda reports them (sim/limits.ts):
 *
 * - memory: the worker's V8 old generation is capped at `memorySizeMb`; a function that needs more is
 *   stopped by V8 and fails with `Runtime.OutOfMemory`. (Lambda's memory size also covers the
 *   runtime, buffers and code, so the cap is a lenient bound of what AWS allows.)
 * - timeout: the worker is terminated after `timeoutSeconds` of real time, a synchronous loop
 *   included: `Sandbox.Timedout`;
 * - payloads: a request or response over 6 MB fails as in `sim/machines/lambdaSandbox.ts`;
 * - a thrown error fails with its name as the errorType, as the Node.js runtime reports it.
 *
 * The worker loads TypeScript through tsx, so the module may be any `.ts` file of the repository.
 * It shares nothing with the caller: the function builds whatever clients or fakes it needs.
 */
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import {
  LAMBDA_SYNC_PAYLOAD_LIMIT_BYTES,
  lambdaOutOfMemory,
  lambdaRequestTooLarge,
  lambdaResponseTooLarge,
  lambdaTimedOut,
  namedError,
} from '../limits';

// Captured when the module loads, before a simulated clock replaces the global timers.
const realSetTimeout = globalThis.setTimeout;
const realClearTimeout = globalThis.clearTimeout;

export interface WorkerInvocation {
  /** The module (a path, absolute or relative to the working directory). */
  module: string;
  /** The exported function: `(event) => result | Promise<result>`. @default handler */
  exportName?: string;
  event: unknown;
  timeoutSeconds: number;
  memorySizeMb: number;
}

/** What the worker posts back. */
type WorkerAnswer = { ok: true; response: string } | { ok: false; errorType: string; errorMessage: string };

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
require(workerData.tsx).register();
(async () => {
  try {
    const mod = require(workerData.module);
    const fn = mod[workerData.exportName];
    if (typeof fn !== 'function') throw new Error(workerData.module + ' exports no function ' + workerData.exportName);
    const result = await fn(JSON.parse(workerData.request));
    parentPort.postMessage({ ok: true, response: JSON.stringify(result === undefined ? null : result) });
  } catch (error) {
    const e = error || {};
    parentPort.postMessage({ ok: false, errorType: e.name || 'Error', errorMessage: String(e.message || error) });
  }
})();
`;

/** Runs one invocation in a heap-capped worker; resolves to its response, or rejects with Lambda's error. */
export async function invokeInWorker(invocation: WorkerInvocation): Promise<unknown> {
  const request = JSON.stringify(invocation.event ?? {});
  const requestBytes = Buffer.byteLength(request);
  if (requestBytes > LAMBDA_SYNC_PAYLOAD_LIMIT_BYTES) throw lambdaRequestTooLarge(requestBytes);
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    execArgv: [],
    workerData: {
      tsx: require.resolve('tsx/cjs/api'),
      module: path.resolve(invocation.module),
      exportName: invocation.exportName ?? 'handler',
      request,
    },
    resourceLimits: { maxOldGenerationSizeMb: invocation.memorySizeMb },
    stdout: false,
    stderr: false,
  });
  const answer = await new Promise<WorkerAnswer>((resolve, reject) => {
    let settled = false;
    const settle = (action: () => void) => {
      if (settled) return;
      settled = true;
      realClearTimeout(timer);
      action();
      void worker.terminate();
    };
    const timer = realSetTimeout(
      () => settle(() => reject(lambdaTimedOut(invocation.timeoutSeconds))),
      invocation.timeoutSeconds * 1000,
    );
    worker.once('message', (message: WorkerAnswer) => settle(() => resolve(message)));
    worker.once('error', (error: Error & { code?: string }) =>
      settle(() =>
        reject(
          error.code === 'ERR_WORKER_OUT_OF_MEMORY'
            ? lambdaOutOfMemory(invocation.memorySizeMb, 'JavaScript heap out of memory')
            : namedError(error.name || 'Runtime.ExitError', error.message),
        ),
      ),
    );
    worker.once('exit', (code) =>
      settle(() => reject(namedError('Runtime.ExitError', `Runtime exited with error: exit status ${code}`))),
    );
  });
  if (!answer.ok) throw namedError(answer.errorType, answer.errorMessage);
  const responseBytes = Buffer.byteLength(answer.response);
  if (responseBytes > LAMBDA_SYNC_PAYLOAD_LIMIT_BYTES) throw lambdaResponseTooLarge(responseBytes);
  return JSON.parse(answer.response) as unknown;
}
