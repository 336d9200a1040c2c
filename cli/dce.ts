/**
 * `dce`: the operator CLI of dynamodb-continuous-exports.
 *
 *   dce status                 what the chain of one table is doing
 *   dce verify [--deep]        is the chain in S3 gap-free and sound
 *   dce replay --target-table  rebuild a table from the chain
 *   dce pause | resume | reset operator actions (SSM action parameter)
 *   dce simulate               the whole system offline on a simulated clock
 *
 * Exit codes: 0 ok, 1 problems found (gaps, mismatches, failed replay), 2 usage, access or network
 * errors. `runDce` is the whole program with its I/O injected, so tests drive it in-process.
 */
import '../sim/polyfills';
import { createInterface } from 'node:readline/promises';
import { Command, CommanderError } from 'commander';
import { EXIT, formatDuration, formatTime, Output, table, type Io } from './output';
import {
  buildClients,
  requireExports,
  requireParameters,
  resolveTarget,
  UsageError,
  type ClientOptions,
  type Clients,
  type TargetOptions,
} from './target';
import { formatStatus, readStatus } from './status';
import { confirmReset, formatActionResult, OPERATOR_ACTIONS, setAction } from './operator';
import { addSimulateOptions } from '../tools/simulate';

/** Dependencies a test can replace. */
export interface DceDeps {
  /** Builds the AWS clients from the client flags; defaults to real SDK clients. */
  clients?: (options: ClientOptions) => Clients;
  /** Reads `--stack-output` (a path or `-`). */
  readInput?: (source: string) => string;
}

type CommonOptions = TargetOptions & ClientOptions & { json?: boolean };

function addClientOptions(cmd: Command): Command {
  return cmd
    .option('--region <region>', 'AWS Region (default: the standard chain, e.g. AWS_REGION)')
    .option('--profile <name>', 'shared config profile (like AWS_PROFILE)')
    .option('--endpoint-url <url>', 'endpoint for every service (local servers)')
    .option('--s3-endpoint-url <url>', 'S3 endpoint (overrides --endpoint-url)')
    .option('--ssm-endpoint-url <url>', 'SSM endpoint (overrides --endpoint-url)')
    .option('--dynamodb-endpoint-url <url>', 'DynamoDB endpoint (overrides --endpoint-url)');
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

/** Builds the commander program. Actions throw; `runDce` turns errors into exit codes. */
export function buildProgram(io: Io, deps: DceDeps, setExit: (code: number) => void): Command {
  const clientsFor = (opts: ClientOptions): Clients =>
    (deps.clients ?? ((o) => buildClients(o, io.env)))(opts);
  const program = new Command('dce')
    .description(
      'Operate dynamodb-continuous-exports: status, verify and replay the export chain of a table, pause, resume or reset it, or simulate the whole system offline.',
    )
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ sortSubcommands: false })
    .addHelpText(
      'after',
      '\nExit codes: 0 ok; 1 problems found (gaps, mismatches, failed replay); 2 usage, access or network errors.\nSee docs/cli.md.',
    );

  addTargetOptions(
    program
      .command('status')
      .description(
        'Show the operator action, workflow phase, epoch, chain start, watermark and lag, exports in flight, open incidents, last run and the next window due.',
      ),
  )
    .option(
      '--window-minutes <n>',
      'incremental window of the table, for the next-window estimate (default: stack output, else 15)',
    )
    .action(async (opts: CommonOptions) => {
      const out = new Output(io, Boolean(opts.json));
      const target = resolveTarget(opts, deps.readInput);
      const parameters = requireParameters(target);
      const clients = clientsFor(opts);
      const report = await readStatus({
        ssm: clients.ssm,
        s3: target.bucket ? clients.s3 : undefined,
        target,
        parameters,
        now: io.now(),
      });
      out.result(report, () => formatStatus(report));
    });

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
      const report = await runVerifyCommand({
        s3: clients.s3,
        bucket,
        prefix,
        epoch: opts.epoch,
        deep: opts.deep,
      });
      out.result(report, () => formatVerifyReport(report, { bucket, prefix, now: io.now() }));
      setExit(report.ok ? EXIT.OK : EXIT.PROBLEMS);
    });

  addTargetOptions(
    program
      .command('replay')
      .description(
        'Rebuild a table from the chain: load the full export, then apply the incremental exports in order, into --target-table (which must exist with the same key schema).',
      ),
  )
    .requiredOption('--target-table <name>', 'DynamoDB table to write into')
    .option('--until <time>', 'stop at this time (ISO 8601); default: the watermark')
    .option('--epoch <epoch>', 'epoch to replay (default: the live one)')
    .option('--checkpoint <file>', 'file that records progress, for --resume')
    .option('--resume', 'continue from the checkpoint file')
    .option('--force', 'write into a target table that is not empty')
    .option('--concurrency <n>', 'parallel writers')
    .action(
      async (
        opts: CommonOptions & {
          targetTable: string;
          until?: string;
          epoch?: string;
          checkpoint?: string;
          resume?: boolean;
          force?: boolean;
          concurrency?: string;
        },
      ) => {
        const out = new Output(io, Boolean(opts.json));
        const target = resolveTarget(opts, deps.readInput);
        const { bucket, prefix } = requireExports(target);
        const clients = clientsFor(opts);
        const result = await runReplayCommand({
          io,
          out,
          s3: clients.s3,
          dynamodb: clients.dynamodb,
          bucket,
          prefix,
          targetTable: opts.targetTable,
          until: opts.until,
          epoch: opts.epoch,
          checkpoint: opts.checkpoint,
          resume: opts.resume,
          force: opts.force,
          concurrency: opts.concurrency,
        });
        setExit(result.ok ? EXIT.OK : EXIT.PROBLEMS);
      },
    );

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
    cmd.action(async (opts: CommonOptions & { yes?: boolean }) => {
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
        action: action as 'RUN' | 'PAUSE' | 'RESET',
      });
      out.result(result, () => formatActionResult(result));
    });
  }

  const simulate = program
    .command('simulate')
    .description(
      'Run the whole system offline on a simulated clock and print a report (same as npm run simulate).',
    );
  addSimulateOptions(simulate);
  simulate.action(async (opts: Record<string, unknown>) => {
    const { simulateCommand } = await import('../tools/simulate');
    setExit(await simulateCommand(opts, io));
  });

  return program;
}

/** The report of `verifyChain` (cli/verify.ts), as far as `dce` reads it. */
export interface VerifyReport {
  ok: boolean;
  epoch: string | null;
  chainStart: unknown;
  watermark: unknown;
  entries: unknown;
  problems: unknown[];
  [other: string]: unknown;
}

/**
 * Loads a chain library lazily: `status` and the operator commands then start without loading the
 * export reader, and a missing library is a clear error instead of a crash at start-up.
 */
function loadChainLibrary(name: 'verify' | 'replay'): any {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(`./${name}`);
  } catch (error) {
    throw new UsageError(
      `dce ${name} is not available in this build (cli/${name}.ts: ${(error as Error).message})`,
    );
  }
}

const timeText = (value: unknown): string =>
  value === null || value === undefined
    ? '-'
    : typeof value === 'number'
      ? formatTime(value)
      : value instanceof Date
        ? value.toISOString()
        : String(value);

function problemText(problem: unknown): string {
  if (typeof problem === 'string') return problem;
  if (problem && typeof problem === 'object') {
    const p = problem as Record<string, unknown>;
    const head = [p.kind, p.code, p.type].find((v) => typeof v === 'string');
    const message = [p.message, p.detail, p.description].find((v) => typeof v === 'string');
    if (message) return head ? `${head}: ${message}` : String(message);
    return JSON.stringify(problem);
  }
  return String(problem);
}

/** Calls verifyChain. */
export async function runVerifyCommand(options: {
  s3: Clients['s3'];
  bucket: string;
  prefix: string;
  epoch?: string;
  deep?: boolean;
}): Promise<VerifyReport> {
  const { verifyChain } = loadChainLibrary('verify');
  return (await verifyChain({
    s3: options.s3,
    bucket: options.bucket,
    prefix: options.prefix,
    ...(options.epoch !== undefined ? { epoch: options.epoch } : {}),
    deep: Boolean(options.deep),
  })) as VerifyReport;
}

/** The human text of a verify report. */
export function formatVerifyReport(
  report: VerifyReport,
  where: { bucket: string; prefix: string; now: number },
): string {
  const entries = Array.isArray(report.entries) ? report.entries.length : Number(report.entries ?? 0);
  const watermark = report.watermark;
  const watermarkSeconds =
    typeof watermark === 'number'
      ? watermark
      : typeof watermark === 'string'
        ? Date.parse(watermark) / 1000
        : NaN;
  const rows: [string, string][] = [
    ['chain', `s3://${where.bucket}/${where.prefix ? `${where.prefix}/` : ''}chain/`],
    [
      'result',
      report.ok
        ? 'OK: gap-free from the full export to the watermark'
        : `PROBLEMS (${report.problems.length})`,
    ],
    ['epoch', report.epoch ?? '-'],
    ['chain start', timeText(report.chainStart)],
    ['watermark', timeText(report.watermark)],
    ['lag', Number.isFinite(watermarkSeconds) ? formatDuration(where.now - watermarkSeconds) : '-'],
    ['entries', String(entries)],
  ];
  const lines = [table(rows)];
  const shown = report.problems.slice(0, 50);
  for (const p of shown) lines.push(`  - ${problemText(p)}`);
  if (report.problems.length > shown.length)
    lines.push(`  ... and ${report.problems.length - shown.length} more (use --json)`);
  return lines.join('\n');
}

/** Calls replayChain with a progress display; prints the report. */
export async function runReplayCommand(options: {
  io: Io;
  out: Output;
  s3: Clients['s3'];
  dynamodb: Clients['dynamodb'];
  bucket: string;
  prefix: string;
  targetTable: string;
  until?: string;
  epoch?: string;
  checkpoint?: string;
  resume?: boolean;
  force?: boolean;
  concurrency?: string;
}): Promise<{ ok: boolean }> {
  const { io, out } = options;
  let until: number | undefined;
  if (options.until !== undefined) {
    const ms = Date.parse(options.until);
    if (!/^\d{4}-\d{2}-\d{2}/.test(options.until) || Number.isNaN(ms)) {
      throw new UsageError(
        `--until ${JSON.stringify(options.until)}: not an ISO 8601 time (e.g. 2026-11-24T12:00:00Z)`,
      );
    }
    until = Math.floor(ms / 1000);
  }
  let concurrency: number | undefined;
  if (options.concurrency !== undefined) {
    concurrency = Number(options.concurrency);
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256) {
      throw new UsageError(
        `--concurrency ${JSON.stringify(options.concurrency)}: expected a whole number 1..256`,
      );
    }
  }
  if (options.resume && !options.checkpoint) throw new UsageError('--resume needs --checkpoint <file>');
  if (!/^[A-Za-z0-9_.-]{3,255}$/.test(options.targetTable)) {
    throw new UsageError(
      `--target-table ${JSON.stringify(options.targetTable)}: not a valid DynamoDB table name`,
    );
  }
  const { replayChain } = loadChainLibrary('replay');
  const progress = createProgress(io, out.json);
  let report: any;
  try {
    report = await replayChain({
      s3: options.s3,
      dynamodb: options.dynamodb,
      bucket: options.bucket,
      prefix: options.prefix,
      targetTable: options.targetTable,
      ...(options.epoch !== undefined ? { epoch: options.epoch } : {}),
      ...(until !== undefined ? { until } : {}),
      ...(options.checkpoint !== undefined ? { checkpointFile: options.checkpoint } : {}),
      resume: Boolean(options.resume),
      force: Boolean(options.force),
      ...(concurrency !== undefined ? { concurrency } : {}),
      onProgress: progress.update,
    });
  } finally {
    progress.stop();
  }
  const ok = report?.ok !== false;
  out.result(report, () => formatReplayReport(report, options.targetTable));
  return { ok };
}

/** The human text of a replay report: every scalar field, then problems if any. */
function formatReplayReport(report: Record<string, unknown>, targetTable: string): string {
  const rows: [string, string][] = [['target table', targetTable]];
  for (const [key, value] of Object.entries(report ?? {})) {
    if (value === null || value === undefined || typeof value === 'object') continue;
    rows.push([
      key,
      typeof value === 'number' && /At$|Time$|until|watermark/i.test(key) ? timeText(value) : String(value),
    ]);
  }
  const lines = [table(rows)];
  const problems = Array.isArray((report as any)?.problems) ? ((report as any).problems as unknown[]) : [];
  for (const p of problems.slice(0, 50)) lines.push(`  - ${problemText(p)}`);
  return lines.join('\n');
}

/**
 * Progress of a replay: a cli-progress bar (items, items/s) on a terminal, plain lines every few
 * seconds otherwise, nothing with --json. Accepts the progress object replayChain reports, reading
 * the item and entry counts it names.
 */
function createProgress(io: Io, json: boolean): { update: (p: any) => void; stop: () => void } {
  if (json) return { update: () => undefined, stop: () => undefined };
  const started = Date.now();
  const count = (p: any, names: string[]): number | undefined => {
    for (const n of names) if (typeof p?.[n] === 'number') return p[n];
    return undefined;
  };
  const items = (p: any) => count(p, ['items', 'itemsWritten', 'itemsApplied', 'applied', 'done']) ?? 0;
  const entry = (p: any) => count(p, ['entry', 'entriesDone', 'entryIndex', 'sequence']);
  const entries = (p: any) => count(p, ['entries', 'entriesTotal', 'totalEntries', 'total']);
  if (io.stderr.isTTY) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const cliProgress = require('cli-progress') as typeof import('cli-progress');
    const bar = new cliProgress.SingleBar(
      {
        stream: io.stderr as NodeJS.WritableStream,
        format: ' replay [{bar}] {value}/{total} exports | {items} items | {speed} items/s',
        hideCursor: true,
      },
      cliProgress.Presets.shades_classic,
    );
    let startedBar = false;
    return {
      update: (p) => {
        const total = entries(p) ?? 1;
        const n = items(p);
        const speed = Math.round(n / Math.max(0.001, (Date.now() - started) / 1000));
        if (!startedBar) {
          bar.start(total, entry(p) ?? 0, { items: n, speed });
          startedBar = true;
        }
        bar.setTotal(total);
        bar.update(entry(p) ?? 0, { items: n, speed });
      },
      stop: () => {
        if (startedBar) bar.stop();
      },
    };
  }
  let last = 0;
  return {
    update: (p) => {
      const now = Date.now();
      if (now - last < 2000) return;
      last = now;
      const n = items(p);
      const speed = Math.round(n / Math.max(0.001, (now - started) / 1000));
      io.stderr.write(
        `replay: export ${entry(p) ?? '?'}/${entries(p) ?? '?'}, ${n} items, ${speed} items/s\n`,
      );
    },
    stop: () => undefined,
  };
}

/** Names an AWS error for a person: service error name and message, plus what usually causes it. */
export function describeError(error: unknown): string {
  const e = error as {
    name?: string;
    message?: string;
    code?: string;
    $metadata?: { httpStatusCode?: number };
  };
  const name = e?.name ?? 'Error';
  const message = e?.message ?? String(error);
  if (name === 'CredentialsProviderError' || /Could not load credentials/i.test(message)) {
    return `no AWS credentials: ${message} (configure the standard chain, or pass --profile)`;
  }
  if (/Region is missing/i.test(message)) return `no AWS Region: pass --region or set AWS_REGION`;
  if (e?.code === 'ECONNREFUSED' || /ECONNREFUSED/.test(message)) {
    return `cannot connect: ${message} (is the endpoint right?)`;
  }
  if (name === 'AccessDeniedException' || name === 'AccessDenied') return `access denied: ${message}`;
  return name !== 'Error' && !message.startsWith(name) ? `${name}: ${message}` : message;
}

/** Runs `dce` with `argv` (without the node and script entries); resolves to the exit code. */
export async function runDce(argv: string[], io: Io = defaultIo(), deps: DceDeps = {}): Promise<number> {
  let code: number = EXIT.OK;
  const program = buildProgram(io, deps, (c) => {
    code = c;
  });
  const json = argv.includes('--json');
  program.exitOverride();
  program.configureOutput({
    writeOut: (text) => io.stdout.write(text),
    writeErr: (text) => io.stderr.write(text),
  });
  for (const sub of program.commands) {
    sub.exitOverride();
    sub.configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    });
    sub.showHelpAfterError('(run with --help for usage)');
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here with exitCode 0; parse errors were already printed.
      return error.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    const out = new Output(io, json);
    if (error instanceof UsageError) {
      out.error(error.message, EXIT.USAGE);
      return EXIT.USAGE;
    }
    out.error(describeError(error), EXIT.USAGE);
    return EXIT.USAGE;
  }
}

/** Entry point of `bin/dce.js` and `npm run dce`. */
export async function main(argv: string[] = process.argv.slice(2)): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  process.exitCode = await runDce(argv);
}

if (require.main === module) void main();
