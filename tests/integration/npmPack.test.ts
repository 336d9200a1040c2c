/**
 * What `npm pack` ships (the `files` allow-list in package.json): the Pulumi program, `dce` and what
 * it loads at run time, including `sim/` (`dce simulate` runs the offline AWS), the docs, README,
 * LICENSE and CHANGELOG; never the tests, the CI script, the benches and tools or the linters'
 * configuration. Every relative import of a shipped source file resolves to a shipped file.
 */
import { execFileSync } from 'node:child_process';
import { posix } from 'node:path';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { REPO_ROOT } from '../helpers/repoRoot';

/** Folders whose every tracked file the package must hold: what the program and `dce` load. */
const RUNTIME_FOLDERS = ['apply', 'bin', 'cli', 'components', 'format', 'functions', 'sim', 'statemachine'];
const RUNTIME_FILES = ['index.ts', 'Pulumi.yaml', 'package.json', 'README.md', 'LICENSE', 'CHANGELOG.md'];
/** Paths (or path prefixes) that are for developing the project, not for running it. */
const NOT_SHIPPED = [
  'tests/',
  'tools/',
  '.ci/',
  '.mocharc.json',
  '.prettierrc.json',
  '.prettierignore',
  '.gitignore',
  'eslint.config.mjs',
  'stryker.config.mjs',
];

function packedPaths(): string[] {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const [pack] = JSON.parse(out) as { files: { path: string }[] }[];
  return pack.files.map((f) => f.path).sort();
}

function trackedFiles(): string[] {
  return execFileSync('git', ['ls-files'], { cwd: REPO_ROOT, encoding: 'utf8' })
    .split('\n')
    .filter((p) => p !== '');
}

/** Relative module specifiers of a TypeScript or JavaScript source (imports, re-exports, requires). */
function relativeImports(source: string): string[] {
  const specs = new Set<string>();
  for (const m of source.matchAll(/(?:from|import|require)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) specs.add(m[1]);
  return [...specs];
}

describe('npm pack', () => {
  let packed: string[];
  before(function () {
    this.timeout(60_000);
    packed = packedPaths();
  });

  it('ships no tests, tools, CI script or linter configuration', () => {
    const unwanted = packed.filter((p) =>
      NOT_SHIPPED.some((n) => (n.endsWith('/') ? p.startsWith(n) : p === n)),
    );
    expect(unwanted).to.deep.equal([]);
  });

  it('ships every tracked file of the runtime folders, and the program, README, LICENSE and CHANGELOG', () => {
    const runtime = trackedFiles().filter((p) => RUNTIME_FOLDERS.some((f) => p.startsWith(`${f}/`)));
    expect(runtime.length).to.be.greaterThan(150);
    const missing = [...runtime, ...RUNTIME_FILES].filter((p) => !packed.includes(p));
    expect(missing).to.deep.equal([]);
  });

  it('every relative import of a shipped source resolves to a shipped file', () => {
    const shipped = new Set(packed);
    const unresolved: string[] = [];
    for (const file of packed.filter((p) => /\.(ts|js)$/.test(p))) {
      const source = readFileSync(join(REPO_ROOT, file), 'utf8');
      for (const spec of relativeImports(source)) {
        const base = posix.normalize(posix.join(posix.dirname(file), spec));
        const candidates = [base, `${base}.ts`, `${base}.js`, `${base}.json`, `${base}/index.ts`];
        if (!candidates.some((c) => shipped.has(c))) unresolved.push(`${file}: ${spec}`);
      }
    }
    expect(unresolved).to.deep.equal([]);
  });
});
