/**
 * An export of large items, written in the AWS layout (data files, `manifest-files.json` and its
 * `.md5`, `manifest-summary.json`) into an S3 held in memory, with no more than one item in memory at
 * a time: each data file is generated line by line and gzipped as a stream. The items' text is
 * repetitive, so the export takes kilobytes compressed while its records take hundreds of megabytes
 * once read: what tests and figures of the apply engine's memory need inside a heap-capped worker
 * (sim/machines/lambdaWorker.ts).
 */
import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import {
  MANIFEST_SUMMARY_VERSION,
  changeLine,
  dataFileName,
  dataFileSuffix,
  dataFolder,
  exportFolder,
  formatManifestFiles,
  itemLine,
  md5Base64,
  putObject,
  type DataFileEntry,
  type ExportSummary,
  type Item,
  type S3Sender,
} from '../format';

export interface LargeItemsExportOptions {
  items: number;
  /** Size of each item's `blob` attribute, in KB (DynamoDB takes items up to 400 KB). */
  itemKb: number;
  itemsPerFile: number;
  /**
   * `FULL_EXPORT`: one image per record; `INCREMENTAL_EXPORT`: NEW_AND_OLD_IMAGES changes, each
   * record with two images of the item's size.
   */
  type: 'FULL_EXPORT' | 'INCREMENTAL_EXPORT';
}

const BUCKET = 'large-items';
const PREFIX = 'exports';
const EXPORT_ID = '01767225600000-largeitems';
const TABLE_ARN = 'arn:aws:dynamodb:us-east-1:123456789012:table/large';
const EXPORT_TIME = '2026-01-01T00:00:00.000Z';

/** Item `i`: keys `pk`, `sk` (the workload's key schema) and a `blob` of `kb` KB, marked by `version`. */
export function largeItem(i: number, kb: number, version = 'a'): Item {
  const blob = `${version}${i}:`.padEnd(kb * 1024, String.fromCharCode(97 + (i % 26)));
  return { pk: { S: `item#${i}` }, sk: { N: String(i) }, blob: { S: blob } };
}

async function gzipLines(lines: Iterable<string>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of Readable.from(lines).pipe(createGzip())) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function* fileLines(first: number, count: number, options: LargeItemsExportOptions): Generator<string> {
  for (let i = first; i < first + count; i++) {
    const newImage = largeItem(i, options.itemKb, 'new');
    if (options.type === 'FULL_EXPORT') {
      yield `${itemLine(newImage, 'DYNAMODB_JSON')}\n`;
    } else {
      const oldImage = largeItem(i, options.itemKb, 'old');
      const keys = { pk: newImage.pk, sk: newImage.sk };
      const change = { keys, newImage, oldImage, writeTimeMicros: 1_767_225_600_000_000 };
      yield `${changeLine(change, 'DYNAMODB_JSON', 'NEW_AND_OLD_IMAGES')}\n`;
    }
  }
}

/** Writes the export; returns the chain entry that names it. */
export async function writeLargeItemsExport(
  s3: S3Sender,
  options: LargeItemsExportOptions,
): Promise<{ sequence: number; exportArn: string; bucket: string; manifestSummaryKey: string }> {
  const exportArn = `${TABLE_ARN}/export/${EXPORT_ID}`;
  const folder = exportFolder(PREFIX, EXPORT_ID);
  const files: DataFileEntry[] = [];
  for (let first = 0, n = 0; first < options.items; first += options.itemsPerFile, n++) {
    const count = Math.min(options.itemsPerFile, options.items - first);
    const gz = await gzipLines(fileLines(first, count, options));
    const key = `${dataFolder(PREFIX, EXPORT_ID, options.type)}${dataFileName(EXPORT_ID, n)}${dataFileSuffix('DYNAMODB_JSON')}`;
    await putObject(s3, BUCKET, key, gz);
    files.push({ itemCount: count, md5Checksum: md5Base64(gz), etag: '', dataFileS3Key: key });
  }
  const manifestFiles = formatManifestFiles(files);
  const summary: ExportSummary = {
    version: MANIFEST_SUMMARY_VERSION,
    exportArn,
    startTime: EXPORT_TIME,
    endTime: EXPORT_TIME,
    tableArn: TABLE_ARN,
    tableId: '00000000-0000-0000-0000-000000000000',
    exportTime: EXPORT_TIME,
    s3Bucket: BUCKET,
    s3Prefix: PREFIX,
    s3SseAlgorithm: 'AES256',
    s3SseKmsKeyId: null,
    manifestFilesS3Key: `${folder}manifest-files.json`,
    billedSizeBytes: options.items * options.itemKb * 1024,
    itemCount: options.items,
    outputFormat: 'DYNAMODB_JSON',
    ...(options.type === 'INCREMENTAL_EXPORT'
      ? { exportType: 'INCREMENTAL_EXPORT', outputView: 'NEW_AND_OLD_IMAGES' }
      : {}),
  };
  await putObject(s3, BUCKET, summary.manifestFilesS3Key, manifestFiles);
  await putObject(s3, BUCKET, `${folder}manifest-files.md5`, md5Base64(manifestFiles));
  const manifestSummaryKey = `${folder}manifest-summary.json`;
  await putObject(s3, BUCKET, manifestSummaryKey, JSON.stringify(summary));
  return { sequence: options.type === 'FULL_EXPORT' ? 0 : 1, exportArn, bucket: BUCKET, manifestSummaryKey };
}

/** Just enough S3 in memory for the writer above and the apply engine's reads. */
export function objectsInMemory(): S3Sender {
  const objects = new Map<string, Uint8Array>();
  const send = async (command: {
    constructor: { name: string };
    input: { Bucket: string; Key: string; Body?: string | Uint8Array };
  }): Promise<unknown> => {
    const id = `${command.input.Bucket}/${command.input.Key}`;
    switch (command.constructor.name) {
      case 'PutObjectCommand': {
        const body = command.input.Body ?? '';
        objects.set(id, typeof body === 'string' ? new Uint8Array(Buffer.from(body)) : body);
        return {};
      }
      case 'GetObjectCommand': {
        const bytes = objects.get(id);
        if (!bytes) throw Object.assign(new Error('NoSuchKey'), { name: 'NoSuchKey' });
        return { Body: Readable.from([bytes]) };
      }
      default:
        throw new Error(`objectsInMemory does not implement ${command.constructor.name}`);
    }
  };
  // The SDK's overloaded `send` cannot be spelled by a plain function; the calls made are the above.
  return { send } as unknown as S3Sender;
}
