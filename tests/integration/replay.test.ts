import { expect } from 'chai';
import fc from 'fast-check';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  BatchWriteItemCommand,
  CreateTableCommand,
  DescribeTableCommand,
  PutItemCommand,
  ScanCommand,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { keyString, listExportDataFiles, type Item } from '../../format';
import { replayChain, writeRounds, type ReplayCheckpoint, type ReplayProgress } from '../../cli/replay';
import {
  SyntheticTable,
  WORKLOAD_KEY_ATTRIBUTES,
  canonicalTable,
  generateWorkload,
  WORKLOAD_KEY_SCHEMA,
} from '../../sim/workload';
import { MemoryS3, contiguousWindows, writeChain } from '../helpers/exportChain';
import {
  END,
  HOUR,
  REPLAY_BUCKET as BUCKET,
  REPLAY_PREFIX as PREFIX,
  START,
  T0,
  WINDOWS,
  replaySource,
  useReplayTarget,
} from '../helpers/replayChain';

const source = replaySource();

describe('replay (cli/replay.ts) into dynalite', () => {
  const dynalite = useReplayTarget('replay-target-');
  const { newTable, replayInto, scanAll } = dynalite;
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'dce-replay-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  /** dynalite makes a table ACTIVE on a timer: under load a write can otherwise arrive first. */
  async function untilActive(name: string): Promise<void> {
    for (let i = 0; i < 200; i++) {
      const out = await dynalite.client.send(new DescribeTableCommand({ TableName: name }));
      if (out.Table?.TableStatus === 'ACTIVE') return;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`table ${name} did not become ACTIVE`);
  }

  /** The chain of `source`, written once per data-file size and copied for each test. */
  const chains = new Map<number, { s3: MemoryS3; written: Awaited<ReturnType<typeof writeChain>> }>();
  async function sourceChain(s3: MemoryS3, itemsPerFile = 5000) {
    let cached = chains.get(itemsPerFile);
    if (!cached) {
      const fresh = new MemoryS3();
      cached = { s3: fresh, written: await writeSourceChain(fresh, itemsPerFile) };
      chains.set(itemsPerFile, cached);
    }
    for (const [k, v] of cached.s3.objects) s3.objects.set(k, v);
    return cached.written;
  }

  async function writeSourceChain(s3: MemoryS3, itemsPerFile: number) {
    return writeChain({
      s3,
      bucket: BUCKET,
      prefix: PREFIX,
      table: source,
      start: START,
      windows: WINDOWS,
      sink: { itemsPerFile },
    });
  }

  it('the source traffic exercises inserts, updates, deletes and re-inserts across the chain', () => {
    const changes = WINDOWS.map(([from, to]) => source.changesBetween(from, to));
    const flat = changes.flat();
    expect(flat.some((c) => !c.oldImage && c.newImage)).to.equal(true);
    expect(flat.some((c) => c.oldImage && c.newImage)).to.equal(true);
    expect(flat.some((c) => c.oldImage && !c.newImage)).to.equal(true);
    const deletedIn = new Map<string, number>();
    let reinserts = 0;
    changes.forEach((window, w) =>
      window.forEach((c) => {
        const k = keyString(c.keys, WORKLOAD_KEY_ATTRIBUTES);
        if (!c.newImage) deletedIn.set(k, w);
        else if ((deletedIn.get(k) ?? w) < w) reinserts++;
      }),
    );
    expect(reinserts).to.be.greaterThan(0);
  });

  it('rebuilds the table as of the watermark from the full export and every incremental', async () => {
    const s3 = new MemoryS3();
    await sourceChain(s3);
    const target = await newTable();
    const progress: ReplayProgress[] = [];
    const report = await replayInto(s3, target, {
      onProgress: (p: ReplayProgress) => progress.push(p),
    });
    expect(report).to.include({
      entriesApplied: 7,
      lastSequence: 6,
      watermark: new Date(END * 1000).toISOString(),
    });
    expect(report.itemsApplied).to.equal(report.puts + report.deletes);
    expect(report.deletes).to.be.greaterThan(0);
    const expected = canonicalTable(source.snapshotBefore(END));
    expect(canonicalTable(await scanAll(target))).to.deep.equal(expected);
    // The final table differs from the full export alone: the incrementals mattered.
    expect(canonicalTable(source.snapshotAt(START))).not.to.deep.equal(expected);
    expect(progress.length).to.be.greaterThan(0);
    expect(progress[progress.length - 1]).to.include({
      entriesDone: 7,
      entriesTotal: 7,
      itemsApplied: report.itemsApplied,
    });
    expect(progress.every((p) => p.itemsPerSecond >= 0)).to.equal(true);
  });

  it('stops at `until`: only entries whose window ends by then', async () => {
    const s3 = new MemoryS3();
    await sourceChain(s3);
    const target = await newTable();
    const until = WINDOWS[3][1] + 600; // inside the fifth window
    const report = await replayInto(s3, target, {
      until,
    });
    expect(report.lastSequence).to.equal(4);
    expect(canonicalTable(await scanAll(target))).to.deep.equal(
      canonicalTable(source.snapshotBefore(WINDOWS[3][1])),
    );
  });

  it('resumes after an interruption and ends with the same table', async () => {
    const s3 = new MemoryS3();
    await sourceChain(s3, 10); // many small data files, so the crash lands inside an export
    const target = await newTable();
    const checkpointFile = join(dir, 'resume.json');
    let calls = 0;
    const failing = {
      send: async (command: any) => {
        if (command instanceof BatchWriteItemCommand && ++calls > 20) {
          throw Object.assign(new Error('connection reset by peer'), { name: 'NetworkingError' });
        }
        return dynalite.client.send(command);
      },
    };
    let crashed: unknown;
    try {
      await replayChain({
        s3,
        dynamodb: failing,
        bucket: BUCKET,
        prefix: PREFIX,
        targetTable: target,
        checkpointFile,
        concurrency: 2,
      });
    } catch (err) {
      crashed = err;
    }
    expect((crashed as Error)?.message).to.equal('connection reset by peer');
    const checkpoint: ReplayCheckpoint = JSON.parse(readFileSync(checkpointFile, 'utf8'));
    expect(checkpoint.targetTable).to.equal(target);
    const progressed = checkpoint.appliedSequence >= 0 || (checkpoint.inProgress?.filesApplied ?? 0) > 0;
    expect(progressed, 'some progress was checkpointed').to.equal(true);
    expect(checkpoint.appliedSequence, 'crashed before the end').to.be.below(6);

    // Without resume or force, the partly filled table is refused.
    let refused: unknown;
    try {
      await replayInto(s3, target, {
        checkpointFile,
      });
    } catch (err) {
      refused = err;
    }
    expect((refused as Error)?.message).to.match(/is not empty/);

    const resumed = await replayInto(s3, target, {
      checkpointFile,
      resume: true,
    });
    expect(resumed.resumedFrom).to.deep.equal(
      checkpoint.inProgress
        ? { sequence: checkpoint.inProgress.sequence, filesApplied: checkpoint.inProgress.filesApplied }
        : { sequence: checkpoint.appliedSequence + 1, filesApplied: 0 },
    );
    expect(resumed.entriesApplied).to.equal(6 - checkpoint.appliedSequence);
    expect(resumed.lastSequence).to.equal(6);
    expect(canonicalTable(await scanAll(target))).to.deep.equal(canonicalTable(source.snapshotBefore(END)));
    const finalCheckpoint: ReplayCheckpoint = JSON.parse(readFileSync(checkpointFile, 'utf8'));
    expect(finalCheckpoint).to.deep.equal({
      epoch: checkpoint.epoch,
      targetTable: target,
      appliedSequence: 6,
    });
  });

  it('retries unprocessed items with backoff', async () => {
    const s3 = new MemoryS3();
    await sourceChain(s3);
    const target = await newTable();
    let throttled = 0;
    const flaky = {
      send: async (command: any) => {
        if (command instanceof BatchWriteItemCommand) {
          const requests: WriteRequest[] = command.input.RequestItems![target];
          if (requests.length > 1 && throttled < 20) {
            // Accept the first half, hand back the rest as DynamoDB does under throttling.
            throttled++;
            const half = Math.floor(requests.length / 2);
            await dynalite.client.send(
              new BatchWriteItemCommand({ RequestItems: { [target]: requests.slice(0, half) } }),
            );
            return { UnprocessedItems: { [target]: requests.slice(half) } };
          }
          if (throttled === 20) {
            throttled++;
            throw Object.assign(new Error('slow down'), { name: 'ProvisionedThroughputExceededException' });
          }
        }
        return dynalite.client.send(command);
      },
    };
    await replayChain({
      s3,
      dynamodb: flaky,
      bucket: BUCKET,
      prefix: PREFIX,
      targetTable: target,
      baseDelayMs: 1,
    });
    expect(throttled).to.equal(21);
    expect(canonicalTable(await scanAll(target))).to.deep.equal(canonicalTable(source.snapshotBefore(END)));
  });

  it('refuses a non-empty table unless forced', async () => {
    const s3 = new MemoryS3();
    await sourceChain(s3);
    const target = await newTable();
    await dynalite.client.send(
      new PutItemCommand({ TableName: target, Item: { pk: { S: 'stranger' }, sk: { N: '0' } } }),
    );
    let refused: unknown;
    try {
      await replayInto(s3, target);
    } catch (err) {
      refused = err;
    }
    expect((refused as Error)?.message)
      .to.contain(`table ${target} is not empty`)
      .and.to.contain('force');
    expect(await scanAll(target)).to.have.length(1);

    await replayInto(s3, target, {
      force: true,
    });
    const expected = canonicalTable([
      ...source.snapshotBefore(END),
      { pk: { S: 'stranger' }, sk: { N: '0' } },
    ]);
    expect(canonicalTable(await scanAll(target))).to.deep.equal(expected);
  });

  it('never applies a data file that fails its checksum, and names it', async () => {
    const s3 = new MemoryS3();
    const written = await sourceChain(s3);
    const third = written.entries[3].entry;
    const [file] = await listExportDataFiles(s3, BUCKET, third.manifestSummaryKey);
    // A well-formed file with a valid line, but not the bytes the manifest vouches for.
    s3.set(BUCKET, file.dataFileS3Key, gzipSync('{"Keys":{"pk":{"S":"item#0"},"sk":{"N":"0"}}}\n'));
    const target = await newTable();
    const checkpointFile = join(dir, 'bad-file.json');
    let caught: unknown;
    try {
      await replayInto(s3, target, {
        checkpointFile,
      });
    } catch (err) {
      caught = err;
    }
    expect((caught as Error)?.message)
      .to.contain(file.dataFileS3Key)
      .and.to.contain('MD5');
    const checkpoint: ReplayCheckpoint = JSON.parse(readFileSync(checkpointFile, 'utf8'));
    expect(checkpoint.appliedSequence).to.equal(2);
    expect(checkpoint.inProgress).to.equal(undefined);
    expect(canonicalTable(await scanAll(target))).to.deep.equal(
      canonicalTable(source.snapshotBefore(Date.parse(third.from) / 1000)),
    );
  });

  it('refuses a chain with a gap', async () => {
    const s3 = new MemoryS3();
    await writeChain({
      s3,
      bucket: BUCKET,
      prefix: PREFIX,
      table: source,
      start: START,
      windows: [
        [START, START + HOUR],
        [START + HOUR + 60, START + 2 * HOUR],
      ],
    });
    const target = await newTable();
    let caught: unknown;
    try {
      await replayInto(s3, target);
    } catch (err) {
      caught = err;
    }
    expect((caught as Error)?.message).to.match(/not contiguous.*gap/);
    expect(await scanAll(target)).to.deep.equal([]);
  });

  it('names the data file and line when the target key schema does not fit the records', async () => {
    const s3 = new MemoryS3();
    const written = await sourceChain(s3);
    const target = 'replay-target-keyed-by-id';
    await dynalite.client.send(
      new CreateTableCommand({
        TableName: target,
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    await untilActive(target);
    const [file] = await listExportDataFiles(s3, BUCKET, written.entries[0].entry.manifestSummaryKey);
    let caught: unknown;
    try {
      await replayInto(s3, target);
    } catch (err) {
      caught = err;
    }
    expect((caught as Error)?.message).to.equal(
      `${file.dataFileS3Key} line 1: item has no key attribute id (target key schema: id)`,
    );
  });

  it('applies a full export of 10,000 items within a few seconds', async function () {
    this.timeout(30000);
    const big = new SyntheticTable(WORKLOAD_KEY_ATTRIBUTES);
    const payload = new Uint8Array(64).fill(7);
    for (let i = 0; i < 10_000; i++) {
      big.put((T0 - 10) * 1e6 + i, {
        pk: { S: `bulk#${i}` },
        sk: { N: String(i % 3) },
        n: { N: String(i) },
        b: { B: payload },
      });
    }
    const s3 = new MemoryS3();
    await writeChain({ s3, bucket: BUCKET, prefix: PREFIX, table: big, start: T0, windows: [] });
    const target = await newTable();
    const started = Date.now();
    const report = await replayInto(s3, target);
    const elapsed = Date.now() - started;
    expect(report.puts).to.equal(10_000);
    const count = await dynalite.client.send(new ScanCommand({ TableName: target, Select: 'COUNT' }));
    let total = count.Count ?? 0;
    let start = count.LastEvaluatedKey;
    while (start) {
      const more = await dynalite.client.send(
        new ScanCommand({ TableName: target, Select: 'COUNT', ExclusiveStartKey: start }),
      );
      total += more.Count ?? 0;
      start = more.LastEvaluatedKey;
    }
    expect(total).to.equal(10_000);
    expect(elapsed, `${elapsed} ms`).to.be.below(15000);
  });

  it('needs a checkpoint file to resume, and rejects one from another table', async () => {
    const s3 = new MemoryS3();
    await sourceChain(s3);
    const target = await newTable();
    let caught: unknown;
    try {
      await replayInto(s3, target, {
        resume: true,
      });
    } catch (err) {
      caught = err;
    }
    expect((caught as Error)?.message).to.match(/resume needs a checkpoint file/);
    const other = join(dir, 'other.json');
    await replayInto(s3, target, {
      checkpointFile: other,
      until: START,
    });
    expect(existsSync(other)).to.equal(true);
    const second = await newTable();
    caught = undefined;
    try {
      await replayInto(s3, second, {
        checkpointFile: other,
        resume: true,
      });
    } catch (err) {
      caught = err;
    }
    expect((caught as Error)?.message).to.contain(`is for table ${target}`);
  });
});

describe('replay write rounds (pure)', () => {
  it('keeps each key once per round and the order of each key across rounds', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 6 }), { maxLength: 60 }), (keys) => {
        const ops = keys.map((k, i) => ({
          key: `k${k}`,
          request: { PutRequest: { Item: { pk: { S: `k${k}` }, seq: { N: String(i) } } } },
        }));
        const rounds = writeRounds(ops);
        const flat = rounds.flat();
        expect(flat).to.have.length(ops.length);
        for (const round of rounds) {
          const ks = round.map((r) => r.PutRequest!.Item!.pk.S);
          expect(new Set(ks).size).to.equal(ks.length);
        }
        // Writes of one key appear in rounds in their original order.
        const order = new Map<string, number[]>();
        for (const r of flat) {
          const k = r.PutRequest!.Item!.pk.S!;
          order.set(k, [...(order.get(k) ?? []), Number(r.PutRequest!.Item!.seq.N)]);
        }
        for (const seqs of order.values()) expect(seqs).to.deep.equal([...seqs].sort((a, b) => a - b));
      }),
    );
  });
});

describe('replay (cli/replay.ts): grouped writes keep the order of each key', () => {
  /** A table behind BatchWriteItem that answers out of order and records every write per key. */
  function recordingTable(delays: number[]) {
    const items = new Map<string, Item>();
    const writesByKey = new Map<string, string[]>();
    let call = 0;
    return {
      items,
      writesByKey,
      async send(command: any): Promise<any> {
        const name: string = command.constructor.name;
        if (name === 'DescribeTableCommand') {
          return {
            Table: {
              KeySchema: WORKLOAD_KEY_SCHEMA,
            },
          };
        }
        if (name === 'ScanCommand') return { Items: [] };
        if (name !== 'BatchWriteItemCommand') throw new Error(`unexpected ${name}`);
        const requests: WriteRequest[] = Object.values<WriteRequest[]>(command.input.RequestItems)[0];
        const keys = requests.map((r) =>
          keyString((r.PutRequest?.Item ?? r.DeleteRequest?.Key) as Item, WORKLOAD_KEY_ATTRIBUTES),
        );
        expect(new Set(keys).size, 'a batch holds each key once').to.equal(keys.length);
        const turns = delays[call++ % delays.length];
        for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r));
        requests.forEach((r, i) => {
          const list = writesByKey.get(keys[i]) ?? [];
          if (r.PutRequest) {
            items.set(keys[i], r.PutRequest.Item as Item);
            list.push(`put ${canonicalTable([r.PutRequest.Item as Item])[0]}`);
          } else {
            items.delete(keys[i]);
            list.push('delete');
          }
          writesByKey.set(keys[i], list);
        });
        return { UnprocessedItems: {} };
      },
    };
  }

  it('applies the writes of every key in chain order, grouped or one file at a time', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dce-replay-order-'));
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 1000 }),
          fc.integer({ min: 2, max: 12 }),
          fc.integer({ min: 1, max: 7 }),
          fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 16 }),
          async (seed, keySpace, itemsPerFile, delays) => {
            const windows = contiguousWindows(START, 15 * 60, 12);
            const end = windows[windows.length - 1][1];
            const table = generateWorkload({ from: T0, to: end, writesPerMinute: 3, seed, keySpace });
            const s3 = new MemoryS3();
            await writeChain({
              s3,
              bucket: BUCKET,
              prefix: PREFIX,
              table,
              start: START,
              windows,
              sink: { itemsPerFile },
            });
            // One file at a time (a checkpoint file is kept) is the reference order.
            const oneByOne = recordingTable(delays);
            const checkpointFile = join(dir, `order-${seed}-${keySpace}-${itemsPerFile}.json`);
            const a = await replayChain({
              s3,
              dynamodb: oneByOne,
              bucket: BUCKET,
              prefix: PREFIX,
              targetTable: 'grouped-order',
              checkpointFile,
              concurrency: 3,
            });
            const grouped = recordingTable([...delays].reverse());
            const b = await replayChain({
              s3,
              dynamodb: grouped,
              bucket: BUCKET,
              prefix: PREFIX,
              targetTable: 'grouped-order',
              concurrency: 3,
            });
            expect(b).to.deep.include({
              entriesApplied: a.entriesApplied,
              lastSequence: a.lastSequence,
              watermark: a.watermark,
              puts: a.puts,
              deletes: a.deletes,
              itemsApplied: a.itemsApplied,
            });
            expect([...grouped.writesByKey.entries()].sort()).to.deep.equal(
              [...oneByOne.writesByKey.entries()].sort(),
            );
            expect(canonicalTable([...grouped.items.values()])).to.deep.equal(
              canonicalTable(table.snapshotBefore(end)),
            );
          },
        ),
        { numRuns: 15 },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
