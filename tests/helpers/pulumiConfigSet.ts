/**
 * Applies `pulumi config set` command lines to a stack config the way the Pulumi CLI stores them, so
 * tests can run documented commands under mocks.
 *
 * With `--path`, the Pulumi CLI builds nested lists and objects from the key and stores a value that
 * parses as an integer or as true/false as a number or boolean (unless `--type string` is given);
 * without `--path` the value is stored as a string.
 */
import { PROJECT } from './pulumiMocks';

/** Splits a shell command line into words (single and double quotes, no expansions). */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  const re = /'([^']*)'|"((?:\\.|[^"\\])*)"|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(line)) !== null) words.push(m[1] ?? m[2]?.replace(/\\(.)/g, '$1') ?? m[3]);
  return words;
}

/** `tables[0].successEmails[1]` -> ['tables', 0, 'successEmails', 1]. */
export function parseConfigPath(path: string): (string | number)[] {
  const parts: (string | number)[] = [];
  const re = /([^.[\]]+)|\[(\d+)\]/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(path)) !== null) parts.push(m[2] !== undefined ? Number(m[2]) : m[1]);
  return parts;
}

/** The value as the Pulumi CLI stores it for `config set --path` without `--type`. */
export function pathValue(text: string, type?: string): unknown {
  if (type === 'string') return text;
  if (/^-?\d+$/.test(text)) return Number(text);
  if (text === 'true' || text === 'false') return text === 'true';
  return text;
}

/**
 * Applies one `pulumi config set ...` command to `config` (flat map of `namespace:key` to value, the
 * shape `runProgram` takes). Returns false when the line is not a `pulumi config set` command.
 */
export function applyConfigSet(config: Record<string, unknown>, line: string): boolean {
  const words = shellWords(line.replace(/#.*$/, ''));
  if (words[0] !== 'pulumi' || words[1] !== 'config' || words[2] !== 'set') return false;
  let usePath = false;
  let type: string | undefined;
  const rest: string[] = [];
  for (let i = 3; i < words.length; i++) {
    if (words[i] === '--path') usePath = true;
    else if (words[i] === '--type') type = words[++i];
    else if (words[i] === '--secret' || words[i] === '--plaintext') continue;
    else rest.push(words[i]);
  }
  const [key, value] = rest;
  if (key === undefined || value === undefined) throw new Error(`cannot read: ${line}`);
  if (!usePath) {
    config[key.includes(':') ? key : `${PROJECT}:${key}`] = value;
    return true;
  }
  const [head, ...path] = parseConfigPath(key);
  const full = String(head).includes(':') ? String(head) : `${PROJECT}:${head}`;
  if (path.length === 0) {
    config[full] = pathValue(value, type);
    return true;
  }
  let node: any = (config[full] ??= typeof path[0] === 'number' ? [] : {});
  for (let i = 0; i < path.length - 1; i++) {
    const part = path[i];
    node[part] ??= typeof path[i + 1] === 'number' ? [] : {};
    node = node[part];
  }
  node[path[path.length - 1]] = pathValue(value, type);
  return true;
}

/** Joins shell lines continued with a trailing backslash. */
export function joinContinuations(text: string): string[] {
  return text.replace(/\\\n\s*/g, ' ').split('\n');
}
