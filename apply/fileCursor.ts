/**
 * Applying one entry's data files from a record offset, and stopping at a write group's end: the
 * replica's unit of work when one Lambda invocation may not finish it (a Distributed Map child's batch
 * of files, an entry resumed after an invocation ran out of time). The caller says when to stop;
 * this reports, after every group written, how far the files are written, and the next call starts
 * there.
 *
 * Each data file is still checked whole before any of it is written (entryFiles.ts); the records
 * before the offset are read and skipped, since a gzip stream cannot seek. Within one export each key
 * appears once, so a write group is a run of consecutive records: once a group is written, every
 * record before its end is written, which is the cursor. Writing a record again is harmless (whole
 * item puts, deletes), so starting from a cursor that lags behind what was written is safe.
 */
import { streamDataFile, type DataFileEntry, type ExportFormatName, type ExportRecord } from '../format';
import { lambdaMemorySizeMb, type ApplyOptions } from './applyEntries';
import { namingMissingFiles, readCheckedDataFile, type ApplyEntry } from './entryFiles';
import { BufferedBytes, bufferBudgetBytes, bufferShares, groupIsFull } from './memoryBudget';
import { WriteGroups } from './writeGroups';
import { recordsToWrites } from './writes';

/** Records of `files[file]` before `record`, and all of every earlier file, are written. */
export interface FileCursor {
  file: number;
  record: number;
}

export interface FilesFromOptions extends Omit<ApplyOptions, 'onEntryApplied' | 'onFileApplied'> {
  /** Asked after each write group is sent: true stops once the groups sent are written. */
  stop?: () => boolean;
  /** After each write group is written, with where the files are written up to. */
  onProgress?: (cursor: FileCursor) => void;
}

export interface FilesFromResult {
  /** Where the next call starts; `{ file: files.length, record: 0 }` when done. */
  cursor: FileCursor;
  done: boolean;
  /** Records gathered (after the offset). */
  records: number;
  writes: number;
  batchWriteCalls: number;
  retries: number;
  /** The most bytes of records held at once (estimated). */
  peakBufferedBytes: number;
}

/** Records taken from an in-memory file at a time, so a group never grows far past its size. */
const SLICE = 500;

/** Applies `files` of `entry` from `from` until done or `stop`; see the module comment. */
export async function applyFilesFrom(
  entry: ApplyEntry,
  files: readonly DataFileEntry[],
  format: ExportFormatName,
  from: FileCursor,
  options: FilesFromOptions,
): Promise<FilesFromResult> {
  const {
    s3,
    targetTable,
    keyAttributes,
    groupWrites = 2_000,
    memorySizeMb,
    stop,
    onProgress,
    ...writer
  } = options;
  // Memory as the engine bounds it (memoryBudget.ts), with no read-ahead: one file and two groups.
  const buffered = new BufferedBytes();
  const shares = bufferShares(bufferBudgetBytes(memorySizeMb ?? lambdaMemorySizeMb(process.env)), {
    manifestReadAhead: 0,
    dataFileReadAhead: 0,
  });
  const groups = new WriteGroups<undefined>(
    { ...writer, keyAttributes, tableName: targetTable, keep: 'latest-per-key', buffered },
    undefined,
  );
  let cursor: FileCursor = { ...from };
  const reached = (at: FileCursor) =>
    groups.then(() => {
      cursor = at;
      onProgress?.(at);
    });
  let records = 0;
  let stopped = false;

  /** Adds the records of file `f` past the offset; sends a group when full. */
  const gather = async (f: number, batch: ExportRecord[], seenBefore: number, skip: number) => {
    const first = Math.max(0, Math.min(batch.length, skip - seenBefore));
    if (first < batch.length) {
      groups.add(recordsToWrites(first === 0 ? batch : batch.slice(first), keyAttributes));
      records += batch.length - first;
    }
    if (groupIsFull({ writes: groups.size, bytes: groups.bytes }, groupWrites, shares)) {
      reached({ file: f, record: seenBefore + batch.length });
      await groups.flush();
      if (stop?.()) stopped = true;
    }
  };

  try {
    for (let f = from.file; f < files.length && !stopped; f++) {
      const file = files[f];
      const skip = f === from.file ? from.record : 0;
      let seen = 0;
      const read = await namingMissingFiles(entry, () =>
        readCheckedDataFile(s3, entry.bucket, file, format, shares, buffered),
      );
      if ('records' in read) {
        for (let i = 0; i < read.records.length && !stopped; i += SLICE) {
          const slice = read.records.slice(i, i + SLICE);
          await gather(f, slice, seen, skip);
          seen += slice.length;
        }
        buffered.change(-read.bytes); // its records are the groups' now, or skipped
      } else {
        await namingMissingFiles(entry, async () => {
          const stream = streamDataFile(s3, entry.bucket, file, { verifyChecksums: true, format });
          for await (const batch of stream) {
            await gather(f, batch, seen, skip);
            seen += batch.length;
            if (stopped) break;
          }
        });
      }
      if (!stopped) reached({ file: f + 1, record: 0 });
    }
    await groups.drain();
  } catch (err) {
    // Thrown only once the group in flight has settled: no write still runs when the caller sees it.
    await groups.settle();
    throw err;
  }
  return {
    cursor,
    done: !stopped,
    records,
    writes: groups.sent,
    batchWriteCalls: groups.stats.calls,
    retries: groups.stats.retries,
    peakBufferedBytes: buffered.peak,
  };
}
