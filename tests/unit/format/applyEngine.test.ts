import { expect } from 'chai';
import fc from 'fast-check';
import { gzipSync } from 'node:zlib';
import {
  EntryFilesMissingError,
  applyChainEntries,
  entryDataFiles,
  type ApplyEngineOptions,
  type ApplyEntry,
} from '../../../apply';
import { ExportFormatError } from '../../../format';
import { WORKLOAD_KEY_ATTRIBUTES, canonicalTable, generateWorkload } from '../../../sim/workload';
import { MemoryTable } from '../../helpers/memoryTable';
import { MemoryS3, contiguousWindows, writeChain } from '../../helpers/exportChain';

const BUCKET = 'engine-bucket';
const PREFIX = 'exports/orders';
const TABLE = 'engine-target';
const T0 = Date.UTC(2026, 10, 3, 0, 0, 0) / 1000;
const START = T0 + 3600;
const WINDOWS = contiguousWindows(START, 30 * 60, 6);
const END = WINDOWS[WINDOWS.length - 1][1];
const source = generateWorkload({ from: T0, to: END, writesPerMinute: 8, seed: 11, keySpace: 60 });
const KEYS = WORKLOAD_KEY_ATTRIBUTES;
const expectedAt = (sequence: number) =>
  canonicalTable(source.snapshotBefore(sequence === 0 ? START : WINDOWS[sequence - 1][1]));

/** The in-memory target, for this file's table and keys. */
class FakeTable extends MemoryTable {
  constructor() {
    super(TABLE, KEYS);
  }
}

describe('apply engine (apply/applyEngine.ts): every option of its callers gives the same table', () => {
  let s3: MemoryS3;
  let entries: ApplyEntry[];
  before(async () => {
    s3 = new MemoryS3();
    const written = await writeChain({
      s3,
      bucket: BUCKET,
      prefix: PREFIX,
      table: source,
      start: START,
      windows: WINDOWS,
      sink: { itemsPerFile: 15 },
    });
    entries = written.entries.map((e) => e.entry);
  });

  const baseOptions = (table: FakeTable): ApplyEngineOptions<ApplyEntry> => ({
    s3,
    dynamodb: table,
    targetTable: TABLE,
    keyAttributes: KEYS,
    keep: 'every-write',
    groupWrites: 2000,
    onReadFailure: 'write-gathered',
  });

  it('any grouping, read-ahead and in-memory limit ends with the source at the watermark (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          keep: fc.constantFrom('every-write' as const, 'latest-per-key' as const),
          groupWrites: fc.integer({ min: 1, max: 300 }),
          filesPerGroup: fc.constantFrom(1, 2, 5, Infinity),
          endGroupAtEntry: fc.boolean(),
          manifestReadAhead: fc.integer({ min: 0, max: 8 }),
          dataFileReadAhead: fc.integer({ min: 0, max: 6 }),
          // From a budget of 2.5 KB (every data file streamed, a group per batch) to one holding everything.
          memorySizeMb: fc.constantFrom(0.01, 0.05, 0.2, 64),
          concurrency: fc.integer({ min: 1, max: 4 }),
        }),
        async (variant) => {
          const table = new FakeTable();
          const applied: { sequence: number; table: string[] }[] = [];
          const files: string[] = [];
          const result = await applyChainEntries(
            entries.map((entry) => ({ entry })),
            {
              ...baseOptions(table),
              ...variant,
              onFileApplied: (entry, n) => void files.push(`${entry.sequence}/${n}`),
              onEntryApplied: (entry) =>
                void applied.push({ sequence: entry.sequence, table: table.canonical() }),
            },
          );
          expect(table.canonical()).to.deep.equal(expectedAt(6));
          expect(applied.map((a) => a.sequence)).to.deep.equal([0, 1, 2, 3, 4, 5, 6]);
          // Ending groups at every entry makes the table at each entry's step exactly that entry's.
          if (variant.endGroupAtEntry) {
            for (const a of applied) expect(a.table).to.deep.equal(expectedAt(a.sequence));
          }
          // Every data file is reported once, in chain and manifest order.
          const expectedFiles: string[] = [];
          for (const entry of entries) {
            const { files: listed } = await entryDataFiles(s3, entry);
            listed.forEach((_, i) => expectedFiles.push(`${entry.sequence}/${i + 1}`));
          }
          expect(files).to.deep.equal(expectedFiles);
          expect(result.records).to.equal(result.puts + result.deletes);
          expect(table.writes).to.equal(result.writes);
          if (variant.keep === 'every-write') expect(result.writes).to.equal(result.records);
          else expect(result.writes).to.be.at.most(result.records);
        },
      ),
      { numRuns: 25 },
    );
  });

  it('skipFiles applies an entry from that data file on', async () => {
    const { files } = await entryDataFiles(s3, entries[0]);
    expect(files.length).to.be.greaterThan(2);
    const table = new FakeTable();
    const result = await applyChainEntries([{ entry: entries[0], skipFiles: 2 }], baseOptions(table));
    const rest = files.slice(2).reduce((n, f) => n + f.itemCount, 0);
    expect(result.filesApplied).to.equal(files.length - 2);
    expect(result.puts).to.equal(rest);
    expect(table.items.size).to.equal(rest);
  });

  /** The chain with the first data file of entry 4 replaced by bytes its manifest does not vouch for. */
  async function corruptedChain(): Promise<{ broken: MemoryS3; key: string }> {
    const broken = new MemoryS3();
    for (const [k, v] of s3.objects) broken.objects.set(k, v);
    const { files } = await entryDataFiles(s3, entries[4]);
    broken.set(BUCKET, files[0].dataFileS3Key, gzipSync('{"Keys":{"pk":{"S":"item#0"},"sk":{"N":"0"}}}\n'));
    return { broken, key: files[0].dataFileS3Key };
  }

  for (const dataFileReadAhead of [0, 4]) {
    it(`a failed read with 'write-gathered' writes everything before the bad file (read-ahead ${dataFileReadAhead})`, async () => {
      const { broken, key } = await corruptedChain();
      const table = new FakeTable();
      const applied: number[] = [];
      const run = applyChainEntries(
        entries.map((entry) => ({ entry })),
        {
          ...baseOptions(table),
          s3: broken,
          groupWrites: 100_000,
          dataFileReadAhead,
          manifestReadAhead: dataFileReadAhead,
          onEntryApplied: (e) => void applied.push(e.sequence),
        },
      );
      const error = await run.then(
        () => undefined,
        (err: unknown) => err,
      );
      expect((error as Error)?.message).to.contain(key);
      expect(applied).to.deep.equal([0, 1, 2, 3]);
      expect(table.canonical()).to.deep.equal(expectedAt(3));
    });
  }

  it("a failed read with 'drop-gathered' writes nothing gathered since the last group", async () => {
    const { broken } = await corruptedChain();
    const table = new FakeTable();
    const applied: number[] = [];
    const error = await applyChainEntries(
      entries.map((entry) => ({ entry })),
      {
        ...baseOptions(table),
        s3: broken,
        groupWrites: 100_000,
        onReadFailure: 'drop-gathered',
        onEntryApplied: (e) => void applied.push(e.sequence),
      },
    ).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).to.be.instanceOf(Error);
    expect(applied).to.deep.equal([]);
    expect(table.items.size).to.equal(0);
  });

  for (const typedMissingFiles of [true, false]) {
    it(`a missing data file is ${typedMissingFiles ? 'EntryFilesMissingError' : 'the reader’s ExportFormatError'} (typedMissingFiles ${typedMissingFiles})`, async () => {
      const broken = new MemoryS3();
      for (const [k, v] of s3.objects) broken.objects.set(k, v);
      const { files } = await entryDataFiles(s3, entries[2]);
      broken.objects.delete(`${BUCKET}/${files[1].dataFileS3Key}`);
      const error = await applyChainEntries(
        entries.map((entry) => ({ entry })),
        { ...baseOptions(new FakeTable()), s3: broken, typedMissingFiles, dataFileReadAhead: 3 },
      ).then(
        () => undefined,
        (err: unknown) => err,
      );
      if (typedMissingFiles) {
        expect(error).to.be.instanceOf(EntryFilesMissingError);
        expect(error).to.include({ sequence: 2, key: files[1].dataFileS3Key });
      } else {
        expect(error).to.be.instanceOf(ExportFormatError);
        expect(error).to.include({ missing: true, key: files[1].dataFileS3Key });
      }
    });
  }
});
