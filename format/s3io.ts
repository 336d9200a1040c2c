/**
 * Small operations over anything with the AWS SDK v3 S3 `send(command)` method: a real S3Client, a
 * client pointed at a local S3 server, or an in-memory fake.
 */
import { Readable } from 'node:stream';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';

/** Anything that sends AWS SDK v3 S3 commands, typed as the SDK's own client. */
export type S3Sender = Pick<S3Client, 'send'>;

/** Thrown when an object does not exist; carries the key so messages can name it. */
export class S3ObjectMissingError extends Error {
  constructor(
    readonly bucket: string,
    readonly key: string,
  ) {
    super(`missing object s3://${bucket}/${key}`);
    this.name = 'S3ObjectMissingError';
  }
}

/**
 * Thrown when the bucket itself does not exist (S3's NoSuchBucket), so that it is not reported as a
 * missing object: the fix is another bucket name, not a missing export.
 */
export class S3BucketMissingError extends Error {
  constructor(readonly bucket: string) {
    super(`bucket ${bucket} does not exist (check the bucket name: --bucket, or the stack output)`);
    this.name = 'S3BucketMissingError';
  }
}

/** Whether S3 answered that the bucket does not exist. */
export function isNoSuchBucket(err: unknown): boolean {
  const e = err as { name?: string; Code?: string } | null;
  return e?.name === 'NoSuchBucket' || e?.Code === 'NoSuchBucket';
}

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
  if (isNoSuchBucket(err)) return false;
  return (
    e?.name === 'NoSuchKey' ||
    e?.name === 'NotFound' ||
    e?.Code === 'NoSuchKey' ||
    e?.$metadata?.httpStatusCode === 404
  );
}

/** An S3 body stream (a Node Readable, or any async iterable of byte chunks). */
function isByteStream(body: unknown): body is AsyncIterable<Uint8Array> {
  return (
    typeof body === 'object' &&
    body !== null &&
    typeof (body as Partial<AsyncIterable<unknown>>)[Symbol.asyncIterator] === 'function'
  );
}

/** A body with the SDK's stream mixin (`transformToByteArray`), as real clients and the fakes return. */
function hasByteArrayMixin(body: unknown): body is { transformToByteArray(): Promise<Uint8Array> } {
  return (
    typeof body === 'object' &&
    body !== null &&
    typeof (body as { transformToByteArray?: unknown }).transformToByteArray === 'function'
  );
}

/** A GetObject `Body` as the SDK types it, or whatever an in-memory stand-in returns. */
async function bodyToBytes(body: unknown): Promise<Uint8Array> {
  if (body === undefined || body === null) return new Uint8Array();
  if (body instanceof Uint8Array) return body;
  if (typeof body === 'string') return new Uint8Array(Buffer.from(body, 'utf8'));
  if (hasByteArrayMixin(body)) return body.transformToByteArray();
  if (isByteStream(body)) {
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(Buffer.from(chunk));
    return new Uint8Array(Buffer.concat(chunks));
  }
  throw new Error('unsupported S3 object body');
}

/** The object's bytes; `S3ObjectMissingError` when it does not exist. */
export async function getBytes(s3: S3Sender, bucket: string, key: string): Promise<Uint8Array> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return await bodyToBytes(out.Body);
  } catch (err) {
    if (isNoSuchBucket(err)) throw new S3BucketMissingError(bucket);
    if (isNotFound(err)) throw new S3ObjectMissingError(bucket, key);
    throw err;
  }
}

/**
 * The object's body as a stream of byte chunks, for reading large objects with bounded memory;
 * `S3ObjectMissingError` when it does not exist. Bodies that are not streams (an in-memory fake)
 * are read whole and handed out as one chunk.
 */
export async function getStream(
  s3: S3Sender,
  bucket: string,
  key: string,
): Promise<AsyncIterable<Uint8Array>> {
  let body: unknown;
  try {
    body = (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body;
  } catch (err) {
    if (isNoSuchBucket(err)) throw new S3BucketMissingError(bucket);
    if (isNotFound(err)) throw new S3ObjectMissingError(bucket, key);
    throw err;
  }
  if (body instanceof Readable || isByteStream(body)) return body;
  return Readable.from([await bodyToBytes(body)]);
}

/** The object's bytes, or undefined when it does not exist. */
export async function getBytesIfExists(
  s3: S3Sender,
  bucket: string,
  key: string,
): Promise<Uint8Array | undefined> {
  try {
    return await getBytes(s3, bucket, key);
  } catch (err) {
    if (err instanceof S3ObjectMissingError) return undefined;
    throw err;
  }
}

/** The object's body as UTF-8 text. */
export async function getText(s3: S3Sender, bucket: string, key: string): Promise<string> {
  return Buffer.from(await getBytes(s3, bucket, key)).toString('utf8');
}

/** Whether the object exists. */
export async function objectExists(s3: S3Sender, bucket: string, key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

/**
 * Every key under `prefix`, in S3's (lexicographic) order, following ListObjectsV2 pagination.
 * `pageSize` (MaxKeys) defaults to S3's 1,000.
 *
 * A loop of our own rather than the SDK's `paginateListObjectsV2`: the paginator refuses any client
 * that is not an `S3Client` instance ("Invalid client, expected instance of S3Client"), and this
 * reader also runs against the in-memory S3 of the tests and the simulation.
 */
export async function listAllKeys(
  s3: S3Sender,
  bucket: string,
  prefix: string,
  pageSize?: number,
): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const out = await s3.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: prefix,
        ContinuationToken: token,
        MaxKeys: pageSize,
      }),
    );
    for (const obj of out.Contents ?? []) if (obj.Key) keys.push(obj.Key);
    token = out.IsTruncated ? out.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

/** Writes an object; returns its ETag without quotes when the store reports one. */
export async function putObject(
  s3: S3Sender,
  bucket: string,
  key: string,
  body: string | Uint8Array,
  contentType?: string,
): Promise<string | undefined> {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const out = await s3.send(
    new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes, ContentType: contentType }),
  );
  const etag: unknown = out?.ETag;
  return typeof etag === 'string' ? etag.replace(/"/g, '') : undefined;
}
