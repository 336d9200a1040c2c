/**
 * "Apply committed chain entries to a target table": the one implementation behind `dce replay` and
 * the replica's apply Lambda (its Distributed Map workers call `applyDataFiles` for a slice of one
 * export's data files; its small-entry step calls `applyEntries` for several entries at once).
 *
 * Every data file is checked completely (MD5, record count, every line) before any of it is written,
 * so a corrupt file is never half-applied. Writes are gathered latest-per-key in chain order, so a
 * group of entries costs one write per key however often the key changed, and the table ends as if
 * every record had been applied one by one. Re-applying an entry, or any suffix of the entries, gives
 * the same table: puts write whole images and deletes of absent items are no-ops, so a crash
 * anywhere is repaired by applying again from the last saved position.
 */
import {
  ExportFormatError,
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
import { BatchWriter, type BatchWriterOptions } from './batchWriter';
import { EntryFilesMissingError } from './errors';
import { LatestWritePerKey, recordsToWrites } from './writes';

/** What the engine needs of a chain entry (a subset of the chain manifest's entry). */
export interface ApplyEntry {
  sequence: number;
  exportArn: string;
  bucket: string;
  manifestSummaryKey: string;
}

export interface ApplyOptions extends Omit<BatchWriterOptions, 'tableName'> {
  s3: S3Sender;
  targetTable: string;
  /** The target's key attributes, partition key first (see `targetKeyAttributes`). */
  keyAttributes: readonly string[];
  /** Distinct keys gathered before they are written. @default 2000 */
  groupWrites?: number;
  /** Data files listing more records are checked by one streamed read and applied during a second. @default 20000 */
  maxRecordsInMemory?: number;
  /** Called after each entry is completely written, in chain order. */
  onEntryApplied?: (entry: ApplyEntry) => void | Promise<void>;
}

export interface ApplyResult {
  /** Records read (puts + deletes before latest-per-key). */
  records: number;
  puts: number;
  deletes: number;
  /** Writes sent after keeping the latest per key. */
  writes: number;
  filesApplied: number;
  entriesApplied: number;
  /** Sequence of the last entry applied completely; undefined when none. */
  lastSequence?: number;
  batchWriteCalls: number;
  retries: number;
}

const DEFAULT_GROUP_WRITES = 2000;
const DEFAULT_IN_MEMORY_RECORDS = 20_000;

/** Applies records to the target through one writer, latest write per key first gathered. */
class Applier {
  readonly result: ApplyResult = {
    records: 0,
    puts: 0,
    deletes: 0,
    writes: 0,
    filesApplied: 0,
    entriesApplied: 0,
    batchWriteCalls: 0,
    retries: 0,
  };
  private readonly pending = new LatestWritePerKey();
  private readonly writer: BatchWriter;
  /** The group being written, if any. */
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly options: ApplyOptions) {
    this.writer = new BatchWriter({ ...options, tableName: options.targetTable });
  }

  async add(records: ExportRecord[]): Promise<void> {
    const ops = recordsToWrites(records, this.options.keyAttributes);
    for (const op of ops) {
      if (op.request.PutRequest) this.result.puts++;
      else this.result.deletes++;
    }
    this.result.records += ops.length;
    this.pending.add(ops);
    if (this.pending.size >= (this.options.groupWrites ?? DEFAULT_GROUP_WRITES)) await this.flush();
  }

  /**
   * Starts writing what is gathered, once the group before it is written (groups reach the table
   * one after another, so a key's later write is never overtaken by an earlier one), and returns
   * without waiting: the next data file is read while this group is written. A write failure is
   * thrown by the next `flush` or `drain`.
   */
  async flush(): Promise<void> {
    const writes = this.pending.take();
    await this.writing;
    if (writes.length === 0) return;
    this.result.writes += writes.length;
    this.writing = this.writer.writeRound(writes).then(() => {
      this.result.batchWriteCalls = this.writer.stats.calls;
      this.result.retries = this.writer.stats.retries;
    });
    this.writing.catch(() => undefined); // thrown by the next flush or drain
  }

  /**
   * Runs `work`, then writes what it gathered. Whatever `work` throws is thrown only once the group
   * in flight has settled, so no write is still running when the caller sees the error.
   */
  async run(work: () => Promise<void>): Promise<ApplyResult> {
    try {
      await work();
    } catch (err) {
      await this.writing.catch(() => undefined);
      throw err;
    }
    await this.drain();
    return this.result;
  }

  /** Writes everything gathered and waits until it is written. */
  async drain(): Promise<void> {
    await this.flush();
    await this.writing;
  }

  /** Checks a data file, then adds its records (held in memory when small, else streamed again). */
  async addFile(bucket: string, file: DataFileEntry, format: ExportFormatName): Promise<void> {
    const readOptions = { verifyChecksums: true, format };
    if (file.itemCount <= (this.options.maxRecordsInMemory ?? DEFAULT_IN_MEMORY_RECORDS)) {
      await this.add(await readDataFile(this.options.s3, bucket, file, readOptions));
    } else {
      await checkDataFile(this.options.s3, bucket, file, readOptions);
      for await (const batch of streamDataFile(this.options.s3, bucket, file, readOptions))
        await this.add(batch);
    }
    this.result.filesApplied += 1;
  }
}

/** Turns a missing export file into the typed error callers halt on; other errors pass through. */
async function naming<T>(entry: ApplyEntry, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof ExportFormatError && err.missing) {
      throw new EntryFilesMissingError(entry.sequence, entry.exportArn, err.key);
    }
    throw err;
  }
}

/** The data files of an entry, from its manifests (checked against their checksums). */
export async function entryDataFiles(
  s3: S3Sender,
  entry: ApplyEntry,
): Promise<{ files: DataFileEntry[]; format: ExportFormatName; manifestFilesKey: string }> {
  return naming(entry, async () => {
    const summary = await readExportSummary(s3, entry.bucket, entry.manifestSummaryKey);
    if (summary.exportArn !== entry.exportArn) {
      throw new Error(
        `${entry.manifestSummaryKey}: export ${summary.exportArn} does not match chain entry ${entry.exportArn}`,
      );
    }
    const files = await listExportDataFiles(s3, entry.bucket, summary, { verifyChecksums: true });
    return { files, format: summaryFormat(summary), manifestFilesKey: summary.manifestFilesS3Key };
  });
}

/**
 * Applies consecutive entries in chain order. Writes are gathered across entries (latest per key
 * wins), so an entry counts as applied (`onEntryApplied`) only once everything gathered up to its end
 * is written.
 */
export async function applyEntries(
  entries: readonly ApplyEntry[],
  options: ApplyOptions,
): Promise<ApplyResult> {
  const applier = new Applier(options);
  return applier.run(async () => {
    for (const entry of entries) {
      const { files, format } = await entryDataFiles(options.s3, entry);
      for (const file of files) await naming(entry, () => applier.addFile(entry.bucket, file, format));
      if (options.onEntryApplied) {
        await applier.drain();
        await options.onEntryApplied(entry);
      }
      applier.result.entriesApplied += 1;
      applier.result.lastSequence = entry.sequence;
    }
  });
}

/**
 * Applies some data files of one entry (a Distributed Map worker's share). Within one export each
 * key appears at most once, so the files of an entry may be applied in any order and in parallel.
 */
export async function applyDataFiles(
  entry: ApplyEntry,
  files: readonly DataFileEntry[],
  format: ExportFormatName,
  options: ApplyOptions,
): Promise<ApplyResult> {
  const applier = new Applier(options);
  return applier.run(async () => {
    for (const file of files) await naming(entry, () => applier.addFile(entry.bucket, file, format));
  });
}
