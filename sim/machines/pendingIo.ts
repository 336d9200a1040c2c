/**
 * The I/O a local run's clock waits for: client calls in progress (and an S3 response body until it
 * is read), held clocks and the machines' own calls, counted by label so a stall can name them. The
 * simulated clock only moves once all of it has settled, so real clients against local servers work
 * on simulated time.
 */
import type { CommandSender } from '../../functions/chain/exportTick';
import { bodyOpened, callStarted, invocationKilled, type SandboxHost } from './lambdaSandbox';

/** Anything with the AWS SDK v3 client `send` method. */
type SendClient = CommandSender;

/** Where a tracked client's calls are counted. */
export type IoHost = Pick<SandboxHost, 'ioStarted' | 'ioEnded'>;

const realSetImmediate = globalThis.setImmediate;
const realSetTimeout = globalThis.setTimeout;
const realClearTimeout = globalThis.clearTimeout;

/**
 * Real seconds without any client call starting or ending, while work in progress holds the clock,
 * after which the run fails instead of hanging: a handler holding the clock waits on something the
 * clock cannot move (a timer outside `simulatedSleep`).
 */
const STALLED_SECONDS = 120;

/** A client call's name for the stall report: the command's class and its table or key. */
function commandLabel(command: unknown): string {
  const name = (command as { constructor?: { name?: string } })?.constructor?.name ?? 'call';
  const input = (command as { input?: Record<string, unknown> })?.input ?? {};
  const target = input.TableName ?? input.Key ?? input.Name ?? input.Prefix;
  return typeof target === 'string' ? `${name} ${target}` : name;
}

/** A Node readable stream, as an S3 response body is. */
function isStream(value: unknown): value is NodeJS.ReadableStream & {
  destroyed: boolean;
  readableEnded: boolean;
  once(event: string, listener: () => void): unknown;
} {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { once?: unknown }).once === 'function' &&
    typeof (value as { pipe?: unknown }).pipe === 'function'
  );
}

/** Work in progress that the clock waits for, by label. */
export class PendingIo {
  private pending = 0;
  /** What is in progress, by label (a client call's command, a held clock), for the stall report. */
  private readonly inProgress = new Map<string, number>();
  /** Resolved (and cleared) when `pending` drops to zero: `settle()` sleeps on it instead of spinning. */
  private drained: { promise: Promise<void>; resolve: () => void } | undefined;
  /** performance.now() of the last client call that started or ended. */
  private lastIoAt = 0;

  started(label = 'work'): void {
    this.pending += 1;
    this.inProgress.set(label, (this.inProgress.get(label) ?? 0) + 1);
    this.lastIoAt = performance.now();
  }

  ended(label = 'work'): void {
    this.pending -= 1;
    const left = (this.inProgress.get(label) ?? 0) - 1;
    if (left > 0) this.inProgress.set(label, left);
    else this.inProgress.delete(label);
    this.lastIoAt = performance.now();
    if (this.pending === 0 && this.drained) {
      const drained = this.drained;
      this.drained = undefined;
      drained.resolve();
    }
  }

  /** The work in progress, named: `GetObjectCommand body ×2, invocation holding the clock`. */
  describe(): string {
    return [...this.inProgress].map(([label, n]) => (n > 1 ? `${label} ×${n}` : label)).join(', ');
  }

  /**
   * Lets promise chains settle and waits (in real time) for pending client calls. While calls are
   * pending it sleeps until the last one settles rather than polling with setImmediate: polling kept
   * this process busy at 100% of a core, competing with the local servers for the CPU.
   */
  async settle(): Promise<void> {
    for (let i = 0; i < 3 || this.pending > 0; i++) {
      if (this.pending > 0) {
        if (!this.drained) {
          let resolve!: () => void;
          const promise = new Promise<void>((r) => (resolve = r));
          this.drained = { promise, resolve };
        }
        await this.drainedOrStalled(this.drained.promise);
        // Settle again from scratch: the responses resume promise chains that may start more calls.
        i = -1;
        continue;
      }
      await new Promise((resolve) => realSetImmediate(resolve));
    }
  }

  /** Resolves with `drained`; rejects when no client call started or ended for STALLED_SECONDS. */
  private drainedOrStalled(drained: Promise<void>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let timer: ReturnType<typeof realSetTimeout> | undefined;
      const check = () => {
        const quietSeconds = (performance.now() - this.lastIoAt) / 1000;
        if (quietSeconds < STALLED_SECONDS) {
          timer = realSetTimeout(check, 5_000);
          return;
        }
        reject(
          new Error(
            `LocalRun: ${this.pending} calls or invocations in progress (${this.describe()}) and no client call for ${STALLED_SECONDS} s of real time: a handler that holds the clock is waiting outside simulatedSleep`,
          ),
        );
      };
      timer = realSetTimeout(check, 5_000);
      drained.then(
        () => {
          realClearTimeout(timer);
          resolve();
        },
        (error: unknown) => {
          realClearTimeout(timer);
          reject(error as Error);
        },
      );
    });
  }
}

/**
 * `client`, with its calls in progress counted on `host` so the clock waits for real I/O. A call made
 * by a Lambda invocation that a limit has ended (timeout, memory) never happens: Lambda froze its
 * sandbox.
 */
export function trackedClient(host: IoHost, client: SendClient): SendClient {
  return {
    send: async (command) => {
      if (invocationKilled()) return new Promise<never>(() => undefined);
      const label = commandLabel(command);
      host.ioStarted(label);
      const callEnded = callStarted();
      let result;
      try {
        result = await client.send(command);
      } catch (error) {
        callEnded();
        host.ioEnded(label);
        throw error;
      }
      // A response body (S3 GetObject) arrives after the call resolves: it counts as I/O until
      // the stream closes, or the clock would move on while the handler is still reading it;
      // but not while the invocation reading it sleeps (bodyOpened, sim/machines/lambdaSandbox.ts).
      const body = (result as { Body?: unknown } | undefined)?.Body;
      if (isStream(body) && !body.destroyed && !body.readableEnded) {
        const closed = bodyOpened(host, `${label} body`);
        host.ioEnded(label);
        let released = false;
        const release = () => {
          if (released) return;
          released = true;
          callEnded();
          closed();
        };
        body.once('close', release);
        body.once('end', release);
        body.once('error', release);
      } else {
        callEnded();
        host.ioEnded(label);
      }
      return result;
    },
  };
}
