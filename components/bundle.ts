/**
 * Bundles a Lambda handler with esbuild, once per handler, when the program starts.
 *
 * The output must be byte-identical for identical sources: Pulumi compares archive contents, so a
 * bundle that changed on every run would redeploy the function on every `pulumi up`. Hence no
 * timestamps, no source maps with absolute paths, and a fixed working directory (the repository root),
 * so the path comments esbuild writes are the same on every machine.
 */
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { buildSync } from 'esbuild';
import { LAMBDA_HANDLERS } from '../functions/shared/lambdaHandlers';

/** Repository root: entries in LAMBDA_HANDLERS are relative to it. */
export const REPOSITORY_ROOT = path.resolve(__dirname, '..');

/** One bundled handler. */
export interface HandlerBundle {
  /** The single CommonJS file that becomes `index.js` in the archive. */
  code: string;
  /** SHA-256 of `code`, hex. */
  sha256: string;
}

/**
 * The packages left to the nodejs22.x runtime: the AWS SDK v3 service clients, which the Lambda
 * documentation says the Node.js runtimes include. Every other package is bundled, the SDK's other
 * packages included (`@aws-sdk/credential-providers`, which the replica's target client assumes its
 * role with): whether the runtime ships them is not documented, and a missing one would fail every
 * invocation at its first `require`.
 */
export const RUNTIME_PROVIDED_PACKAGES = ['@aws-sdk/client-*'] as const;

/**
 * Bundles `entry` (relative to the repository root) for Node.js 22 on Lambda.
 *
 * The AWS SDK clients stay external (`RUNTIME_PROVIDED_PACKAGES`); everything else, zod and the
 * credential providers included, is bundled. Note that the runtime's SDK version is whatever AWS
 * ships at the time; the handler only uses long-stable commands.
 */
export function buildHandlerBundle(entry: string): HandlerBundle {
  const result = buildSync({
    absWorkingDir: REPOSITORY_ROOT,
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    external: [...RUNTIME_PROVIDED_PACKAGES],
    write: false,
    minify: false,
    sourcemap: false,
    legalComments: 'none',
    logLevel: 'silent',
  });
  const file = result.outputFiles[0];
  if (!file) throw new Error(`esbuild produced no output for ${entry}`);
  const code = file.text;
  return { code, sha256: createHash('sha256').update(code).digest('hex') };
}

/** Bundles already built in this process, by entry. */
const built = new Map<string, HandlerBundle>();

/**
 * `buildHandlerBundle(entry)`, once per process: a stack with many replicas (or feeds) deploys the
 * same handler once per replica, and its source does not change while the program runs, so every
 * function of one handler gets the same bundle without esbuild running again for each.
 */
export function bundleHandler(entry: string): HandlerBundle {
  let bundle = built.get(entry);
  if (!bundle) {
    bundle = buildHandlerBundle(entry);
    built.set(entry, bundle);
  }
  return bundle;
}

/** Bundles every entry of LAMBDA_HANDLERS, keyed by handler name. */
export function bundleAllHandlers(): Record<string, HandlerBundle> {
  const out: Record<string, HandlerBundle> = {};
  for (const handler of LAMBDA_HANDLERS) out[handler.name] = bundleHandler(handler.entry);
  return out;
}
