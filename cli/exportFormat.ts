/**
 * The files DynamoDB writes for an export to S3, in the DYNAMODB_JSON output format: a writer (used by
 * the offline simulation so it produces the real layout) and a reader (used by verify and replay).
 *
 * Layout under `<prefix>/AWSDynamoDB/<exportId>/`:
 *   _started                       empty, written first
 *   data/<name>.json.gz            gzip JSON Lines; one or more files, possibly empty
 *   manifest-files.json            JSON Lines, one line per data file
 *   manifest-files.md5             base64 MD5 of manifest-files.json
 *   manifest-summary.json          the export's summary, written last
 *   manifest-summary.md5           base64 MD5 of manifest-summary.json
 *
 * The documentation names the checksum files `manifest-*.checksum`; exports observed on AWS use
 * `manifest-*.md5`. The writer produces `.md5`, the reader accepts either.
 *
 * ION output is not produced: the writer refuses it and the reader reports it as unsupported.
 */
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { ChangeRecord, ExportOutcome, ExportSink, ExportSpec, Item } from '../sim/contracts';
import { itemFromJson, itemToJson } from './attributeValues';
import { S3ObjectMissingError, getBytes, getBytesIfExists, putObject, type S3Sender } from './s3io';

/** Version string DynamoDB writes in manifest-summary.json. */
export const MANIFEST_SUMMARY_VERSION = '2020-06-30';

/** Items per data file; DynamoDB splits by partition, this writer splits by count. */
export const DEFAULT_ITEMS_PER_FILE = 5000;

/** Fields of `manifest-summary.json`. */
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
  outputFormat: string;
  /**
   * Incremental exports only. These three field names are unconfirmed (the AWS documentation
   * lists only the fields above); nothing in this product depends on them being present.
   */
  exportFromTime?: string;
  exportToTime?: string;
  exportViewType?: string;
}

/** One line of `manifest-files.json`. */
export interface DataFileEntry {
  itemCount: number;
  /** Base64 MD5 of the `.json.gz` bytes. */
  md5Checksum: string;
  etag: string;
  /** Bucket-relative key of the data file. */
  dataFileS3Key: string;
}

/** A full-export line. */
export interface ItemRecord {
  kind: 'item';
  item: Item;
  /** Key of the data file this record came from. */
  file: string;
  /** 1-based line number within the (uncompressed) data file. */
  line: number;
}

/** An incremental-export line; no `newImage` means the item was deleted. */
export interface ChangeLineRecord {
  kind: 'change';
  keys: Item;
  newImage?: Item;
  oldImage?: Item;
  /** `Metadata.WriteTime`, microseconds since the epoch, when present. */
  writeTimeMicros?: number;
  file: string;
  line: number;
}

export type ExportRecord = ItemRecord | ChangeLineRecord;

/** Base64 MD5, the checksum form used throughout the export files. */
export function md5Base64(bytes: Uint8Array | string): string {
  return createHash('md5').update(bytes).digest('base64');
}

/** `<prefix>/AWSDynamoDB/<exportId>/` (no leading prefix when prefix is ''). */
export function exportFolder(prefix: string, exportId: string): string {
  return prefix === '' ? `AWSDynamoDB/${exportId}/` : `${prefix}/AWSDynamoDB/${exportId}/`;
}

/** Data file names look random on AWS; here they derive from the export id so reruns write the same keys. */
function dataFileName(exportId: string, index: number): string {
  const digest = createHash('sha256').update(`${exportId}:${index}`).digest();
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  let name = '';
  for (let i = 0; i < 26; i++) name += alphabet[digest[i] % 32];
  return name;
}

/** DynamoDB table ids are UUIDs; derive a stable one from the table ARN. */
function tableIdFor(tableArn: string): string {
  const h = createHash('sha256').update(tableArn).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

function iso(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString();
}

/** One incremental-export line for a change record. */
export function changeRecordLine(record: ChangeRecord, viewType: ExportSpec['exportViewType']): string {
  const line: Record<string, unknown> = {
    Metadata: { WriteTime: record.writeTimeMicros },
    Keys: itemToJson(record.keys),
  };
  if (record.newImage) line.NewImage = itemToJson(record.newImage);
  if (record.oldImage && viewType !== 'NEW_IMAGE') line.OldImage = itemToJson(record.oldImage);
  return JSON.stringify(line);
}

/** One full-export line for an item. */
export function itemLine(item: Item): string {
  return JSON.stringify({ Item: itemToJson(item) });
}

/** Options of `S3ExportSink`. */
export interface S3ExportSinkOptions {
  /** Lines per data file (default 5,000). */
  itemsPerFile?: number;
}

/** Files of one export written at once (PutObject calls in flight). */
const FILE_WRITE_CONCURRENCY = 8;

/** Runs `fn(0 .. count-1)` with at most `limit` calls in flight; rejects with the first failure. */
async function forEachConcurrently(
  count: number,
  limit: number,
  fn: (index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < count) {
      const index = next++;
      try {
        await fn(index);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await settleAll(Array.from({ length: Math.min(limit, count) }, worker));
}

/**
 * Waits for every promise, then rejects with the first failure: no write is still in flight when
 * the caller sees the error (and so none lands after, say, a retry started).
 */
async function settleAll(promises: Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(promises);
  const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (rejected) throw rejected.reason;
}

/**
 * Writes exports in the AWS DYNAMODB_JSON layout to S3: `_started` first, then the data files, the
 * manifest list and the checksums (concurrently), and `manifest-summary.json` last, so that its
 * presence means every other file of the export is in place.
 */
export class S3ExportSink implements ExportSink {
  private readonly itemsPerFile: number;

  constructor(
    private readonly s3: S3Sender,
    options: S3ExportSinkOptions = {},
  ) {
    this.itemsPerFile = options.itemsPerFile ?? DEFAULT_ITEMS_PER_FILE;
    if (!(this.itemsPerFile >= 1)) throw new Error('itemsPerFile must be at least 1');
  }

  writeFull(spec: ExportSpec, items: Item[]): Promise<ExportOutcome> {
    return this.write(spec, items.map(itemLine));
  }

  writeIncremental(spec: ExportSpec, records: ChangeRecord[]): Promise<ExportOutcome> {
    const viewType = spec.exportViewType ?? 'NEW_AND_OLD_IMAGES';
    return this.write(
      spec,
      records.map((r) => changeRecordLine(r, viewType)),
    );
  }

  private async write(spec: ExportSpec, lines: string[]): Promise<ExportOutcome> {
    if (spec.exportFormat !== 'DYNAMODB_JSON') {
      throw new Error(`export format ${spec.exportFormat} is not produced; only DYNAMODB_JSON is`);
    }
    const folder = exportFolder(spec.prefix, spec.exportId);
    const { bucket } = spec;
    await putObject(this.s3, bucket, `${folder}_started`, '');

    // Every file but the summary is known before any is written: the data files, their list and
    // the checksums are written concurrently (a bounded number at a time), the summary after them.
    // A data file's ETag is the hex MD5 of its bytes, as S3 reports it for a single-part upload
    // without SSE-KMS (the case of every bucket this writer is used with: the local S3 server and
    // the in-memory fake).
    const fileCount = Math.max(1, Math.ceil(lines.length / this.itemsPerFile));
    const dataFiles: { key: string; gz: Buffer }[] = [];
    const entries: DataFileEntry[] = [];
    let billedSizeBytes = 0;
    for (let i = 0; i < fileCount; i++) {
      const chunk = lines.slice(i * this.itemsPerFile, (i + 1) * this.itemsPerFile);
      const text = chunk.length === 0 ? '' : `${chunk.join('\n')}\n`;
      billedSizeBytes += Buffer.byteLength(text);
      const gz = gzipSync(text);
      const key = `${folder}data/${dataFileName(spec.exportId, i)}.json.gz`;
      dataFiles.push({ key, gz });
      entries.push({
        itemCount: chunk.length,
        md5Checksum: md5Base64(gz),
        etag: createHash('md5').update(gz).digest('hex'),
        dataFileS3Key: key,
      });
    }

    const manifestFilesKey = `${folder}manifest-files.json`;
    const manifestFiles = entries.map((e) => `${JSON.stringify(e)}\n`).join('');

    const incremental = spec.type === 'INCREMENTAL_EXPORT';
    const exportTime = incremental ? spec.to : spec.exportTime;
    if (exportTime === undefined || (incremental && spec.from === undefined)) {
      throw new Error(`export ${spec.exportArn}: missing export time or window`);
    }
    const summary: ExportSummary = {
      version: MANIFEST_SUMMARY_VERSION,
      exportArn: spec.exportArn,
      startTime: iso(spec.startTime),
      endTime: iso(spec.endTime),
      tableArn: spec.tableArn,
      tableId: tableIdFor(spec.tableArn),
      exportTime: iso(exportTime),
      s3Bucket: bucket,
      s3Prefix: spec.prefix === '' ? null : spec.prefix,
      s3SseAlgorithm: 'AES256',
      s3SseKmsKeyId: null,
      manifestFilesS3Key: manifestFilesKey,
      billedSizeBytes,
      itemCount: lines.length,
      outputFormat: spec.exportFormat,
    };
    if (incremental) {
      // Unconfirmed field names (see ExportSummary); readers must not require them.
      summary.exportFromTime = iso(spec.from!);
      summary.exportToTime = iso(spec.to!);
      summary.exportViewType = spec.exportViewType ?? 'NEW_AND_OLD_IMAGES';
    }
    const summaryText = JSON.stringify(summary);
    const summaryKey = `${folder}manifest-summary.json`;
    const files: { key: string; body: string | Uint8Array; contentType?: string }[] = [
      ...dataFiles.map((f) => ({ key: f.key, body: f.gz, contentType: 'application/x-gzip' })),
      { key: manifestFilesKey, body: manifestFiles, contentType: 'application/json' },
      { key: `${folder}manifest-files.md5`, body: md5Base64(manifestFiles) },
      { key: `${folder}manifest-summary.md5`, body: md5Base64(summaryText) },
    ];
    await forEachConcurrently(files.length, FILE_WRITE_CONCURRENCY, async (i) => {
      await putObject(this.s3, bucket, files[i].key, files[i].body, files[i].contentType);
    });
    // Written last: its presence means every other file of the export is in place.
    await putObject(this.s3, bucket, summaryKey, summaryText, 'application/json');
    return { itemCount: lines.length, billedSizeBytes, manifestSummaryKey: summaryKey };
  }
}

// ---------------------------------------------------------------------------------------------
// Reader

/** An export file that is missing, malformed or fails its checksum; names the key and line. */
export class ExportFormatError extends Error {
  constructor(
    readonly key: string,
    readonly line: number | undefined,
    detail: string,
  ) {
    super(line === undefined ? `${key}: ${detail}` : `${key} line ${line}: ${detail}`);
    this.name = 'ExportFormatError';
  }
}

async function readRequired(s3: S3Sender, bucket: string, key: string, what: string): Promise<Uint8Array> {
  try {
    return await getBytes(s3, bucket, key);
  } catch (err) {
    if (err instanceof S3ObjectMissingError) throw new ExportFormatError(key, undefined, `missing ${what}`);
    throw err;
  }
}

function parseJson(text: string, key: string, line?: number): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ExportFormatError(key, line, `invalid JSON (${(err as Error).message})`);
  }
}

/** Reads and checks `manifest-summary.json`. */
export async function readExportSummary(
  s3: S3Sender,
  bucket: string,
  manifestSummaryKey: string,
): Promise<ExportSummary> {
  const text = Buffer.from(await readRequired(s3, bucket, manifestSummaryKey, 'manifest summary')).toString(
    'utf8',
  );
  const json = parseJson(text, manifestSummaryKey) as Record<string, unknown>;
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ExportFormatError(manifestSummaryKey, undefined, 'not a JSON object');
  }
  for (const field of ['exportArn', 'manifestFilesS3Key'] as const) {
    if (typeof json[field] !== 'string' || json[field] === '') {
      throw new ExportFormatError(manifestSummaryKey, undefined, `missing field ${field}`);
    }
  }
  if (typeof json.itemCount !== 'number') {
    throw new ExportFormatError(manifestSummaryKey, undefined, 'missing field itemCount');
  }
  if (json.outputFormat !== undefined && json.outputFormat !== 'DYNAMODB_JSON') {
    throw new ExportFormatError(
      manifestSummaryKey,
      undefined,
      `output format ${String(json.outputFormat)} is not supported; only DYNAMODB_JSON is read`,
    );
  }
  return json as unknown as ExportSummary;
}

/** The export folder of a summary key (`.../AWSDynamoDB/<id>/`). */
export function folderOfSummaryKey(manifestSummaryKey: string): string {
  return manifestSummaryKey.slice(0, manifestSummaryKey.lastIndexOf('/') + 1);
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

/** Parses `manifest-files.json` text (JSON Lines; blank lines allowed). */
export function parseManifestFiles(text: string, key: string): DataFileEntry[] {
  const out: DataFileEntry[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    const json = parseJson(line, key, i + 1) as Record<string, unknown>;
    if (
      typeof json !== 'object' ||
      json === null ||
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

/** Options of the data readers. */
export interface ReadOptions {
  /** Check manifest and data file MD5s and per-file item counts before returning any record. */
  verifyChecksums?: boolean;
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

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses one data-file line (already trimmed, not blank). */
export function parseRecordLine(text: string, file: string, line: number): ExportRecord {
  const json = parseJson(text, file, line);
  if (!isObject(json)) throw new ExportFormatError(file, line, 'not a JSON object');
  try {
    if ('Item' in json) {
      return { kind: 'item', item: itemFromJson(json.Item, '$.Item'), file, line };
    }
    if ('Keys' in json) {
      const meta = json.Metadata;
      let writeTimeMicros: number | undefined;
      if (isObject(meta) && meta.WriteTime !== undefined) {
        if (typeof meta.WriteTime !== 'number') throw new Error('Metadata.WriteTime must be a number');
        writeTimeMicros = meta.WriteTime;
      }
      const record: ChangeLineRecord = {
        kind: 'change',
        keys: itemFromJson(json.Keys, '$.Keys'),
        file,
        line,
      };
      if (json.NewImage !== undefined && json.NewImage !== null) {
        record.newImage = itemFromJson(json.NewImage, '$.NewImage');
      }
      if (json.OldImage !== undefined && json.OldImage !== null) {
        record.oldImage = itemFromJson(json.OldImage, '$.OldImage');
      }
      if (writeTimeMicros !== undefined) record.writeTimeMicros = writeTimeMicros;
      return record;
    }
  } catch (err) {
    throw new ExportFormatError(file, line, (err as Error).message);
  }
  throw new ExportFormatError(
    file,
    line,
    `unknown record shape with fields ${JSON.stringify(Object.keys(json))}`,
  );
}

/**
 * Reads one whole data file and returns its records. Every check (checksum, gzip, every line, item
 * count) happens before anything is returned, so a caller never acts on part of a bad file.
 */
export async function readDataFile(
  s3: S3Sender,
  bucket: string,
  entry: DataFileEntry,
  options: ReadOptions = {},
): Promise<ExportRecord[]> {
  const key = entry.dataFileS3Key;
  const gz = await readRequired(s3, bucket, key, 'data file');
  if (options.verifyChecksums && md5Base64(gz) !== entry.md5Checksum) {
    throw new ExportFormatError(key, undefined, 'MD5 checksum does not match manifest-files.json');
  }
  let text: string;
  if (gz.byteLength === 0) {
    text = ''; // an empty object is a valid empty data file
  } else {
    try {
      text = gunzipSync(gz).toString('utf8');
    } catch (err) {
      throw new ExportFormatError(key, undefined, `not valid gzip (${(err as Error).message})`);
    }
  }
  const records: ExportRecord[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '') continue;
    records.push(parseRecordLine(line, key, i + 1));
  }
  if (options.verifyChecksums && records.length !== entry.itemCount) {
    throw new ExportFormatError(
      key,
      undefined,
      `holds ${records.length} records, manifest-files.json says ${entry.itemCount}`,
    );
  }
  return records;
}

/** Every record of an export, data file by data file in manifest order. */
export async function* readExportRecords(
  s3: S3Sender,
  bucket: string,
  manifestSummaryKey: string,
  options: ReadOptions = {},
): AsyncGenerator<ExportRecord> {
  const summary = await readExportSummary(s3, bucket, manifestSummaryKey);
  const files = await listExportDataFiles(s3, bucket, summary, options);
  if (options.verifyChecksums) {
    const total = files.reduce((n, f) => n + f.itemCount, 0);
    if (total !== summary.itemCount) {
      throw new ExportFormatError(
        manifestSummaryKey,
        undefined,
        `itemCount ${summary.itemCount} but data files hold ${total}`,
      );
    }
  }
  for (const file of files) {
    yield* await readDataFile(s3, bucket, file, options);
  }
}
