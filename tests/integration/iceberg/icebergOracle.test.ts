/**
 * The offline oracle of the Iceberg feed: the builder's exact SQL, run on DuckDB over export files the
 * format module writes, leaves the lake equal to a reference fold of the chain, export by export and in
 * batches, for fixed and random histories.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { canonicalItem } from '../../../format';
import { mergeSql, type ColumnSpec } from '../../../functions/iceberg/sql';
import { DuckAthena, icebergBucket, murmur3x86_32 } from '../../../sim/athenaDuck';
import { SimpleTable } from '../../../sim/simpleTable';
import { MemoryS3, writeChain } from '../../helpers/exportChain';
import { itemArbitrary } from '../../helpers/formatArbitraries';
import {
  LAKE_BUCKET,
  LAKE_PREFIX,
  batchExport,
  batches,
  foldChain,
  lakeRows,
  mergeChain,
  oracleAthena,
  oracleSpec,
  sorted,
  writeSymlinks,
} from '../../helpers/icebergOracle';

const T0 = Date.UTC(2026, 10, 3) / 1000;
const item = (pk: string, v: number, extra: Record<string, AttributeValue> = {}) =>
  SimpleTable.item(pk, { v: { N: String(v) }, ...extra });

/** The reference's fixture: full export of a, b, c; then update a, delete b, insert d, delete a key never seen, an empty window; then re-insert b, delete d, update c. */
function fixtureTable(): SimpleTable {
  const t = new SimpleTable();
  t.put(T0 - 30, item('a', 1));
  t.put(T0 - 20, item('b', 1));
  t.put(T0 - 10, item('c', 1));
  t.put(T0 + 100, item('a', 2));
  t.delete(T0 + 200, { pk: { S: 'b' } });
  t.put(T0 + 300, item('d', 1));
  t.put(T0 + 310, item('z', 1));
  t.delete(T0 + 320, { pk: { S: 'z' } });
  t.put(T0 + 1900, item('b', 7));
  t.delete(T0 + 2000, { pk: { S: 'd' } });
  t.put(T0 + 2100, item('c', 3));
  return t;
}

const WINDOWS: [number, number][] = [
  [T0, T0 + 900],
  [T0 + 900, T0 + 1800],
  [T0 + 1800, T0 + 2700],
];

async function chainOf(
  table: SimpleTable,
  windows: [number, number][],
  options: { itemsPerFile?: number } = {},
) {
  const s3 = new MemoryS3();
  const chain = await writeChain({
    s3,
    bucket: LAKE_BUCKET,
    prefix: LAKE_PREFIX,
    table,
    start: windows[0]?.[0] ?? T0,
    windows,
    sink: { itemsPerFile: options.itemsPerFile ?? 2 },
  });
  return { s3, chain, entries: chain.entries.map((e) => e.entry) };
}

describe('Iceberg feed SQL on DuckDB (the offline oracle)', function () {
  this.timeout(120_000);

  it('merges the fixture chain export by export to the fold: updates, deletes, inserts, re-inserts, empty exports', async () => {
    const spec = oracleSpec();
    const { s3, chain, entries } = await chainOf(fixtureTable(), WINDOWS);
    await writeSymlinks(s3, spec, entries);
    const duck = await oracleAthena(s3, spec);
    try {
      await mergeChain(duck, spec, chain.epoch, batches(entries, [1]));
      const lake = await lakeRows(duck, spec, chain.epoch);
      expect(sorted(lake)).to.deep.equal(sorted(await foldChain(s3, spec, entries)));
      expect([...lake.keys()].sort()).to.deep.equal(['a', 'b', 'c']);
      expect(lake.get('a')).to.include({ seq: 1, item: canonicalItem(item('a', 2)) });
      expect(lake.get('b')).to.include({ seq: 3, item: canonicalItem(item('b', 7)) });
      expect(lake.get('c')).to.include({ seq: 3, writeMicros: String((T0 + 2100) * 1e6) });
    } finally {
      duck.close();
    }
  });

  it('a batch of several exports gives exactly the export-by-export result', async () => {
    const spec = oracleSpec();
    const { s3, chain, entries } = await chainOf(fixtureTable(), WINDOWS);
    await writeSymlinks(s3, spec, entries);
    const one = await oracleAthena(s3, spec);
    const all = await oracleAthena(s3, spec);
    try {
      await mergeChain(one, spec, chain.epoch, batches(entries, [1]));
      await mergeChain(all, spec, chain.epoch, batches(entries, [3]));
      expect(sorted(await lakeRows(all, spec, chain.epoch))).to.deep.equal(
        sorted(await lakeRows(one, spec, chain.epoch)),
      );
    } finally {
      one.close();
      all.close();
    }
  });

  it('random histories (inserts, updates, deletes, re-inserts, empty exports, any batching) equal the fold', async () => {
    const op = fc.record({
      key: fc.integer({ min: 0, max: 7 }),
      kind: fc.constantFrom('put', 'put', 'delete'),
      v: fc.integer({ min: 0, max: 1000 }),
      dt: fc.integer({ min: 1, max: 400 }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(op, { maxLength: 40 }),
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        async (ops, windowCount, sizes, sortedKey) => {
          const spec = oracleSpec({ sorted: sortedKey });
          const table = new SimpleTable(sortedKey ? ['pk', 'sk'] : ['pk']);
          let t = T0 - 500;
          for (const o of ops) {
            t += o.dt;
            const keys: Record<string, AttributeValue> = { pk: { S: `k${o.key % 4}` } };
            if (sortedKey) keys.sk = { N: String(o.key) };
            if (o.kind === 'put') table.put(t, { ...keys, v: { N: String(o.v) } });
            else table.delete(t, keys);
          }
          const windows = Array.from({ length: windowCount }, (_, i): [number, number] => [
            T0 + i * 900,
            T0 + (i + 1) * 900,
          ]);
          const { s3, chain, entries } = await chainOf(table, windows);
          await writeSymlinks(s3, spec, entries);
          const duck = await oracleAthena(s3, spec);
          try {
            await mergeChain(duck, spec, chain.epoch, batches(entries, sizes));
            expect(sorted(await lakeRows(duck, spec, chain.epoch))).to.deep.equal(
              sorted(await foldChain(s3, spec, entries)),
            );
          } finally {
            duck.close();
          }
        },
      ),
      { numRuns: 25 },
    );
  });

  it('a crash between MERGE and Commit: the same batch merged again changes nothing', async () => {
    const spec = oracleSpec();
    const { s3, chain, entries } = await chainOf(fixtureTable(), WINDOWS);
    await writeSymlinks(s3, spec, entries);
    const duck = await oracleAthena(s3, spec);
    try {
      const groups = batches(entries, [2]);
      await mergeChain(duck, spec, chain.epoch, groups);
      const before = sorted(await lakeRows(duck, spec, chain.epoch));
      // The cursor still says the last batch is not applied: the plan hands it out again.
      await duck.execute(mergeSql(spec, chain.epoch, groups[groups.length - 1].map(batchExport)));
      expect(sorted(await lakeRows(duck, spec, chain.epoch))).to.deep.equal(before);
    } finally {
      duck.close();
    }
  });

  it('a stale re-application (an older batch after newer ones) changes no row the table holds', async () => {
    const spec = oracleSpec();
    const { s3, chain, entries } = await chainOf(fixtureTable(), WINDOWS);
    await writeSymlinks(s3, spec, entries);
    const duck = await oracleAthena(s3, spec);
    try {
      await mergeChain(duck, spec, chain.epoch, batches(entries, [1]));
      const before = await lakeRows(duck, spec, chain.epoch);
      for (const entry of entries.slice(0, -1))
        await duck.execute(mergeSql(spec, chain.epoch, [batchExport(entry)]));
      const after = await lakeRows(duck, spec, chain.epoch);
      // Every row present keeps its newer state (the _write_ts_micros guard). A key deleted since
      // (d) would come back from an older insert: the cursor's compare-and-set never plans one.
      for (const [key, row] of before) expect(after.get(key), key).to.deep.equal(row);
      expect([...after.keys()].filter((k) => !before.has(k))).to.deep.equal(['d']);
    } finally {
      duck.close();
    }
  });

  it('refuses a MERGE whose target row matches two source rows (MERGE_TARGET_ROW_MULTIPLE_MATCHES), as Athena does', async () => {
    const spec = oracleSpec();
    const { s3, chain, entries } = await chainOf(fixtureTable(), WINDOWS);
    await writeSymlinks(s3, spec, entries);
    const duck = await oracleAthena(s3, spec);
    try {
      await mergeChain(duck, spec, chain.epoch, batches(entries, [1]).slice(0, 1));
      const sql = mergeSql(spec, chain.epoch, entries.slice(1, 4).map(batchExport));
      // Without the deduplication, b and d appear once per export of the batch that changed them.
      const undeduplicated = sql.replace(') AS x WHERE "rn" = 1', ') AS x');
      expect(undeduplicated).not.to.equal(sql);
      const error = await duck.execute(undeduplicated).catch((e: Error) => e);
      expect(String(error)).to.match(/MERGE_TARGET_ROW_MULTIPLE_MATCHES/);
      await duck.execute(sql);
    } finally {
      duck.close();
    }
  });

  it("refuses a MERGE writing more than 100 buckets (HIVE_TOO_MANY_OPEN_PARTITIONS), counted with Iceberg's bucket transform", async () => {
    // The Iceberg spec's test vector for bucket hashing of a string.
    expect(murmur3x86_32(Buffer.from('iceberg', 'utf8'))).to.equal(1210000089);
    const table = new SimpleTable();
    for (let i = 0; i < 400; i++) table.put(T0 - 100, item(`k${i}`, i));
    const { s3, chain, entries } = await chainOf(table, WINDOWS.slice(0, 1), { itemsPerFile: 200 });
    const keys = Array.from({ length: 400 }, (_, i) => `k${i}`);
    expect(new Set(keys.map((k) => icebergBucket(k, 200))).size).to.be.greaterThan(100);
    for (const [buckets, refused] of [
      [200, true],
      [100, false],
    ] as const) {
      // The config allows at most 100 buckets; the builder does not check, the stand-in refuses the write.
      const spec = { ...oracleSpec(), bucketPartitions: buckets };
      await writeSymlinks(s3, spec, entries);
      const duck = await oracleAthena(s3, spec);
      try {
        const error = await mergeChain(duck, spec, chain.epoch, [entries.slice(0, 1)]).catch((e: Error) => e);
        if (refused) expect(String(error)).to.match(/HIVE_TOO_MANY_OPEN_PARTITIONS.*writes \d+ buckets/);
        else expect(error).to.equal(undefined);
      } finally {
        duck.close();
      }
    }
  });

  it('every attribute type round-trips through the item column (sets, binary, 38-digit numbers, nested maps and lists)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(itemArbitrary(), { minLength: 1, maxLength: 6, selector: (i) => i.pk.S }),
        async (items) => {
          const spec = oracleSpec();
          const table = new SimpleTable();
          items.forEach((it, i) => table.put(T0 - 100 + i, it));
          items.forEach((it, i) => table.put(T0 + 10 + i, { ...it, extra: { L: [it.pk, { NULL: true }] } }));
          const { s3, chain, entries } = await chainOf(table, [[T0, T0 + 900]]);
          await writeSymlinks(s3, spec, entries);
          const duck = await oracleAthena(s3, spec);
          try {
            await mergeChain(duck, spec, chain.epoch, batches(entries, [1]));
            const lake = await lakeRows(duck, spec, chain.epoch);
            expect(sorted(lake)).to.deep.equal(sorted(await foldChain(s3, spec, entries)));
            expect(lake.size).to.equal(items.length);
          } finally {
            duck.close();
          }
        },
      ),
      { numRuns: 15 },
    );
  });

  it("casts a timestamp with time zone as Trino does: its own zone's wall clock; at_timezone(…, 'UTC') gives UTC's", async () => {
    const duck = await DuckAthena.create();
    try {
      const rows = await duck.rows(
        `SELECT CAST(CAST(from_iso8601_timestamp('2026-01-01T01:02:03+01:00') AS timestamp(6)) AS VARCHAR) AS own, ` +
          `CAST(CAST(at_timezone(from_iso8601_timestamp('2026-01-01T01:02:03+01:00'), 'UTC') AS timestamp(6)) AS VARCHAR) AS utc, ` +
          `CAST(CAST(at_timezone(from_iso8601_timestamp('2026-01-01T01:02:03.123456-05:30'), 'UTC') AS timestamp(6)) AS VARCHAR) AS west, ` +
          `CAST(CAST(at_timezone(from_iso8601_timestamp('2026-01-01T01:02:03'), 'UTC') AS timestamp(6)) AS VARCHAR) AS bare, ` +
          `at_timezone(from_iso8601_timestamp('2026-07-01T01:02:03Z'), 'Europe/Paris') AS paris, ` +
          `try(CAST(at_timezone(from_iso8601_timestamp('yesterday'), 'UTC') AS timestamp(6))) AS bad`,
      );
      expect(rows).to.deep.equal([
        {
          own: '2026-01-01 01:02:03',
          utc: '2026-01-01 00:02:03',
          // Trino's from_iso8601_timestamp keeps milliseconds.
          west: '2026-01-01 06:32:03.123',
          bare: '2026-01-01 01:02:03',
          paris: '2026-07-01 03:02:03.000+02:00',
          bad: null,
        },
      ]);
    } finally {
      duck.close();
    }
  });

  it('projections convert with try_cast: good values typed, a bad value NULL, the merge never fails', async () => {
    const columns: ColumnSpec[] = [
      { column: 'status', attribute: 'status', type: 'string', conversion: 'none', attributeType: 'S' },
      {
        column: 'amount',
        attribute: 'amount',
        type: 'decimal(38,9)',
        conversion: 'none',
        attributeType: 'N',
      },
      { column: 'qty', attribute: 'qty', type: 'bigint', conversion: 'none', attributeType: 'N' },
      { column: 'paid', attribute: 'paid', type: 'boolean', conversion: 'none', attributeType: 'BOOL' },
      {
        column: 'created',
        attribute: 'createdAt',
        type: 'timestamp',
        conversion: 'epoch_millis',
        attributeType: 'N',
      },
      {
        column: 'seen',
        attribute: 'seenAt',
        type: 'timestamp',
        conversion: 'epoch_seconds',
        attributeType: 'N',
      },
      {
        column: 'shipped',
        attribute: 'shippedAt',
        type: 'timestamp',
        conversion: 'iso8601',
        attributeType: 'S',
      },
    ];
    const spec = oracleSpec({ columns });
    const table = new SimpleTable();
    table.put(T0 + 1, {
      pk: { S: 'good' },
      status: { S: 'paid' },
      amount: { N: '12345678901234567890.123456789' },
      qty: { N: '42' },
      paid: { BOOL: true },
      createdAt: { N: '1762128000123' },
      seenAt: { N: '1762128000' },
      shippedAt: { S: '2026-11-03T01:02:03.5+01:00' },
    });
    table.put(T0 + 2, {
      pk: { S: 'bad' },
      status: { N: '5' },
      amount: { S: 'lots' },
      qty: { N: '1.5e400' },
      paid: { S: 'yes' },
      createdAt: { S: 'x' },
      shippedAt: { S: 'yesterday' },
    });
    const { s3, chain, entries } = await chainOf(table, [[T0, T0 + 900]]);
    await writeSymlinks(s3, spec, entries);
    const duck = await oracleAthena(s3, spec);
    try {
      await mergeChain(duck, spec, chain.epoch, batches(entries, [1]));
      const rows = await duck.rows(
        `SELECT pk, status, CAST(amount AS VARCHAR) AS amount, qty, paid, CAST(created AS VARCHAR) AS created, ` +
          `CAST(seen AS VARCHAR) AS seen, CAST(shipped AS VARCHAR) AS shipped FROM lake.orders__e${chain.epoch.toLowerCase()} ORDER BY pk`,
      );
      expect(rows).to.deep.equal([
        {
          pk: 'bad',
          status: null,
          amount: null,
          qty: null,
          paid: null,
          created: null,
          seen: null,
          shipped: null,
        },
        {
          pk: 'good',
          status: 'paid',
          amount: '12345678901234567890.123456789',
          qty: '42',
          paid: true,
          created: '2025-11-03 00:00:00.123',
          seen: '2025-11-03 00:00:00',
          shipped: '2026-11-03 00:02:03.5',
        },
      ]);
    } finally {
      duck.close();
    }
  });
});
