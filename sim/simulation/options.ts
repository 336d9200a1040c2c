/**
 * The flags of a simulation run: their types, their parsers and their declaration on a command, shared
 * by `npm run simulate` and `dce simulate`.
 */
import { Command, InvalidArgumentError } from 'commander';
import type { ExportFormat } from '../../functions/chain/settings';
import { SCALE_LEVELS, SCALE_SIZES, type ScaleLevel } from './scaleSizes';

export type FaultLevel = 'none' | 'some' | 'chaos';
export type FormatFlag = 'json' | 'ion';

/** Flags of a simulation run. */
export interface SimulateOptions {
  /** Simulated days. */
  days: number;
  /** Writes per minute to the source table. */
  rate: number;
  /** Incremental window, minutes. */
  window: number;
  seed: number;
  faults: FaultLevel;
  /**
   * Where the exports and the chain manifest go: `server`, a local s3rver reached by a real S3Client
   * (the faithful path, ~10 ms a request), or `memory`, the in-process fake S3 (fast, for long runs).
   */
  s3: 'server' | 'memory';
  /**
   * How the tick and the operator reach SSM: `server`, the local SSM endpoint through a real SSMClient
   * (default), or `memory`, the in-process fake directly (skips HTTP and request signing).
   */
  ssm: 'server' | 'memory';
  /** The export format the tick requests. @default 'json' */
  format?: FormatFlag;
  /** What the simulated replica does on a new epoch (a RESET at `--faults chaos`). @default 'halt' */
  replicaOnNewEpoch?: 'halt' | 'rebaseline';
  /** How the simulated replica bootstraps: parallel writes, or ImportTable (emulated). @default 'write' */
  replicaBootstrap?: 'write' | 'import';
  /**
   * A large table: a bulk initial load with some ~400 KB items, few large export data files, a hot
   * window of changes and a slow replica, sized by the level (`SCALE_SIZES` in scaleSizes.ts).
   * @default undefined (no large table)
   */
  scale?: ScaleLevel;
  /**
   * The table's Iceberg feed (`iceberg:` in the simulated stack config): its state machine and plan
   * Lambda beside the chain, Athena served by DuckDB (sim/athenaDuck.ts). @default false here; the
   * command turns it on unless `--no-iceberg` or `--format ion` (the feed reads DYNAMODB_JSON only)
   */
  iceberg?: boolean;
  /**
   * Disaster recovery: the chain replicated to a protected copy (a bucket standing for another
   * Region), `dce restore` from it into a table of that Region, and `verify --deep` of the copy.
   * @default false (`--dr` turns it on: it adds about 15 s, a fifth of the default run)
   */
  dr?: boolean;
  /**
   * The table's `windowMode` (components/config/windowMode.ts): `fixed` windows of `window` minutes,
   * or `costAware` windows that grow up to `maxStalenessMinutes` while exports bill less than
   * DynamoDB's 10 MB minimum. @default 'fixed'
   */
  windowMode?: WindowModeFlag;
  /** With `windowMode: costAware`, the longest window in minutes. @default 1440 (the config's) */
  maxStalenessMinutes?: number;
  /**
   * The source table's traffic: `steady`, `rate` writes a minute over a few hundred keys (default),
   * or `quiet`, a small table with `QUIET_WRITES_PER_HOUR` writes an hour (its exports bill far less
   * than the 10 MB minimum: the case cost-aware windows are for). `quiet` sets the rate itself.
   * @default 'steady'
   */
  workload?: WorkloadFlag;
}

export type WindowModeFlag = 'fixed' | 'costAware';
export type WorkloadFlag = 'steady' | 'quiet';

/** The quiet workload: writes an hour, over this many keys. */
export const QUIET_WRITES_PER_HOUR = 2;
export const QUIET_KEY_SPACE = 20;

/** The export format each `--format` word requests from DynamoDB. */
export const EXPORT_FORMAT_OF_FLAG: Record<FormatFlag, ExportFormat> = { json: 'DYNAMODB_JSON', ion: 'ION' };

/** The command's own flags, beside the run's options. */
export interface SimulateCommandFlags {
  options: SimulateOptions;
  json: boolean;
  keepServers: boolean;
}

function positiveNumber(flag: string, integer: boolean, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
      throw new InvalidArgumentError(
        `${flag} ${JSON.stringify(value)}: expected a ${integer ? 'whole ' : ''}number from ${min} to ${max}`,
      );
    }
    return n;
  };
}

function wholeNumber(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n))
      throw new InvalidArgumentError(`${flag} ${JSON.stringify(value)}: expected a whole number`);
    return n;
  };
}

/** Parser of a flag that takes one of a few words; the error names the flag, the value and the choices. */
function oneOf<T extends string>(flag: string, choices: readonly T[]): (value: string) => T {
  return (value) => {
    if (!(choices as readonly string[]).includes(value)) {
      const list =
        choices.length > 1
          ? `${choices.slice(0, -1).join(', ')} or ${choices[choices.length - 1]}`
          : choices[0];
      throw new InvalidArgumentError(`${flag} ${JSON.stringify(value)}: expected ${list}`);
    }
    return value as T;
  };
}

/** A --scale level's sizes in the flag's help. */
function sizesHelp(level: ScaleLevel): string {
  const s = SCALE_SIZES[level];
  const n = (x: number) => x.toLocaleString('en-US');
  return `${n(s.initialItems)} items, ${n(s.largeItems)} of ~395 KB, a hot window of ${n(s.burstChanges)} changes, a replica at ${s.replicaWritesPerSecond} writes/s`;
}

/** Declares the simulate flags on a command (shared by `npm run simulate` and `dce simulate`). */
export function addSimulateOptions(cmd: Command): Command {
  // --days has no commander default: --scale has its own (SCALE_DAYS), filled in by simulateFlags.
  return cmd
    .option(
      '--days <n>',
      'simulated days (default 2; 0.25 with --scale)',
      positiveNumber('--days', false, 0.25, 366),
    )
    .option(
      '--rate <n>',
      'writes per minute to the source table',
      positiveNumber('--rate', false, 0.1, 10_000),
      4,
    )
    .option(
      '--window <minutes>',
      'incremental window in minutes (15..1440)',
      positiveNumber('--window', true, 15, 1440),
      15,
    )
    .option('--seed <n>', 'seed of the workload and the faults', wholeNumber('--seed'), 1)
    .option(
      '--faults <level>',
      'injected faults: none | some (failed exports, transient errors, a pause, duplicate deliveries) | chaos (more of each, skipped deliveries, a reset)',
      oneOf('--faults', ['none', 'some', 'chaos']),
      'some',
    )
    .option(
      '--format <format>',
      'export format the workflow requests: json (DYNAMODB_JSON) or ion (ION)',
      oneOf('--format', ['json', 'ion']),
      'json',
    )
    .option(
      '--s3 <where>',
      'server: a local S3 server through a real S3Client (default); memory: the in-process fake S3, several times faster for long runs',
      oneOf('--s3', ['server', 'memory']),
      'server',
    )
    .option(
      '--ssm <where>',
      'server: the local SSM endpoint through a real SSMClient (default); memory: the in-process fake directly',
      oneOf('--ssm', ['server', 'memory']),
      'server',
    )
    .option(
      '--replica-on-new-epoch <mode>',
      "the simulated replica's onNewEpoch: halt (stop with one alert) or rebaseline (empty the target and follow the new epoch)",
      oneOf('--replica-on-new-epoch', ['halt', 'rebaseline']),
      'halt',
    )
    .option(
      '--replica-bootstrap <mode>',
      'how the simulated replica bootstraps: write (parallel writes into an empty table) or import (ImportTable creates it; emulated over the local DynamoDB)',
      oneOf('--replica-bootstrap', ['write', 'import']),
      'write',
    )
    .option(
      '--scale [level]',
      `a large table in two export data files, with a hot window and a slow replica: quick (default; ${sizesHelp('quick')}) or full (${sizesHelp('full')})`,
      oneOf('--scale', SCALE_LEVELS),
    )
    .option(
      '--no-iceberg',
      "leave out the table's Iceberg feed (its state machine, plan Lambda and the DuckDB stand-in for Athena); --format ion leaves it out too",
    )
    .option(
      '--dr',
      'disaster recovery too: the chain replicated to a protected copy (another Region), verify --deep of it, and dce restore from it into a second Region (adds about 15 s)',
    )
    .option(
      '--window-mode <mode>',
      "the table's windowMode: fixed (every window --window minutes) or cost-aware (windows grow up to --max-staleness-minutes while exports bill less than the 10 MB minimum)",
      oneOf('--window-mode', ['fixed', 'cost-aware']),
      'fixed',
    )
    .option(
      '--max-staleness-minutes <n>',
      'with --window-mode cost-aware: the longest window (--window..1440; default 1440)',
      positiveNumber('--max-staleness-minutes', true, 15, 1440),
    )
    .option(
      '--workload <kind>',
      `the source table's traffic: steady (--rate writes a minute, the default) or quiet (a small table with ${QUIET_WRITES_PER_HOUR} writes an hour; ignores --rate)`,
      oneOf('--workload', ['steady', 'quiet']),
      'steady',
    )
    .option('--fast', 'same as --s3 memory --ssm memory: in-process fakes for S3 and SSM, for long runs')
    .option(
      '--keep-servers',
      'leave the local S3, SSM and DynamoDB servers running at the end and print dce commands that read them',
    )
    .option('--json', 'print the report as JSON on stdout');
}

/** The parsed flags as commander hands them over (values already checked by the parsers above). */
export interface ParsedSimulateFlags {
  days?: number;
  rate?: number;
  window?: number;
  seed?: number;
  faults?: FaultLevel;
  format?: FormatFlag;
  replicaOnNewEpoch?: 'halt' | 'rebaseline';
  replicaBootstrap?: 'write' | 'import';
  s3?: 'server' | 'memory';
  ssm?: 'server' | 'memory';
  fast?: boolean;
  /** `true` for a bare `--scale`. */
  scale?: boolean | ScaleLevel;
  /** False with `--no-iceberg`. */
  iceberg?: boolean;
  /** `--dr`. */
  dr?: boolean;
  windowMode?: 'fixed' | 'cost-aware';
  maxStalenessMinutes?: number;
  workload?: WorkloadFlag;
  keepServers?: boolean;
  json?: boolean;
}

/** Thrown for flags that parse one by one but do not go together; the command exits with 2. */
export class SimulateUsageError extends Error {
  override name = 'SimulateUsageError';
}

/** The window flags that do not go together, refused as the stack config refuses them. */
function windowModeUsage(options: SimulateOptions): void {
  if (options.maxStalenessMinutes === undefined) return;
  if (options.windowMode !== 'costAware')
    throw new SimulateUsageError('--max-staleness-minutes needs --window-mode cost-aware');
  if (options.maxStalenessMinutes < options.window)
    throw new SimulateUsageError(
      `--max-staleness-minutes ${options.maxStalenessMinutes} is shorter than --window ${options.window}`,
    );
}

/** Default simulated days of a --scale run: the large exports and the hot window dominate, not the chain. */
export const SCALE_DAYS = 0.25;

/** The run's options and the command's flags from parsed flags, with the defaults filled in. */
export function simulateFlags(flags: ParsedSimulateFlags): SimulateCommandFlags {
  const options: SimulateOptions = {
    days: flags.days ?? (flags.scale ? SCALE_DAYS : 2),
    rate: flags.rate ?? 4,
    window: flags.window ?? 15,
    seed: flags.seed ?? 1,
    faults: flags.faults ?? 'some',
    s3: flags.s3 === 'memory' || flags.fast ? 'memory' : 'server',
    ssm: flags.ssm === 'memory' || flags.fast ? 'memory' : 'server',
    format: flags.format ?? 'json',
    replicaOnNewEpoch: flags.replicaOnNewEpoch ?? 'halt',
    replicaBootstrap: flags.replicaBootstrap ?? 'write',
    scale: flags.scale === true ? 'quick' : flags.scale || undefined,
    // The feed reads DYNAMODB_JSON exports only (the stack config refuses it beside ION).
    iceberg: flags.iceberg !== false && (flags.format ?? 'json') === 'json',
    dr: Boolean(flags.dr),
    windowMode: flags.windowMode === 'cost-aware' ? 'costAware' : 'fixed',
    ...(flags.maxStalenessMinutes !== undefined ? { maxStalenessMinutes: flags.maxStalenessMinutes } : {}),
    workload: flags.workload ?? 'steady',
  };
  windowModeUsage(options);
  if (options.workload === 'quiet' && options.scale)
    // --scale is a large, busy table: the opposite of a quiet one.
    throw new SimulateUsageError('--workload quiet and --scale do not go together: pick one');
  if (options.replicaBootstrap === 'import' && options.replicaOnNewEpoch === 'rebaseline') {
    // As the stack config refuses it: an import creates a new table, a rebaseline rewrites one.
    throw new SimulateUsageError(
      '--replica-on-new-epoch rebaseline needs --replica-bootstrap write: an import always creates a new table',
    );
  }
  const keepServers = Boolean(flags.keepServers);
  if (keepServers && options.s3 === 'memory') {
    // With the in-process S3 the exports never reach the local server, so nothing could read them.
    throw new SimulateUsageError('--keep-servers needs the local S3 server: drop --s3 memory / --fast');
  }
  return { options, json: Boolean(flags.json), keepServers };
}
