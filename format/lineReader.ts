/**
 * Reads a gzip data file as a stream of text lines with bounded memory: the compressed bytes are
 * hashed (MD5) and counted as they pass, gunzipped by zlib's streaming decoder, decoded as UTF-8
 * across chunk boundaries and split on newlines. Memory holds one chunk and one partial line, never
 * the file.
 */
import { createHash } from 'node:crypto';
import { Readable, pipeline } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';
import { ExportFormatError } from './errors';

/** One non-blank line, trimmed, with its 1-based number in the uncompressed text. */
export interface TextLine {
  text: string;
  line: number;
}

/** What is known about the file once its lines are exhausted. */
export interface StreamedFileStats {
  /** Base64 MD5 of the compressed bytes. */
  md5Base64: string;
  compressedBytes: number;
  uncompressedBytes: number;
  /** Non-blank lines. */
  lines: number;
}

/**
 * The non-blank lines of a gzip stream, in batches (one per decoded chunk, to keep the per-line
 * overhead of async iteration low). `stats` is filled in when the stream has been read to its end.
 * A zero-byte object is an empty data file; bad or truncated gzip is an `ExportFormatError` naming
 * `key` and the line reached.
 */
export async function* gzipLineBatches(
  body: AsyncIterable<Uint8Array>,
  key: string,
  stats: Partial<StreamedFileStats> = {},
): AsyncGenerator<TextLine[]> {
  const hash = createHash('md5');
  let compressed = 0;
  async function* tap(source: AsyncIterable<Uint8Array>) {
    for await (const chunk of source) {
      hash.update(chunk);
      compressed += chunk.byteLength;
      yield chunk;
    }
  }
  const gunzip = createGunzip();
  pipeline(Readable.from(tap(body)), gunzip, () => undefined); // errors surface in the loop below
  const decoder = new StringDecoder('utf8');
  let uncompressed = 0;
  // The pieces of a line not yet ended. A line of a large item spans many decoded chunks (16 KB
  // each): they are joined once, when its end arrives, rather than copied again with every chunk.
  let partial: string[] = [];
  let lineNo = 0;
  let lines = 0;
  const split = (text: string, final: boolean): TextLine[] => {
    if (!final && !text.includes('\n')) {
      if (text !== '') partial.push(text);
      return [];
    }
    const parts = (partial.join('') + text).split('\n');
    partial = final ? [] : [parts.pop()!];
    const out: TextLine[] = [];
    for (const part of parts) {
      lineNo += 1;
      const trimmed = part.trim();
      if (trimmed !== '') out.push({ text: trimmed, line: lineNo });
    }
    lines += out.length;
    return out;
  };
  try {
    for await (const chunk of gunzip) {
      uncompressed += chunk.byteLength;
      const batch = split(decoder.write(chunk), false);
      if (batch.length > 0) yield batch;
    }
  } catch (err) {
    if (err instanceof ExportFormatError) throw err;
    if (compressed === 0 && (err as { code?: string }).code === 'Z_BUF_ERROR') {
      // A zero-byte object: DynamoDB writes empty data files for empty partitions.
    } else {
      throw new ExportFormatError(key, lineNo + 1, `not valid gzip (${(err as Error).message})`);
    }
  }
  const rest = split(decoder.end(), true);
  if (rest.length > 0) yield rest;
  Object.assign(stats, {
    md5Base64: hash.digest('base64'),
    compressedBytes: compressed,
    uncompressedBytes: uncompressed,
    lines,
  });
}
