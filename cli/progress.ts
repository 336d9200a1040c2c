/**
 * The progress display of the long-running commands (`dce verify --deep`, `dce replay`), on stderr: a
 * cli-progress bar of exports done on a terminal, a plain line every few seconds and at the end
 * otherwise (a log file or a pipe gets no control characters). Each command says what it counts;
 * the display is the same for all.
 */

/** A stream progress is written to: a terminal gets a bar, anything else plain lines. */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

/** Feed `update` from the command's progress callback; call `stop` when the command ends. */
export interface ProgressDisplay<P> {
  update: (progress: P) => void;
  stop: () => void;
}

/** What one command shows of its progress. */
export interface ProgressView<P> {
  /** The bar's cli-progress format: `{bar}`, `{value}`, `{total}` and the keys of `payload`. */
  barFormat: string;
  /** Exports done and in all; the total may grow while the command runs. */
  done: (progress: P) => number;
  total: (progress: P) => number;
  /** The other figures the bar shows. */
  payload: (progress: P) => Record<string, string | number>;
  /** The plain line written off a terminal, without its newline. */
  line: (progress: P) => string;
}

/** How often a plain line is written off a terminal. */
const PLAIN_LINE_INTERVAL_MS = 2000;

/** A display that shows nothing (for `--json`, whose stderr a script may read). */
export function silentProgress<P>(): ProgressDisplay<P> {
  return { update: () => undefined, stop: () => undefined };
}

function barDisplay<P>(stream: ProgressStream, view: ProgressView<P>): ProgressDisplay<P> {
  // Loaded only when a bar is drawn, so that commands run without a terminal never load it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const cliProgress = require('cli-progress') as typeof import('cli-progress');
  const bar = new cliProgress.SingleBar(
    { stream: stream as unknown as NodeJS.WritableStream, format: view.barFormat, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update: (p) => {
      const payload = view.payload(p);
      if (!started) {
        bar.start(view.total(p), view.done(p), payload);
        started = true;
      }
      bar.setTotal(view.total(p));
      bar.update(view.done(p), payload);
    },
    stop: () => {
      if (started) bar.stop();
    },
  };
}

function plainLineDisplay<P>(
  stream: ProgressStream,
  view: ProgressView<P>,
  intervalMs: number,
  now: () => number,
): ProgressDisplay<P> {
  let last = -Infinity;
  return {
    update: (p) => {
      const t = now();
      // The last line (all done) is always written, however soon after the one before.
      if (t - last < intervalMs && view.done(p) < view.total(p)) return;
      last = t;
      stream.write(`${view.line(p)}\n`);
    },
    stop: () => undefined,
  };
}

/** A bar on a terminal, plain lines otherwise. */
export function createProgressDisplay<P>(
  stream: ProgressStream,
  view: ProgressView<P>,
  options: { intervalMs?: number; now?: () => number } = {},
): ProgressDisplay<P> {
  if (stream.isTTY) return barDisplay(stream, view);
  return plainLineDisplay(
    stream,
    view,
    options.intervalMs ?? PLAIN_LINE_INTERVAL_MS,
    options.now ?? Date.now,
  );
}
