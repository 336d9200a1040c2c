/**
 * Test fixtures for the export format, verify and replay: a minimal in-memory S3 and a writer that
 * lays down a whole chain (exports in the AWS format plus the chain manifest) from a table's history.
 */
import { createHash } from 'node:crypto';
import {
  CHAIN_SCHEMA_VERSION,
  chainCurrentKey,
  chainEntryKey,
  chainHeadKey,
  chainObjectBody,
  compactTime,
  isoTime,
  type ChainEntry,
  type ChainHead,
} from '../../functions/shared/chainManifest';
import { S3ExportSink, type ExportFormatName, type S3ExportSinkOptions } from '../../format';
import { putObject, type S3Sender } from '../../format';
import type { ExportSpec, TableSource } from '../../sim/contracts';

function notFound(name: string): Error {
  return Object.assign(new Error(name), { name, $metadata: { httpStatusCode: 404 } });
}

/** S3 in memory: PutObject, GetObject, HeadObject, DeleteObject, ListObjectsV2 with pagination. */
export class MemoryS3 implements S3Sender {
  readonly objects = new Map<string, Uint8Array>();
  /** Keys in the order they were written. */
  readonly writes: string[] = [];

  async send(command: any): Promise<any> {
    const name: string = command.constructor.name;
    const input = command.input;
    const id = `${input.Bucket}/${input.Key}`;
    switch (name) {
      case 'PutObjectCommand': {
        const body = input.Body;
        const bytes = typeof body === 'string' ? new Uint8Array(Buffer.from(body)) : new Uint8Array(body);
        this.objects.set(id, bytes);
        this.writes.push(input.Key);
        return { ETag: `"${createHash('md5').update(bytes).digest('hex')}"` };
      }
      case 'GetObjectCommand': {
        const bytes = this.objects.get(id);
        if (!bytes) throw notFound('NoSuchKey');
        return { Body: { transformToByteArray: async () => new Uint8Array(bytes) } };
      }
      case 'HeadObjectCommand':
        if (!this.objects.has(id)) throw notFound('NotFound');
        return {};
      case 'DeleteObjectCommand':
        this.objects.delete(id);
        return {};
      case 'ListObjectsV2Command': {
        const start = `${input.Bucket}/${input.Prefix ?? ''}`;
        const after = input.ContinuationToken as string | undefined;
        const all = [...this.objects.keys()]
          .filter((k) => k.startsWith(start))
          .map((k) => k.slice(input.Bucket.length + 1))
          .sort()
          .filter((k) => after === undefined || k > after);
        const max = input.MaxKeys ?? 1000;
        const page = all.slice(0, max);
        const truncated = all.length > max;
        return {
          Contents: page.map((Key) => ({ Key })),
          IsTruncated: truncated,
          NextContinuationToken: truncated ? page[page.length - 1] : undefined,
        };
      }
      default:
        throw new Error(`MemoryS3 does not implement ${name}`);
    }
  }

  get(bucket: string, key: string): Uint8Array | undefined {
    return this.objects.get(`${bucket}/${key}`);
  }

  set(bucket: string, key: string, bytes: Uint8Array | string): void {
    this.objects.set(
      `${bucket}/${key}`,
      typeof bytes === 'string' ? new Uint8Array(Buffer.from(bytes)) : bytes,
    );
  }

  keys(bucket: string, prefix = ''): string[] {
    return [...this.objects.keys()]
      .filter((k) => k.startsWith(`${bucket}/${prefix}`))
      .map((k) => k.slice(bucket.length + 1))
      .sort();
  }
}

export const TABLE_ARN = 'arn:aws:dynamodb:us-east-1:123456789012:table/orders';

/** An export ARN whose id sorts by time, like the real ones. */
export function exportArnFor(atSeconds: number, salt: string): string {
  const suffix = createHash('sha256').update(salt).digest('hex').slice(0, 8);
  return `${TABLE_ARN}/export/${String(atSeconds * 1000).padStart(14, '0')}-${suffix}`;
}

/** Parameters of `writeChain`. */
export interface WriteChainOptions {
  s3: S3Sender;
  bucket: string;
  prefix: string;
  table: TableSource;
  /** Export time of the full export (epoch seconds). */
  start: number;
  /** Incremental windows `[from, to)` in chain order (epoch seconds); normally contiguous from `start`. */
  windows: [number, number][];
  viewType?: 'NEW_AND_OLD_IMAGES' | 'NEW_IMAGE';
  /** Output format of every export (default DYNAMODB_JSON). */
  format?: ExportFormatName;
  sink?: S3ExportSinkOptions;
  /** Write CURRENT.json and HEAD.json (default true). */
  head?: boolean;
}

/** Where the command tests' chain lives: `s3://exports/dce/orders`, as `--bucket` and `--prefix` name it. */
export const CLI_CHAIN = { bucket: 'exports', prefix: 'dce/orders' } as const;

/** The command tests' chain: the full export of `table` at `start`, then four 15-minute windows. */
export function writeCliChain(s3: S3Sender, table: TableSource, start: number) {
  return writeChain({ s3, ...CLI_CHAIN, table, start, windows: contiguousWindows(start, 900, 4) });
}

/** Exports and chain manifest for a full export at `start` followed by the given windows. */
export async function writeChain(options: WriteChainOptions) {
  const { s3, bucket, prefix, table, start, windows } = options;
  const sink = new S3ExportSink(s3, options.sink);
  const epoch = compactTime(start);
  const viewType = options.viewType ?? 'NEW_AND_OLD_IMAGES';
  const entries: { key: string; entry: ChainEntry }[] = [];
  const plan: { type: ExportSpec['type']; from: number; to: number }[] = [
    { type: 'FULL_EXPORT', from: start, to: start },
    ...windows.map(([from, to]) => ({ type: 'INCREMENTAL_EXPORT' as const, from, to })),
  ];
  for (const [sequence, step] of plan.entries()) {
    const exportArn = exportArnFor(step.to + 60, `${epoch}:${sequence}`);
    const spec: ExportSpec = {
      exportArn,
      exportId: exportArn.split('/').pop()!,
      type: step.type,
      tableArn: TABLE_ARN,
      bucket,
      prefix,
      exportFormat: options.format ?? 'DYNAMODB_JSON',
      startTime: step.to + 60,
      endTime: step.to + 600,
    };
    const outcome =
      step.type === 'FULL_EXPORT'
        ? await sink.writeFull({ ...spec, exportTime: step.to }, table.snapshotAt(step.to))
        : await sink.writeIncremental(
            { ...spec, from: step.from, to: step.to, exportViewType: viewType },
            table.changesBetween(step.from, step.to),
          );
    const entry: ChainEntry = {
      schemaVersion: CHAIN_SCHEMA_VERSION,
      epoch,
      sequence,
      type: step.type === 'FULL_EXPORT' ? 'FULL' : 'INCREMENTAL',
      from: isoTime(step.from),
      to: isoTime(step.to),
      exportArn,
      bucket,
      manifestSummaryKey: outcome.manifestSummaryKey,
      itemCount: outcome.itemCount,
      billedSizeBytes: outcome.billedSizeBytes,
      completedAt: isoTime(spec.endTime),
      exportFormat: options.format ?? 'DYNAMODB_JSON',
      ...(step.type === 'INCREMENTAL_EXPORT' ? { exportViewType: viewType } : {}),
    };
    const key = chainEntryKey(prefix, epoch, sequence, step.from, step.to);
    await putObject(s3, bucket, key, chainObjectBody(entry));
    entries.push({ key, entry });
  }
  const last = entries[entries.length - 1];
  const head: ChainHead = {
    schemaVersion: CHAIN_SCHEMA_VERSION,
    epoch,
    chainStart: isoTime(start),
    watermark: last.entry.to,
    lastSequence: last.entry.sequence,
    lastEntryKey: last.key,
  };
  if (options.head !== false) {
    await putObject(s3, bucket, chainHeadKey(prefix, epoch), chainObjectBody(head));
    await putObject(
      s3,
      bucket,
      chainCurrentKey(prefix),
      chainObjectBody({ schemaVersion: CHAIN_SCHEMA_VERSION, epoch }),
    );
  }
  return { epoch, entries, head, watermark: windows.length ? windows[windows.length - 1][1] : start };
}

/** `count` contiguous windows of `seconds` each, starting at `start`. */
export function contiguousWindows(start: number, seconds: number, count: number): [number, number][] {
  return Array.from({ length: count }, (_, i) => [start + i * seconds, start + (i + 1) * seconds]);
}
