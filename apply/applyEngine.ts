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
import {
  streamDataFile,
  type DataFileEntry,
  type ExportFormatName,
  type ExportRecord,
  type S3Sender,
} from '../format';
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
  return new EngineRun(entries, options).run();
}

/** One run of the engine: its reads, its write groups and its counters, one method per step. */
class EngineRun<E extends ApplyEntry> {
  private readonly result: ApplyEngineResult = {
    records: 0,
    puts: 0,
    deletes: 0,
    writes: 0,
    filesApplied: 0,
    batchWriteCalls: 0,
    retries: 0,
  };
  private readonly groups: WriteGroups<GroupLabel>;
  private readonly reads: DataFileReadAhead<E>;
  /** Data files gathered into the group being gathered. */
  private filesInGroup = 0;

  constructor(
    private readonly entries: readonly EntryToApply<E>[],
    private readonly options: ApplyEngineOptions<E>,
  ) {
    this.groups = new WriteGroups<GroupLabel>(
      {
        ...options,
        tableName: options.targetTable,
        onWritten: (count) => options.onWritten?.(count, this.groups.writingLabel),
      },
      { sequence: entries[0]?.entry.sequence ?? -1 },
    );
    this.reads = new DataFileReadAhead(entries, {
      s3: options.s3,
      maxRecordsInMemory: options.maxRecordsInMemory ?? DEFAULT_IN_MEMORY_RECORDS,
      manifestReadAhead: options.manifestReadAhead ?? 0,
      dataFileReadAhead: options.dataFileReadAhead ?? 0,
      typedMissingFiles: options.typedMissingFiles ?? false,
    });
  }

  async run(): Promise<ApplyEngineResult> {
    try {
      for (let index = 0; index < this.entries.length; index++) await this.applyEntry(index);
      await this.groups.drain();
    } catch (err) {
      // Thrown only once the group in flight has settled: no write still runs when the caller sees it.
      await this.groups.settle();
      throw err;
    }
    this.result.writes = this.groups.sent;
    this.result.batchWriteCalls = this.groups.stats.calls;
    this.result.retries = this.groups.stats.retries;
    return this.result;
  }

  private async applyEntry(index: number): Promise<void> {
    const { entry, skipFiles = 0 } = this.entries[index];
    const { files } = await this.orStop(() => this.reads.manifest(index));
    for (let i = skipFiles; i < files.length; i++) {
      const read = await this.orStop(() => this.reads.nextDataFile());
      this.groups.label = { sequence: entry.sequence, file: files[i].dataFileS3Key };
      if ('records' in read) this.add(read.records);
      else await this.orStop(() => this.streamAgain(entry, read.stream));
      this.result.filesApplied += 1;
      const { onFileApplied } = this.options;
      if (onFileApplied) this.groups.then(() => onFileApplied(entry, i + 1));
      this.filesInGroup += 1;
      if (this.filesInGroup >= (this.options.filesPerGroup ?? Infinity)) await this.flush();
      else if (this.groups.size >= this.options.groupWrites) await this.flush();
    }
    const { onEntryApplied } = this.options;
    if (onEntryApplied) this.groups.then(() => onEntryApplied(entry));
    // An entry with nothing gathered completes at once (its steps need no writes to wait for).
    if (this.options.endGroupAtEntry || this.groups.size === 0) await this.flush();
  }

  /**
   * A large file, checked already by a streamed read, applied while streamed again in bounded
   * groups; the step after the file runs only once all of it is written. Should the second read fail
   * (the object changed, the connection broke), what was written is a prefix of the file in order,
   * and applying the whole file again leaves each key at the file's last write for it.
   */
  private async streamAgain(entry: E, at: { bucket: string; file: DataFileEntry; format: ExportFormatName }) {
    const stream = () =>
      streamDataFile(this.options.s3, at.bucket, at.file, { verifyChecksums: true, format: at.format });
    const work = async () => {
      for await (const batch of stream()) {
        this.add(batch);
        if (this.groups.size >= this.options.groupWrites) await this.flush();
      }
    };
    await (this.options.typedMissingFiles ? namingMissingFiles(entry, work) : work());
  }

  private add(records: ExportRecord[]): void {
    const ops = recordsToWrites(records, this.options.keyAttributes);
    for (const op of ops) {
      if (op.request.PutRequest) this.result.puts++;
      else this.result.deletes++;
    }
    this.result.records += ops.length;
    this.groups.add(ops);
  }

  private async flush(): Promise<void> {
    this.filesInGroup = 0;
    await this.groups.flush();
  }

  /** A read failure stops the run, after the group in flight (and, per option, what was gathered). */
  private async orStop<T>(read: () => Promise<T>): Promise<T> {
    try {
      return await read();
    } catch (err) {
      if (this.options.onReadFailure === 'write-gathered') await this.groups.drain();
      else await this.groups.settle();
      throw err;
    }
  }
}
