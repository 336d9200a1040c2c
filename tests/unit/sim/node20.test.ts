/**
 * The project supports Node.js 20.19 while its Step Functions interpreter, aws-local-stepfunctions 3
 * (a development dependency), declares Node.js 22. What the interpreter needs of Node.js 22 is
 * `Promise.withResolvers`, which sim/polyfills.ts provides; its other recent API, `AbortSignal.any`,
 * is in Node.js 20.3. This test fails if an upgrade of the interpreter starts using another API that
 * Node.js 20 lacks, so that the justification in docs/testing.md is re-examined.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import '../../../sim/polyfills';
import { REPO_ROOT } from '../../helpers/repoRoot';

const PACKAGE = join(REPO_ROOT, 'node_modules', 'aws-local-stepfunctions');

/** Built-ins that arrived after Node.js 20.19 (V8 11.3), as they appear in a call. */
const AFTER_NODE_20 = [
  'Promise.withResolvers',
  'Object.groupBy',
  'Map.groupBy',
  'Array.fromAsync',
  'process.getBuiltinModule',
  'import.meta.dirname',
  'import.meta.filename',
  'Iterator.from',
  '.symmetricDifference(',
  '.isSubsetOf(',
  '.isSupersetOf(',
  '.isDisjointFrom(',
  'RegExp.escape',
  'Float16Array',
  'Error.isError',
];

type WithResolvers = () => { promise: Promise<number>; resolve: (value: number) => void };

describe('Node.js 20 runs the local Step Functions interpreter', () => {
  it('declares Node.js 22, while the project declares 20.19', () => {
    const theirs = JSON.parse(readFileSync(join(PACKAGE, 'package.json'), 'utf8'));
    const ours = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));
    expect(theirs.engines.node).to.equal('>=22.0.0');
    expect(ours.engines.node).to.equal('>=20.19');
    expect(Object.keys(ours.devDependencies)).to.include('aws-local-stepfunctions');
  });

  it('uses no built-in newer than Node.js 20 except Promise.withResolvers, which the polyfill provides', async () => {
    const build = readFileSync(join(PACKAGE, 'build', 'main.node.cjs'), 'utf8');
    expect(AFTER_NODE_20.filter((api) => build.includes(api))).to.deep.equal(['Promise.withResolvers']);
    // ES2023 typings (tsconfig.json) do not declare it; the interpreter calls it as this.
    const withResolvers = (Promise as unknown as { withResolvers: WithResolvers }).withResolvers;
    const { promise, resolve } = withResolvers.call(Promise);
    resolve(7);
    expect(await promise).to.equal(7);
  });
});
