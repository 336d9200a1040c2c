/**
 * `npm run bench:iceberg`: the Iceberg feed's figures, in one run.
 *
 * 1. MERGE time on DuckDB (sim/athenaDuck.ts, two threads) of one export of 1,000, 100,000 and
 *    1,000,000 changes (60% updates, 20% inserts, 20% deletes) into a table of 1,000,000 rows (and 10,000,000
 *    with `--10m`), side by side with a plain INSERT of the same rows into the same table: the
 *    builder's exact MERGE (functions/iceberg/sql.ts), and an INSERT of its deduplicated source rows.
 *    The staging rows are loaded once; each statement runs on a fresh copy of the table; best of two
 *    alternating rounds. DuckDB is the offline stand-in, not Athena: the ratio says how much of a
 *    MERGE's work is the join against the table, not what Athena takes.
 * 2. The modelled Athena cost per month (tools/icebergCostModel.ts) for merges every 15, 60 and 240
 *    minutes into tables of 1 GB, 100 GB and 1 TB, beside Glue Spark and zero-ETL.
 *
 * Nothing touches the disk or the network. Figures only, no assertions.
 */
import { loadavg } from 'node:os';
import { DuckAthena } from '../sim/athenaDuck';
import {
  createTableSql,
  epochTableName,
  exportPartition,
  mergeSql,
  type IcebergTableSpec,
} from '../functions/iceberg/sql';
import { icebergMonthlyCost, ICEBERG_COST } from './icebergCostModel';

const EPOCH = '20261102T000000Z';
const FULL_MICROS = 1_793_491_200_000_000;
const CHANGE_MICROS = 1_793_577_600_000_000;
const SPEC: IcebergTableSpec = {
  database: 'lake',
  table: 'orders',
  partitionKey: { attribute: 'pk', type: 'S', column: 'pk' },
  sortKey: { attribute: 'sk', type: 'N', column: 'sk' },
  columns: [],
  stagingDatabase: 'lake_staging',
  stagingTable: 'orders_changes',
  lakeLocation: 's3://bench-bucket/exports/orders/iceberg/orders/data/',
};
const TARGET = `"${SPEC.database}"."${epochTableName(SPEC, EPOCH)}"`;
const BASE = `"${SPEC.database}"."base"`;
const STAGING = `"${SPEC.stagingDatabase}"."${SPEC.stagingTable}"`;
const ROUNDS = 2;

/** An item of key number `k` as DynamoDB JSON (SQL expression over the integer column `k`). */
function itemSql(k: string, version: number): string {
  return (
    `'{"pk":{"S":"item#' || (${k} // 4) || '"},"sk":{"N":"' || (${k} % 4) || '"},` +
    `"kind":{"S":"order"},"amount":{"N":"' || ((${k} * 7) % 100000) || '.25"},"version":{"N":"${version}"}}'`
  );
}

/** The base table: `rows` items written by the full export. */
async function loadBase(duck: DuckAthena, rows: number): Promise<void> {
  await duck.connection.run(`DROP TABLE IF EXISTS ${BASE}`);
  await duck.connection.run(`CREATE TABLE ${BASE} AS SELECT * FROM ${TARGET} LIMIT 0`);
  await duck.connection.run(
    `INSERT INTO ${BASE} ("pk", "sk", "item", "_write_ts", "_write_ts_micros", "_chain_seq", "_export_id") ` +
      `SELECT 'item#' || (i // 4), CAST(i % 4 AS VARCHAR), ${itemSql('i', 1)}, ` +
      `TIMESTAMP '2026-11-01 00:00:00', ${FULL_MICROS}, 0, 'full' FROM range(${rows}) t(i)`,
  );
}

/**
 * The staging partition of export 1: `changes` change records, 60% updates and 20% deletes of
 * distinct existing keys, 20% inserts of new keys.
 */
async function loadExport(duck: DuckAthena, rows: number, changes: number): Promise<void> {
  const partition = exportPartition(EPOCH, 1);
  await duck.connection.run(`DELETE FROM ${STAGING}`);
  const keys = `'"Keys":{"pk":{"S":"item#' || (k // 4) || '"},"sk":{"N":"' || (k % 4) || '"}}'`;
  const meta = `'{"Metadata":{"WriteTimestampMicros":{"N":"' || (${CHANGE_MICROS} + j) || '"}},'`;
  await duck.connection.run(
    `INSERT INTO ${STAGING} SELECT CASE WHEN j % 10 < 8 ` +
      `THEN ${meta} || ${keys} || ',"NewImage":' || ${itemSql('k', 2)} || '}' ` +
      `ELSE ${meta} || ${keys} || '}' END, '${partition}' ` +
      // 7919 is prime and does not divide the table sizes: j -> (j * 7919) % rows is one to one.
      `FROM (SELECT j, CASE WHEN j % 10 IN (6, 7) THEN ${rows} + j ELSE (j * 7919) % ${rows} END AS k ` +
      `FROM range(${changes}) t(j))`,
  );
}

/** The builder's MERGE of export 1, and an INSERT of the same (deduplicated) source rows. */
function statements(): { merge: string; insert: string } {
  const merge = mergeSql(SPEC, EPOCH, [
    { sequence: 1, type: 'INCREMENTAL', exportId: '01793577600000-00000001' },
  ]);
  const m = /\nUSING \(\n([\s\S]*)\n\) AS s\n[\s\S]*INSERT (\([^)]*\))\n {2}VALUES (\(.*\))$/.exec(merge);
  if (!m) throw new Error('the MERGE is not of the expected shape');
  const [, source, columns, values] = m;
  return {
    merge,
    insert: `INSERT INTO ${TARGET} ${columns}\nSELECT ${values.slice(1, -1)} FROM (${source}) AS s`,
  };
}

async function timed(duck: DuckAthena, sql: string): Promise<number> {
  await duck.connection.run(`CREATE OR REPLACE TABLE ${TARGET} AS SELECT * FROM ${BASE}`);
  const start = performance.now();
  await duck.connection.run(sql);
  return performance.now() - start;
}

async function countRows(duck: DuckAthena): Promise<number> {
  return Number((await duck.rows(`SELECT count(*) AS n FROM ${TARGET}`))[0].n);
}

async function mergeFigures(tableSizes: number[]): Promise<void> {
  const duck = await DuckAthena.create({
    [`${SPEC.stagingDatabase}.${SPEC.stagingTable}`]: {
      s3: { send: () => Promise.reject(new Error('the bench loads staging rows directly')) },
      bucket: 'bench-bucket',
      symlinkKey: () => 'unused',
    },
  });
  try {
    await duck.execute(createTableSql(SPEC, EPOCH));
    const { merge, insert } = statements();
    console.log('MERGE on DuckDB (2 threads) vs a plain INSERT of the same rows, best of 2, ms');
    console.log('table rows   changes   MERGE ms   INSERT ms   ratio   rows after MERGE');
    for (const rows of tableSizes) {
      await loadBase(duck, rows);
      for (const changes of [1_000, 100_000, 1_000_000]) {
        await loadExport(duck, rows, changes);
        let best = { merge: Infinity, insert: Infinity };
        let after = 0;
        for (let round = 0; round < ROUNDS; round++) {
          const m = await timed(duck, merge);
          after = await countRows(duck);
          const i = await timed(duck, insert);
          best = { merge: Math.min(best.merge, m), insert: Math.min(best.insert, i) };
        }
        // 20% inserts and 20% deletes: the table keeps its size.
        console.log(
          `${rows.toLocaleString('en-US').padStart(10)}   ${changes.toLocaleString('en-US').padStart(7)}   ` +
            `${best.merge.toFixed(0).padStart(8)}   ${best.insert.toFixed(0).padStart(9)}   ` +
            `${(best.merge / best.insert).toFixed(1).padStart(5)}   ${after.toLocaleString('en-US')}`,
        );
      }
    }
  } finally {
    duck.close();
  }
}

function costFigures(): void {
  const GB = 1024 ** 3;
  const sizes: [string, number][] = [
    ['1 GB', GB],
    ['100 GB', 100 * GB],
    ['1 TB', 1024 * GB],
  ];
  const usd = (n: number) => (n < 10 ? `$${n.toFixed(2)}` : `$${n.toFixed(0)}`);
  console.log(
    `\nModelled cost per month (${ICEBERG_COST.itemBytes}-byte items, ${ICEBERG_COST.dailyChangeRate * 100}% of items changed a day; tools/icebergCostModel.ts)`,
  );
  console.log('table    every   merges/mo   scanned/MERGE   Athena   +SFN   Glue Spark [I]   zero-ETL');
  for (const [label, bytes] of sizes) {
    for (const minutes of [15, 60, 240]) {
      const r = icebergMonthlyCost(bytes, minutes);
      const scanned =
        r.bytesScannedPerMerge >= GB
          ? `${(r.bytesScannedPerMerge / GB).toFixed(1)} GB`
          : `${(r.bytesScannedPerMerge / 1024 ** 2).toFixed(0)} MB`;
      console.log(
        `${label.padEnd(7)}  ${`${minutes} min`.padStart(7)}   ${String(r.mergesPerMonth).padStart(9)}   ` +
          `${scanned.padStart(13)}   ${usd(r.athenaUsd).padStart(6)}   ${usd(r.stepFunctionsUsd).padStart(5)}   ` +
          `${`${usd(r.glueSparkUsd[0])}-${usd(r.glueSparkUsd[1])}${label === '1 GB' ? '' : '+'}`.padStart(14)}   [U]`,
      );
    }
  }
}

async function main(): Promise<void> {
  const sizes = process.argv.includes('--10m') ? [1_000_000, 10_000_000] : [1_000_000];
  console.log(
    `load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}, ${new Date().toISOString()}\n`,
  );
  const start = performance.now();
  await mergeFigures(sizes);
  console.log(`(MERGE figures took ${((performance.now() - start) / 1000).toFixed(1)} s)`);
  costFigures();
}

void main();
