/**
 * Writes exports to S3 the way DynamoDB does (reference sheet, section 4), in either output
 * format: `_started` first, then the data files (a full export's under its own folder, an
 * incremental export's in the shared `<prefix>/AWSDynamoDB/data/`), `manifest-files.json` and the
 * `.md5` checksum files, and `manifest-summary.json` last, so that its presence means every other
 * file of the export is in place. Used by the offline simulation's export engine.
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import pLimit from 'p-limit';
import { changeLineJson, itemLineJson } from './dynamodbJson';
import { changeLineIon, itemLineIon } from './ion';
import { dataFileName, dataFileSuffix, dataFolder, exportFolder } from './layout';
import {
  MANIFEST_SUMMARY_VERSION,
  formatManifestFiles,
  md5Base64,
  type DataFileEntry,
  type ExportSummary,
} from './manifests';
import { putObject, type S3Sender } from './s3io';
import type { ChangeRecord, ExportOutcome, ExportSink, ExportSpec, Item } from './types';

/** Items per data file; DynamoDB splits by partition, this writer splits by count. */
export const DEFAULT_ITEMS_PER_FILE = 5000;

/** Files of one export written at once (PutObject calls in flight). */
const FILE_WRITE_CONCURRENCY = 8;

/** DynamoDB table ids are UUIDs; derive a stable one from the table ARN. */
function tableIdFor(tableArn: string): string {
  const h = createHash('sha256').update(tableArn).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

function iso(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString();
}

/** One full-export line of an item in the given format. */
export function itemLine(item: Item, format: ExportSpec['exportFormat']): string {
  return format === 'ION' ? itemLineIon(item) : itemLineJson(item);
}

/** One incremental-export line of a change record in the given format and view. */
export function changeLine(
  record: ChangeRecord,
  format: ExportSpec['exportFormat'],
  viewType: NonNullable<ExportSpec['exportViewType']>,
): string {
  return format === 'ION' ? changeLineIon(record, viewType) : changeLineJson(record, viewType);
}

/** Options of `S3ExportSink`. */
export interface S3ExportSinkOptions {
  /** Lines per data file (default 5,000). */
  itemsPerFile?: number;
}

/** Writes exports in the AWS layout to S3; see the module comment. */
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
    return this.write(
      spec,
      items.map((item) => itemLine(item, spec.exportFormat)),
    );
  }

  writeIncremental(spec: ExportSpec, records: ChangeRecord[]): Promise<ExportOutcome> {
    const viewType = spec.exportViewType ?? 'NEW_AND_OLD_IMAGES';
    return this.write(
      spec,
      records.map((r) => changeLine(r, spec.exportFormat, viewType)),
    );
  }

  private async write(spec: ExportSpec, lines: string[]): Promise<ExportOutcome> {
    const folder = exportFolder(spec.prefix, spec.exportId);
    const { bucket } = spec;
    const incremental = spec.type === 'INCREMENTAL_EXPORT';
    const exportTime = incremental ? spec.to : spec.exportTime;
    if (exportTime === undefined || (incremental && spec.from === undefined)) {
      throw new Error(`export ${spec.exportArn}: missing export time or window`);
    }
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
    const dataPrefix = dataFolder(spec.prefix, spec.exportId, spec.type);
    const suffix = dataFileSuffix(spec.exportFormat);
    for (let i = 0; i < fileCount; i++) {
      const chunk = lines.slice(i * this.itemsPerFile, (i + 1) * this.itemsPerFile);
      const text = chunk.length === 0 ? '' : `${chunk.join('\n')}\n`;
      billedSizeBytes += Buffer.byteLength(text);
      const gz = gzipSync(text);
      const key = `${dataPrefix}${dataFileName(spec.exportId, i)}${suffix}`;
      dataFiles.push({ key, gz });
      entries.push({
        itemCount: chunk.length,
        md5Checksum: md5Base64(gz),
        etag: createHash('md5').update(gz).digest('hex'),
        dataFileS3Key: key,
      });
    }

    const manifestFilesKey = `${folder}manifest-files.json`;
    const manifestFiles = formatManifestFiles(entries);
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
      // Documented field names; their values are not [U]: the API's enum values are used.
      summary.exportType = 'INCREMENTAL_EXPORT';
      summary.outputView = spec.exportViewType ?? 'NEW_AND_OLD_IMAGES';
    }
    const summaryText = JSON.stringify(summary);
    const summaryKey = `${folder}manifest-summary.json`;
    const files: { key: string; body: string | Uint8Array; contentType?: string }[] = [
      ...dataFiles.map((f) => ({ key: f.key, body: f.gz, contentType: 'application/x-gzip' })),
      { key: manifestFilesKey, body: manifestFiles, contentType: 'application/json' },
      { key: `${folder}manifest-files.md5`, body: md5Base64(manifestFiles) },
      { key: `${folder}manifest-summary.md5`, body: md5Base64(summaryText) },
    ];
    await settleAll(files, FILE_WRITE_CONCURRENCY, (f) =>
      putObject(this.s3, bucket, f.key, f.body, f.contentType),
    );
    // Written last: its presence means every other file of the export is in place.
    await putObject(this.s3, bucket, summaryKey, summaryText, 'application/json');
    return { itemCount: lines.length, billedSizeBytes, manifestSummaryKey: summaryKey };
  }
}

/**
 * `fn` over `items` with at most `limit` calls in flight (p-limit), results in the order of
 * `items`. After a failure no new call starts, and the first failure is thrown only once every
 * started call has settled, so nothing is still running when the caller sees the error.
 */
export async function settleAll<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  // Calls still queued at a failure are rejected (not left pending), so allSettled settles.
  const run = pLimit({ concurrency: Math.max(1, limit), rejectOnClear: true });
  const settled = await Promise.allSettled(
    items.map((item) =>
      run(async () => {
        try {
          return await fn(item);
        } catch (err) {
          run.clearQueue();
          throw err;
        }
      }),
    ),
  );
  const rejected = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (rejected) throw rejected.reason;
  return settled.map((r) => (r as PromiseFulfilledResult<R>).value);
}
