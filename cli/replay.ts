/**
 * `dce replay`: rebuilds a table from the chain: the full export, then every incremental export in
 * chain order, into a target table with the source's key schema.
 *
 * Each data file is read and checked completely (checksum, gzip, every line) before any of it is
 * written, so a bad file is never half-applied. Small files are held in memory between the check
 * and the writes; a large one is checked by streaming it once and then streamed again while it is
 * written, so memory stays bounded whatever the size of a data file. A checkpoint is written after every data file and
 * every export, so an interrupted replay continues where it stopped with `resume`. Without a
 * checkpoint file, consecutive small data files are applied together (each key's writes still in
 * chain order), which makes a long chain of small incremental exports much faster to replay.
 */
import { readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import {
  checkDataFile,
  listExportDataFiles,
  readDataFile,
  readExportSummary,
  streamDataFile,
  summaryFormat,
  type DataFileEntry,
  type ExportFormatName,
  type ExportRecord,
  type S3Sender,
} from '../format';
import {
  BatchWriter,
  recordsToWrites,
  targetIsEmpty,
  targetKeyAttributes,
  writeRounds,
  type DynamoDbSender,
  type WriteOp,
} from '../apply';
import { readChain, type ChainEntryObject } from './chainReader';
import { chainOrderProblems } from './verify';

// The writes themselves (records to puts and deletes, rounds, BatchWriteItem with backoff) are the
// apply engine's, shared with the replica; replay adds the checkpoint file and the read-ahead.
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
   * Data files listing more records than this are not held in memory between their check and their
   * writes: they are streamed twice instead (default 20,000).
   */
  maxRecordsInMemory?: number;
  /** Attempts per batch before giving up on unprocessed items or throttling (default 10). */
  maxAttempts?: number;
  /** First backoff delay in ms, doubled per attempt (default 50). */
  baseDelayMs?: number;
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
/** Writes applied together when no checkpoint file is kept (see the apply loop). */
const GROUP_WRITES = 2000;
/** Data files read (and checked) ahead of the one being written. */
const DATA_FILE_READ_AHEAD = 4;
/**
 * Data files listing more records than this are not held in memory: they are checked by one
 * streamed read and applied during a second (see the module comment).
 */
const IN_MEMORY_FILE_RECORDS = 20_000;

/** A data file read ahead: its records, or (for a large file) the place to stream it from once checked. */
type DataFileRead = ExportRecord[] | { bucket: string; file: DataFileEntry; format: ExportFormatName };

/** Rebuilds `targetTable` from the chain; see the module comment. */
export async function replayChain(options: ReplayOptions): Promise<ReplayReport> {
  const started = Date.now();
  const { s3, dynamodb, bucket, prefix, targetTable } = options;
  const concurrency = Math.max(1, options.concurrency ?? 4);
  const maxAttempts = options.maxAttempts ?? 10;
  const baseDelayMs = options.baseDelayMs ?? 50;
  const maxRecordsInMemory = options.maxRecordsInMemory ?? IN_MEMORY_FILE_RECORDS;

  let checkpoint: ReplayCheckpoint | undefined;
  if (options.resume) {
    if (!options.checkpointFile) throw new Error('resume needs a checkpoint file');
    if (existsSync(options.checkpointFile)) checkpoint = readCheckpoint(options.checkpointFile);
  }
  const epoch = options.epoch ?? checkpoint?.epoch;
  const chain = await readChain(s3, bucket, prefix, epoch);
  if (checkpoint) {
    if (checkpoint.epoch !== chain.epoch) {
      throw new Error(
        `checkpoint ${options.checkpointFile} is for epoch ${checkpoint.epoch}, not ${chain.epoch}`,
      );
    }
    if (checkpoint.targetTable !== targetTable) {
      throw new Error(
        `checkpoint ${options.checkpointFile} is for table ${checkpoint.targetTable}, not ${targetTable}`,
      );
    }
  }

  const keyAttributes = await targetKeyAttributes(dynamodb, targetTable);

  if (!options.resume && !options.force) {
    if (!(await targetIsEmpty(dynamodb, targetTable))) {
      throw new Error(
        `table ${targetTable} is not empty; replay into an empty table, or pass resume (continue a replay) or force (apply on top)`,
      );
    }
  }

  const entries = selectEntries(chain.entries, options.until);
  // A gap or overlap would rebuild a table that never existed; refuse rather than guess.
  const broken = chainOrderProblems(entries).filter((p) => p.kind !== 'window-length');
  if (broken.length > 0) {
    throw new Error(
      `chain of epoch ${chain.epoch} is not contiguous: ${broken.map((p) => `${p.key}: ${p.message}`).join('; ')}`,
    );
  }
  const appliedSequence = checkpoint?.appliedSequence ?? -1;
  const todo = entries.filter(({ entry }) => entry.sequence > appliedSequence);
  const state: ReplayCheckpoint = checkpoint ?? { epoch: chain.epoch, targetTable, appliedSequence: -1 };

  const report: ReplayReport = {
    epoch: chain.epoch,
    entriesApplied: 0,
    lastSequence: state.appliedSequence,
    watermark: entries.find((e) => e.entry.sequence === state.appliedSequence)?.entry.to,
    puts: 0,
    deletes: 0,
    itemsApplied: 0,
    durationMs: 0,
  };
  if (checkpoint?.inProgress) {
    report.resumedFrom = {
      sequence: checkpoint.inProgress.sequence,
      filesApplied: checkpoint.inProgress.filesApplied,
    };
  } else if (checkpoint) {
    report.resumedFrom = { sequence: checkpoint.appliedSequence + 1, filesApplied: 0 };
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

  /** One writer per group, so progress names the group being written. */
  const writerFor = (sequence: number, file: string) =>
    new BatchWriter({
      dynamodb,
      tableName: targetTable,
      concurrency,
      maxAttempts,
      baseDelayMs,
      onWritten: (count) => {
        report.itemsApplied += count;
        progress(sequence, file);
      },
    });

  // Reads run ahead of the writes: the manifests of the next exports and the next data files are
  // fetched and checked while the current file is written. Results are consumed strictly in chain
  // and manifest order, so a bad export or file still stops the replay exactly where a sequential
  // read would (everything before it applied and checkpointed, nothing of it written).
  const manifestReads: Promise<{ files: DataFileEntry[]; skip: number; format: ExportFormatName }>[] = [];
  const readManifest = async (entry: ChainEntryObject['entry']) => {
    const summary = await readExportSummary(s3, entry.bucket, entry.manifestSummaryKey);
    if (summary.exportArn !== entry.exportArn) {
      throw new Error(
        `${entry.manifestSummaryKey}: export ${summary.exportArn} does not match chain entry ${entry.exportArn}`,
      );
    }
    const files = await listExportDataFiles(s3, entry.bucket, summary, { verifyChecksums: true });
    const skip =
      state.inProgress &&
      state.inProgress.sequence === entry.sequence &&
      state.inProgress.exportArn === entry.exportArn
        ? state.inProgress.filesApplied
        : 0;
    return { files, skip, format: summaryFormat(summary) };
  };
  const manifestAt = (index: number) => {
    const last = Math.min(index + MANIFEST_READ_AHEAD, todo.length - 1);
    for (let j = manifestReads.length; j <= last; j++) {
      const read = readManifest(todo[j].entry);
      read.catch(() => undefined); // surfaced in order, when the replay reaches export j
      manifestReads.push(read);
    }
    return manifestReads[index];
  };
  // Data files in apply order: a cursor over (export, file) moved one step at a time, each step
  // starting the read of the file it lands on without waiting for earlier reads to finish.
  const cursor: { entry: number; file: number | undefined } = { entry: 0, file: undefined };
  let cursorTail: Promise<unknown> = Promise.resolve();
  const dataReads: Promise<DataFileRead>[] = [];
  const fillDataReads = () => {
    while (dataReads.length < DATA_FILE_READ_AHEAD) {
      const step = cursorTail.then(async () => {
        while (cursor.entry < todo.length) {
          const { files, skip, format } = await manifestAt(cursor.entry);
          const f = cursor.file ?? skip;
          if (f < files.length) {
            cursor.file = f + 1;
            return { bucket: todo[cursor.entry].entry.bucket, file: files[f], format };
          }
          cursor.entry += 1;
          cursor.file = undefined;
        }
        return undefined; // past the last file: never consumed
      });
      cursorTail = step.catch(() => undefined);
      const read = step.then(async (at): Promise<DataFileRead> => {
        if (!at) return [];
        const options = { verifyChecksums: true, format: at.format };
        if (at.file.itemCount <= maxRecordsInMemory) return readDataFile(s3, at.bucket, at.file, options);
        await checkDataFile(s3, at.bucket, at.file, options);
        return at;
      });
      read.catch(() => undefined); // surfaced in order, when the replay reaches that file
      dataReads.push(read);
    }
  };
  const nextDataFile = async () => {
    fillDataReads();
    const read = dataReads.shift()!;
    const result = await read;
    fillDataReads();
    return result;
  };

  // Writes are applied in groups. With a checkpoint file a group is one data file, so the checkpoint
  // moves after every file as documented. Without one, nothing observes the steps in between, and
  // consecutive small files (a 15-minute incremental export is often a few dozen changes) are
  // grouped up to GROUP_WRITES writes: writeRounds keeps the writes of each key in chain order
  // across the whole group, and the batches are full, so fewer, larger rounds reach the table.
  const groupLimit = options.checkpointFile ? 1 : Infinity;
  let groupFiles = 0;
  let groupOps: WriteOp[] = [];
  /** What becomes true once the group is written, in chain order: files and exports completed. */
  let groupDone: (() => void)[] = [];
  let groupLabel = { sequence: -1, file: '' };
  // One group is written while the next is read and assembled; groups are written one after
  // another, so writes still reach the table in chain order.
  let writing: Promise<void> = Promise.resolve();
  const flush = async () => {
    const ops = groupOps;
    const done = groupDone;
    const label = groupLabel;
    groupOps = [];
    groupDone = [];
    groupFiles = 0;
    await writing; // the previous group is written (or its failure is thrown here)
    writing = (async () => {
      await writerFor(label.sequence, label.file).writeRounds(writeRounds(ops));
      for (const step of done) step();
    })();
    writing.catch(() => undefined); // awaited by the next flush or at the end
  };
  /** A read failure stops the replay after everything read before it has been applied. */
  const orFlush = async <T>(read: Promise<T>): Promise<T> => {
    try {
      return await read;
    } catch (err) {
      await flush();
      await writing;
      throw err;
    }
  };

  for (let index = 0; index < todo.length; index++) {
    const { entry } = todo[index];
    const { files, skip } = await orFlush(manifestAt(index));
    for (let i = skip; i < files.length; i++) {
      const file = files[i];
      const read = await orFlush(nextDataFile());
      groupLabel = { sequence: entry.sequence, file: file.dataFileS3Key };
      const add = (records: ExportRecord[]) => {
        for (const op of recordsToWrites(records, keyAttributes)) {
          if (op.request.PutRequest) report.puts++;
          else report.deletes++;
          groupOps.push(op);
        }
      };
      if (Array.isArray(read)) {
        add(read);
      } else {
        // Checked already by a streamed read; applied while streamed again, in bounded groups.
        // The checkpoint only moves past the file once all of it is written. Should the second
        // read fail (the object changed, or the connection broke), what was written of the file
        // is a prefix of it in order, and a resumed replay applies the whole file again from its
        // start: each key ends at the file's last write for it, as after one clean pass.
        const stream = streamDataFile(s3, read.bucket, read.file, {
          verifyChecksums: true,
          format: read.format,
        });
        await orFlush(
          (async () => {
            for await (const batch of stream) {
              add(batch);
              if (groupOps.length >= GROUP_WRITES) await flush();
            }
          })(),
        );
      }
      groupDone.push(() => {
        state.inProgress = { sequence: entry.sequence, exportArn: entry.exportArn, filesApplied: i + 1 };
        save();
      });
      groupFiles += 1;
      if (groupFiles >= groupLimit || groupOps.length >= GROUP_WRITES) await flush();
    }
    groupDone.push(() => {
      state.appliedSequence = entry.sequence;
      delete state.inProgress;
      save();
      report.entriesApplied++;
      report.lastSequence = entry.sequence;
      report.watermark = entry.to;
      progress(entry.sequence);
    });
    if (groupOps.length === 0) await flush();
  }
  await flush();
  await writing;
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
