/**
 * One Lambda invocation run in process, on the simulated clock of a local run, under its function's
 * limits (numbers and errors in `sim/limits.ts`). Handlers run in process because they share the
 * run's fakes, clients and simulated clock with everything else; `sim/machines/lambdaWorker.ts` runs a handler
 * module in a heap-capped worker thread where a real memory cap is needed.
 *
 * - Payloads: a request or a response over 6 MB fails, the request with the Invoke API's error
 *   (`Lambda.RequestTooLargeException`), the response with the function error
 *   `Function.ResponseSizeTooLarge`. Both are serialised as JSON, as Lambda does.
 * - Timeout, on the simulated clock: an invocation still running `timeoutSeconds` of simulated time
 *   after it started fails with `Sandbox.Timedout` ("Task timed out after N.NN seconds"). Simulated
 *   time includes the modelled API latency and every sleep on the clock.
 * - Timeout, in real time: a handler that holds the clock (`holdClock`) stops simulated time while
 *   it works, so only real time can time it out. The real time it holds the clock with no client
 *   call in progress (neither sleeping in `simulatedSleep` nor waiting for a call, which the clock
 *   waits for anyway) is its own work; past `realTimeLimitSeconds` it fails the same way. Sampled
 *   every `LAMBDA_SAMPLE_INTERVAL_MS` on the real event loop: a handler that never yields (a
 *   synchronous loop) cannot be interrupted in process. A handler that does not hold the clock
 *   cannot stop simulated time, so the simulated timeout covers it.
 * - Memory: the process's heap growth since the invocation started is sampled with it; past the
 *   function's memory size (confirmed after a full garbage collection) the invocation fails with
 *   `Runtime.OutOfMemory`. The heap is shared, so concurrent work counts too (an over-estimate);
 *   garbage present at the start can hide growth, up to half the memory size (see `heapBaseline`);
 *   a short burst between two samples can be missed. The real cap is the worker's. Work an AWS
 *   service does in this process (the fake DynamoDB writing an export's files, `asServiceWork`) is
 *   not the function's: no heap is sampled while it runs.
 * - A response body a client call hands over (an S3 GetObject stream) is real I/O the clock waits for
 *   while it is open (`bodyOpened`), except while the invocation that made the call sleeps in
 *   `simulatedSleep`, and no longer once that invocation has ended: only the handler reads its body,
 *   so a handler that sleeps between the reads of a stream (writing a large data file at a rate as it
 *   reads it) would otherwise wait for a clock its own open stream holds still.
 * - An invocation ended by a limit is frozen, as Lambda stops its sandbox: its later sleeps and its
 *   client calls through the run's clients (`invocationKilled`, read by `LocalRun.track`) never
 *   complete, so nothing it would have written afterwards can pass for the work of a success.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import v8 from 'node:v8';
import vm from 'node:vm';
import {
  LAMBDA_REAL_TIME_GUARD_MAX_SECONDS,
  LAMBDA_SAMPLE_INTERVAL_MS,
  LAMBDA_SYNC_PAYLOAD_LIMIT_BYTES,
  lambdaOutOfMemory,
  lambdaRequestTooLarge,
  lambdaResponseTooLarge,
  lambdaTimedOut,
  namedError,
} from '../limits';
import type { SimulatedClock } from './simulatedClock';

// Captured when the module loads, before a simulated clock replaces the global timers.
const realSetInterval = globalThis.setInterval;
const realClearInterval = globalThis.clearInterval;

const MIB = 1024 * 1024;

/** How a held clock is named among the work in progress of the run. */
const HOLD_LABEL = 'invocation holding the clock';

/** Service-side work in progress (`asServiceWork`): heap growth is not sampled meanwhile. */
let serviceWork = 0;

/**
 * Runs `work` as an AWS service's own work done in this process (the fake DynamoDB writing an
 * export's files when it completes): its memory is not a Lambda function's, whatever invocation
 * happens to wait for it, so the heap of running invocations is not sampled while it runs. What it
 * leaves behind is garbage a full collection frees before any later sample counts it.
 */
export async function asServiceWork<T>(work: () => Promise<T>): Promise<T> {
  serviceWork += 1;
  try {
    return await work();
  } finally {
    serviceWork -= 1;
  }
}

/** A function's configuration, as far as its limits go. */
export interface LambdaLimits {
  timeoutSeconds: number;
  memorySizeMb: number;
  /**
   * Real seconds of the handler's own work after which it times out. Capped at the timeout and at
   * `LAMBDA_REAL_TIME_GUARD_MAX_SECONDS`. @default the smaller of the two
   */
  realTimeLimitSeconds?: number;
}

/** What an invocation needs of the run it belongs to. */
export interface SandboxHost {
  readonly clock: Pick<SimulatedClock, 'setTimeout' | 'clearTimeout'>;
  /** Work the clock must wait for started / ended (a held clock counts as work in progress). */
  ioStarted(label?: string): void;
  ioEnded(label?: string): void;
  /**
   * The run is over (its clock uninstalled): an invocation still running then can never end, so it
   * is stopped rather than sampled forever.
   */
  readonly stopped?: boolean;
}

export interface InvokeInProcess {
  host: SandboxHost;
  limits: LambdaLimits;
  /**
   * The clock waits while the handler runs, except while it sleeps in `simulatedSleep`: simulated
   * time passes only while it sleeps, not while it works.
   */
  holdClock: boolean;
  handler: (event: unknown) => Promise<unknown>;
  event: unknown;
}

/** One running invocation, as its handler's async context sees it. */
interface Invocation {
  host: SandboxHost;
  holdClock: boolean;
  /** The clock is held (counted as work in progress by the host). */
  holding: boolean;
  /** `simulatedSleep` calls in progress. */
  sleeping: number;
  /** Client calls in progress (through `LocalRun.track`). */
  calls: number;
  /** Response bodies of its calls still open: each counts (`true`) or not as work in progress. */
  bodies: Set<(counted: boolean) => void>;
  /** Ended, one way or another: its sleeps no longer take or release the clock. */
  ended: boolean;
  /** Ended by a limit: frozen, nothing it does afterwards completes. */
  killed: boolean;
  /**
   * Real milliseconds it has stopped simulated time by itself (holding the clock with no client
   * call in progress) so far, and since when it has been doing so (performance.now()).
   */
  workMs: number;
  workingSince: number | undefined;
}

const current = new AsyncLocalStorage<Invocation>();

/** A promise that never settles: how a frozen invocation's next step waits. */
function frozen(): Promise<never> {
  return new Promise<never>(() => undefined);
}

/** True inside an invocation that a limit has ended: its calls must not happen. */
export function invocationKilled(): boolean {
  return current.getStore()?.killed === true;
}

/**
 * A client call starts (`LocalRun.track`); returns what to call when it has ended. Waiting for a
 * call is not the handler's own work for the real-time limit: the clock waits for real I/O anyway.
 */
export function callStarted(): () => void {
  const inv = current.getStore();
  if (!inv || inv.ended) return () => undefined;
  inv.calls += 1;
  updateMeter(inv);
  let ended = false;
  return () => {
    if (ended) return;
    ended = true;
    inv.calls -= 1;
    updateMeter(inv);
  };
}

/**
 * A client call's response body opens (`LocalRun.track`); returns what to call when it has closed.
 * `host` counts it as work in progress while it is open, except while the invocation that made the
 * call sleeps and after that invocation has ended (see the module comment). A body opened outside
 * an invocation counts until it closes.
 */
export function bodyOpened(host: Pick<SandboxHost, 'ioStarted' | 'ioEnded'>, label: string): () => void {
  let counted = false;
  const count = (on: boolean) => {
    if (counted === on) return;
    counted = on;
    if (on) host.ioStarted(label);
    else host.ioEnded(label);
  };
  const inv = current.getStore();
  if (!inv || inv.ended) {
    count(true);
    return () => count(false);
  }
  inv.bodies.add(count);
  count(inv.sleeping === 0);
  return () => {
    inv.bodies.delete(count);
    count(false);
  };
}

/** Counts the open bodies of `inv` as work in progress, or stops counting them. */
function countBodies(inv: Invocation, counted: boolean): void {
  for (const count of inv.bodies) count(counted);
}

/**
 * Sleeps on the simulated clock. Inside an invocation that holds the clock, the hold is let go for
 * the sleep, so simulated time passes only while the handler sleeps: the handler's own work
 * (reading, decompressing, parsing) takes no simulated time however long it takes for real.
 */
export async function simulatedSleep(ms: number): Promise<void> {
  const inv = current.getStore();
  if (inv?.killed) return frozen();
  if (inv && !inv.ended && inv.sleeping++ === 0) {
    setHolding(inv, false);
    countBodies(inv, false);
  }
  try {
    await new Promise<void>((resolve) => setTimeout(resolve, ms));
  } finally {
    if (inv && !inv.ended && --inv.sleeping === 0) {
      setHolding(inv, inv.holdClock);
      countBodies(inv, true);
    }
  }
  if (inv?.killed) return frozen();
}

function setHolding(inv: Invocation, holding: boolean): void {
  if (inv.holding !== holding) {
    inv.holding = holding;
    if (holding) inv.host.ioStarted(HOLD_LABEL);
    else inv.host.ioEnded(HOLD_LABEL);
  }
  updateMeter(inv);
}

/** Starts or stops the real-time meter: it runs while the invocation alone stops simulated time. */
function updateMeter(inv: Invocation): void {
  const working = inv.holding && inv.calls === 0 && !inv.ended;
  if (working && inv.workingSince === undefined) inv.workingSince = performance.now();
  if (!working && inv.workingSince !== undefined) {
    inv.workMs += performance.now() - inv.workingSince;
    inv.workingSince = undefined;
  }
}

function workSeconds(inv: Invocation): number {
  const now = inv.workingSince === undefined ? 0 : performance.now() - inv.workingSince;
  return (inv.workMs + now) / 1000;
}

let collectGarbage: (() => void) | undefined;

/** A full garbage collection (exposing V8's `gc` once if the process was not started with it). */
function fullGc(): void {
  if (!collectGarbage) {
    const exposed = (globalThis as { gc?: () => void }).gc;
    if (typeof exposed === 'function') collectGarbage = exposed;
    else {
      v8.setFlagsFromString('--expose-gc');
      collectGarbage = vm.runInNewContext('gc') as () => void;
    }
  }
  collectGarbage();
}

function heapUsed(): number {
  return v8.getHeapStatistics().used_heap_size;
}

/** The live heap after the last full collection this module ran (lowered when the heap is seen smaller). */
let liveHeap: number | undefined;

/**
 * The heap an invocation's growth is measured from. Garbage left by earlier work would hide growth
 * (a collection during the invocation frees it), so when the heap is more than half the function's
 * memory size above the last live heap measured, it is collected first.
 */
function heapBaseline(limitBytes: number): number {
  let used = heapUsed();
  if (liveHeap === undefined || used - liveHeap > limitBytes / 2) {
    fullGc();
    used = heapUsed();
    liveHeap = used;
  } else if (used < liveHeap) liveHeap = used;
  return used;
}

/** Heap growth above `start`, in bytes, when it is over `limitBytes` even after a full collection; else undefined. */
function heapOver(start: number, limitBytes: number): number | undefined {
  if (heapUsed() - start <= limitBytes) return undefined;
  fullGc();
  liveHeap = heapUsed();
  const growth = liveHeap - start;
  return growth > limitBytes ? growth : undefined;
}

/** The real-time limit of a function: see `LambdaLimits.realTimeLimitSeconds`. */
export function realTimeLimitSeconds(limits: LambdaLimits): number {
  return Math.min(
    limits.realTimeLimitSeconds ?? Infinity,
    limits.timeoutSeconds,
    LAMBDA_REAL_TIME_GUARD_MAX_SECONDS,
  );
}

/**
 * Runs one invocation; resolves to its response (serialised and parsed back, as Lambda returns it)
 * or rejects with the error named as Lambda names it (a function error's `errorType`, or the Invoke
 * API's error).
 */
export async function invokeInProcess(options: InvokeInProcess): Promise<unknown> {
  const { host, limits } = options;
  const request = JSON.stringify(options.event ?? {});
  const requestBytes = Buffer.byteLength(request);
  if (requestBytes > LAMBDA_SYNC_PAYLOAD_LIMIT_BYTES) throw lambdaRequestTooLarge(requestBytes);
  const event = JSON.parse(request) as unknown;

  const inv: Invocation = {
    host,
    holdClock: options.holdClock,
    holding: false,
    sleeping: 0,
    calls: 0,
    bodies: new Set(),
    ended: false,
    killed: false,
    workMs: 0,
    workingSince: undefined,
  };
  let stop!: (error: Error) => void;
  const stopped = new Promise<never>((_, reject) => (stop = reject));
  const kill = (error: Error) => {
    if (inv.ended) return;
    inv.killed = true;
    stop(error);
  };
  const memoryLimitBytes = limits.memorySizeMb * MIB;
  const realLimit = realTimeLimitSeconds(limits);
  const heapAtStart = heapBaseline(memoryLimitBytes);
  const checkMemory = () => {
    if (serviceWork > 0) return;
    const growth = heapOver(heapAtStart, memoryLimitBytes);
    if (growth !== undefined)
      kill(lambdaOutOfMemory(limits.memorySizeMb, `heap grew by ${Math.round(growth / MIB)} MB`));
  };

  setHolding(inv, inv.holdClock);
  const timer = host.clock.setTimeout(
    () => kill(lambdaTimedOut(limits.timeoutSeconds)),
    limits.timeoutSeconds * 1000,
  );
  const sampler = realSetInterval(() => {
    if (host.stopped)
      kill(namedError('Sandbox.Stopped', 'The local run ended while the invocation was running'));
    else if (workSeconds(inv) > realLimit) kill(lambdaTimedOut(limits.timeoutSeconds));
    else checkMemory();
  }, LAMBDA_SAMPLE_INTERVAL_MS);
  // Sampling alone does not keep the process alive.
  sampler.unref();
  try {
    const running = current.run(inv, () => options.handler(event));
    const result = await Promise.race([running, stopped]);
    checkMemory();
    if (inv.killed) await stopped;
    const response = JSON.stringify(result ?? null);
    const responseBytes = Buffer.byteLength(response);
    if (responseBytes > LAMBDA_SYNC_PAYLOAD_LIMIT_BYTES) throw lambdaResponseTooLarge(responseBytes);
    return JSON.parse(response) as unknown;
  } finally {
    setHolding(inv, false);
    // Nobody reads a body its invocation left open: it no longer holds the clock.
    countBodies(inv, false);
    inv.bodies.clear();
    inv.ended = true;
    host.clock.clearTimeout(timer);
    realClearInterval(sampler);
  }
}
