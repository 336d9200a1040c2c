/**
 * Reads of manifests and data files run ahead of the writes: the manifests of the next entries and
 * the next data files are fetched and checked while the current file is written. Results are taken
 * strictly in chain and manifest order, so a bad entry or file still stops an apply exactly where a
 * sequential read would (everything before it applied, nothing of it written). With both read-aheads
 * at 0 nothing is read before it is asked for.
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
  maxRecordsInMemory: number;
  /** Entries whose manifests are read ahead of the one being applied. */
  manifestReadAhead: number;
  /** Data files read (and checked) ahead of the one being applied. */
  dataFileReadAhead: number;
  /** Report a missing export file as `EntryFilesMissingError` (naming the entry). */
  typedMissingFiles: boolean;
}

/** The data files of `entries` in apply order, read ahead; see the module comment. */
export class DataFileReadAhead<E extends ApplyEntry> {
  private readonly manifestReads: Promise<EntryDataFiles>[] = [];
  private readonly dataReads: Promise<CheckedDataFile>[] = [];
  /** The next data file to start reading: a cursor over (entry, file) moved one step at a time. */
  private readonly cursor: { entry: number; file: number | undefined } = { entry: 0, file: undefined };
  private cursorTail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly entries: readonly EntryToApply<E>[],
    private readonly options: ReadAheadOptions,
  ) {}

  /** The data files of entry `index`; starts reading the manifests of the entries after it. */
  manifest(index: number): Promise<EntryDataFiles> {
    const last = Math.min(index + this.options.manifestReadAhead, this.entries.length - 1);
    for (let j = this.manifestReads.length; j <= last; j++) {
      const read = this.readManifest(this.entries[j]);
      read.catch(() => undefined); // surfaced in order, when the apply reaches entry j
      this.manifestReads.push(read);
    }
    return this.manifestReads[index];
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
        if (!at) return { records: [] }; // past the last file: never taken
        const { s3, maxRecordsInMemory } = this.options;
        return this.named(at.entry, () =>
          readCheckedDataFile(s3, at.entry.bucket, at.file, at.format, maxRecordsInMemory),
        );
      });
      read.catch(() => undefined); // surfaced in order, when the apply reaches that file
      this.dataReads.push(read);
    }
  }

  private async advance(): Promise<{ entry: E; file: DataFileEntry; format: ExportFormatName } | undefined> {
    const { cursor } = this;
    while (cursor.entry < this.entries.length) {
      const { files, format } = await this.manifest(cursor.entry);
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
