/**
 * Checks of the stack config that are about how Pulumi stores it rather than about one field: numbers
 * that `pulumi config set --path` made of strings, keys the program does not read, and a stack name
 * too long for any alias. Used by `validateConfig` (config.ts).
 */
import { overlongNames, physicalNames, type NameKind } from './names';

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

/** How each kind of physical name reads in a message. */
const KIND_WORDS: Record<NameKind, string> = {
  lambdaFunction: 'Lambda function',
  iamRole: 'IAM role',
  stateMachine: 'state machine',
  schedule: 'schedule',
  snsTopic: 'SNS topic',
  logGroup: 'log group',
  alarm: 'alarm',
  dashboard: 'dashboard',
  s3Bucket: 'created bucket',
  ssmParameter: 'SSM parameter',
};

/** The config keys (without the project prefix) the program reads. */
export const TOP_LEVEL_KEYS = ['tables', 'defaults'] as const;

/** Fields whose value is a string, which `config set --path` turns into a number when it looks like one. */
const STRING_FIELDS = ['tableName', 'alias'] as const;
const STRING_BUCKET_FIELDS = ['existingName', 'prefix', 'ownerAccountId'] as const;

/** What a problem with a field Pulumi stored as a number adds to its message. */
export function numberHint(path: string, value: unknown): string {
  return (
    `Pulumi stored ${JSON.stringify(value)} as a number (config set --path does that to digits, dropping leading zeros); ` +
    `set it as text: pulumi config set --path '${path}' <value> --type string`
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Turns numbers in string fields (table name, alias, bucket fields, tag values) back into strings,
 * as `pulumi config set --path` stores `12345` as a number. Returns a copy and the paths it changed,
 * so a value that is still invalid is reported with `--type string` as the way out. A number too large
 * to be read exactly cannot be turned back and is left as it is (the schema then rejects it).
 */
export function coerceNumbers(entry: unknown, base: string, coerced: Map<string, unknown>): unknown {
  if (!isRecord(entry)) return entry;
  const out: Record<string, unknown> = { ...entry };
  const fix = (holder: Record<string, unknown>, key: string, path: string) => {
    const value = holder[key];
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) return;
    holder[key] = String(value);
    coerced.set(path, value);
  };
  for (const key of STRING_FIELDS) fix(out, key, `${base}.${key}`);
  if (isRecord(out.bucket)) {
    out.bucket = { ...out.bucket };
    for (const key of STRING_BUCKET_FIELDS)
      fix(out.bucket as Record<string, unknown>, key, `${base}.bucket.${key}`);
  }
  if (isRecord(out.tags)) {
    const tags: Record<string, unknown> = { ...out.tags };
    for (const key of Object.keys(tags)) fix(tags, key, `${base}.tags.${key}`);
    out.tags = tags;
  }
  return out;
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

/** Problems for config keys of this project that the program does not read (a typo like `table`). */
export function unknownKeyProblems(project: string, settings: Record<string, unknown>): ConfigProblem[] {
  return Object.keys(settings)
    .filter((key) => !(TOP_LEVEL_KEYS as readonly string[]).includes(key))
    .map((key) => {
      const hint = closest(key, TOP_LEVEL_KEYS);
      return {
        path: `${project}:${key}`,
        value: settings[key],
        message:
          `unknown setting${hint ? `; did you mean ${hint}?` : ''} ` +
          `(this program reads ${TOP_LEVEL_KEYS.join(' and ')}; remove it with pulumi config rm --path '${key}')`,
      };
    });
}

/**
 * Whether the stack name alone makes some physical name too long, whatever the alias: then the stack
 * is to blame (once), not each table's alias. Returns the problem, or undefined.
 */
export function stackNameProblem(
  stack: string,
  nameOf: (alias: string) => string,
  createsBucket: boolean,
): ConfigProblem | undefined {
  const shortest = 'a';
  const long = overlongNames(physicalNames(nameOf(shortest), stack, shortest), createsBucket);
  if (long.length === 0) return undefined;
  const worst = long.reduce((a, b) => (b.name.length - b.limit > a.name.length - a.limit ? b : a));
  const excess = worst.name.length - worst.limit;
  return {
    path: 'stack name',
    value: stack,
    message:
      `is ${stack.length} characters long: even with a one-character alias the ${KIND_WORDS[worst.kind]} name "${worst.name}" is ` +
      `${worst.name.length} characters (AWS limit ${worst.limit}); use a stack name at least ${excess} characters shorter ` +
      `(pulumi stack rename, or a new stack)` +
      (long.every((n) => n.kind === 's3Bucket')
        ? ', or export into an existing bucket (bucket.existingName)'
        : ''),
  };
}
