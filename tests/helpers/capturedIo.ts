/**
 * The `Io` a test hands to `runDce` and the commands: standard output and error kept as text, no
 * terminal, an empty environment and a fixed clock unless `overrides` says otherwise.
 */
import type { Io } from '../../cli/output';

/** The fixed "now" (epoch seconds) of a captured run. */
export const CAPTURED_NOW = 1_800_000_000;

export function capturedIo(overrides: Partial<Io> = {}): {
  io: Io;
  stdout: () => string;
  stderr: () => string;
} {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = {
    stdout: { write: (t: string) => out.push(t) },
    stderr: { write: (t: string) => err.push(t) },
    stdinIsTTY: false,
    env: {},
    now: () => CAPTURED_NOW,
    ...overrides,
  };
  return { io, stdout: () => out.join(''), stderr: () => err.join('') };
}
