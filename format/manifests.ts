/**
 * The manifests of an export (reference sheet, section 4): `manifest-summary.json` (one JSON
 * object), `manifest-files.json` (JSON Lines, one object per data file) and their checksum files
 * (base64 MD5; named `.md5` on AWS, `.checksum` in the documentation: both are read).
 *
 * Unknown fields are tolerated everywhere: the parsed objects keep every field as read, and only
 * the fields a reader depends on are checked.
 */
import { createHash } from 'node:crypto';
import { ExportFormatError } from './errors';
import { getBytesIfExists, type S3Sender } from './s3io';
import type { ExportFormatName, ExportViewType } from './types';

/** Version string DynamoDB writes in manifest-summary.json. */
export const MANIFEST_SUMMARY_VERSION = '2020-06-30';

/** Fields of `manifest-summary.json` [C DG-OUT], plus those of incremental exports. */
export interface ExportSummary {
  version: string;
  exportArn: string;
  startTime: string;
  endTime: string;
  tableArn: string;
  tableId: string;
  exportTime: string;
  s3Bucket: string;
  s3Prefix: string | null;
  s3SseAlgorithm: string;
  s3SseKmsKeyId: string | null;
  manifestFilesS3Key: string;
  billedSizeBytes: number;
  itemCount: number;
  outputFormat: ExportFormatName | string;
  /**
   * Incremental exports only: the field names are documented, their values are not [U]. The writer
   * uses the API's enum values (`INCREMENTAL_EXPORT`, `NEW_AND_OLD_IMAGES`/`NEW_IMAGE`); readers
   * depend on neither.
   */
  exportType?: string;
  outputView?: ExportViewType | string;
  /** Fields not listed above, kept as read. */
  [field: string]: unknown;
}

/** One line of `manifest-files.json` [C DG-OUT]. */
export interface DataFileEntry {
  itemCount: number;
  /** Base64 MD5 of the data file's (gzip) bytes. */
  md5Checksum: string;
  etag: string;
  /** Bucket-relative key of the data file. */
  dataFileS3Key: string;
}

/** Base64 MD5, the checksum form used throughout the export files. */
export function md5Base64(bytes: Uint8Array | string): string {
  return createHash('md5').update(bytes).digest('base64');
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseJson(text: string, key: string, line?: number): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ExportFormatError(key, line, `invalid JSON (${(err as Error).message})`);
  }
}

/** Parses `manifest-summary.json` text; checks only what readers rely on, keeps every field. */
export function parseExportSummary(text: string, key: string): ExportSummary {
  const json = parseJson(text, key);
  if (!isObject(json)) throw new ExportFormatError(key, undefined, 'not a JSON object');
  for (const field of ['exportArn', 'manifestFilesS3Key'] as const) {
    if (typeof json[field] !== 'string' || json[field] === '') {
      throw new ExportFormatError(key, undefined, `missing field ${field}`);
    }
  }
  if (typeof json.itemCount !== 'number')
    throw new ExportFormatError(key, undefined, 'missing field itemCount');
  const format = json.outputFormat ?? 'DYNAMODB_JSON';
  if (format !== 'DYNAMODB_JSON' && format !== 'ION') {
    throw new ExportFormatError(key, undefined, `unknown output format ${JSON.stringify(format)}`);
  }
  return json as ExportSummary;
}

/** The output format named by a summary (DYNAMODB_JSON when the field is absent). */
export function summaryFormat(summary: ExportSummary): ExportFormatName {
  return summary.outputFormat === 'ION' ? 'ION' : 'DYNAMODB_JSON';
}

/** `manifest-files.json` text for the given entries. */
export function formatManifestFiles(entries: DataFileEntry[]): string {
  return entries.map((e) => `${JSON.stringify(e)}\n`).join('');
}

/** Parses `manifest-files.json` text (JSON Lines; blank lines allowed; unknown fields ignored). */
export function parseManifestFiles(text: string, key: string): DataFileEntry[] {
  const out: DataFileEntry[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    const json = parseJson(line, key, i + 1);
    if (
      !isObject(json) ||
      typeof json.dataFileS3Key !== 'string' ||
      typeof json.itemCount !== 'number' ||
      typeof json.md5Checksum !== 'string'
    ) {
      throw new ExportFormatError(key, i + 1, 'expected {itemCount, md5Checksum, etag, dataFileS3Key}');
    }
    out.push({
      itemCount: json.itemCount,
      md5Checksum: json.md5Checksum,
      etag: typeof json.etag === 'string' ? json.etag : '',
      dataFileS3Key: json.dataFileS3Key,
    });
  });
  return out;
}

/**
 * The checksum file of a manifest JSON file: `<name>.md5` (observed on AWS) or `<name>.checksum`
 * (documented). Undefined when neither exists.
 */
export async function readManifestChecksum(
  s3: S3Sender,
  bucket: string,
  manifestJsonKey: string,
): Promise<{ key: string; value: string } | undefined> {
  const stem = manifestJsonKey.replace(/\.json$/, '');
  for (const suffix of ['.md5', '.checksum']) {
    const key = `${stem}${suffix}`;
    const bytes = await getBytesIfExists(s3, bucket, key);
    if (bytes) return { key, value: Buffer.from(bytes).toString('utf8').trim() };
  }
  return undefined;
}
