/**
 * Applying an entry's data files from a record offset and stopping at a write group's end
 * (apply/fileCursor.ts): however an apply is cut into pieces, each going on from where the previous
 * one reported, the table ends as if the files were applied at once, and what a piece reports is
 * written.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { BatchWriteItemCommand } from '@aws-sdk/client-dynamodb';
import { applyFilesFrom, entryDataFiles, type FileCursor } from '../../../apply';
import type { Item } from '../../../format';
import { canonicalTable, generateWorkload } from '../../../sim/workload';
import { MemoryS3, contiguousWindows, writeChain } from '../../helpers/exportChain';

/** The target in memory: BatchWriteItem puts and deletes by (pk, sk). */
class MemoryTable {
  readonly items = new Map<string, Item>();
  async send(command: unknown): Promise<unknown> {
    if (!(command instanceof BatchWriteItemCommand)) throw new Error('unexpected call');
    for (const request of Object.values(command.input.RequestItems!)[0]) {
      const item = (request.PutRequest?.Item ?? request.DeleteRequest?.Key) as Item;
      const key = JSON.stringify([item.pk, item.sk]);
      if (request.PutRequest) this.items.set(key, item);
      else this.items.delete(key);
    }
    return { UnprocessedItems: {} };
  }
}

describe('applying data files from a record offset (apply/fileCursor.ts)', () => {
  const START = Date.UTC(2026, 10, 3) / 1000;
  const source = generateWorkload({
    from: START - 3 * 3600,
    to: START + 900,
    writesPerMinute: 4,
    seed: 41,
    keySpace: 1_000_000,
  });
  const s3 = new MemoryS3();
  let entries: Awaited<ReturnType<typeof writeChain>>['entries'];
  before(async () => {
    ({ entries } = await writeChain({
      s3,
      bucket: 'b',
      prefix: 'p',
      table: source,
      start: START,
      windows: contiguousWindows(START, 900, 1),
      sink: { itemsPerFile: 97 },
    }));
  });

  it('an apply cut into pieces at any group, each from the cursor the previous reported, ends with the table applied at once', async () => {
    for (const sequence of [0, 1]) {
      const entry = entries[sequence].entry;
      const { files, format } = await entryDataFiles(s3, entry);
      const whole = new MemoryTable();
      const base = { s3, keyAttributes: ['pk', 'sk'], memorySizeMb: 1024 };
      await applyFilesFrom(
        entry,
        files,
        format,
        { file: 0, record: 0 },
        {
          ...base,
          dynamodb: whole,
          targetTable: 't',
        },
      );
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 25, max: 300 }),
          fc.array(fc.boolean(), { minLength: 1, maxLength: 200 }),
          async (groupWrites, stops) => {
            const pieces = new MemoryTable();
            let from: FileCursor = { file: 0, record: 0 };
            let asked = 0;
            for (let piece = 0; piece < 10_000; piece++) {
              const reported: FileCursor[] = [];
              const result = await applyFilesFrom(entry, files, format, from, {
                ...base,
                dynamodb: pieces,
                targetTable: 't',
                groupWrites,
                stop: () => stops[asked++ % stops.length],
                onProgress: (at) => reported.push(at),
              });
              // Cursors only move forward, and the last reported is where the next piece starts.
              for (const at of reported) {
                expect(at.file * 1e9 + at.record).to.be.at.least(from.file * 1e9 + from.record);
              }
              if (reported.length > 0) expect(result.cursor).to.deep.equal(reported[reported.length - 1]);
              if (result.done) break;
              // A piece that stops always got somewhere.
              expect(result.cursor).to.not.deep.equal(from);
              from = result.cursor;
            }
            expect(canonicalTable([...pieces.items.values()])).to.deep.equal(
              canonicalTable([...whole.items.values()]),
            );
          },
        ),
        { numRuns: 30 },
      );
    }
  });

  it('starts at a record offset within a file: the records before it are not written', async () => {
    const entry = entries[0].entry;
    const { files, format } = await entryDataFiles(s3, entry);
    const table = new MemoryTable();
    const written: number[] = [];
    const result = await applyFilesFrom(
      entry,
      files,
      format,
      { file: 1, record: 40 },
      {
        s3,
        keyAttributes: ['pk', 'sk'],
        memorySizeMb: 1024,
        dynamodb: { send: (c: BatchWriteItemCommand) => (written.push(1), table.send(c)) } as never,
        targetTable: 't',
      },
    );
    const total = files.reduce((n, f) => n + f.itemCount, 0);
    expect(result).to.include({ done: true, records: total - files[0].itemCount - 40 });
    expect(table.items.size).to.equal(total - files[0].itemCount - 40);
    expect(result.cursor).to.deep.equal({ file: files.length, record: 0 });
  });
});
