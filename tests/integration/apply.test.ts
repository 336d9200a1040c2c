import { expect } from 'chai';
import fc from 'fast-check';
import { BatchWriteItemCommand, type WriteRequest } from '@aws-sdk/client-dynamodb';
import {
  EntryFilesMissingError,
  LatestWritePerKey,
  WriteRateLimiter,
  applyDataFiles,
  applyEntries,
  entryDataFiles,
  targetKeyAttributes,
  type ApplyEntry,
} from '../../apply';
import type { Item } from '../../format';
import { startLocalDynamoDb, type LocalDynamoDb } from '../../sim/servers';
import { canonicalTable, generateWorkload } from '../../sim/workload';
import { MemoryS3, contiguousWindows, writeChain } from '../helpers/exportChain';
import { newWorkloadTable, scanTable } from '../helpers/localTables';

const BUCKET = 'apply-bucket';
const PREFIX = 'exports/orders';
const T0 = Date.UTC(2026, 10, 3, 0, 0, 0) / 1000;
const START = T0 + 3600;
const WINDOWS = contiguousWindows(START, 30 * 60, 6);
const END = WINDOWS[WINDOWS.length - 1][1];
const source = generateWorkload({ from: T0, to: END, writesPerMinute: 8, seed: 7, keySpace: 80 });
const noSleep = async () => undefined;

describe('apply engine (apply/) into dynalite', () => {
  let ddb: LocalDynamoDb;
  let counter = 0;
  let s3: MemoryS3;
  let entries: ApplyEntry[];
  before(async () => {
    ddb = await startLocalDynamoDb();
    s3 = new MemoryS3();
    const written = await writeChain({
      s3,
      bucket: BUCKET,
      prefix: PREFIX,
      table: source,
      start: START,
      windows: WINDOWS,
      sink: { itemsPerFile: 40 },
    });
    entries = written.entries.map((e) => e.entry);
  });
  after(async () => ddb?.stop());

  const newTable = (): Promise<string> => newWorkloadTable(ddb.client, `apply-target-${++counter}`);

  const scanAll = (tableName: string): Promise<Item[]> => scanTable(ddb.client, tableName);

  const expectedAt = (sequence: number) =>
    canonicalTable(source.snapshotBefore(sequence === 0 ? START : WINDOWS[sequence - 1][1]));

  it('applies the whole chain grouped (latest record per key) into a table identical to the source at the watermark', async () => {
    const target = await newTable();
    const keyAttributes = await targetKeyAttributes(ddb.client, target);
    const result = await applyEntries(entries, {
      s3,
      dynamodb: ddb.client,
      targetTable: target,
      keyAttributes,
    });
    expect(result).to.include({ entriesApplied: 7, lastSequence: 6 });
    expect(result.deletes).to.be.greaterThan(0);
    // Grouping wrote fewer items than records: keys changed more than once were written once.
    expect(result.writes).to.be.lessThan(result.records);
    const items = await scanAll(target);
    expect(canonicalTable(items)).to.deep.equal(expectedAt(6));
    // Every attribute type of the workload reached the replica.
    const types = new Set(items.flatMap((i) => Object.values(i).map((v) => Object.keys(v as object)[0])));
    for (const t of ['S', 'N', 'B', 'BOOL', 'NULL', 'M', 'L', 'SS', 'NS', 'BS']) expect(types).to.include(t);
  });

  it('reports each entry once it is written, in chain order, and re-applying any suffix changes nothing', async () => {
    const target = await newTable();
    const keyAttributes = await targetKeyAttributes(ddb.client, target);
    const seen: number[] = [];
    const options = { s3, dynamodb: ddb.client, targetTable: target, keyAttributes };
    await applyEntries(entries.slice(0, 4), {
      ...options,
      onEntryApplied: (e) => void seen.push(e.sequence),
    });
    expect(seen).to.deep.equal([0, 1, 2, 3]);
    expect(canonicalTable(await scanAll(target))).to.deep.equal(expectedAt(3));
    await applyEntries(entries.slice(2), options);
    await applyEntries(entries.slice(5), options);
    expect(canonicalTable(await scanAll(target))).to.deep.equal(expectedAt(6));
  });

  it('a worker crash in the middle of a data file is repaired by applying the entry again', async () => {
    const target = await newTable();
    const keyAttributes = await targetKeyAttributes(ddb.client, target);
    await applyEntries(entries.slice(0, 3), { s3, dynamodb: ddb.client, targetTable: target, keyAttributes });
    let calls = 0;
    const crashing = {
      send: async (command: any) => {
        if (command instanceof BatchWriteItemCommand && ++calls === 2) throw new Error('worker killed');
        return ddb.client.send(command);
      },
    };
    const rest = entries.slice(3);
    let error: unknown;
    try {
      await applyEntries(rest, {
        s3,
        dynamodb: crashing,
        targetTable: target,
        keyAttributes,
        concurrency: 1,
        groupWrites: 25,
      });
    } catch (err) {
      error = err;
    }
    expect((error as Error).message).to.equal('worker killed');
    // Part of the entries is written: the table is neither the old nor the new state.
    expect(canonicalTable(await scanAll(target))).to.not.deep.equal(expectedAt(6));
    await applyEntries(rest, { s3, dynamodb: ddb.client, targetTable: target, keyAttributes });
    expect(canonicalTable(await scanAll(target))).to.deep.equal(expectedAt(6));
  });

  it('never fails on throttling: unprocessed items and throttling errors are retried until written', async () => {
    const target = await newTable();
    const keyAttributes = await targetKeyAttributes(ddb.client, target);
    let throttled = 0;
    const throttling = {
      send: async (command: any) => {
        if (command instanceof BatchWriteItemCommand) {
          throttled++;
          const requests: WriteRequest[] = command.input.RequestItems![target];
          // Two calls in three are refused outright or only one write of the batch is accepted.
          if (throttled % 3 === 0)
            throw Object.assign(new Error('slow down'), { name: 'ThrottlingException' });
          if (throttled % 3 === 1 && requests.length > 1) {
            await ddb.client.send(
              new BatchWriteItemCommand({ RequestItems: { [target]: requests.slice(0, 1) } }),
            );
            return { UnprocessedItems: { [target]: requests.slice(1) } };
          }
        }
        return ddb.client.send(command);
      },
    };
    const result = await applyEntries(entries, {
      s3,
      dynamodb: throttling,
      targetTable: target,
      keyAttributes,
      sleep: noSleep,
    });
    expect(result.retries).to.be.greaterThan(2);
    expect(result.batchWriteCalls).to.equal(throttled);
    expect(canonicalTable(await scanAll(target))).to.deep.equal(expectedAt(6));
  });

  it('a Distributed Map worker applies its share of one export; shares in any order give the same table', async () => {
    const target = await newTable();
    const keyAttributes = await targetKeyAttributes(ddb.client, target);
    const options = { s3, dynamodb: ddb.client, targetTable: target, keyAttributes };
    await applyEntries(entries.slice(0, 2), options);
    const { files, format } = await entryDataFiles(s3, entries[2]);
    expect(files.length).to.be.greaterThan(1);
    for (const file of [...files].reverse()) await applyDataFiles(entries[2], [file], format, options);
    expect(canonicalTable(await scanAll(target))).to.deep.equal(expectedAt(2));
  });

  it('an entry whose data file is gone gives EntryFilesMissingError naming the entry and the key, never a skip', async () => {
    const broken = new MemoryS3();
    for (const [k, v] of s3.objects) broken.objects.set(k, v);
    const { files } = await entryDataFiles(s3, entries[4]);
    broken.objects.delete(`${BUCKET}/${files[0].dataFileS3Key}`);
    const target = await newTable();
    const keyAttributes = await targetKeyAttributes(ddb.client, target);
    const applied: number[] = [];
    let error: unknown;
    try {
      await applyEntries(entries, {
        s3: broken,
        dynamodb: ddb.client,
        targetTable: target,
        keyAttributes,
        onEntryApplied: (e) => void applied.push(e.sequence),
      });
    } catch (err) {
      error = err;
    }
    expect(error).to.be.instanceOf(EntryFilesMissingError);
    expect(error).to.include({ sequence: 4, key: files[0].dataFileS3Key });
    expect(applied).to.deep.equal([0, 1, 2, 3]);
  });

  it('an entry whose manifest summary is gone gives EntryFilesMissingError', async () => {
    const broken = new MemoryS3();
    for (const [k, v] of s3.objects) broken.objects.set(k, v);
    broken.objects.delete(`${BUCKET}/${entries[1].manifestSummaryKey}`);
    let error: unknown;
    try {
      await entryDataFiles(broken, entries[1]);
    } catch (err) {
      error = err;
    }
    expect(error).to.be.instanceOf(EntryFilesMissingError);
    expect(error).to.include({ sequence: 1, key: entries[1].manifestSummaryKey });
  });
});

describe('apply engine building blocks', () => {
  it('LatestWritePerKey keeps the last write of each key, in the order of last writes', () => {
    const acc = new LatestWritePerKey();
    const put = (k: string, v: string) => ({
      key: k,
      request: { PutRequest: { Item: { pk: { S: k }, v: { S: v } } } },
    });
    const del = (k: string) => ({ key: k, request: { DeleteRequest: { Key: { pk: { S: k } } } } });
    acc.add([put('a', '1'), put('b', '1'), del('a'), put('c', '1'), put('b', '2')]);
    expect(acc.added).to.equal(5);
    expect(acc.take()).to.deep.equal([del('a').request, put('c', '1').request, put('b', '2').request]);
    expect(acc.size).to.equal(0);
  });

  it('latest write per key leaves a table exactly as applying every write in order (property)', () => {
    const op = fc.record({
      key: fc.constantFrom('a', 'b', 'c', 'd', 'e'),
      put: fc.boolean(),
      value: fc.nat(9),
    });
    fc.assert(
      fc.property(fc.array(fc.array(op, { maxLength: 30 }), { maxLength: 6 }), (entries) => {
        const toOps = (list: (typeof entries)[number]) =>
          list.map(({ key, put, value }) => ({
            key,
            request: put
              ? { PutRequest: { Item: { pk: { S: key }, v: { N: String(value) } } } }
              : { DeleteRequest: { Key: { pk: { S: key } } } },
          }));
        const apply = (table: Map<string, unknown>, request: any) => {
          if (request.PutRequest) table.set(request.PutRequest.Item.pk.S, request.PutRequest.Item);
          else table.delete(request.DeleteRequest.Key.pk.S);
        };
        const oneByOne = new Map<string, unknown>();
        for (const list of entries) for (const o of toOps(list)) apply(oneByOne, o.request);
        const grouped = new Map<string, unknown>();
        const acc = new LatestWritePerKey();
        for (const list of entries) acc.add(toOps(list));
        const writes = acc.take();
        expect(
          new Set(writes.map((w: any) => (w.PutRequest?.Item ?? w.DeleteRequest.Key).pk.S)).size,
        ).to.equal(writes.length);
        for (const w of writes) apply(grouped, w);
        expect(grouped).to.deep.equal(oneByOne);
      }),
      { numRuns: 300 },
    );
  });

  it('WriteRateLimiter holds writes to the configured rate', async () => {
    let clock = 0;
    const limiter = new WriteRateLimiter(
      100,
      () => clock,
      async (ms) => void (clock += ms),
    );
    for (let i = 0; i < 20; i++) await limiter.acquire(25);
    // 500 writes at 100/s: the first second's tokens are there at the start, the rest take 4 s.
    expect(clock).to.be.within(3900, 4100);
  });

  it('WriteRateLimiter without a rate never waits', async () => {
    let slept = 0;
    const limiter = new WriteRateLimiter(
      undefined,
      () => 0,
      async () => void slept++,
    );
    for (let i = 0; i < 100; i++) await limiter.acquire(25);
    expect(slept).to.equal(0);
  });
});
