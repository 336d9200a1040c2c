/**
 * "Apply chain entries to a target table": the one implementation behind `dce replay` and the
 * replica's apply Lambda. Reads the entries' data files (read ahead, see readAhead.ts), checks each
 * completely before any of it is written (see entryFiles.ts), and writes them in groups (see
 * writeGroups.ts), entries in chain order and files in manifest order.
 *
 * The callers differ only by explicit options:
 * - `keep`: replay writes every record (`every-write`, its report counts each one); the replica
 *   writes the latest record per key (`latest-per-key`, one write per key however often it changed).
 * - `filesPerGroup` / `endGroupAtEntry`: where a group must end so a step observed after it (replay's
 *   checkpoint after every data file, the replica's `onEntryApplied`) is true; otherwise consecutive
 *   small files and entries are grouped up to `groupWrites` writes.
 * - `onReadFailure`: replay writes what was read before a failed read (its checkpoint then stands
 *   just before the bad file); the replica drops it (it applies the entry again from its last saved
 *   position).
 * - read-ahead depths and `typedMissingFiles` (a missing file as `EntryFilesMissingError`).
 */
import { streamDataFile, type ExportRecord, type S3Sender } from '../format';
import type { BatchWriterOptions } from './batchWriter';
import { DEFAULT_IN_MEMORY_RECORDS, namingMissingFiles, type ApplyEntry } from './entryFiles';
import { DataFileReadAhead, type EntryToApply } from './readAhead';
import { WriteGroups, type GroupWrites } from './writeGroups';
import { recordsToWrites } from './writes';

/** Where a group of writes was gathered: for progress while it is written. */
export interface GroupLabel {
  sequence: number;
  /** The data file last gathered; absent before the first. */
  file?: string;
}

export interface ApplyEngineOptions<E extends ApplyEntry> extends Omit<
  BatchWriterOptions,
  'tableName' | 'onWritten'
> {
  s3: S3Sender;
  targetTable: string;
  /** The target's key attributes, partition key first (see `targetKeyAttributes`). */
  keyAttributes: readonly string[];
  keep: GroupWrites;
  /** Writes gathered (distinct keys under `latest-per-key`) before a group is written. */
  groupWrites: number;
  /** Data files per group at most. @default Infinity */
  filesPerGroup?: number;
  /** End a group at the end of every entry. @default false */
  endGroupAtEntry?: boolean;
  /** What a failed read does to the writes gathered before it. */
  onReadFailure: 'write-gathered' | 'drop-gathered';
  /** Data files listing more records are checked by one streamed read and applied during a second. @default 20000 */
  maxRecordsInMemory?: number;
  /** @default 0 */
  manifestReadAhead?: number;
  /** @default 0 */
  dataFileReadAhead?: number;
  /** @default false */
  typedMissingFiles?: boolean;
  /** After each batch, with the writes it completed and the group being written. */
  onWritten?: (count: number, group: GroupLabel) => void;
  /** Once a data file is completely written: `filesApplied` of the entry, in manifest order. */
  onFileApplied?: (entry: E, filesApplied: number) => void | Promise<void>;
  /** Once an entry is completely written, in chain order. */
  onEntryApplied?: (entry: E) => void | Promise<void>;
}

/** Counters of one run of the engine. */
export interface ApplyEngineResult {
  /** Records read (puts + deletes before latest-per-key). */
  records: number;
  puts: number;
  deletes: number;
  /** Writes sent (after latest-per-key, when kept). */
  writes: number;
  /** Data files read and gathered. */
  filesApplied: number;
  batchWriteCalls: number;
  retries: number;
}

/** Applies `entries` in chain order; see the module comment. */
export async function applyChainEntries<E extends ApplyEntry>(
  entries: readonly EntryToApply<E>[],
  options: ApplyEngineOptions<E>,
): Promise<ApplyEngineResult> {
  const result: ApplyEngineResult = {
    records: 0,
    puts: 0,
    deletes: 0,
    writes: 0,
    filesApplied: 0,
    batchWriteCalls: 0,
    retries: 0,
  };
  const groups: WriteGroups<GroupLabel> = new WriteGroups<GroupLabel>(
    {
      ...options,
      tableName: options.targetTable,
      onWritten: (count) => options.onWritten?.(count, groups.writingLabel),
    },
    { sequence: entries[0]?.entry.sequence ?? -1 },
  );
  const reads = new DataFileReadAhead(entries, {
    s3: options.s3,
    maxRecordsInMemory: options.maxRecordsInMemory ?? DEFAULT_IN_MEMORY_RECORDS,
    manifestReadAhead: options.manifestReadAhead ?? 0,
    dataFileReadAhead: options.dataFileReadAhead ?? 0,
    typedMissingFiles: options.typedMissingFiles ?? false,
  });
  const add = (records: ExportRecord[]) => {
    const ops = recordsToWrites(records, options.keyAttributes);
    for (const op of ops) {
      if (op.request.PutRequest) result.puts++;
      else result.deletes++;
    }
    result.records += ops.length;
    groups.add(ops);
  };
  /** A read failure stops the run, after the group in flight (and per option, what was gathered). */
  const orStop = async <T>(read: () => Promise<T>): Promise<T> => {
    try {
      return await read();
    } catch (err) {
      if (options.onReadFailure === 'write-gathered') await groups.drain();
      else await groups.settle();
      throw err;
    }
  };

  try {
    await applyInOrder();
  } catch (err) {
    // Thrown only once the group in flight has settled: no write still runs when the caller sees it.
    await groups.settle();
    throw err;
  }
  result.writes = groups.sent;
  result.batchWriteCalls = groups.stats.calls;
  result.retries = groups.stats.retries;
  return result;

  async function applyInOrder(): Promise<void> {
    for (let index = 0; index < entries.length; index++) {
      const { entry, skipFiles = 0 } = entries[index];
      const { files } = await orStop(() => reads.manifest(index));
      let filesInGroup = 0;
      for (let i = skipFiles; i < files.length; i++) {
        const read = await orStop(() => reads.nextDataFile());
        groups.label = { sequence: entry.sequence, file: files[i].dataFileS3Key };
        if ('records' in read) {
          add(read.records);
        } else {
          // Checked already by a streamed read; applied while streamed again, in bounded groups. A
          // step after the file runs only once all of it is written. Should the second read fail (the
          // object changed, the connection broke), what was written is a prefix of the file in order,
          // and applying the whole file again leaves each key at the file's last write for it.
          const { bucket, file, format } = read.stream;
          await orStop(() =>
            maybeNamed(options.typedMissingFiles, entry, async () => {
              for await (const batch of streamDataFile(options.s3, bucket, file, {
                verifyChecksums: true,
                format,
              })) {
                add(batch);
                if (groups.size >= options.groupWrites) await groups.flush();
              }
            }),
          );
        }
        result.filesApplied += 1;
        const { onFileApplied } = options;
        if (onFileApplied) groups.then(() => onFileApplied(entry, i + 1));
        filesInGroup += 1;
        if (filesInGroup >= (options.filesPerGroup ?? Infinity) || groups.size >= options.groupWrites) {
          filesInGroup = 0;
          await groups.flush();
        }
      }
      const { onEntryApplied } = options;
      if (onEntryApplied) groups.then(() => onEntryApplied(entry));
      // An entry with nothing gathered completes at once (its steps need no writes to wait for).
      if (options.endGroupAtEntry || groups.size === 0) await groups.flush();
    }
    await groups.drain();
  }
}

function maybeNamed<T>(typed: boolean | undefined, entry: ApplyEntry, work: () => Promise<T>): Promise<T> {
  return typed ? namingMissingFiles(entry, work) : work();
}
