/**
 * The problems a config can have and how they read: each one names its field path as written with
 * `pulumi config set --path` (`tables[2].replicas[0].maxWritesPerSecond`), the table it belongs to, the
 * offending value and what is allowed. Every problem is collected; `ConfigError` lists them all.
 */
import type { z } from 'zod';
import { allowedAt, fieldsAt } from './fields';

/** One thing wrong with the config. */
export interface ConfigProblem {
  /** Field path as written with `pulumi config set --path`, e.g. `tables[1].bucket.prefix`. */
  path: string;
  /** The table the problem belongs to, when it belongs to one. */
  table?: { index: number; name?: string };
  /** The offending value (undefined when missing). */
  value: unknown;
  /** What is wrong and what is allowed. */
  message: string;
}

/** Thrown when the config is invalid; the message lists every problem. */
export class ConfigError extends Error {
  constructor(readonly problems: ConfigProblem[]) {
    super(
      `Invalid dynamodb-continuous-exports config (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  - ${formatProblem(p)}`).join('\n'),
    );
    this.name = 'ConfigError';
  }
}

function formatValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/** `tables[0].windowMinutes (table 0 "Orders"): got 5; allowed: an integer from 15 to 1440` */
export function formatProblem(p: ConfigProblem): string {
  const table = p.table ? ` (table ${p.table.index}${p.table.name ? ` "${p.table.name}"` : ''})` : '';
  return `${p.path}${table}: got ${formatValue(p.value)}; ${p.message}`;
}

/** What a problem with a field Pulumi stored as a number adds to its message. */
export function numberHint(path: string, value: unknown): string {
  return (
    `Pulumi stored ${JSON.stringify(value)} as a number (config set --path does that to digits, dropping leading zeros); ` +
    `set it as text: pulumi config set --path '${path}' <value> --type string`
  );
}

/** Edit distance, for "did you mean" hints on misspelt keys. */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}

/** The candidate closest to `word`, when it is close enough to be a likely typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

/** `tables[0]` + ['bucket', 'prefix'] -> `tables[0].bucket.prefix`; indices as `[n]`. */
export function pathText(base: string, path: readonly PropertyKey[]): string {
  let out = base;
  for (const part of path)
    out += typeof part === 'number' ? `[${part}]` : out ? `.${String(part)}` : String(part);
  return out;
}

/** Where zod issues are turned into problems: the schema they came from and where it sits. */
export interface IssueSource {
  /** The schema that was parsed; the words of what each field accepts are read from it. */
  schema: z.ZodType;
  /** Path of the parsed value, e.g. `tables[1]` or `defaults`. */
  base: string;
  table?: ConfigProblem['table'];
  /** Paths of values `coerceNumbers` turned from numbers into text, with the number Pulumi stored. */
  coerced?: Map<string, unknown>;
  /** The table's fields whose value came from `defaults`: a rule they break says so. */
  fromDefaults?: ReadonlySet<string>;
}

type Issue = z.core.$ZodIssue;

function unknownKeyProblems(
  issue: Issue & { code: 'unrecognized_keys' },
  from: IssueSource,
): ConfigProblem[] {
  const input = (issue as { input?: Record<string, unknown> }).input ?? {};
  const known = fieldsAt(from.schema, issue.path);
  return issue.keys.map((key) => {
    const hint = closest(key, known);
    return {
      path: pathText(from.base, [...issue.path, key]),
      table: from.table,
      value: input[key],
      message: `unknown field${hint ? `; did you mean ${hint}?` : ''}; allowed fields: ${known.join(', ')}`,
    };
  });
}

/**
 * Problems from a failed parse, one per issue: the path, the value, and what the field accepts. A
 * custom issue (a rule of the schema) leads with its own message, and may state what is allowed in
 * `params.allowed` when that differs from the field's words.
 */
export function zodProblems(error: z.ZodError, from: IssueSource): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  const coerced = from.coerced ?? new Map<string, unknown>();
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      out.push(...unknownKeyProblems(issue, from));
      continue;
    }
    const own =
      issue.code === 'custom' ? (issue.params as { allowed?: string } | undefined)?.allowed : undefined;
    const allowed = own ?? allowedAt(from.schema, issue.path) ?? issue.message;
    const nested = (issue as { issues?: { message: string }[] }).issues ?? [];
    const origin = from.fromDefaults?.has(String(issue.path[0])) ? ' (value from defaults)' : '';
    const detail =
      issue.code === 'custom'
        ? `${issue.message}${origin}; `
        : issue.code === 'invalid_key' && nested.length > 0
          ? `${nested.map((i) => i.message).join(', ')}; `
          : '';
    const path = pathText(from.base, issue.path);
    // A bad map key (a tag key) is reported with the key as the value; the number hint is about values.
    const badKey = issue.code === 'invalid_key';
    const stored = !badKey && coerced.has(path);
    const value = badKey
      ? issue.path[issue.path.length - 1]
      : stored
        ? coerced.get(path)
        : (issue as { input?: unknown }).input;
    out.push({
      path,
      table: from.table,
      value,
      message: `${detail}allowed: ${allowed}${stored ? `. ${numberHint(path, value)}` : ''}`,
    });
  }
  return out;
}
