/**
 * The Iceberg feed's SQL builder: every DML statement parses with a Trino grammar, every DDL statement
 * with a Hive grammar (Athena's DDL dialect), and nothing longer than Athena takes is ever returned.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { HiveSQL, TrinoSQL } from 'dt-sql-parser';
import {
  ATHENA_QUERY_LIMIT_BYTES,
  QueryTooLongError,
  addColumnSql,
  createTableSql,
  createViewSql,
  epochTableName,
  exportPartition,
  mergeSql,
  withinQueryLimit,
  type BatchExport,
  type ColumnSpec,
} from '../../../functions/iceberg/sql';
import { oracleSpec } from '../../helpers/icebergOracle';

const trino = new TrinoSQL();
const hive = new HiveSQL();
const EPOCH = '20261103T000000Z';

const COLUMNS: ColumnSpec[] = [
  { column: 'status', attribute: 'status', type: 'string', conversion: 'none', attributeType: 'S' },
  { column: 'amount', attribute: 'amount', type: 'decimal(38,9)', conversion: 'none', attributeType: 'N' },
  { column: 'qty', attribute: 'qty', type: 'bigint', conversion: 'none', attributeType: 'N' },
  { column: 'n', attribute: 'n', type: 'int', conversion: 'none', attributeType: 'N' },
  { column: 'ratio', attribute: 'ratio', type: 'double', conversion: 'none', attributeType: 'N' },
  { column: 'paid', attribute: 'paid', type: 'boolean', conversion: 'none', attributeType: 'BOOL' },
  { column: 'day', attribute: 'day', type: 'date', conversion: 'none', attributeType: 'S' },
  {
    column: 'created',
    attribute: 'createdAt',
    type: 'timestamp',
    conversion: 'epoch_millis',
    attributeType: 'N',
  },
  { column: 'seen', attribute: 'seenAt', type: 'timestamp', conversion: 'epoch_seconds', attributeType: 'N' },
  { column: 'shipped', attribute: 'shippedAt', type: 'timestamp', conversion: 'iso8601', attributeType: 'S' },
];

function incrementals(from: number, count: number): BatchExport[] {
  return Array.from({ length: count }, (_, i) => ({
    sequence: from + i,
    type: 'INCREMENTAL' as const,
    exportId: `0176${String(from + i).padStart(9, '0')}-abcdef12`,
  }));
}
const FULL: BatchExport = {
  sequence: 0,
  type: 'FULL',
  exportId: '01762000000000-0a1b2c3d',
  exportTimeMicros: 1762128000000000n,
};

function trinoErrors(sql: string): string[] {
  return trino.validate(sql).map((e) => e.message);
}

describe('Iceberg feed SQL builder (functions/iceberg/sql.ts)', () => {
  for (const sorted of [false, true])
    for (const columns of [[], COLUMNS])
      it(`MERGE parses as Trino (sort key: ${sorted}, projections: ${columns.length})`, () => {
        const spec = oracleSpec({ sorted, columns });
        for (const batch of [[FULL], incrementals(1, 1), incrementals(5, 96)]) {
          const sql = mergeSql(spec, EPOCH, batch);
          expect(trinoErrors(sql), sql).to.deep.equal([]);
          // The grammar does check: a broken clause is reported.
          expect(trinoErrors(sql.replace('THEN UPDATE SET', 'THEN UPDATE'))).not.to.deep.equal([]);
          expect(sql).to.match(/^MERGE INTO "lake"\."orders__e20261103t000000z" AS t\n/);
          expect(sql).to.include(
            `"export" IN (${batch.map((e) => `'${exportPartition(EPOCH, e.sequence)}'`).join(', ')})`,
          );
        }
      });

  it('the MERGE deduplicates to the last record per key, deletes, and guards on _write_ts_micros', () => {
    const sql = mergeSql(oracleSpec({ sorted: true }), EPOCH, incrementals(3, 2));
    expect(sql).to.include(
      `row_number() OVER (PARTITION BY json_extract_scalar("line", '$.Keys.pk.S'), json_extract_scalar("line", '$.Keys.sk.N') ORDER BY "export" DESC`,
    );
    expect(sql).to.include(') AS x WHERE "rn" = 1\n) AS s\nON t."pk" = s."pk" AND t."sk" = s."sk"\n');
    expect(sql).to.include('WHEN MATCHED AND s."is_delete" AND s."ts" >= t."_write_ts_micros" THEN DELETE');
    expect(sql).to.include('WHEN NOT MATCHED AND NOT s."is_delete" THEN INSERT');
    expect(sql).to.include(`json_format(json_extract("line", '$.NewImage')) AS "item"`);
    const full = mergeSql(oracleSpec(), EPOCH, [FULL]);
    expect(full).to.include(`json_extract_scalar("line", '$.Item.pk.S') AS "pk"`);
    expect(full).to.include('CAST(1762128000000000 AS bigint) AS "ts"');
  });

  it('projections read leaves only and convert with try/try_cast, so a bad value is NULL, never a failure', () => {
    const sql = mergeSql(oracleSpec({ columns: COLUMNS }), EPOCH, incrementals(1, 1));
    expect(sql).to.include(`json_extract_scalar("line", '$.NewImage.status.S') AS "status"`);
    expect(sql).to.include(
      `try_cast(json_extract_scalar("line", '$.NewImage.amount.N') AS decimal(38,9)) AS "amount"`,
    );
    expect(sql).to.include(
      `try_cast(json_extract_scalar("line", '$.NewImage.paid.BOOL') AS boolean) AS "paid"`,
    );
    expect(sql).to.include(
      `try(CAST(from_unixtime(try_cast(json_extract_scalar("line", '$.NewImage.createdAt.N') AS double) / 1e3) AS timestamp(6))) AS "created"`,
    );
    expect(sql).to.include(
      `try(CAST(at_timezone(from_iso8601_timestamp(json_extract_scalar("line", '$.NewImage.shippedAt.S')), 'UTC') AS timestamp(6))) AS "shipped"`,
    );
    for (const m of sql.matchAll(/json_extract_scalar\("line", '([^']+)'\)/g))
      expect(m[1]).to.match(/\.(S|N|B|BOOL)$/);
  });

  it('DDL parses as Hive (Athena DDL); names starting with "_" are back-quoted; the bucket transform is the reviewed template', () => {
    const spec = { ...oracleSpec({ sorted: true, columns: COLUMNS }), bucketPartitions: 16 };
    const create = createTableSql(spec, EPOCH);
    const partition = '\nPARTITIONED BY (bucket(16, `pk`))';
    expect(create).to.include(partition);
    expect(
      hive.validate(create.replace(partition, '')).map((e) => e.message),
      create,
    ).to.deep.equal([]);
    expect(create).to.include(
      "LOCATION 's3://lake-bucket/exports/orders/iceberg/orders/data/orders__e20261103t000000z/'",
    );
    expect(create).to.include(
      "TBLPROPERTIES ('table_type'='ICEBERG', 'format'='parquet', 'write_compression'='zstd')",
    );
    expect(create).to.include('`_write_ts_micros` bigint');
    const alter = addColumnSql(spec, EPOCH, COLUMNS[1]);
    expect(alter).to.equal(
      'ALTER TABLE `lake`.`orders__e20261103t000000z` ADD COLUMNS (`amount` decimal(38,9))',
    );
    expect(hive.validate(alter)).to.deep.equal([]);
    const view = createViewSql(spec, EPOCH);
    expect(trinoErrors(view)).to.deep.equal([]);
    expect(view).to.match(
      /^CREATE OR REPLACE VIEW "lake"\."orders" AS SELECT "pk", "sk", "item", "status", .* FROM "lake"\."orders__e20261103t000000z"$/,
    );
  });

  it('refuses batches the feed never makes: a FULL export with others, a gap, an empty batch', () => {
    const spec = oracleSpec();
    expect(() => mergeSql(spec, EPOCH, [FULL, ...incrementals(1, 1)])).to.throw(/merged alone/);
    expect(() => mergeSql(spec, EPOCH, [...incrementals(1, 1), ...incrementals(3, 1)])).to.throw(
      /does not follow/,
    );
    expect(() => mergeSql(spec, EPOCH, [])).to.throw(/at least one/);
    expect(() => mergeSql(spec, EPOCH, [{ ...FULL, exportTimeMicros: undefined }])).to.throw(/export time/);
    expect(() => mergeSql(spec, 'not-an-epoch', incrementals(1, 1))).to.throw(/epoch/);
    expect(() => mergeSql(spec, EPOCH, [{ ...incrementals(1, 1)[0], exportId: "x'; DROP" }])).to.throw(
      /export id/,
    );
  });

  it("never returns a statement over Athena's 262,144 bytes", () => {
    expect(withinQueryLimit('x'.repeat(ATHENA_QUERY_LIMIT_BYTES))).to.have.length(ATHENA_QUERY_LIMIT_BYTES);
    expect(() => withinQueryLimit('é'.repeat(ATHENA_QUERY_LIMIT_BYTES / 2 + 1))).to.throw(
      QueryTooLongError,
      /262144/,
    );
    const wide = Array.from({ length: 2000 }, (_, i): ColumnSpec => ({
      ...COLUMNS[1],
      column: `c${i}`,
      attribute: `a${i}`,
    }));
    expect(() => mergeSql(oracleSpec({ columns: wide }), EPOCH, incrementals(1, 200))).to.throw(
      QueryTooLongError,
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 0, max: 12 }), (count, projections) => {
        const sql = mergeSql(
          oracleSpec({ columns: COLUMNS.slice(0, projections % COLUMNS.length) }),
          EPOCH,
          incrementals(1, count),
        );
        expect(Buffer.byteLength(sql)).to.be.at.most(ATHENA_QUERY_LIMIT_BYTES);
      }),
      { numRuns: 30 },
    );
  });

  it('names each epoch its own table and each export its own partition', () => {
    expect(epochTableName({ table: 'orders' }, EPOCH)).to.equal('orders__e20261103t000000z');
    expect(exportPartition(EPOCH, 12)).to.equal('e20261103T000000Z-00000012');
    expect(() => exportPartition(EPOCH, -1)).to.throw(/sequence/);
  });
});
