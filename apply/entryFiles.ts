/**
 * An entry's data files: its manifests read and checked, and each data file read and checked
 * completely before any of it is applied (held in memory when its records fit the file's share of the
 * memory budget; otherwise checked by that same read and streamed again while applied, so memory stays
 * bounded whatever a file's size or its items' sizes).
 */
import {
  ExportFormatError,
  listExportDataFiles,
  readExportSummary,
  streamDataFile,
  summaryFormat,
  type DataFileEntry,
  type ExportFormatName,
  type ExportRecord,
  type S3Sender,
} from '../format';
import { EntryFilesMissingError } from './errors';
import { holdsFile, type BufferedBytes, type BufferShares } from './memoryBudget';
import { recordBytes } from './recordBytes';

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
 * A data file read and checked: its records and the bytes they take (counted in the engine's
 * `BufferedBytes` until the engine lets go of them), or (for a file whose records take more than the
 * file's share of the budget) where to stream it from again, its check already passed.
 */
export type CheckedDataFile =
  | { records: ExportRecord[]; bytes: number }
  | { stream: { bucket: string; file: DataFileEntry; format: ExportFormatName } };

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

/**
 * Reads and checks one data file completely, in one read: its records are kept while they fit
 * `shares.fileBytes`, and dropped as soon as they do not (the read goes on, to check the rest); see
 * `CheckedDataFile`. The size of a file's records is known only by reading it (a manifest gives a
 * count of records, not their size), hence the decision as the read goes.
 */
export async function readCheckedDataFile(
  s3: S3Sender,
  bucket: string,
  file: DataFileEntry,
  format: ExportFormatName,
  shares: Pick<BufferShares, 'fileBytes'>,
  buffered?: BufferedBytes,
): Promise<CheckedDataFile> {
  let records: ExportRecord[] | undefined = [];
  let bytes = 0;
  try {
    for await (const batch of streamDataFile(s3, bucket, file, { verifyChecksums: true, format })) {
      if (!records) continue;
      const batchBytes = batch.reduce((sum, record) => sum + recordBytes(record), 0);
      if (holdsFile(bytes + batchBytes, shares)) {
        for (const record of batch) records.push(record);
        bytes += batchBytes;
        buffered?.change(batchBytes);
      } else {
        records = undefined;
        buffered?.change(-bytes);
        bytes = 0;
      }
    }
  } catch (err) {
    buffered?.change(-bytes);
    throw err;
  }
  return records ? { records, bytes } : { stream: { bucket, file, format } };
}
