/**
 * `dce replay` as a command: flags checked (strict ISO 8601 times, concurrency, checkpoint), the
 * replay run with a progress display, and the report printed.
 */
import { existsSync } from 'node:fs';
import { formatDuration, operatorMessage, table, type Io, type Output } from './output';
import { createProgressDisplay, silentProgress, type ProgressDisplay } from './progress';
import type { ReplayProgress, ReplayReport } from './replay';
import { requireEpoch, UsageError, type Clients } from './target';
import {
  createTargetTable,
  decideTarget,
  formatKeySchema,
  neededKeySchema,
  targetKeys,
} from './replayTarget';
import type { ChainEntryObject } from './chainReader';

/** Loads the export reader on first use: `status` and the operator commands start without it. */
function replayLibrary(): typeof import('./replay') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('./replay');
}

/** A chain that exists but cannot be applied or read: exit code 1 (problems), not 2 (usage). */
export class ChainProblemError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ChainProblemError';
  }
}

const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})$/;

/**
 * Parses `--until`: ISO 8601 date and time with an explicit zone (`Z` or an offset such as `+02:00`),
 * returns epoch seconds. Stricter than Date.parse on purpose: a time without a zone would be read in
 * the machine's zone, and Date.parse rolls an impossible date (February 30) into the next month.
 */
export function parseUntil(value: string): number {
  const fail = (why: string) =>
    new UsageError(
      `--until ${JSON.stringify(value)}: ${why}; expected ISO 8601 with a zone, e.g. 2026-11-24T12:00:00Z or 2026-11-24T13:00:00+01:00`,
    );
  const m = ISO_TIME.exec(value);
  if (!m) {
    if (/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(value))
      throw fail("no time zone (it would be read in this machine's zone)");
    throw fail('not an ISO 8601 date and time');
  }
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map((v) => Number(v ?? 0));
  const zone = m[8];
  const utc = Date.UTC(year, month - 1, day, hour, minute, second);
  const check = new Date(utc);
  if (
    check.getUTCFullYear() !== year ||
    check.getUTCMonth() !== month - 1 ||
    check.getUTCDate() !== day ||
    hour > 23 ||
    minute > 59 ||
    second > 59
  ) {
    throw fail('no such date or time');
  }
  let offsetMinutes = 0;
  if (zone !== 'Z') {
    const digits = zone.slice(1).replace(':', '');
    const hours = Number(digits.slice(0, 2));
    const minutes = Number(digits.slice(2));
    if (hours > 23 || minutes > 59) throw fail(`no such zone offset ${zone}`);
    offsetMinutes = (zone[0] === '-' ? -1 : 1) * (hours * 60 + minutes);
  }
  const fraction = m[7] ? Number(`0.${m[7]}`) : 0;
  return Math.floor(utc / 1000 + fraction) - offsetMinutes * 60;
}

/** The flags of `dce replay`, as commander parses them. */
export interface ReplayFlags {
  targetTable: string;
  until?: string;
  epoch?: string;
  checkpoint?: string;
  resume?: boolean;
  force?: boolean;
  concurrency?: string;
  /** Create --target-table with the chain's key schema (on-demand billing); it must not exist. */
  createTable?: boolean;
}

/** Calls replayChain with a progress display; prints the report. */
export async function runReplayCommand(
  options: ReplayFlags & {
    io: Io;
    out: Output;
    s3: Clients['s3'];
    dynamodb: Clients['dynamodb'];
    bucket: string;
    prefix: string;
  },
): Promise<ReplayReport> {
  const { io, out } = options;
  const until = options.until === undefined ? undefined : parseUntil(options.until);
  let concurrency: number | undefined;
  if (options.concurrency !== undefined) {
    concurrency = Number(options.concurrency);
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256) {
      throw new UsageError(
        `--concurrency ${JSON.stringify(options.concurrency)}: expected a whole number 1..256`,
      );
    }
  }
  if (options.epoch !== undefined && !/^\d{8}T\d{6}Z$/.test(options.epoch)) {
    throw new UsageError(
      `--epoch ${JSON.stringify(options.epoch)}: expected an epoch id like 20261124T235500Z`,
    );
  }
  if (options.resume && !options.checkpoint) throw new UsageError('--resume needs --checkpoint <file>');
  if (options.resume && options.checkpoint && !existsSync(options.checkpoint)) {
    // Without this check a resume would start from the beginning and skip the non-empty-target check.
    throw new UsageError(
      `--resume --checkpoint ${JSON.stringify(options.checkpoint)}: no such file, so there is nothing to resume; ` +
        'check the path, or start a new replay without --resume (into an empty table, or with --force)',
    );
  }
  if (!/^[A-Za-z0-9_.-]{3,255}$/.test(options.targetTable)) {
    throw new UsageError(
      `--target-table ${JSON.stringify(options.targetTable)}: not a valid DynamoDB table name`,
    );
  }
  if (options.epoch !== undefined)
    await requireEpoch(options.s3, options.bucket, options.prefix, options.epoch);
  const { replayChain } = replayLibrary();
  const progress = createProgress(io, out.json);
  let report: ReplayReport;
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
      prepareTarget: (entries) => prepareTarget(options, entries),
    });
  } catch (error) {
    // AWS errors carry $metadata (access, network: exit 2); anything else is the chain or the target
    // refusing the replay (gap, not-empty target, checkpoint mismatch: exit 1).
    const e = error as Error & { $metadata?: unknown; $response?: unknown };
    const usage = error instanceof UsageError || e.name === 'S3BucketMissingError';
    if (e.$metadata === undefined && e.$response === undefined && !usage)
      throw new ChainProblemError(`replay failed: ${operatorMessage(e)}`);
    throw error;
  } finally {
    progress.stop();
  }
  out.result(report, () => formatReplayReport(report, options.targetTable));
  return report;
}

/**
 * Checks the target before anything is written: it must exist with the chain's key schema, or be
 * created here with --create-table. A refusal is a usage error naming the key schema needed.
 */
async function prepareTarget(
  options: ReplayFlags & {
    io: Io;
    out: Output;
    s3: Clients['s3'];
    dynamodb: Clients['dynamodb'];
    bucket: string;
  },
  entries: ChainEntryObject[],
): Promise<void> {
  const { s3, dynamodb, bucket, targetTable, out } = options;
  const [needed, actual] = await Promise.all([
    neededKeySchema({ s3, dynamodb, bucket, entries }),
    targetKeys(dynamodb, targetTable),
  ]);
  const decision = decideTarget({
    table: targetTable,
    needed,
    actual,
    createTable: Boolean(options.createTable),
  });
  if (decision.kind === 'refuse') throw new UsageError(decision.message);
  if (decision.kind === 'create' && needed) {
    out.info(`replay: creating table ${targetTable} (${formatKeySchema(needed.keys)}, on-demand billing)`);
    await createTargetTable(dynamodb, targetTable, needed.keys);
  }
}

function formatReplayReport(report: ReplayReport, targetTable: string): string {
  const rows: [string, string][] = [
    ['target table', targetTable],
    ['epoch', report.epoch],
    ['exports applied', String(report.entriesApplied)],
    ['last sequence', String(report.lastSequence)],
    ['watermark', report.watermark ?? '-'],
    ['items', `${report.itemsApplied} (${report.puts} puts, ${report.deletes} deletes)`],
    ['duration', formatDuration(report.durationMs / 1000)],
  ];
  if (report.until) {
    rows.push([
      'until',
      report.until.pastWatermark
        ? `${report.until.requested} is past the watermark: capped to the watermark ${report.until.replayedTo}`
        : `${report.until.requested}: replayed to ${report.until.replayedTo}, the last window end at or before it`,
    ]);
  }
  if (report.resumedFrom) {
    rows.push([
      'resumed',
      `in sequence ${report.resumedFrom.sequence} after ${report.resumedFrom.filesApplied} files`,
    ]);
  }
  return table(rows);
}

/**
 * Progress of a replay: a bar (exports, items, items/s) on a terminal, a plain line every few seconds
 * otherwise, nothing with --json.
 */
function createProgress(io: Io, json: boolean): ProgressDisplay<ReplayProgress> {
  if (json) return silentProgress();
  return createProgressDisplay<ReplayProgress>(io.stderr, {
    barFormat: ' replay [{bar}] {value}/{total} exports | {items} items | {speed} items/s',
    done: (p) => p.entriesDone,
    total: (p) => p.entriesTotal,
    payload: (p) => ({ items: p.itemsApplied, speed: Math.round(p.itemsPerSecond) }),
    line: (p) =>
      `replay: ${p.entriesDone}/${p.entriesTotal} exports, ${p.itemsApplied} items, ${Math.round(p.itemsPerSecond)} items/s`,
  });
}
