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
 * - `memorySizeMb`: the memory of the process it runs in; what the engine holds of files, groups and
 *   read-ahead is bounded by a share of it, in bytes (memoryBudget.ts).
 */
import {
  streamDataFile,
  type DataFileEntry,
  type ExportFormatName,
  type ExportRecord,
  type S3Sender,
} from '../format';
import type { BatchWriterOptions } from './batchWriter';
import { namingMissingFiles, type ApplyEntry } from './entryFiles';
import {
  BufferedBytes,
  bufferBudgetBytes,
  bufferShares,
  flushBeforeAdding,
  groupIsFull,
  heapLimitMb,
  type BufferShares,
} from './memoryBudget';
import { DataFileReadAhead, type EntryToApply } from './readAhead';
import { writeBytes } from './recordBytes';
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
  /**
   * Writes gathered (distinct keys under `latest-per-key`) before a group is written; a group is
   * written sooner when its bytes reach its share of the memory budget.
   */
  groupWrites: number;
  /** Data files per group at most. @default Infinity */
  filesPerGroup?: number;
  /** End a group at the end of every entry. @default false */
  endGroupAtEntry?: boolean;
  /** What a failed read does to the writes gathered before it. */
  onReadFailure: 'write-gathered' | 'drop-gathered';
  /**
   * The memory size of the process, in MB: files, groups and read-ahead together hold at most a
   * quarter of it in records (memoryBudget.ts). A data file whose records do not fit its share is
   * checked by one streamed read and applied during a second. @default the V8 heap limit
   */
  memorySizeMb?: number;
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
  /**
   * The most bytes of records held at once (estimated): within the budget, unless one streamed batch
   * of records alone is larger than a group's share.
   */
  peakBufferedBytes: number;
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
    peakBufferedBytes: 0,
  };
  private readonly buffered = new BufferedBytes();
  private readonly shares: BufferShares;
  private readonly groups: WriteGroups<GroupLabel>;
  private readonly reads: DataFileReadAhead<E>;
  /** Data files gathered into the group being gathered. */
  private filesInGroup = 0;

  constructor(
    private readonly entries: readonly EntryToApply<E>[],
    private readonly options: ApplyEngineOptions<E>,
  ) {
    const manifestReadAhead = options.manifestReadAhead ?? 0;
    const dataFileReadAhead = options.dataFileReadAhead ?? 0;
    this.shares = bufferShares(bufferBudgetBytes(options.memorySizeMb ?? heapLimitMb()), {
      manifestReadAhead,
      dataFileReadAhead,
    });
    this.groups = new WriteGroups<GroupLabel>(
      {
        ...options,
        tableName: options.targetTable,
        buffered: this.buffered,
        onWritten: (count) => options.onWritten?.(count, this.groups.writingLabel),
      },
      { sequence: entries[0]?.entry.sequence ?? -1 },
    );
    this.reads = new DataFileReadAhead(entries, {
      s3: options.s3,
      shares: this.shares,
      buffered: this.buffered,
      manifestReadAhead,
      dataFileReadAhead,
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
    this.result.peakBufferedBytes = this.buffered.peak;
    return this.result;
  }

  private async applyEntry(index: number): Promise<void> {
    const { entry, skipFiles = 0 } = this.entries[index];
    const { files } = await this.orStop(() => this.reads.manifest(index));
    for (let i = skipFiles; i < files.length; i++) {
      const read = await this.orStop(() => this.reads.nextDataFile());
      const label = { sequence: entry.sequence, file: files[i].dataFileS3Key };
      if ('records' in read) {
        await this.gather(read.records, label);
        this.buffered.change(-read.bytes); // its records are the group's now
      } else {
        await this.orStop(() => this.streamAgain(entry, read.stream, label));
      }
      this.result.filesApplied += 1;
      const { onFileApplied } = this.options;
      if (onFileApplied) this.groups.then(() => onFileApplied(entry, i + 1));
      this.filesInGroup += 1;
      if (this.filesInGroup >= (this.options.filesPerGroup ?? Infinity)) await this.flush();
      else if (this.groupIsFull()) await this.flush();
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
  private async streamAgain(
    entry: E,
    at: { bucket: string; file: DataFileEntry; format: ExportFormatName },
    label: GroupLabel,
  ) {
    const stream = () =>
      streamDataFile(this.options.s3, at.bucket, at.file, { verifyChecksums: true, format: at.format });
    const work = async () => {
      for await (const batch of stream()) {
        await this.gather(batch, label);
        if (this.groupIsFull()) await this.flush();
      }
    };
    await (this.options.typedMissingFiles ? namingMissingFiles(entry, work) : work());
  }

  /**
   * Adds records (a held file, or a streamed batch) to the group gathered, written first when they
   * would take it past its share: so neither the group gathered nor the one written ever holds more
   * than its share, unless one batch alone does.
   */
  private async gather(records: ExportRecord[], label: GroupLabel): Promise<void> {
    const ops = recordsToWrites(records, this.options.keyAttributes);
    const bytes = ops.reduce((sum, op) => sum + writeBytes(op), 0);
    if (flushBeforeAdding(this.groups.bytes, bytes, this.shares)) await this.flush();
    this.groups.label = label;
    for (const op of ops) {
      if (op.request.PutRequest) this.result.puts++;
      else this.result.deletes++;
    }
    this.result.records += ops.length;
    this.groups.add(ops);
  }

  private groupIsFull(): boolean {
    const gathered = { writes: this.groups.size, bytes: this.groups.bytes };
    return groupIsFull(gathered, this.options.groupWrites, this.shares);
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
