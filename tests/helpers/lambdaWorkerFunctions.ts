/**
 * Functions run as Lambda invocations in a heap-capped worker by tests/integration/limits.lambda.test.ts
 * (sim/machines/lambdaWorker.ts). Each builds what it needs itself: a worker shares nothing with the test.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { bufferBudgetBytes, bufferShares, readCheckedDataFile } from '../../apply';
import type { DataFileEntry, S3Sender } from '../../format';

const KEY = 'exports/AWSDynamoDB/01/data/large-items.json.gz';

/** A gzipped DYNAMODB_JSON data file of `items` items, each with a `blob` string of `itemKb` KB. */
async function largeItemsFile(items: number, itemKb: number): Promise<{ gz: Buffer; entry: DataFileEntry }> {
  async function* lines() {
    for (let i = 0; i < items; i++) {
      const blob = `${i}:`.padEnd(itemKb * 1024, String.fromCharCode(97 + (i % 26)));
      yield `{"Item":{"pk":{"S":"item#${i}"},"blob":{"S":"${blob}"}}}\n`;
    }
  }
  const chunks: Buffer[] = [];
  for await (const chunk of Readable.from(lines()).pipe(createGzip())) chunks.push(chunk as Buffer);
  const gz = Buffer.concat(chunks);
  const md5Checksum = createHash('md5').update(gz).digest('base64');
  return { gz, entry: { itemCount: items, md5Checksum, etag: '', dataFileS3Key: KEY } };
}

/**
 * The apply engine's read of one data file (apply/entryFiles.ts `readCheckedDataFile`), as the
 * replica's apply Lambda does it (no read-ahead): held in memory while its records fit the file's
 * share of the budget of a function of `budgetMemorySizeMb`, else checked by a streamed read.
 */
export async function readLargeItems(event: {
  items: number;
  itemKb: number;
  budgetMemorySizeMb: number;
}): Promise<{ held: number } | { streamed: number }> {
  const { gz, entry } = await largeItemsFile(event.items, event.itemKb);
  const s3: S3Sender = { send: async () => ({ Body: Readable.from([gz]) }) };
  const shares = bufferShares(bufferBudgetBytes(event.budgetMemorySizeMb), {
    manifestReadAhead: 0,
    dataFileReadAhead: 0,
  });
  const read = await readCheckedDataFile(s3, 'bucket', entry, 'DYNAMODB_JSON', shares);
  return 'records' in read ? { held: read.records.length } : { streamed: read.stream.file.itemCount };
}

/** Answers `bytes` characters. */
export async function answerOfSize(event: { bytes: number }): Promise<string> {
  return 'x'.repeat(event.bytes);
}

/** Never yields: only terminating the worker stops it. */
export function spin(): never {
  for (;;) {
    // a synchronous loop, as a runaway handler would be
  }
}

/** Throws an error named as the handler names it. */
export async function fail(event: { name: string; message: string }): Promise<never> {
  throw Object.assign(new Error(event.message), { name: event.name });
}
