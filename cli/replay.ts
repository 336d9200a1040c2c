/**
 * `dce replay`: rebuilds a table from the chain: the full export, then every incremental export in
 * chain order, into a target table with the source's key schema. A thin driver over the apply engine
 * (apply/applyEngine.ts), shared with the replica: this file adds the chain checks, the checkpoint
 * file and progress.
 *
 * Each data file is read and checked completely (checksum, gzip, every line) before any of it is
 * written, so a bad file is never half-applied; a file whose records do not fit the memory budget is
 * streamed twice, so memory stays bounded (a quarter of `memorySizeMb`, by default of the Node.js
 * heap limit, apply/memoryBudget.ts). A checkpoint is written after every data file and every
 * export, so an interrupted replay continues where it stopped with `resume`. Without a checkpoint
 * file, consecutive small data files are applied together (each key's writes still in chain order),
 * which makes a long chain of small incremental exports much faster to replay.
 */
import { readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import type { S3Sender } from '../format';
import {
  applyChainEntries,
  recordsToWrites,
  targetIsEmpty,
  targetKeyAttributes,
  writeRounds,
  type DynamoDbSender,
  type EntryToApply,
} from '../apply';
import { readChain, type ChainEntryObject } from './chainReader';
import { chainOrderProblems } from './verify';

// Reading, checking and writing entries (records to puts and deletes, rounds, BatchWriteItem with
// backoff) are the apply engine's, shared with the replica; replay adds the checkpoint file.
export { recordsToWrites, writeRounds, type DynamoDbSender };

/** Progress of a replay, reported after every batch. */
export interface ReplayProgress {
  /** Sequence of the export being applied. */
  sequence: number;
  /** Exports to apply in this run, and how many are done. */
  entriesTotal: number;
  entriesDone: number;
  /** Puts and deletes written in this run. */
  itemsApplied: number;
  itemsPerSecond: number;
  /** Data file being applied. */
  file?: string;
}

/** Where a replay stands; written to the checkpoint file. */
export interface ReplayCheckpoint {
  epoch: string;
  targetTable: string;
  /** Last export applied completely; -1 when none. */
  appliedSequence: number;
  /** Progress inside the export after `appliedSequence`: data files applied completely, in manifest order. */
  inProgress?: { sequence: number; exportArn: string; filesApplied: number };
}

/** Options of `replayChain`. */
export interface ReplayOptions {
  s3: S3Sender;
  dynamodb: DynamoDbSender;
  bucket: string;
  prefix: string;
  targetTable: string;
  /** Epoch to replay; the live one (CURRENT.json) by default. */
  epoch?: string;
  /** Epoch seconds: apply only entries whose window ends at or before this time. */
  until?: number;
  /** Path of the checkpoint file (JSON). */
  checkpointFile?: string;
  /** Continue from the checkpoint file. */
  resume?: boolean;
  /** Apply even when the target table already holds items. */
  force?: boolean;
  /** BatchWriteItem calls in flight at once (default 4). */
  concurrency?: number;
  onProgress?: (progress: ReplayProgress) => void;
  /**
   * The memory the replay may use, in MB: data files, write groups and read-ahead hold at most a
   * quarter of it in records; a data file whose records do not fit its share is streamed twice
   * instead of held (default: the Node.js heap limit, `--max-old-space-size`).
   */
  memorySizeMb?: number;
  /** Attempts per batch before giving up on unprocessed items or throttling (default 10). */
  maxAttempts?: number;
  /** First backoff delay in ms, doubled per attempt (default 50). */
  baseDelayMs?: number;
  /**
   * Called with the entries to apply before the target is read: checks (or creates) the target table
   * (`dce replay`, cli/replayTarget.ts). @default none
   */
  prepareTarget?: (entries: ChainEntryObject[]) => Promise<void>;
}

/** Result of `replayChain`. */
export interface ReplayReport {
  epoch: string;
  /** Exports applied in this run (partly applied ones count when finished). */
  entriesApplied: number;
  /** Last export applied completely; -1 when none. */
  lastSequence: number;
  /** End of the last applied export's window, ISO: the table now reflects writes before this time. */
  watermark?: string;
  puts: number;
  deletes: number;
  itemsApplied: number;
  /** Sequence the run resumed in, when resuming. */
  resumedFrom?: { sequence: number; filesApplied: number };
  /**
   * With `until`: the time asked for and the window end the replay stops at, the last one at or
   * before it; `pastWatermark` when the time asked for is after the chain's watermark.
   */
  until?: { requested: string; replayedTo: string; pastWatermark: boolean };
  durationMs: number;
}

function readCheckpoint(path: string): ReplayCheckpoint {
  let json: Partial<Record<keyof ReplayCheckpoint, unknown>> | null;
  try {
    json = JSON.parse(readFileSync(path, 'utf8')) as Partial<Record<keyof ReplayCheckpoint, unknown>> | null;
  } catch (err) {
    throw new Error(`cannot read checkpoint file ${path}: ${(err as Error).message}`, { cause: err });
  }
  if (
    typeof json?.epoch !== 'string' ||
    typeof json?.appliedSequence !== 'number' ||
    typeof json?.targetTable !== 'string'
  ) {
    throw new Error(`checkpoint file ${path} is not a replay checkpoint`);
  }
  return json as unknown as ReplayCheckpoint;
}

function writeCheckpoint(path: string, checkpoint: ReplayCheckpoint): void {
  // Write then rename, so a crash never leaves a half-written checkpoint.
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(checkpoint, null, 2)}\n`);
  renameSync(tmp, path);
}

/** Exports whose manifests are read ahead of the one being written. */
const MANIFEST_READ_AHEAD = 8;
/** Writes applied together when no checkpoint file is kept (see `replayChain`). */
const GROUP_WRITES = 2000;
/** Data files read (and checked) ahead of the one being written. */
const DATA_FILE_READ_AHEAD = 4;

type ChainEntry = ChainEntryObject['entry'];

/** The checkpoint to continue from, when resuming and the file exists. */
function checkpointToResume(options: ReplayOptions): ReplayCheckpoint | undefined {
  if (!options.resume) return undefined;
  if (!options.checkpointFile) throw new Error('resume needs a checkpoint file');
  return existsSync(options.checkpointFile) ? readCheckpoint(options.checkpointFile) : undefined;
}

/** The entries of the chain to apply, after checking the checkpoint, the target and the chain's order. */
async function entriesToReplay(options: ReplayOptions, checkpoint: ReplayCheckpoint | undefined) {
  const { s3, dynamodb, bucket, prefix, targetTable } = options;
  const chain = await readChain(s3, bucket, prefix, options.epoch ?? checkpoint?.epoch);
  if (checkpoint && checkpoint.epoch !== chain.epoch) {
    throw new Error(
      `checkpoint ${options.checkpointFile} is for epoch ${checkpoint.epoch}, not ${chain.epoch}`,
    );
  }
  if (checkpoint && checkpoint.targetTable !== targetTable) {
    throw new Error(
      `checkpoint ${options.checkpointFile} is for table ${checkpoint.targetTable}, not ${targetTable}`,
    );
  }
  if (options.prepareTarget) await options.prepareTarget(chain.entries);
  const keyAttributes = await targetKeyAttributes(dynamodb, targetTable);
  if (!options.resume && !options.force && !(await targetIsEmpty(dynamodb, targetTable))) {
    throw new Error(
      `table ${targetTable} is not empty; replay into an empty table, or pass resume (continue a replay) or force (apply on top)`,
    );
  }
  const entries = selectEntries(chain.entries, options.until);
  // A gap or overlap would rebuild a table that never existed; refuse rather than guess.
  const broken = chainOrderProblems(entries).filter((p) => p.kind !== 'window-length');
  if (broken.length > 0) {
    throw new Error(
      `chain of epoch ${chain.epoch} is not contiguous: ${broken.map((p) => `${p.key}: ${p.message}`).join('; ')}`,
    );
  }
  return {
    epoch: chain.epoch,
    entries: entries.map((e) => e.entry),
    keyAttributes,
    until: untilReached(chain.entries, entries, options.until),
  };
}

/** Where a replay with `until` stops, against the time asked for (see ReplayReport.until). */
export function untilReached(
  chain: readonly ChainEntryObject[],
  selected: readonly ChainEntryObject[],
  until: number | undefined,
): ReplayReport['until'] {
  if (until === undefined || selected.length === 0) return undefined;
  const watermark = Date.parse(chain[chain.length - 1].entry.to) / 1000;
  return {
    requested: new Date(until * 1000).toISOString(),
    replayedTo: selected[selected.length - 1].entry.to,
    pastWatermark: until > watermark,
  };
}

/** Rebuilds `targetTable` from the chain; see the module comment. */
export async function replayChain(options: ReplayOptions): Promise<ReplayReport> {
  const started = Date.now();
  const checkpoint = checkpointToResume(options);
  const { epoch, entries, keyAttributes, until } = await entriesToReplay(options, checkpoint);
  const state: ReplayCheckpoint = checkpoint ?? {
    epoch,
    targetTable: options.targetTable,
    appliedSequence: -1,
  };
  const todo: EntryToApply<ChainEntry>[] = entries
    .filter((entry) => entry.sequence > state.appliedSequence)
    .map((entry) => {
      const { inProgress } = state;
      const resumes = inProgress?.sequence === entry.sequence && inProgress.exportArn === entry.exportArn;
      return { entry, skipFiles: resumes ? inProgress.filesApplied : 0 };
    });

  const report: ReplayReport = {
    epoch,
    entriesApplied: 0,
    lastSequence: state.appliedSequence,
    watermark: entries.find((e) => e.sequence === state.appliedSequence)?.to,
    puts: 0,
    deletes: 0,
    itemsApplied: 0,
    ...(until ? { until } : {}),
    durationMs: 0,
  };
  if (checkpoint) {
    report.resumedFrom = checkpoint.inProgress
      ? { sequence: checkpoint.inProgress.sequence, filesApplied: checkpoint.inProgress.filesApplied }
      : { sequence: checkpoint.appliedSequence + 1, filesApplied: 0 };
  }
  const save = () => {
    if (options.checkpointFile) writeCheckpoint(options.checkpointFile, state);
  };
  const progress = (sequence: number, file?: string) => {
    if (!options.onProgress) return;
    const elapsed = (Date.now() - started) / 1000;
    options.onProgress({
      sequence,
      entriesTotal: todo.length,
      entriesDone: report.entriesApplied,
      itemsApplied: report.itemsApplied,
      itemsPerSecond: elapsed > 0 ? report.itemsApplied / elapsed : 0,
      file,
    });
  };

  const result = await applyChainEntries(todo, {
    s3: options.s3,
    dynamodb: options.dynamodb,
    targetTable: options.targetTable,
    keyAttributes,
    concurrency: Math.max(1, options.concurrency ?? 4),
    maxAttempts: options.maxAttempts ?? 10,
    baseDelayMs: options.baseDelayMs ?? 50,
    memorySizeMb: options.memorySizeMb,
    // Every record is written (the report counts each), in rounds that keep each key's order.
    keep: 'every-write',
    groupWrites: GROUP_WRITES,
    // With a checkpoint file a group is one data file, so the checkpoint moves after every file as
    // documented. Without one nothing observes the steps in between, and consecutive small files (a
    // 15-minute incremental export is often a few dozen changes) are grouped: fewer, fuller rounds.
    filesPerGroup: options.checkpointFile ? 1 : Infinity,
    // A read failure stops the replay after everything read before it is applied and checkpointed.
    onReadFailure: 'write-gathered',
    manifestReadAhead: MANIFEST_READ_AHEAD,
    dataFileReadAhead: DATA_FILE_READ_AHEAD,
    onWritten: (count, group) => {
      report.itemsApplied += count;
      progress(group.sequence, group.file);
    },
    onFileApplied: (entry, filesApplied) => {
      state.inProgress = { sequence: entry.sequence, exportArn: entry.exportArn, filesApplied };
      save();
    },
    onEntryApplied: (entry) => {
      state.appliedSequence = entry.sequence;
      delete state.inProgress;
      save();
      report.entriesApplied++;
      report.lastSequence = entry.sequence;
      report.watermark = entry.to;
      progress(entry.sequence);
    },
  });
  report.puts = result.puts;
  report.deletes = result.deletes;
  report.durationMs = Date.now() - started;
  return report;
}

/** Entries to apply: in chain order, stopping before the first whose window ends after `until`. */
export function selectEntries(entries: ChainEntryObject[], until?: number): ChainEntryObject[] {
  if (until === undefined) return entries;
  const out: ChainEntryObject[] = [];
  for (const e of entries) {
    if (Date.parse(e.entry.to) / 1000 > until) break;
    out.push(e);
  }
  if (out.length === 0 && entries.length > 0) {
    throw new Error(
      `until ${new Date(until * 1000).toISOString()} is before the chain start ${entries[0].entry.to}`,
    );
  }
  return out;
}
