/**
 * The apply engine's memory budget (apply/memoryBudget.ts, apply/recordBytes.ts): what it holds is
 * bounded by bytes derived from the memory size, whatever the items' sizes, and the chain is applied
 * exactly all the same. The heap-capped runs (a real memory limit) are in tests/integration/limits.lambda.test.ts.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import {
  REPLICA_MEMORY_SIZE_MB,
  applyChainEntries,
  bufferBudgetBytes,
  bufferShares,
  entryDataFiles,
  flushBeforeAdding,
  groupIsFull,
  lambdaMemorySizeMb,
  recordBytes,
  recordsToWrites,
  writeBytes,
  type ApplyEntry,
} from '../../../apply';
import {
  S3ExportSink,
  keyString,
  streamDataFile,
  type ChangeLineRecord,
  type ChangeRecord,
  type ExportSpec,
  type Item,
} from '../../../format';
import { REPLICA_APPLY_HANDLER } from '../../../functions/shared/lambdaHandlers';
import { MemoryTable } from '../../helpers/memoryTable';
import { MemoryS3, exportArnFor } from '../../helpers/exportChain';

const MIB = 1024 * 1024;
const KEYS = ['pk'];
const BUCKET = 'memory-bucket';
const TABLE = 'memory-target';

/** The in-memory target, for this file's table and keys. */
class FakeTable extends MemoryTable {
  constructor() {
    super(TABLE, KEYS);
  }
}

function item(key: number, bytes: number, version: string): Item {
  return { pk: { S: `k${key}` }, v: { S: version }, blob: { S: 'x'.repeat(bytes) } };
}

describe('apply engine memory budget (apply/memoryBudget.ts)', () => {
  it('is a quarter of the memory size: 256 MB for the replica apply Lambda, whose size the Lambda runtime reports', () => {
    expect(bufferBudgetBytes(REPLICA_APPLY_HANDLER.memorySizeMb)).to.equal(256 * MIB);
    expect(REPLICA_MEMORY_SIZE_MB).to.equal(REPLICA_APPLY_HANDLER.memorySizeMb);
    expect(lambdaMemorySizeMb({ AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '2048' })).to.equal(2048);
    expect(lambdaMemorySizeMb({})).to.equal(REPLICA_APPLY_HANDLER.memorySizeMb);
    expect(() => bufferBudgetBytes(0)).to.throw('memory size must be positive');
  });

  it('splits the budget so that two groups, the files held and the lists read ahead fit it together (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 40 }),
        fc.integer({ min: 0, max: 8 }),
        fc.integer({ min: 0, max: 8 }),
        (budget, manifestReadAhead, dataFileReadAhead) => {
          const shares = bufferShares(budget, { manifestReadAhead, dataFileReadAhead });
          const held =
            2 * shares.groupBytes + (dataFileReadAhead + 1) * shares.fileBytes + shares.manifestBytes;
          expect(held).to.be.at.most(budget);
          // A held file always fits a group; and nothing is read ahead without read-ahead.
          expect(shares.fileBytes).to.equal(shares.groupBytes);
          if (manifestReadAhead === 0) expect(shares.manifestBytes).to.equal(0);
          expect(shares.fileBytes).to.be.at.least(0);
        },
      ),
    );
  });

  it('a group written before what would take it past its share never holds more than its share, or one addition (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000 }),
        fc.array(fc.integer({ min: 0, max: 4_000 }), { maxLength: 60 }),
        (groupBytes, additions) => {
          const shares = { fileBytes: groupBytes, groupBytes, manifestBytes: 0 };
          const written: number[] = [];
          let gathered = 0;
          for (const bytes of additions) {
            if (flushBeforeAdding(gathered, bytes, shares)) (written.push(gathered), (gathered = 0));
            gathered += bytes;
            if (groupIsFull({ writes: 0, bytes: gathered }, Infinity, shares))
              (written.push(gathered), (gathered = 0));
          }
          written.push(gathered);
          for (const group of written) expect(group).to.be.at.most(Math.max(groupBytes, ...additions));
          expect(written.reduce((a, b) => a + b, 0)).to.equal(additions.reduce((a, b) => a + b, 0));
        },
      ),
    );
  });

  it('a NEW_AND_OLD_IMAGES change counts both its images; its write only the image it puts', () => {
    const newImage = item(1, 399 * 1024, 'new');
    const oldImage = item(1, 399 * 1024, 'old');
    const change: ChangeLineRecord = {
      kind: 'change',
      keys: { pk: newImage.pk },
      newImage,
      oldImage,
      file: 'f',
      line: 1,
    };
    expect(recordBytes(change)).to.be.at.least(2 * 399 * 1024);
    const [write] = recordsToWrites([change], KEYS);
    expect(writeBytes(write)).to.be.within(399 * 1024, 400 * 1024);
    // UTF-8 bytes, as DynamoDB sizes items: 'é' is two.
    expect(
      recordBytes({ kind: 'item', item: { pk: { S: 'é'.repeat(1000) } }, file: 'f', line: 1 }),
    ).to.be.at.least(2000);
  });

  it('whatever the items’ sizes, grouping and read-ahead, holds at most its budget and applies the chain exactly (property)', async () => {
    const exportOf = fc.record({
      sizes: fc.array(fc.integer({ min: 0, max: 40_000 }), { minLength: 1, maxLength: 30 }),
      deletes: fc.array(fc.boolean(), { maxLength: 30 }),
      itemsPerFile: fc.integer({ min: 1, max: 12 }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          full: exportOf,
          incremental: exportOf,
          memorySizeMb: fc.double({ min: 0.05, max: 2, noNaN: true }),
          keep: fc.constantFrom('every-write' as const, 'latest-per-key' as const),
          groupWrites: fc.integer({ min: 1, max: 50 }),
          manifestReadAhead: fc.integer({ min: 0, max: 3 }),
          dataFileReadAhead: fc.integer({ min: 0, max: 4 }),
        }),
        async (run) => {
          const s3 = new MemoryS3();
          const expected = new Map<string, Item>();
          const full = run.full.sizes.map((bytes, i) => item(i, bytes, 'full'));
          for (const it of full) expected.set(keyString(it, KEYS), it);
          const changes: ChangeRecord[] = run.incremental.sizes.map((bytes, i) => {
            const key = keyString({ pk: { S: `k${i}` } }, KEYS);
            const oldImage = expected.get(key);
            const newImage = run.incremental.deletes[i] ? undefined : item(i, bytes, 'incremental');
            if (newImage) expected.set(key, newImage);
            else expected.delete(key);
            return { keys: { pk: { S: `k${i}` } }, newImage, oldImage, writeTimeMicros: 1 };
          });
          const entries = [
            await writeExport(s3, 0, run.full.itemsPerFile, (sink, spec) => sink.writeFull(spec, full)),
            await writeExport(s3, 1, run.incremental.itemsPerFile, (sink, spec) =>
              sink.writeIncremental(
                { ...spec, type: 'INCREMENTAL_EXPORT', exportViewType: 'NEW_AND_OLD_IMAGES', from: 0, to: 1 },
                changes,
              ),
            ),
          ];
          const table = new FakeTable();
          const result = await applyChainEntries(
            entries.map((entry) => ({ entry })),
            {
              s3,
              dynamodb: table,
              targetTable: TABLE,
              keyAttributes: KEYS,
              keep: run.keep,
              groupWrites: run.groupWrites,
              onReadFailure: 'write-gathered',
              memorySizeMb: run.memorySizeMb,
              manifestReadAhead: run.manifestReadAhead,
              dataFileReadAhead: run.dataFileReadAhead,
            },
          );
          expect(new Map(table.items)).to.deep.equal(expected);
          // The bound: within the budget, but for a streamed batch of records larger than a group's share.
          const budget = bufferBudgetBytes(run.memorySizeMb);
          const { groupBytes } = bufferShares(budget, run);
          const over = Math.max(0, (await largestStreamedBatch(s3, entries)) - groupBytes);
          expect(result.peakBufferedBytes).to.be.at.most(budget + 2 * over);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('reads manifests ahead only while the lists of data files read ahead fit their share', async () => {
    const s3 = new MemoryS3();
    const entries: ApplyEntry[] = [];
    for (let sequence = 0; sequence < 6; sequence++) {
      const items = Array.from({ length: 10 }, (_, i) => item(sequence * 10 + i, 10, 'full'));
      entries.push(await writeExport(s3, sequence, 1, (sink, spec) => sink.writeFull(spec, items)));
    }
    const summariesRead = () => reads.filter((key) => key.endsWith('manifest-summary.json')).length;
    const reads: string[] = [];
    const counting = new (class extends MemoryS3 {
      override async send(command: any): Promise<any> {
        if (command.constructor.name === 'GetObjectCommand') reads.push(command.input.Key);
        return s3.send(command);
      }
    })();
    /** Summaries read by the time each entry is written. */
    const readAhead = async (memorySizeMb: number) => {
      reads.length = 0;
      const seen: number[] = [];
      await applyChainEntries(
        entries.map((entry) => ({ entry })),
        {
          s3: counting,
          dynamodb: new FakeTable(),
          targetTable: TABLE,
          keyAttributes: KEYS,
          keep: 'latest-per-key',
          groupWrites: 2000,
          endGroupAtEntry: true,
          onReadFailure: 'drop-gathered',
          memorySizeMb,
          manifestReadAhead: 8,
          onEntryApplied: () => void seen.push(summariesRead()),
        },
      );
      return seen;
    };
    // A list of 10 data files takes about 2.6 KB; 0.05 MB leaves 1.6 KB for lists read ahead: one at a time.
    const tiny = await readAhead(0.05);
    // By the time an entry is written: its own, the next one's (gathered while it is written), and one ahead.
    tiny.forEach((read, sequence) => expect(read).to.be.at.most(sequence + 3));
    expect(await readAhead(64)).to.deep.equal([6, 6, 6, 6, 6, 6]);
  });
});

/** Writes one export of the chain and returns its entry. */
async function writeExport(
  s3: MemoryS3,
  sequence: number,
  itemsPerFile: number,
  write: (sink: S3ExportSink, spec: ExportSpec) => Promise<{ manifestSummaryKey: string }>,
): Promise<ApplyEntry> {
  const exportArn = exportArnFor(1000 + sequence, `memory:${sequence}`);
  const spec: ExportSpec = {
    exportArn,
    exportId: exportArn.split('/').pop()!,
    type: 'FULL_EXPORT',
    tableArn: 'arn:aws:dynamodb:us-east-1:123456789012:table/memory',
    bucket: BUCKET,
    prefix: 'exports',
    exportFormat: 'DYNAMODB_JSON',
    exportTime: 0,
    startTime: 0,
    endTime: 0,
  };
  const { manifestSummaryKey } = await write(new S3ExportSink(s3, { itemsPerFile }), spec);
  return { sequence, exportArn, bucket: BUCKET, manifestSummaryKey };
}

/** The bytes of the writes of the largest batch the reader yields from any data file of `entries`. */
async function largestStreamedBatch(s3: MemoryS3, entries: ApplyEntry[]): Promise<number> {
  let largest = 0;
  for (const entry of entries) {
    const { files, format } = await entryDataFiles(s3, entry);
    for (const file of files) {
      for await (const batch of streamDataFile(s3, BUCKET, file, { format })) {
        const bytes = recordsToWrites(batch, KEYS).reduce((sum, op) => sum + writeBytes(op), 0);
        largest = Math.max(largest, bytes);
      }
    }
  }
  return largest;
}
