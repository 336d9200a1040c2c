/**
 * What runs where it is deployed. `npm ci --omit=dev` must be enough to run `dce` and the Pulumi
 * program: the packages they load at run time are dependencies, not devDependencies. A Lambda bundle
 * must load with what the Lambda runtime provides.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { bundleHandler } from '../../components/bundle';
import { LAMBDA_HANDLERS, REPLICA_APPLY_HANDLER } from '../../functions/shared/lambdaHandlers';
import { REPO_ROOT } from '../helpers/repoRoot';

const ROOT = REPO_ROOT;
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

describe('Lambda bundles', () => {
  /**
   * Loads `code` in a fresh process as the Lambda runtime would, where the bundle may require only
   * Node built-ins and the AWS SDK clients the runtime is documented to include: any other package it
   * requires (`@aws-sdk/credential-providers` among them) fails as if the runtime did not ship it.
   * Calls `probe` on the module's exports and prints its result.
   */
  function loadAsOnLambda(code: string, probe: string) {
    const dir = mkdtempSync(join(tmpdir(), 'dce-bundle-'));
    const file = join(dir, 'index.js');
    writeFileSync(file, code);
    const script = `
      const Module = require('node:module');
      const resolve = Module._resolveFilename;
      const bundle = ${JSON.stringify(file)};
      Module._resolveFilename = function (request, parent, ...rest) {
        const fromBundle = parent && parent.filename === bundle;
        if (fromBundle && !request.startsWith('node:') && !Module.isBuiltin(request) && !/^@aws-sdk\\/client-[a-z0-9-]+$/.test(request)) {
          throw Object.assign(new Error("Cannot find module '" + request + "' (not in the Lambda runtime)"), { code: 'MODULE_NOT_FOUND' });
        }
        return resolve.call(this, request, parent, ...rest);
      };
      const loaded = new Module(bundle);
      loaded.filename = bundle;
      // The runtime's own SDK clients: here, this repository's.
      loaded.paths = Module._nodeModulePaths(${JSON.stringify(ROOT)});
      loaded._compile(require('node:fs').readFileSync(bundle, 'utf8'), bundle);
      Promise.resolve((${probe})(loaded.exports)).then((out) => console.log(JSON.stringify(out)));
    `;
    try {
      return spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', cwd: dir });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('the replica apply bundle needs no AWS SDK package but the clients at run time: its target client assumes a role with the bundled credential provider', async () => {
    const bundle = bundleHandler(REPLICA_APPLY_HANDLER.entry);
    expect(bundle.code).not.to.include('require("@aws-sdk/credential-providers")');
    const out = loadAsOnLambda(
      bundle.code,
      `async (m) => {
        const client = m.targetClient({ replicaAlias: 'dr', targetRegion: 'us-east-1', roleArn: 'arn:aws:iam::210987654321:role/w' });
        return { handler: typeof m.handler, region: await client.config.region(), credentials: typeof client.config.credentials };
      }`,
    );
    expect(out.stderr).to.equal('');
    expect(JSON.parse(out.stdout)).to.deep.equal({
      handler: 'function',
      region: 'us-east-1',
      credentials: 'function',
    });
  });

  it('every Lambda bundle loads with only the AWS SDK clients of the runtime', () => {
    for (const spec of LAMBDA_HANDLERS) {
      const out = loadAsOnLambda(bundleHandler(spec.entry).code, '(m) => typeof m.handler');
      expect(out.stderr, spec.name).to.equal('');
      expect(JSON.parse(out.stdout), spec.name).to.equal('function');
    }
  });
});
