/**
 * `npm ci --omit=dev` must be enough to run `dce` and the Pulumi program: the packages they load at
 * run time are dependencies, not devDependencies.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';

const ROOT = join(__dirname, '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8'));

/**
 * Packages `npm ci --omit=dev` leaves out of the top-level node_modules: the ones the lockfile marks as
 * dev-only. (A nested copy under another package is resolved from that package only.)
 */
function devOnlyPackages(): string[] {
  return Object.entries(lock.packages as Record<string, { dev?: boolean }>)
    .filter(([path, entry]) => /^node_modules\/(@[^/]+\/)?[^/]+$/.test(path) && entry.dev === true)
    .map(([path]) => path.slice('node_modules/'.length));
}

/**
 * Runs bin/dce.js in a process where requiring any dev-only package fails as if it were not
 * installed, which is what `npm ci --omit=dev` does.
 */
function runWithoutDevDependencies(args: string[]) {
  const blocked = devOnlyPackages();
  const script = `
    const Module = require('node:module');
    const blocked = new Set(${JSON.stringify(blocked)});
    const resolve = Module._resolveFilename;
    Module._resolveFilename = function (request, ...rest) {
      const parts = request.split('/');
      const name = request.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
      if (blocked.has(name)) {
        throw Object.assign(new Error("Cannot find module '" + request + "' (dev dependency)"), { code: 'MODULE_NOT_FOUND' });
      }
      return resolve.call(this, request, ...rest);
    };
    process.argv = [process.execPath, ${JSON.stringify(join(ROOT, 'bin', 'dce.js'))}, ...${JSON.stringify(args)}];
    require(process.argv[1]);
  `;
  return spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', cwd: ROOT });
}

describe('production dependencies', () => {
  it('the lockfile marks the test tools as dev-only (the check below has something to block)', () => {
    expect(devOnlyPackages()).to.include.members(['mocha', 'chai', 's3rver', 'dynalite']);
  });

  it('dce --help and a command with bad flags run without any dev dependency', () => {
    const help = runWithoutDevDependencies(['--help']);
    expect(help.stderr).to.equal('');
    expect(help.status).to.equal(0);
    expect(help.stdout).to.match(/Usage: dce/);
    const usage = runWithoutDevDependencies(['status', '--alias', 'orders']);
    expect(usage.status).to.equal(2);
    expect(usage.stderr).to.match(/^dce: no SSM parameter names/);
  });

  it('Pulumi finds the TypeScript and type packages it type-checks index.ts with', () => {
    // Pulumi's nodejs runtime type-checks index.ts with the project's TypeScript (else its bundled
    // 3.8) and tsconfig.json, whose `types` must then be installed too.
    const tsconfig = JSON.parse(readFileSync(join(ROOT, 'tsconfig.json'), 'utf8'));
    const needed = ['typescript', 'tsx', ...tsconfig.compilerOptions.types.map((t: string) => `@types/${t}`)];
    for (const name of needed) expect(pkg.dependencies, name).to.have.property(name);
    for (const name of needed) expect(devOnlyPackages(), name).not.to.include(name);
  });
});
