/**
 * The shape rules of the source tree, checked by parsing it: no folder with 25 or more source files of
 * its own, no source file over 600 lines, no class
 * over 300 lines, and no function, method or arrow function whose body spans more than 100 lines. Tests are left out (a
 * `describe` block is long by nature), and so are installed packages and the simulation's output.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';
import { REPO_ROOT } from '../../helpers/repoRoot';

const ROOT = REPO_ROOT;
const MAX_FILE_LINES = 600;
const MAX_FUNCTION_LINES = 100;
const MAX_CLASS_LINES = 300;
/** Source files directly in one folder: past that, a folder is split by concept (docs/ARCHITECTURE.md). */
const MAX_FOLDER_FILES = 24;
/** Folders that hold no product source (`.stryker-tmp`: copies of the tree a mutation run works in). */
const SKIPPED_DIRECTORIES = new Set(['node_modules', 'tests', '.git', '.sim', '.stryker-tmp', 'reports']);

/**
 * Functions over the limit that are known and owed a split, keyed `file:name`, with their length when
 * listed. This list may only shrink: a listed function that grows fails like any other, and one that
 * got shorter fails the test until its number is lowered (or its entry removed once it fits).
 */
const ALLOWED_LONG_FUNCTIONS: Record<string, { lines: number; reason: string }> = {};

/**
 * Classes over the limit that are known and owed a split, keyed `file:name`, with their length. Like
 * the list above it may only shrink.
 */
const ALLOWED_LONG_CLASSES: Record<string, { lines: number; reason: string }> = {};

interface LongFunction {
  key: string;
  where: string;
  lines: number;
  kind: 'function' | 'class';
}

function sourceFiles(directory: string): string[] {
  const files: string[] = [];
  for (const entry of fs.readdirSync(directory, { withFileTypes: true })) {
    if (SKIPPED_DIRECTORIES.has(entry.name)) continue;
    const full = path.join(directory, entry.name);
    if (entry.isDirectory()) files.push(...sourceFiles(full));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) files.push(full);
  }
  return files;
}

function lineOf(file: ts.SourceFile, position: number): number {
  return file.getLineAndCharacterOfPosition(position).line + 1;
}

/** The name a function is known by: its own, or that of the variable, property or method holding it. */
function functionName(node: ts.FunctionLikeDeclaration): string {
  const parent = node.parent;
  if (ts.isClassLike(parent)) {
    const member = ts.isConstructorDeclaration(node)
      ? 'constructor'
      : (node.name?.getText() ?? '<anonymous>');
    return `${parent.name?.getText() ?? '<class>'}.${member}`;
  }
  if (node.name && !ts.isComputedPropertyName(node.name)) return node.name.getText();
  if (
    (ts.isVariableDeclaration(parent) ||
      ts.isPropertyAssignment(parent) ||
      ts.isPropertyDeclaration(parent)) &&
    !ts.isComputedPropertyName(parent.name)
  )
    return parent.name.getText();
  return '<anonymous>';
}

function longFunctions(relative: string, file: ts.SourceFile): LongFunction[] {
  const found: LongFunction[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isClassLike(node)) {
      const start = lineOf(file, node.getStart(file));
      const lines = lineOf(file, node.getEnd()) - start + 1;
      const name = node.name?.getText() ?? '<class>';
      if (lines > MAX_CLASS_LINES)
        found.push({
          key: `${relative}:${name}`,
          where: `${relative}:${start} class ${name}`,
          lines,
          kind: 'class',
        });
    }
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const body = node.body as ts.Node;
      const start = lineOf(file, body.getStart(file));
      const lines = lineOf(file, body.getEnd()) - start + 1;
      if (lines > MAX_FUNCTION_LINES) {
        const name = functionName(node as ts.FunctionLikeDeclaration);
        found.push({
          key: `${relative}:${name}`,
          where: `${relative}:${start} ${name}`,
          lines,
          kind: 'function',
        });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

/** One source file's length and its long functions (the syntax tree itself is not kept). */
function measure(full: string): { relative: string; lines: number; long: LongFunction[] } {
  const relative = path.relative(ROOT, full).split(path.sep).join('/');
  const text = fs.readFileSync(full, 'utf8');
  const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
  const parsed = ts.createSourceFile(relative, text, ts.ScriptTarget.Latest, true);
  return { relative, lines, long: longFunctions(relative, parsed) };
}

describe('code shape', () => {
  let files: ReturnType<typeof measure>[] = [];
  before(() => {
    files = sourceFiles(ROOT).map(measure);
  });

  it('reads the product source (not an empty tree)', () => {
    const names = files.map((f) => f.relative);
    expect(names).to.include('components/config/index.ts');
    expect(names.some((n) => n.startsWith('tests/'))).to.equal(false);
  });

  it(`has no source file over ${MAX_FILE_LINES} lines`, () => {
    const offenders = files
      .filter((f) => f.lines > MAX_FILE_LINES)
      .map((f) => `${f.relative}: ${f.lines} lines`);
    expect(offenders, `files over ${MAX_FILE_LINES} lines:\n${offenders.join('\n')}`).to.deep.equal([]);
  });

  it(`has no folder with more than ${MAX_FOLDER_FILES} source files of its own`, () => {
    const perFolder = new Map<string, number>();
    for (const f of files) {
      const folder = path.posix.dirname(f.relative);
      perFolder.set(folder, (perFolder.get(folder) ?? 0) + 1);
    }
    // The top level holds the program's entry and the configuration files only.
    expect(perFolder.get('.') ?? 0).to.be.below(5);
    const offenders = [...perFolder]
      .filter(([, n]) => n > MAX_FOLDER_FILES)
      .map(([folder, n]) => `${folder}/: ${n} files`);
    expect(
      offenders,
      `folders over ${MAX_FOLDER_FILES} source files:\n${offenders.join('\n')}`,
    ).to.deep.equal([]);
  });

  it(`has no function body over ${MAX_FUNCTION_LINES} lines beyond the listed ones`, () => {
    const offenders = files
      .flatMap((f) => f.long)
      .filter((f) => f.kind === 'function')
      .filter((f) => !ALLOWED_LONG_FUNCTIONS[f.key] || f.lines > ALLOWED_LONG_FUNCTIONS[f.key].lines)
      .map((f) => `${f.where}: ${f.lines} lines`);
    expect(
      offenders,
      `function bodies over ${MAX_FUNCTION_LINES} lines:\n${offenders.join('\n')}`,
    ).to.deep.equal([]);
  });

  it(`has no class over ${MAX_CLASS_LINES} lines beyond the listed ones`, () => {
    const classes = files.flatMap((f) => f.long).filter((f) => f.kind === 'class');
    const offenders = classes
      .filter((f) => !ALLOWED_LONG_CLASSES[f.key] || f.lines > ALLOWED_LONG_CLASSES[f.key].lines)
      .map((f) => `${f.where}: ${f.lines} lines`);
    expect(offenders, `classes over ${MAX_CLASS_LINES} lines:\n${offenders.join('\n')}`).to.deep.equal([]);
    const found = new Map(classes.map((f) => [f.key, f.lines] as const));
    const stale = Object.entries(ALLOWED_LONG_CLASSES)
      .filter(([key, allowed]) => (found.get(key) ?? 0) < allowed.lines)
      .map(
        ([key, allowed]) =>
          `${key}: listed at ${allowed.lines} lines, now ${found.get(key) ?? 'within the limit'}`,
      );
    expect(stale, `stale class allow-list entries:\n${stale.join('\n')}`).to.deep.equal([]);
  });

  it('keeps the allow-list of long functions no longer than the code needs', () => {
    const found = new Map(
      files
        .flatMap((f) => f.long)
        .filter((f) => f.kind === 'function')
        .map((f) => [f.key, f.lines] as const),
    );
    // A function that grew past its entry is reported by the test above; here only the ones that shrank.
    const stale = Object.entries(ALLOWED_LONG_FUNCTIONS)
      .filter(([key, allowed]) => (found.get(key) ?? 0) < allowed.lines)
      .map(([key, allowed]) =>
        found.has(key)
          ? `${key}: listed at ${allowed.lines} lines, now ${found.get(key)}; lower the entry`
          : `${key}: no longer over ${MAX_FUNCTION_LINES} lines; remove the entry`,
      );
    expect(stale, `stale allow-list entries:\n${stale.join('\n')}`).to.deep.equal([]);
  });
});
