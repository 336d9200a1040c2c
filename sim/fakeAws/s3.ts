/**
 * S3 in memory: enough of the object API for the chain manifest, the export writers and tests. A real
 * S3Client pointed at a local S3 server can stand in for it wherever a `send(command)` client is taken.
 */
import { createHash } from 'node:crypto';
import type {
  _Object,
  DeleteObjectCommandInput,
  DeleteObjectCommandOutput,
  GetObjectCommandInput,
  HeadObjectCommandInput,
  HeadObjectCommandOutput,
  ListObjectsV2CommandInput,
  ListObjectsV2CommandOutput,
  PutObjectCommandInput,
  PutObjectCommandOutput,
  ServiceInputTypes,
  ServiceOutputTypes,
} from '@aws-sdk/client-s3';
import { serviceError } from './errors';
import { CallLog, FakeService, type NowFn } from './service';

export interface StoredObject {
  body: Uint8Array;
  contentType?: string;
  etag: string;
  lastModified: Date;
  metadata?: Record<string, string>;
}

/** The `Body` of a GetObject response, with the SDK's stream mixin methods. */
export interface FakeBody {
  transformToString(encoding?: BufferEncoding): Promise<string>;
  transformToByteArray(): Promise<Uint8Array>;
}

export class FakeS3 extends FakeService<ServiceInputTypes, ServiceOutputTypes> {
  readonly buckets = new Map<string, Map<string, StoredObject>>();

  /**
   * @param autoCreateBuckets create a bucket on first write instead of failing with NoSuchBucket
   */
  constructor(
    log: CallLog,
    now: NowFn,
    private readonly autoCreateBuckets = true,
  ) {
    super('s3', log, now);
  }

  protected readonly handlers = {
    PutObject: (input: PutObjectCommandInput) => this.putObject(input),
    GetObject: (input: GetObjectCommandInput) => this.getObject(input),
    HeadObject: (input: HeadObjectCommandInput) => this.headObject(input),
    ListObjectsV2: (input: ListObjectsV2CommandInput) => this.listObjects(input),
    DeleteObject: (input: DeleteObjectCommandInput) => this.deleteObject(input),
  };

  createBucket(name: string): void {
    if (!this.buckets.has(name)) this.buckets.set(name, new Map());
  }

  /** Keys in a bucket under a prefix, sorted. */
  keys(bucket: string, prefix = ''): string[] {
    return [...(this.buckets.get(bucket)?.keys() ?? [])].filter((k) => k.startsWith(prefix)).sort();
  }

  text(bucket: string, key: string): string | undefined {
    const o = this.buckets.get(bucket)?.get(key);
    return o ? Buffer.from(o.body).toString('utf8') : undefined;
  }

  /** Writes an object directly (no call recorded), e.g. from an export sink. */
  putDirect(bucket: string, key: string, body: string | Uint8Array, contentType?: string): void {
    this.createBucket(bucket);
    const bytes = typeof body === 'string' ? new Uint8Array(Buffer.from(body, 'utf8')) : body;
    this.buckets.get(bucket)!.set(key, {
      body: bytes,
      contentType,
      etag: `"${createHash('md5').update(bytes).digest('hex')}"`,
      lastModified: new Date(this.now()),
    });
  }

  private bucket(name: unknown, create: boolean): Map<string, StoredObject> {
    if (typeof name !== 'string' || name === '')
      throw serviceError('ValidationException', 'Bucket is required');
    if (!this.buckets.has(name) && create && this.autoCreateBuckets) this.createBucket(name);
    const b = this.buckets.get(name);
    if (!b) throw serviceError('NoSuchBucket', 'The specified bucket does not exist', 404);
    return b;
  }

  /** The stored object, if any; the bucket must exist. */
  private object(bucket: unknown, key: string | undefined): StoredObject | undefined {
    const b = this.bucket(bucket, false);
    return key === undefined ? undefined : b.get(key);
  }

  private async putObject(input: PutObjectCommandInput): Promise<PutObjectCommandOutput> {
    const b = this.bucket(input?.Bucket, true);
    if (typeof input.Key !== 'string' || input.Key === '')
      throw serviceError('ValidationException', 'Key is required');
    const body = await toBytes(input.Body);
    const etag = `"${createHash('md5').update(body).digest('hex')}"`;
    b.set(input.Key, {
      body,
      contentType: input.ContentType,
      etag,
      lastModified: new Date(this.now()),
      metadata: input.Metadata,
    });
    return { ETag: etag, $metadata: { httpStatusCode: 200 } };
  }

  /**
   * A GetObject answer. Its `Body` has the SDK's `transformToString`/`transformToByteArray` mixin but
   * is not a Node stream, as readers of real clients' bodies must also accept (see format/s3io.ts).
   */
  private getObject(input: GetObjectCommandInput) {
    const o = this.object(input?.Bucket, input.Key);
    if (!o) throw serviceError('NoSuchKey', 'The specified key does not exist.', 404);
    const bytes = new Uint8Array(o.body);
    const body: FakeBody = {
      transformToString: async (encoding: BufferEncoding = 'utf8') => Buffer.from(bytes).toString(encoding),
      transformToByteArray: async () => new Uint8Array(bytes),
    };
    return {
      Body: body,
      ContentLength: bytes.byteLength,
      ContentType: o.contentType,
      ETag: o.etag,
      LastModified: o.lastModified,
      Metadata: o.metadata ?? {},
      $metadata: { httpStatusCode: 200 },
    };
  }

  private headObject(input: HeadObjectCommandInput): HeadObjectCommandOutput {
    const o = this.object(input?.Bucket, input.Key);
    // HEAD responses have no body, so the SDK reports a bare NotFound.
    if (!o) throw serviceError('NotFound', 'Not Found', 404);
    return {
      ContentLength: o.body.byteLength,
      ContentType: o.contentType,
      ETag: o.etag,
      LastModified: o.lastModified,
      Metadata: o.metadata ?? {},
      $metadata: { httpStatusCode: 200 },
    };
  }

  private listObjects(input: ListObjectsV2CommandInput): ListObjectsV2CommandOutput {
    const b = this.bucket(input?.Bucket, false);
    const prefix: string = input.Prefix ?? '';
    const delimiter: string | undefined = input.Delimiter || undefined;
    const maxKeys: number = input.MaxKeys ?? 1000;
    const after: string | undefined = input.ContinuationToken
      ? Buffer.from(input.ContinuationToken, 'base64').toString('utf8')
      : input.StartAfter;
    const keys = [...b.keys()].filter((k) => k.startsWith(prefix)).sort();
    const contents: _Object[] = [];
    const common: string[] = [];
    let last: string | undefined;
    let truncated = false;
    for (const key of keys) {
      if (after !== undefined && key <= after) continue;
      let entry: string = key;
      if (delimiter) {
        const i = key.indexOf(delimiter, prefix.length);
        if (i >= 0) entry = key.slice(0, i + delimiter.length);
      }
      if (entry !== key && common.includes(entry)) {
        last = key;
        continue;
      }
      if (contents.length + common.length >= maxKeys) {
        truncated = true;
        break;
      }
      if (entry !== key) common.push(entry);
      else {
        const o = b.get(key)!;
        contents.push({ Key: key, Size: o.body.byteLength, ETag: o.etag, LastModified: o.lastModified });
      }
      last = key;
    }
    return {
      Contents: contents.length ? contents : undefined,
      CommonPrefixes: common.length ? common.map((Prefix) => ({ Prefix })) : undefined,
      IsTruncated: truncated,
      NextContinuationToken: truncated && last ? Buffer.from(last, 'utf8').toString('base64') : undefined,
      KeyCount: contents.length + common.length,
      MaxKeys: maxKeys,
      Prefix: prefix,
      $metadata: { httpStatusCode: 200 },
    };
  }

  private deleteObject(input: DeleteObjectCommandInput): DeleteObjectCommandOutput {
    const b = this.bucket(input?.Bucket, false);
    if (input.Key !== undefined) b.delete(input.Key);
    return { $metadata: { httpStatusCode: 204 } };
  }
}

async function toBytes(body: unknown): Promise<Uint8Array> {
  if (body === undefined || body === null) return new Uint8Array();
  if (typeof body === 'string') return new Uint8Array(Buffer.from(body, 'utf8'));
  if (body instanceof Uint8Array) return new Uint8Array(body);
  if (typeof (body as Partial<AsyncIterable<unknown>>)[Symbol.asyncIterator] === 'function') {
    const chunks: Buffer[] = [];
    for await (const chunk of body as AsyncIterable<Uint8Array | string>) chunks.push(Buffer.from(chunk));
    return new Uint8Array(Buffer.concat(chunks));
  }
  throw serviceError('ValidationException', 'Unsupported Body type');
}
