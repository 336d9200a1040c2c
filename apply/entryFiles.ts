/**
 * An entry's data files: its manifests read and checked, and each data file read and checked
 * completely before any of it is applied (held in memory when small; checked by one streamed read
 * and streamed again while applied when large, so memory stays bounded whatever a file's size).
 */
import {
  ExportFormatError,
  checkDataFile,
  listExportDataFiles,
  readDataFile,
  readExportSummary,
  summaryFormat,
  type DataFileEntry,
  type ExportFormatName,
  type ExportRecord,
  type S3Sender,
} from '../format';
import { EntryFilesMissingError } from './errors';

/** What the engine needs of a chain entry (a subset of the chain manifest's entry). */
export interface ApplyEntry {
  sequence: number;
  exportArn: string;
  bucket: string;
  manifestSummaryKey: string;
}

/** The data files of one entry, in manifest order, and the format they are written in. */
export interface EntryDataFiles {
  files: readonly DataFileEntry[];
  format: ExportFormatName;
}

/**
 * A data file read and checked: its records, or (for a file listing more than the in-memory limit)
 * where to stream it from again, its check already passed.
 */
export type CheckedDataFile =
  { records: ExportRecord[] } | { stream: { bucket: string; file: DataFileEntry; format: ExportFormatName } };

/** Data files listing more records than this are streamed twice rather than held. */
export const DEFAULT_IN_MEMORY_RECORDS = 20_000;

/** Turns a missing export file into the typed error callers halt on; other errors pass through. */
export async function namingMissingFiles<T>(entry: ApplyEntry, work: () => Promise<T>): Promise<T> {
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
export async function readEntryManifests(
  s3: S3Sender,
  entry: ApplyEntry,
): Promise<EntryDataFiles & { manifestFilesKey: string }> {
  const summary = await readExportSummary(s3, entry.bucket, entry.manifestSummaryKey);
  if (summary.exportArn !== entry.exportArn) {
    throw new Error(
      `${entry.manifestSummaryKey}: export ${summary.exportArn} does not match chain entry ${entry.exportArn}`,
    );
  }
  const files = await listExportDataFiles(s3, entry.bucket, summary, { verifyChecksums: true });
  return { files, format: summaryFormat(summary), manifestFilesKey: summary.manifestFilesS3Key };
}

/** `readEntryManifests`, a missing file reported as `EntryFilesMissingError`. */
export async function entryDataFiles(
  s3: S3Sender,
  entry: ApplyEntry,
): Promise<{ files: DataFileEntry[]; format: ExportFormatName; manifestFilesKey: string }> {
  return namingMissingFiles(entry, async () => {
    const read = await readEntryManifests(s3, entry);
    return { ...read, files: [...read.files] };
  });
}

/** Reads and checks one data file completely; see `CheckedDataFile`. */
export async function readCheckedDataFile(
  s3: S3Sender,
  bucket: string,
  file: DataFileEntry,
  format: ExportFormatName,
  maxRecordsInMemory: number,
): Promise<CheckedDataFile> {
  const readOptions = { verifyChecksums: true, format };
  if (file.itemCount <= maxRecordsInMemory) {
    return { records: await readDataFile(s3, bucket, file, readOptions) };
  }
  await checkDataFile(s3, bucket, file, readOptions);
  return { stream: { bucket, file, format } };
}
