/**
 * What `dce simulate` and `npm run simulate` do before the simulation engine is loaded: warn about
 * flags npm kept for itself, and load the engine, which needs the development dependencies (the
 * simulated clock, the local servers, the IAM evaluator). Light on purpose: it loads neither.
 */
import { Command } from 'commander';
import { addSimulateOptions } from '../sim/simulation/options';
import { UsageError } from './target';

/** The long flags of the simulate command (`--days`, `--keep-servers`, ...), as declared. */
export function simulateFlagNames(): string[] {
  return addSimulateOptions(new Command('simulate'))
    .options.map((o) => o.long)
    .filter((name): name is string => typeof name === 'string');
}

/** The environment variable npm sets for a flag it took as its own config: `npm_config_keep_servers`. */
export function npmConfigVariable(flag: string): string {
  return `npm_config_${flag.replace(/^--/, '').replace(/-/g, '_')}`;
}

/**
 * The simulate flags npm swallowed: `npm run simulate --keep-servers` (without `--`) hands
 * `--keep-servers` to npm, which sets `npm_config_keep_servers` and passes nothing on. Flags the
 * command did get (`given`) are not reported, whatever npm's own config says.
 */
export function flagsSwallowedByNpm(
  env: NodeJS.ProcessEnv,
  flags: readonly string[],
  given: readonly string[] = [],
): { flag: string; variable: string; value: string }[] {
  return flags
    .filter((flag) => !given.some((g) => g === flag || g.startsWith(`${flag}=`)))
    .map((flag) => ({ flag, variable: npmConfigVariable(flag), value: env[npmConfigVariable(flag)] }))
    .filter((f): f is { flag: string; variable: string; value: string } => f.value !== undefined);
}

/** The warning for swallowed flags, naming each and the command line that passes them on; '' when none. */
export function npmSwallowedWarning(swallowed: ReturnType<typeof flagsSwallowedByNpm>): string {
  if (swallowed.length === 0) return '';
  // npm reads `--days 3` as `--days` (true) plus an argument `3`, so only a value other than
  // `true` can be shown with its flag.
  const words = swallowed.map((s) =>
    s.value === 'true' || s.value === '' ? s.flag : `${s.flag} ${s.value}`,
  );
  const variables = swallowed.map((s) => s.variable).join(', ');
  return (
    `simulate: npm took ${words.join(' ')} as its own option (${variables} set) and did not pass it on; ` +
    `put the flags after --: npm run simulate -- ${words.join(' ')}\n`
  );
}

/** The module that runs a simulation (cli/simulate.ts). */
export type SimulateModule = typeof import('./simulate');

/** Loads cli/simulate.ts (and with it the engine and every development dependency it needs). */
export function loadSimulateModule(): SimulateModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('./simulate') as SimulateModule;
}

/** The package a "Cannot find module" error names, when it names a package (not a relative path). */
export function missingPackage(error: unknown): string | undefined {
  const e = error as { code?: string; message?: string } | null;
  if (e?.code !== 'MODULE_NOT_FOUND' && e?.code !== 'ERR_MODULE_NOT_FOUND') return undefined;
  const m = /Cannot find (?:module|package) '([^']+)'/.exec(e.message ?? '');
  if (!m || m[1].startsWith('.') || m[1].startsWith('/')) return undefined;
  const parts = m[1].split('/');
  return m[1].startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** The development dependencies of this package (package.json), which `npm ci --omit=dev` leaves out. */
export function devDependencyNames(): string[] {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pkg = require('../package.json') as { devDependencies?: Record<string, string> };
  return Object.keys(pkg.devDependencies ?? {});
}

/**
 * Loads the simulation; a development dependency that is not installed becomes one usage error
 * saying so (not a stack trace). Any other failure is left as it is: it would be a defect.
 */
export function loadSimulate(
  load: () => SimulateModule = loadSimulateModule,
  devDependencies: readonly string[] = devDependencyNames(),
): SimulateModule {
  try {
    return load();
  } catch (error) {
    const name = missingPackage(error);
    if (name === undefined || !devDependencies.includes(name)) throw error;
    throw new UsageError(
      `simulate needs the development dependencies, and ${name} is not installed (was it 'npm ci --omit=dev'?): run 'npm ci' without --omit=dev`,
    );
  }
}
