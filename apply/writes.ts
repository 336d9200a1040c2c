/**
 * Export records as DynamoDB writes: full-export items and NewImages become puts, changes without a
 * NewImage become deletes. Also the two ways of ordering writes so BatchWriteItem accepts them (it
 * rejects a batch holding two writes to one key): rounds (every write kept, in order) and latest per
 * key (only the last write of each key, which is what the table ends with).
 */
import type { WriteRequest } from '@aws-sdk/client-dynamodb';
import { ExportFormatError, keyOf, keyString, type ExportRecord, type Item } from '../format';
import { writeBytes } from './recordBytes';

/** A put or delete derived from one export record. */
export interface WriteOp {
  /** The item's key as a string, to tell writes to one item apart. */
  key: string;
  request: WriteRequest;
}

/** Turns records into writes: full-export items and NewImages are puts, changes without NewImage deletes. */
export function recordsToWrites(records: ExportRecord[], keyAttributes: readonly string[]): WriteOp[] {
  return records.map((r) => {
    try {
      if (r.kind === 'item') {
        return { key: keyString(r.item, keyAttributes), request: { PutRequest: { Item: r.item } } };
      }
      if (r.newImage) {
        return {
          key: keyString(r.newImage, keyAttributes),
          request: { PutRequest: { Item: r.newImage } },
        };
      }
      const keys: Item = keyOf(r.keys, keyAttributes);
      return { key: keyString(keys, keyAttributes), request: { DeleteRequest: { Key: keys } } };
    } catch (err) {
      // Typically a target table whose key schema is not the source's.
      throw new ExportFormatError(
        r.file,
        r.line,
        `${(err as Error).message} (target key schema: ${keyAttributes.join(', ')})`,
      );
    }
  });
}

/**
 * Splits writes into rounds so that every round holds each key at most once and the writes of one
 * key keep their order across rounds: round r holds the r-th write of every key. Rounds are written
 * one after another.
 */
export function writeRounds(ops: WriteOp[]): WriteRequest[][] {
  const seen = new Map<string, number>();
  const rounds: WriteRequest[][] = [];
  for (const op of ops) {
    const r = seen.get(op.key) ?? 0;
    seen.set(op.key, r + 1);
    (rounds[r] ??= []).push(op.request);
  }
  return rounds;
}

/**
 * Accumulates writes in chain order and keeps only the latest write per key: applying them leaves
 * the table exactly as applying every write in order would, with one write per key.
 */
export class LatestWritePerKey {
  private readonly writes = new Map<string, { request: WriteRequest; bytes: number }>();
  /** Writes added, including those a later write of the same key replaced. */
  added = 0;
  /** Estimated bytes of the writes held (recordBytes.ts): a replaced write no longer counts. */
  bytes = 0;

  add(ops: readonly WriteOp[]): void {
    for (const op of ops) {
      const replaced = this.writes.get(op.key);
      if (replaced) this.bytes -= replaced.bytes;
      const bytes = writeBytes(op);
      this.bytes += bytes;
      // Delete first so the key moves to the end: the map's order stays the order of last writes.
      this.writes.delete(op.key);
      this.writes.set(op.key, { request: op.request, bytes });
      this.added += 1;
    }
  }

  get size(): number {
    return this.writes.size;
  }

  /** The writes held, one per key, and empties the accumulator. */
  take(): WriteRequest[] {
    const out = [...this.writes.values()].map((w) => w.request);
    this.writes.clear();
    this.added = 0;
    this.bytes = 0;
    return out;
  }
}
