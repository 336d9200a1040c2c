/**
 * Reads exports as DynamoDB writes them, in either output format: the summary, the list of data
 * files (data file keys come only from manifest-files.json, never from a folder listing) and the
 * records of each data file, streamed with bounded memory. Every failure is an `ExportFormatError`
 * naming the object key and, for data, the line.
 */
import { parseJsonLine } from './dynamodbJson';
import { ExportFormatError } from './errors';
import { parseIonLine } from './ion';
import { gzipLineBatches, type StreamedFileStats } from './lineReader';
import {
  md5Base64,
  parseExportSummary,
  parseManifestFiles,
  readManifestChecksum,
  summaryFormat,
  type DataFileEntry,
  type ExportSummary,
} from './manifests';
import { S3ObjectMissingError, getBytes, getStream, type S3Sender } from './s3io';
import type { ExportFormatName, ExportRecord } from './types';

/** Options of the data readers. */
export interface ReadOptions {
  /** Check manifest and data file MD5s and per-file item counts. */
  verifyChecksums?: boolean;
  /** Output format of the data files; by default taken from the file name (`.ion.gz` is ION). */
  format?: ExportFormatName;
}

async function readRequired(s3: S3Sender, bucket: string, key: string, what: string): Promise<Uint8Array> {
  try {
    return await getBytes(s3, bucket, key);
  } catch (err) {
    if (err instanceof S3ObjectMissingError)
      throw new ExportFormatError(key, undefined, `missing ${what}`, true);
    throw err;
  }
}

/** Reads and checks `manifest-summary.json`. */
export async function readExportSummary(
  s3: S3Sender,
  bucket: string,
  summaryKey: string,
): Promise<ExportSummary> {
  const bytes = await readRequired(s3, bucket, summaryKey, 'manifest summary');
  return parseExportSummary(Buffer.from(bytes).toString('utf8'), summaryKey);
}

/** Reads `manifest-files.json` of the export whose summary is given (by key or parsed). */
export async function listExportDataFiles(
  s3: S3Sender,
  bucket: string,
  summary: ExportSummary | string,
  options: ReadOptions = {},
): Promise<DataFileEntry[]> {
  const parsed = typeof summary === 'string' ? await readExportSummary(s3, bucket, summary) : summary;
  const key = parsed.manifestFilesS3Key;
  const bytes = await readRequired(s3, bucket, key, 'manifest files list');
  if (options.verifyChecksums) {
    const checksum = await readManifestChecksum(s3, bucket, key);
    if (!checksum) throw new ExportFormatError(key, undefined, 'no .md5 or .checksum file next to it');
    if (checksum.value !== md5Base64(bytes)) {
      throw new ExportFormatError(key, undefined, `checksum mismatch with ${checksum.key}`);
    }
  }
  return parseManifestFiles(Buffer.from(bytes).toString('utf8'), key);
}

/** The line parser of a data file. */
function lineParser(key: string, format: ExportFormatName | undefined) {
  return (format ?? (key.endsWith('.ion.gz') ? 'ION' : 'DYNAMODB_JSON')) === 'ION'
    ? parseIonLine
    : parseJsonLine;
}

/**
 * The records of one data file in batches, streamed. With `verifyChecksums`, the file's MD5 and
 * record count are checked when its end is reached: the error comes after the file's records, so
 * a consumer that must not act on part of a bad file checks it first (`checkDataFile`) or reads it
 * whole (`readDataFile`). `stats` is filled in at the end.
 */
export async function* streamDataFile(
  s3: S3Sender,
  bucket: string,
  entry: DataFileEntry,
  options: ReadOptions = {},
  stats: Partial<StreamedFileStats> = {},
): AsyncGenerator<ExportRecord[]> {
  const key = entry.dataFileS3Key;
  let body: AsyncIterable<Uint8Array>;
  try {
    body = await getStream(s3, bucket, key);
  } catch (err) {
    if (err instanceof S3ObjectMissingError)
      throw new ExportFormatError(key, undefined, 'missing data file', true);
    throw err;
  }
  const parse = lineParser(key, options.format);
  for await (const batch of gzipLineBatches(body, key, stats)) {
    yield batch.map((l) => parse(l.text, key, l.line));
  }
  if (options.verifyChecksums) {
    if (stats.md5Base64 !== entry.md5Checksum) {
      throw new ExportFormatError(key, undefined, 'MD5 checksum does not match manifest-files.json');
    }
    if (stats.lines !== entry.itemCount) {
      throw new ExportFormatError(
        key,
        undefined,
        `holds ${stats.lines} records, manifest-files.json says ${entry.itemCount}`,
      );
    }
  }
}

/**
 * Reads and checks a whole data file (every line parsed, and with `verifyChecksums` its MD5 and
 * count) without keeping its records; returns what was seen. Throws `ExportFormatError`.
 */
export async function checkDataFile(
  s3: S3Sender,
  bucket: string,
  entry: DataFileEntry,
  options: ReadOptions = {},
): Promise<StreamedFileStats> {
  const stats: Partial<StreamedFileStats> = {};
  for await (const batch of streamDataFile(s3, bucket, entry, options, stats)) void batch;
  return stats as StreamedFileStats;
}

/**
 * Reads one whole data file into memory and returns its records; every check happens before
 * anything is returned, so a caller never acts on part of a bad file. Memory grows with the file:
 * use `streamDataFile` for large files.
 */
export async function readDataFile(
  s3: S3Sender,
  bucket: string,
  entry: DataFileEntry,
  options: ReadOptions = {},
): Promise<ExportRecord[]> {
  const records: ExportRecord[] = [];
  for await (const batch of streamDataFile(s3, bucket, entry, options)) {
    for (const r of batch) records.push(r);
  }
  return records;
}

/**
 * Every record of an export, data file by data file in manifest order, streamed. With
 * `verifyChecksums` a data file's checksum error comes after its records (see `streamDataFile`).
 */
export async function* readExportRecords(
  s3: S3Sender,
  bucket: string,
  summaryKey: string,
  options: ReadOptions = {},
): AsyncGenerator<ExportRecord> {
  const summary = await readExportSummary(s3, bucket, summaryKey);
  const files = await listExportDataFiles(s3, bucket, summary, options);
  if (options.verifyChecksums) {
    const total = files.reduce((n, f) => n + f.itemCount, 0);
    if (total !== summary.itemCount) {
      throw new ExportFormatError(
        summaryKey,
        undefined,
        `itemCount ${summary.itemCount} but data files hold ${total}`,
      );
    }
  }
  const format = options.format ?? summaryFormat(summary);
  for (const file of files) {
    for await (const batch of streamDataFile(s3, bucket, file, { ...options, format })) yield* batch;
  }
}
