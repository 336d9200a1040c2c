/**
 * Printing for people and for scripts. Every command builds one result value; `--json` prints it as
 * one JSON document on stdout, otherwise a short human text. Errors go to stderr in both modes (as a
 * JSON object `{ "error": ..., "code": ... }` with `--json`), so stdout stays parseable.
 */

/** Where a command writes; tests capture these. */
export interface Io {
  stdout: { write(text: string): unknown; isTTY?: boolean };
  stderr: { write(text: string): unknown; isTTY?: boolean };
  /** Reads one line from the terminal (for confirmations); absent when stdin is not a TTY. */
  prompt?: (question: string) => Promise<string>;
  /** Whether stdin is an interactive terminal. */
  stdinIsTTY: boolean;
  env: NodeJS.ProcessEnv;
  /** Current time, epoch seconds. */
  now: () => number;
}

/** Exit codes shared by every command (documented in docs/cli.md). */
export const EXIT = {
  /** Success; for `verify`, the chain is sound; for `simulate`, chain and replay check out. */
  OK: 0,
  /** The command ran and found problems: gaps, mismatches, a failed replay. */
  PROBLEMS: 1,
  /** Bad flags, missing target, access or network errors: nothing was checked. */
  USAGE: 2,
} as const;

export class Output {
  constructor(
    readonly io: Io,
    readonly json: boolean,
  ) {}

  /** Prints the result: `human()` as text, or `value` as JSON. */
  result(value: unknown, human: () => string): void {
    if (this.json) {
      this.io.stdout.write(`${JSON.stringify(value, jsonReplacer, 2)}\n`);
    } else {
      const text = human();
      this.io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    }
  }

  /** A progress or notice line for people; silent with `--json` so stdout stays one document. */
  info(text: string): void {
    if (!this.json) this.io.stderr.write(`${text}\n`);
  }

  error(message: string, code: number): void {
    if (this.json) this.io.stderr.write(`${JSON.stringify({ error: message, code })}\n`);
    else this.io.stderr.write(`dce: ${message}\n`);
  }
}

/** BigInt and Map values in results print as strings and objects. */
function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Map) return Object.fromEntries(value);
  return value;
}

/** `3725` -> `1h 2m 5s`; negative durations print with a minus sign. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return String(seconds);
  const sign = seconds < 0 ? '-' : '';
  let s = Math.round(Math.abs(seconds));
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const parts: string[] = [];
  if (d) parts.push(`${d}d`);
  if (h) parts.push(`${h}h`);
  if (m) parts.push(`${m}m`);
  if (s || parts.length === 0) parts.push(`${s}s`);
  return sign + parts.slice(0, 3).join(' ');
}

/** Epoch seconds -> ISO 8601 without milliseconds, or `-`. */
export function formatTime(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return '-';
  return new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
}

/** Aligned `label: value` lines. */
export function table(rows: [string, string][], indent = ''): string {
  const width = Math.max(0, ...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `${indent}${`${label}:`.padEnd(width + 2)}${value}`).join('\n');
}

/**
 * The SDK appends a hint for developers to errors whose reply it could not parse ("inspect the hidden
 * field {error}.$response"); an operator cannot act on it, so it is replaced by the HTTP status.
 */
const SDK_DESERIALIZATION_HINT =
  /\s*(?:Deserialization error: )?to see the raw response, inspect the hidden field \{error\}\.\$response on this object\.?/i;

/** An SDK error message without SDK internals. */
export function operatorMessage(error: unknown): string {
  const e = error as { message?: string; $response?: { statusCode?: number } } | undefined;
  const message = e?.message ?? String(error);
  if (!SDK_DESERIALIZATION_HINT.test(message)) return message;
  const status = e?.$response?.statusCode;
  const cleaned = message.replace(SDK_DESERIALIZATION_HINT, '').trim();
  const reply = `the endpoint's reply${status ? ` (HTTP ${status})` : ''} is not an AWS reply (is the endpoint right?)`;
  return cleaned ? `${cleaned}: ${reply}` : reply;
}

/** Names an AWS error for a person: service error name and message, plus what usually causes it. */
export function describeError(error: unknown): string {
  const e = error as {
    name?: string;
    message?: string;
    code?: string;
    $metadata?: { httpStatusCode?: number };
  };
  const name = e?.name ?? 'Error';
  const message = operatorMessage(error);
  if (name === 'CredentialsProviderError' || /Could not load credentials/i.test(message)) {
    return `no AWS credentials: ${message} (configure the standard chain, or pass --profile)`;
  }
  if (/Region is missing/i.test(message)) return `no AWS Region: pass --region or set AWS_REGION`;
  if (e?.code === 'ECONNREFUSED' || /ECONNREFUSED/.test(message)) {
    return `cannot connect: ${message} (is the endpoint right?)`;
  }
  if (name === 'AccessDeniedException' || name === 'AccessDenied') return `access denied: ${message}`;
  if (name === 'S3BucketMissingError') return message;
  if (name === 'NoSuchBucket') {
    const bucket = (error as { BucketName?: string }).BucketName;
    return `bucket ${bucket ?? ''}${bucket ? ' ' : ''}does not exist: ${message} (check the bucket name: --bucket, or the stack output)`;
  }
  if (name === 'UnknownError' || message === 'UnknownError') {
    const status = e?.$metadata?.httpStatusCode;
    return `the service refused the request${status ? ` (HTTP ${status})` : ''} without saying why`;
  }
  return name !== 'Error' && !message.startsWith(name) ? `${name}: ${message}` : message;
}
