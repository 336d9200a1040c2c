/**
 * Reads of manifests and data files run ahead of the writes: the manifests of the next entries and
 * the next data files are fetched and checked while the current file is written. Results are taken
 * strictly in chain and manifest order, so a bad entry or file still stops an apply exactly where a
 * sequential read would (everything before it applied, nothing of it written). With both read-aheads
 * at 0 nothing is read before it is asked for.
 *
 * Read-ahead is bounded by bytes as well as by depth (memoryBudget.ts): each data file read ahead
 * holds at most the file share of the budget (a larger one is only checked, and streamed again when
 * its turn comes), and entries' manifests are read ahead only while the lists of data files read
 * ahead fit their share. A list's size is known only once it is read: a read under way counts as
 * large as the largest list read so far, and before any is read only one is read ahead.
 */
import type { DataFileEntry, ExportFormatName, S3Sender } from '../format';
import {
  namingMissingFiles,
  readCheckedDataFile,
  readEntryManifests,
  type ApplyEntry,
  type CheckedDataFile,
  type EntryDataFiles,
} from './entryFiles';
import { readsManifestAhead, type BufferedBytes, type BufferShares } from './memoryBudget';
import { dataFileListBytes } from './recordBytes';

/** One entry to apply: its data files from `dataFiles` when given (else from its manifests), from `skipFiles` on. */
export interface EntryToApply<E extends ApplyEntry = ApplyEntry> {
  entry: E;
  /** Data files (in manifest order) already applied by an earlier run. @default 0 */
  skipFiles?: number;
  /** The entry's data files, when the caller has them already (a Distributed Map worker's share). */
  dataFiles?: EntryDataFiles;
}

export interface ReadAheadOptions {
  s3: S3Sender;
  /** The engine's budget split (file and manifest shares are used here). */
  shares: BufferShares;
  /** Counts the bytes of the data files held. */
  buffered?: BufferedBytes;
  /** Entries whose manifests are read ahead of the one being applied. */
  manifestReadAhead: number;
  /** Data files read (and checked) ahead of the one being applied. */
  dataFileReadAhead: number;
  /** Report a missing export file as `EntryFilesMissingError` (naming the entry). */
  typedMissingFiles: boolean;
}

/** The data files of `entries` in apply order, read ahead; see the module comment. */
export class DataFileReadAhead<E extends ApplyEntry> {
  /** Manifest reads by entry; let go of once both the apply and the data-file cursor are past the entry. */
  private readonly manifestReads: (Promise<EntryDataFiles> | undefined)[] = [];
  /** The size of each entry's list of data files, once read. */
  private readonly listBytes: (number | undefined)[] = [];
  private largestList = 0;
  /** The furthest entry whose data files were asked for, by the apply or by the data-file cursor. */
  private furthest = -1;
  private released = 0;
  private readonly dataReads: Promise<CheckedDataFile>[] = [];
  /** The next data file to start reading: a cursor over (entry, file) moved one step at a time. */
  private readonly cursor: { entry: number; file: number | undefined } = { entry: 0, file: undefined };
  private cursorTail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly entries: readonly EntryToApply<E>[],
    private readonly options: ReadAheadOptions,
  ) {}

  /**
   * The data files of entry `index`, the one being applied; starts reading the manifests of the
   * entries after it.
   */
  manifest(index: number): Promise<EntryDataFiles> {
    // The apply takes entries in order: those before `index` are done, once the cursor is past them too.
    for (; this.released < Math.min(index, this.cursor.entry); this.released++) {
      this.manifestReads[this.released] = undefined;
    }
    return this.entryFiles(index);
  }

  private entryFiles(index: number): Promise<EntryDataFiles> {
    this.furthest = Math.max(this.furthest, index);
    // Needed now, whatever their size.
    while (this.manifestReads.length <= index) this.startManifestRead();
    this.readManifestsAhead();
    return this.manifestReads[index]!;
  }

  private startManifestRead(): void {
    const j = this.manifestReads.length;
    const read = this.readManifest(this.entries[j]);
    this.manifestReads.push(read);
    read.then(
      ({ files }) => {
        const bytes = dataFileListBytes(files);
        this.listBytes[j] = bytes;
        this.largestList = Math.max(this.largestList, bytes);
        this.readManifestsAhead();
      },
      () => undefined, // surfaced in order, when the apply reaches entry j
    );
  }

  private readManifestsAhead(): void {
    const last = Math.min(this.furthest + this.options.manifestReadAhead, this.entries.length - 1);
    while (this.manifestReads.length <= last && readsManifestAhead(this.bytesAhead(), this.options.shares)) {
      this.startManifestRead();
    }
  }

  /** Lists read (or being read) beyond the furthest entry asked for. */
  private bytesAhead(): number {
    let bytes = 0;
    for (let j = this.furthest + 1; j < this.manifestReads.length; j++) {
      bytes += this.listBytes[j] ?? (this.largestList > 0 ? this.largestList : Infinity);
    }
    return bytes;
  }

  /** The next data file in apply order, read and checked. */
  async nextDataFile(): Promise<CheckedDataFile> {
    this.fill(this.options.dataFileReadAhead);
    if (this.dataReads.length === 0) this.fill(1);
    const read = this.dataReads.shift()!;
    try {
      return await read;
    } finally {
      this.fill(this.options.dataFileReadAhead);
    }
  }

  private async readManifest(at: EntryToApply<E>): Promise<EntryDataFiles> {
    if (at.dataFiles) return at.dataFiles;
    return this.named(at.entry, () => readEntryManifests(this.options.s3, at.entry));
  }

  private named<T>(entry: ApplyEntry, work: () => Promise<T>): Promise<T> {
    return this.options.typedMissingFiles ? namingMissingFiles(entry, work) : work();
  }

  /** Starts reads until `depth` are pending, each step not waiting for earlier reads to finish. */
  private fill(depth: number): void {
    while (this.dataReads.length < depth) {
      const step = this.cursorTail.then(() => this.advance());
      this.cursorTail = step.catch(() => undefined);
      const read = step.then(async (at): Promise<CheckedDataFile> => {
        if (!at) return { records: [], bytes: 0 }; // past the last file: never taken
        const { s3, shares, buffered } = this.options;
        return this.named(at.entry, () =>
          readCheckedDataFile(s3, at.entry.bucket, at.file, at.format, shares, buffered),
        );
      });
      read.catch(() => undefined); // surfaced in order, when the apply reaches that file
      this.dataReads.push(read);
    }
  }

  private async advance(): Promise<{ entry: E; file: DataFileEntry; format: ExportFormatName } | undefined> {
    const { cursor } = this;
    while (cursor.entry < this.entries.length) {
      const { files, format } = await this.entryFiles(cursor.entry);
      const at = this.entries[cursor.entry];
      const f = cursor.file ?? at.skipFiles ?? 0;
      if (f < files.length) {
        cursor.file = f + 1;
        return { entry: at.entry, file: files[f], format };
      }
      cursor.entry += 1;
      cursor.file = undefined;
    }
    return undefined;
  }
}
