/**
 * `dce`: the operator CLI of dynamodb-continuous-exports.
 *
 *   dce status                 what the chain of one table is doing
 *   dce verify [--deep]        is the chain in S3 gap-free and sound
 *   dce replay --target-table  rebuild a table from the chain
 *   dce restore --to --table   recreate a table as of a committed point, in any Region, from a copy too
 *   dce pause | resume | reset operator actions (SSM action parameter)
 *   dce replica pause | resume | rebuild   operate one replica table (its SSM action parameter)
 *   dce iceberg pause | resume | rebuild | sql   operate the Iceberg feed, print its next SQL
 *   dce simulate               the whole system offline on a simulated clock
 *
 * Exit codes: 0 ok, 1 problems found (gaps, mismatches, failed replay), 2 usage, access or network
 * errors. `runDce` is the whole program with its I/O injected, so tests drive it in-process.
 */
import '../sim/polyfills';
import { createInterface } from 'node:readline/promises';
import { Command, CommanderError } from 'commander';
import { describeError, EXIT, formatDuration, Output, table, type Io } from './output';
import {
  buildClients,
  missingActionParameterError,
  requireExports,
  requireEpoch,
  requireParameters,
  resolveTarget,
  UsageError,
  type ClientOptions,
  type Clients,
  type TargetOptions,
} from './target';
import { formatStatus, readStatus } from './status';
import { confirmReset, formatActionResult, OPERATOR_ACTIONS, setAction } from './operator';
import { replicasForStatus } from './consumers/replicaStatus';
import { addSimulateOptions, type ParsedSimulateFlags } from '../sim/simulation/options';
import {
  flagsSwallowedByNpm,
  loadSimulate,
  npmSwallowedWarning,
  simulateFlagNames,
  type SimulateModule,
} from './simulateEntry';
import type { ProgressStream, VerifyOptions, VerifyReport } from './verify';
import { ChainProblemError, runReplayCommand, type ReplayFlags } from './replayCommand';
import { declareRestore } from './restore/restoreDeclare';
import { declareIceberg } from './consumers/icebergDeclare';
import { icebergForTarget } from './consumers/icebergStatus';
import { declareReplica } from './consumers/replicaDeclare';

/** Dependencies a test can replace. */
export interface DceDeps {
  /** Builds the AWS clients from the client flags; defaults to real SDK clients. */
  clients?: (options: ClientOptions) => Clients;
  /** Reads `--stack-output` (a path or `-`). */
  readInput?: (source: string) => string;
  /** Loads the simulation (cli/simulate.ts); @default its require */
  loadSimulate?: () => SimulateModule;
}

type CommonOptions = TargetOptions & ClientOptions & { json?: boolean };

function addClientOptions(cmd: Command): Command {
  return cmd
    .option('--region <region>', 'AWS Region (default: the standard chain, e.g. AWS_REGION)')
    .option('--profile <name>', 'shared config profile (like AWS_PROFILE)')
    .option('--endpoint-url <url>', 'endpoint for every service (local servers)')
    .option('--s3-endpoint-url <url>', 'S3 endpoint (overrides --endpoint-url)')
    .option('--ssm-endpoint-url <url>', 'SSM endpoint (overrides --endpoint-url)')
    .option('--dynamodb-endpoint-url <url>', 'DynamoDB endpoint (overrides --endpoint-url)')
    .option('--states-endpoint-url <url>', 'Step Functions endpoint (overrides --endpoint-url)')
    .option('--sts-endpoint-url <url>', 'STS endpoint for --role-arn (overrides --endpoint-url)');
}

function addTargetOptions(cmd: Command): Command {
  return addClientOptions(
    cmd
      .option('--stack-output <file|->', "JSON of 'pulumi stack output --json' (a file, or - for stdin)")
      .option('--alias <alias>', 'table alias (required when the stack has more than one table)')
      .option('--stack <stack>', 'stack name, for the SSM parameter names without --stack-output')
      .option('--bucket <bucket>', 'export bucket (overrides the stack output)')
      .option('--prefix <prefix>', 'key prefix of the table in the bucket (overrides the stack output)')
      .option('--json', 'print one JSON document on stdout'),
  );
}

function defaultIo(): Io {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdinIsTTY: Boolean(process.stdin.isTTY),
    env: process.env,
    now: () => Math.floor(Date.now() / 1000),
    prompt: async (question: string) => {
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      try {
        return await rl.question(question);
      } finally {
        rl.close();
      }
    },
  };
}

/** What every command declaration needs. */
interface CommandEnv {
  io: Io;
  deps: DceDeps;
  setExit: (code: number) => void;
  clientsFor: (opts: ClientOptions) => Clients;
}

/** `dce status`. */
function declareStatus(program: Command, { io, deps, clientsFor }: CommandEnv): void {
  addTargetOptions(
    program
      .command('status')
      .description(
        "Show the operator action, workflow phase, epoch, chain start, watermark and lag, exports in flight, open incidents, last run and the next window due; and each replica's status, epoch, last applied sequence, watermark, lag and claim.",
      ),
  )
    .option(
      '--window-minutes <n>',
      'incremental window of the table, for the next-window estimate (default: stack output, else 15)',
    )
    .option(
      '--replica-state <parameter>',
      'state parameter of a replica to show, besides those the stack output lists (repeatable)',
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .action(async (opts: CommonOptions & { replicaState: string[] }) => {
      const out = new Output(io, Boolean(opts.json));
      const target = resolveTarget(opts, deps.readInput);
      const parameters = requireParameters(target);
      const replicas = replicasForStatus(target, opts.replicaState);
      const clients = clientsFor(opts);
      const report = await readStatus({
        ssm: clients.ssm,
        s3: target.bucket ? clients.s3 : undefined,
        target,
        parameters,
        now: io.now(),
        replicas,
        iceberg: icebergForTarget(target),
      });
      // Neither parameter exists: a wrong --stack or --alias far more often than a stack not deployed.
      if (report.phase === 'NOT_DEPLOYED' && report.action === null)
        throw missingActionParameterError(parameters.action);
      out.result(report, () => formatStatus(report));
    });
}

/** `dce verify`. */
function declareVerify(program: Command, { io, deps, setExit, clientsFor }: CommandEnv): void {
  addTargetOptions(
    program
      .command('verify')
      .description(
        'Check the chain in S3: contiguous windows from the full export to the watermark, every export present and complete. --deep also reads every data file and checks counts and checksums.',
      ),
  )
    .option('--deep', 'read every data file (slower, downloads the exports)')
    .option('--epoch <epoch>', 'epoch to verify (default: the live one, from chain/CURRENT.json)')
    .action(async (opts: CommonOptions & { deep?: boolean; epoch?: string }) => {
      const out = new Output(io, Boolean(opts.json));
      const target = resolveTarget(opts, deps.readInput);
      const { bucket, prefix } = requireExports(target);
      const clients = clientsFor(opts);
      // A deep verify reads every data file: show how far it got (stderr, never with --json).
      const progress =
        opts.deep && !opts.json ? verifyLibrary().createVerifyProgress(io.stderr as ProgressStream) : null;
      let report: VerifyReport;
      try {
        report = await runVerifyCommand({
          s3: clients.s3,
          bucket,
          prefix,
          epoch: opts.epoch,
          deep: opts.deep,
          ...(progress ? { onProgress: progress.update } : {}),
        });
      } finally {
        progress?.stop();
      }
      out.result(report, () => formatVerifyReport(report, { bucket, prefix, now: io.now() }));
      setExit(report.ok ? EXIT.OK : EXIT.PROBLEMS);
    });
}

/** `dce replay`. */
function declareReplay(program: Command, { io, deps, clientsFor }: CommandEnv): void {
  addTargetOptions(
    program
      .command('replay')
      .description(
        'Rebuild a table from the chain: load the full export, then apply the incremental exports in order, into --target-table (which must exist with the same key schema as the source, or be created with --create-table).',
      ),
  )
    .requiredOption('--target-table <name>', 'DynamoDB table to write into')
    .option(
      '--until <time>',
      'stop at this time: ISO 8601 with its zone, e.g. 2026-11-24T12:00:00Z (default: the watermark)',
    )
    .option('--epoch <epoch>', 'epoch to replay (default: the live one)')
    .option('--checkpoint <file>', 'file that records progress, for --resume')
    .option('--resume', 'continue from the checkpoint file (which must exist)')
    .option('--force', 'write into a target table that is not empty')
    .option('--concurrency <n>', 'parallel writers')
    .option(
      '--create-table',
      "create --target-table with the chain's key schema (on-demand billing); it must not exist yet",
    )
    .action(async (opts: CommonOptions & ReplayFlags) => {
      const out = new Output(io, Boolean(opts.json));
      const target = resolveTarget(opts, deps.readInput);
      const { bucket, prefix } = requireExports(target);
      const clients = clientsFor(opts);
      await runReplayCommand({
        ...opts,
        io,
        out,
        s3: clients.s3,
        dynamodb: clients.dynamodb,
        bucket,
        prefix,
      });
    });
}

/** `dce pause | resume | reset`. */
function declareOperatorActions(program: Command, { io, deps, clientsFor }: CommandEnv): void {
  for (const [name, action] of Object.entries(OPERATOR_ACTIONS) as [
    keyof typeof OPERATOR_ACTIONS,
    string,
  ][]) {
    const descriptions = {
      pause:
        'Set the action parameter to PAUSE: no new exports start; exports in flight are still tracked and committed.',
      resume:
        'Set the action parameter to RUN: the chain continues from its watermark (catching up in larger windows).',
      reset:
        'Set the action parameter to RESET: the next tick starts a new epoch with a full export. Asks you to type the alias unless --yes.',
    };
    const cmd = addTargetOptions(program.command(name).description(descriptions[name]));
    if (name === 'reset')
      cmd.option('-y, --yes', 'do not ask for confirmation (required without a terminal)');
    else cmd.option('--force', 'also when a RESET is pending (this cancels the reset)');
    cmd.action(async (opts: CommonOptions & { yes?: boolean; force?: boolean }) => {
      const out = new Output(io, Boolean(opts.json));
      const target = resolveTarget(opts, deps.readInput);
      const parameters = requireParameters(target);
      if (name === 'reset') {
        await confirmReset({
          alias: target.alias,
          yes: Boolean(opts.yes),
          interactive: io.stdinIsTTY,
          prompt: io.prompt,
        });
      }
      const clients = clientsFor(opts);
      const result = await setAction({
        ssm: clients.ssm,
        alias: target.alias,
        parameterName: parameters.action,
        stateParameterName: parameters.state,
        action: action as 'RUN' | 'PAUSE' | 'RESET',
        force: Boolean(opts.force),
      });
      out.result(result, () => formatActionResult(result));
    });
  }
}

/** `dce simulate`. */
function declareSimulate(program: Command, { io, deps, setExit }: CommandEnv): void {
  const simulate = program
    .command('simulate')
    .description(
      'Run the whole system offline on a simulated clock and print a report (same as npm run simulate).',
    );
  addSimulateOptions(simulate);
  simulate.action(async (opts: ParsedSimulateFlags, cmd: Command) => {
    // `npm run dce simulate --keep-servers` loses the flag to npm, as `npm run simulate` does.
    const given = simulateFlagNames().filter((flag) => cmd.getOptionValueSource(flagKey(flag)) === 'cli');
    io.stderr.write(npmSwallowedWarning(flagsSwallowedByNpm(io.env, simulateFlagNames(), given)));
    // Loaded on first use, like the chain libraries: the engine pulls in the whole offline system
    // and the development dependencies.
    const { simulateCommand } = loadSimulate(deps.loadSimulate);
    setExit(await simulateCommand(opts, io));
  });
}

/** Commander's key of a long flag: `--keep-servers` -> `keepServers`. */
function flagKey(flag: string): string {
  return flag.replace(/^--/, '').replace(/-([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/** Builds the commander program. Actions throw; `runDce` turns errors into exit codes. */
export function buildProgram(io: Io, deps: DceDeps, setExit: (code: number) => void): Command {
  const env: CommandEnv = {
    io,
    deps,
    setExit,
    clientsFor: (opts: ClientOptions): Clients => (deps.clients ?? ((o) => buildClients(o, io.env)))(opts),
  };
  const program = new Command('dce')
    .description(
      'Operate dynamodb-continuous-exports: status, verify and replay the export chain of a table, pause, resume or reset it, operate its replicas, or simulate the whole system offline.',
    )
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ sortSubcommands: false })
    .addHelpText(
      'after',
      '\nExit codes: 0 ok; 1 problems found (gaps, mismatches, failed replay); 2 usage, access or network errors.\nSee docs/cli.md.',
    );

  declareStatus(program, env);
  declareVerify(program, env);
  declareReplay(program, env);
  declareRestore(program, { ...env, readInput: deps.readInput, addTargetOptions });
  declareOperatorActions(program, env);
  declareReplica(program, { ...env, readInput: deps.readInput, addTargetOptions });
  declareIceberg(program, { ...env, readInput: deps.readInput, addTargetOptions });
  declareSimulate(program, env);
  return program;
}

/**
 * Loads a chain library on first use: `status` and the operator commands then start without loading
 * the export reader.
 */
function verifyLibrary(): typeof import('./verify') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('./verify');
}
/** Calls verifyChain. A chain that cannot be found at all (no CURRENT.json) is a usage error. */
export async function runVerifyCommand(options: {
  s3: Clients['s3'];
  bucket: string;
  prefix: string;
  epoch?: string;
  deep?: boolean;
  onProgress?: VerifyOptions['onProgress'];
}): Promise<VerifyReport> {
  if (options.epoch !== undefined && !/^\d{8}T\d{6}Z$/.test(options.epoch)) {
    throw new UsageError(
      `--epoch ${JSON.stringify(options.epoch)}: expected an epoch id like 20261124T235500Z`,
    );
  }
  if (options.epoch !== undefined)
    await requireEpoch(options.s3, options.bucket, options.prefix, options.epoch);
  const { verifyChain } = verifyLibrary();
  try {
    return await verifyChain({
      s3: options.s3,
      bucket: options.bucket,
      prefix: options.prefix,
      ...(options.epoch !== undefined ? { epoch: options.epoch } : {}),
      deep: Boolean(options.deep),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
  } catch (error) {
    if ((error as Error).name === 'ChainReadError') {
      throw new UsageError(
        `no readable chain at s3://${options.bucket}/${options.prefix ? `${options.prefix}/` : ''}chain/: ${(error as Error).message} (check --bucket/--prefix/--epoch)`,
      );
    }
    throw error;
  }
}

/** What a verify read, in words: a deep one names the data files and bytes. */
function checkedText(checked: VerifyReport['checked']): string {
  if (checked.deep) {
    return `deep: ${checked.exports} exports' manifests and checksums, ${checked.dataFiles} data files (${(checked.bytes / 1e6).toFixed(1)} MB) read, every record parsed and counted`;
  }
  return `order and HEAD, ${checked.exports} exports' manifest summaries present; data files not read (--deep reads them)`;
}

/** The human text of a verify report. */
export function formatVerifyReport(
  report: VerifyReport,
  where: { bucket: string; prefix: string; now: number },
): string {
  const watermarkSeconds = report.watermark ? Date.parse(report.watermark) / 1000 : NaN;
  const rows: [string, string][] = [
    ['chain', `s3://${where.bucket}/${where.prefix ? `${where.prefix}/` : ''}chain/${report.epoch}/`],
    [
      'result',
      report.ok
        ? 'OK: gap-free from the full export to the watermark'
        : `PROBLEMS (${report.problems.length})`,
    ],
    ['chain start', report.chainStart ?? '-'],
    ['watermark', report.watermark ?? '-'],
    ['lag', Number.isFinite(watermarkSeconds) ? formatDuration(where.now - watermarkSeconds) : '-'],
    ['entries', String(report.entries)],
    ['checked', checkedText(report.checked)],
  ];
  const lines = [table(rows)];
  const shown = report.problems.slice(0, 50);
  for (const p of shown) lines.push(`  - ${p.kind}: ${p.message} (${p.key})`);
  if (report.problems.length > shown.length)
    lines.push(`  ... and ${report.problems.length - shown.length} more (use --json)`);
  return lines.join('\n');
}

/** Runs `dce` with `argv` (without the node and script entries); resolves to the exit code. */
export async function runDce(argv: string[], io: Io = defaultIo(), deps: DceDeps = {}): Promise<number> {
  let code: number = EXIT.OK;
  const program = buildProgram(io, deps, (c) => {
    code = c;
  });
  const json = argv.includes('--json');
  // With --json, commander's own messages (unknown option, missing argument) are held back and
  // printed as the JSON error document below, so stderr stays machine-readable too.
  const output = {
    writeOut: (text: string) => io.stdout.write(text),
    writeErr: (text: string) => (json ? undefined : io.stderr.write(text)),
  };
  program.exitOverride();
  program.configureOutput(output);
  // Every command, nested ones (`dce replica pause`) included, reports through the same output.
  const subcommands = (cmd: Command): Command[] => cmd.commands.flatMap((c) => [c, ...subcommands(c)]);
  for (const sub of subcommands(program)) {
    sub.exitOverride();
    sub.configureOutput(output);
    sub.showHelpAfterError('(run with --help for usage)');
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (error) {
    const out = new Output(io, json);
    if (error instanceof CommanderError) {
      // --help and --version end here with exitCode 0; parse errors were already printed as text.
      if (error.exitCode === 0) return EXIT.OK;
      if (json) out.error(error.message.replace(/^error: /, ''), EXIT.USAGE);
      return EXIT.USAGE;
    }
    if (error instanceof UsageError) {
      out.error(error.message, EXIT.USAGE);
      return EXIT.USAGE;
    }
    if (error instanceof ChainProblemError) {
      out.error(error.message, EXIT.PROBLEMS);
      return EXIT.PROBLEMS;
    }
    out.error(describeError(error), EXIT.USAGE);
    return EXIT.USAGE;
  }
}

/** Entry point of `bin/dce.js` and `npm run dce`. */
export async function main(argv: string[] = process.argv.slice(2)): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  // `dce ... | head` closes the pipe early: stop quietly instead of crashing on EPIPE.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
  process.exitCode = await runDce(argv);
}

if (require.main === module) void main();
