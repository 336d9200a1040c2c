/**
 * The SQL the Iceberg feed runs on Athena (engine v3, Trino dialect), built from validated settings
 * only (pure; docs/iceberg.md shows each statement):
 *
 * - DDL (Hive-style, as Athena takes it for Iceberg): the epoch's target table, one added column per
 *   projection the config gained, and the readers' view over the live epoch's table.
 * - DML: one MERGE per batch of consecutive exports of one epoch, read from the staging table's
 *   symlink partitions (functions/iceberg/staging.ts), deduplicated to the last record per key
 *   (Athena fails a MERGE when a target row matches two source rows: MERGE_TARGET_ROW_MULTIPLE_MATCHES).
 *
 * Literals are only partition names, sequence numbers, micros and export ids, each checked against a
 * strict pattern; names come from the config, whose schema restricts them. JSON paths use dot notation
 * and `json_extract_scalar` is applied to leaf type keys only (`.S`, `.N`, `.BOOL`), never to objects:
 * Trino answers NULL for an object where DuckDB (the offline oracle) answers its text.
 */

/** Athena refuses a query string longer than this (bytes). */
export const ATHENA_QUERY_LIMIT_BYTES = 262_144;

/** A DynamoDB key attribute and its target column. */
export interface KeySpec {
  attribute: string;
  type: 'S' | 'N' | 'B';
  column: string;
}

/** A typed projection of one attribute. */
export interface ColumnSpec {
  column: string;
  attribute: string;
  /** DDL type: string, bigint, int, double, boolean, timestamp, date or decimal(p,s). */
  type: string;
  conversion: 'none' | 'epoch_seconds' | 'epoch_millis' | 'iso8601';
  attributeType: 'S' | 'N' | 'BOOL';
}

/** What the builder needs of one feed (the resolved `iceberg` config plus where things live). */
export interface IcebergTableSpec {
  database: string;
  /** Base name: the view; each epoch's table is `<table>__e<epoch>`. */
  table: string;
  partitionKey: KeySpec;
  sortKey?: KeySpec;
  columns: ColumnSpec[];
  bucketPartitions?: number;
  /** The staging database and table (one `line string` column, partition column `export`). */
  stagingDatabase: string;
  stagingTable: string;
  /** `s3://bucket/prefix/` under which each epoch's table gets its own folder. */
  lakeLocation: string;
}

/** One export of a batch, in chain order. */
export interface BatchExport {
  sequence: number;
  type: 'FULL' | 'INCREMENTAL';
  /** The export's id (last part of its ARN), kept in `_export_id`. */
  exportId: string;
  /** The export time of a FULL export in microseconds: its rows' `_write_ts_micros`. */
  exportTimeMicros?: bigint;
}

/** Thrown when a statement would exceed Athena's query length limit. */
export class QueryTooLongError extends Error {
  constructor(readonly bytes: number) {
    super(
      `the statement is ${bytes} bytes; Athena takes at most ${ATHENA_QUERY_LIMIT_BYTES} (merge fewer exports at once: maxExportsPerMerge)`,
    );
    this.name = 'QueryTooLongError';
  }
}

const EPOCH = /^\d{8}T\d{6}Z$/;
const EXPORT_ID = /^[A-Za-z0-9-]{1,64}$/;
/** Config names start with a letter; the metadata columns with "_". */
const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;
const ATTRIBUTE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const LOCATION = /^s3:\/\/[a-z0-9.-]{3,63}\/[A-Za-z0-9._/=-]*\/$/;

function check(value: string, pattern: RegExp, what: string): string {
  if (!pattern.test(value)) throw new Error(`${what} ${JSON.stringify(value)} does not match ${pattern}`);
  return value;
}

/** A quoted identifier (Trino, and DuckDB alike). */
function q(name: string): string {
  return `"${check(name, IDENTIFIER, 'identifier')}"`;
}

/** A back-quoted identifier (Hive DDL, which Athena requires for names starting with "_"). */
function bq(name: string): string {
  return `\`${check(name, IDENTIFIER, 'identifier')}\``;
}

/**
 * The name of one epoch's table: `<table>__e<epoch in lower case>`; a table rebuilt by the operator
 * (`dce iceberg rebuild`, generation = the action's version) is `<table>__e<epoch>_r<generation>`, so a
 * rebuild always fills a new table while the view still reads the old one.
 */
export function epochTableName(spec: Pick<IcebergTableSpec, 'table'>, epoch: string, generation = 0): string {
  if (!Number.isSafeInteger(generation) || generation < 0)
    throw new Error(`table generation ${generation} is not a non-negative integer`);
  const base = `${spec.table}__e${check(epoch, EPOCH, 'epoch').toLowerCase()}`;
  return generation === 0 ? base : `${base}_r${generation}`;
}

/** The staging partition of one export: `e<epoch>-<sequence, 8 digits>`. */
export function exportPartition(epoch: string, sequence: number): string {
  if (!Number.isSafeInteger(sequence) || sequence < 0 || sequence > 99_999_999)
    throw new Error(`sequence ${sequence} is not a chain sequence`);
  return `e${check(epoch, EPOCH, 'epoch')}-${String(sequence).padStart(8, '0')}`;
}

/** Fails when Athena would refuse the statement for its length; returns it otherwise. */
export function withinQueryLimit(sql: string): string {
  const bytes = Buffer.byteLength(sql, 'utf8');
  if (bytes > ATHENA_QUERY_LIMIT_BYTES) throw new QueryTooLongError(bytes);
  return sql;
}

const META_COLUMNS: [string, string][] = [
  ['item', 'string'],
  ['_write_ts', 'timestamp'],
  ['_write_ts_micros', 'bigint'],
  ['_chain_seq', 'bigint'],
  ['_export_id', 'string'],
];

function keys(spec: IcebergTableSpec): KeySpec[] {
  return spec.sortKey ? [spec.partitionKey, spec.sortKey] : [spec.partitionKey];
}

/** Every column of the target, in table order: keys, item, projections, metadata. */
export function targetColumns(spec: IcebergTableSpec): { column: string; type: string }[] {
  return [
    ...keys(spec).map((k) => ({ column: k.column, type: 'string' })),
    { column: 'item', type: 'string' },
    ...spec.columns.map((c) => ({ column: c.column, type: c.type })),
    ...META_COLUMNS.slice(1).map(([column, type]) => ({ column, type })),
  ];
}

/** CREATE TABLE IF NOT EXISTS of one epoch's table (free on Athena; a no-op when it exists). */
export function createTableSql(spec: IcebergTableSpec, epoch: string, generation = 0): string {
  const table = epochTableName(spec, epoch, generation);
  const columns = targetColumns(spec)
    .map((c) => `  ${bq(c.column)} ${c.type}`)
    .join(',\n');
  const partitioned =
    spec.bucketPartitions === undefined
      ? ''
      : `\nPARTITIONED BY (bucket(${spec.bucketPartitions}, ${bq(spec.partitionKey.column)}))`;
  const location = `\nLOCATION '${check(`${spec.lakeLocation}${table}/`, LOCATION, 'location')}'`;
  return withinQueryLimit(
    `CREATE TABLE IF NOT EXISTS ${bq(spec.database)}.${bq(table)} (\n${columns}\n)` +
      `${partitioned}${location}\nTBLPROPERTIES ('table_type'='ICEBERG', 'format'='parquet', 'write_compression'='zstd')`,
  );
}

/** ALTER TABLE ... ADD COLUMNS for one projection the config gained (old rows read NULL). */
export function addColumnSql(
  spec: IcebergTableSpec,
  epoch: string,
  column: ColumnSpec,
  generation = 0,
): string {
  return withinQueryLimit(
    `ALTER TABLE ${bq(spec.database)}.${bq(epochTableName(spec, epoch, generation))} ADD COLUMNS (${bq(column.column)} ${column.type})`,
  );
}

/** The readers' view: every column of the live epoch's table. */
export function createViewSql(spec: IcebergTableSpec, epoch: string, generation = 0): string {
  const columns = targetColumns(spec)
    .map((c) => q(c.column))
    .join(', ');
  return withinQueryLimit(
    `CREATE OR REPLACE VIEW ${q(spec.database)}.${q(spec.table)} AS SELECT ${columns} FROM ${q(spec.database)}.${q(epochTableName(spec, epoch, generation))}`,
  );
}

/** The Trino type of a DDL type, for casts in DML. */
export function dmlType(type: string): string {
  if (type === 'string') return 'varchar';
  if (type === 'int') return 'integer';
  if (type === 'timestamp') return 'timestamp(6)';
  return type;
}

/** `json_extract_scalar` of one leaf: `$.<root>.<attribute>.<type>`. */
function leaf(root: string, attribute: string, type: string): string {
  return `json_extract_scalar("line", '$.${root}.${check(attribute, ATTRIBUTE, 'attribute')}.${type}')`;
}

/** The typed value of one projection; any value that does not convert gives NULL, never an error. */
export function projectionExpression(column: ColumnSpec, root: 'NewImage' | 'Item'): string {
  const raw = leaf(root, column.attribute, column.attributeType);
  switch (column.conversion) {
    case 'epoch_seconds':
      return `try(CAST(from_unixtime(try_cast(${raw} AS double)) AS timestamp(6)))`;
    case 'epoch_millis':
      return `try(CAST(from_unixtime(try_cast(${raw} AS double) / 1e3) AS timestamp(6)))`;
    case 'iso8601':
      // Trino's CAST of a timestamp with time zone keeps the wall clock of the value's own zone: the
      // instant is moved to UTC first, so `01:02:03+01:00` is stored as 00:02:03.
      return `try(CAST(at_timezone(from_iso8601_timestamp(${raw}), 'UTC') AS timestamp(6)))`;
    default:
      return column.type === 'string' ? raw : `try_cast(${raw} AS ${dmlType(column.type)})`;
  }
}

/** The source rows of one kind of export (FULL lines are `{"Item":…}`, INCREMENTAL ones change records). */
function sourceSelect(spec: IcebergTableSpec, epoch: string, batch: BatchExport[]): string {
  const full = batch[0].type === 'FULL';
  const root = full ? 'Item' : 'NewImage';
  const keyRoot = full ? 'Item' : 'Keys';
  const partitions = batch.map((e) => `'${exportPartition(epoch, e.sequence)}'`).join(', ');
  const ts = full
    ? `CAST(${BigInt(batch[0].exportTimeMicros ?? -1n).toString()} AS bigint)`
    : `CAST(json_extract_scalar("line", '$.Metadata.WriteTimestampMicros.N') AS bigint)`;
  if (full && (batch[0].exportTimeMicros === undefined || batch[0].exportTimeMicros < 0n))
    throw new Error('a FULL export needs its export time');
  const exportIds = batch
    .map(
      (e) =>
        `WHEN '${exportPartition(epoch, e.sequence)}' THEN '${check(e.exportId, EXPORT_ID, 'export id')}'`,
    )
    .join(' ');
  const columns = [
    ...keys(spec).map((k) => `${leaf(keyRoot, k.attribute, k.type)} AS ${q(k.column)}`),
    `json_format(json_extract("line", '$.${root}')) AS "item"`,
    `json_extract("line", '$.${root}') IS NULL AS "is_delete"`,
    ...spec.columns.map((c) => `${projectionExpression(c, root)} AS ${q(c.column)}`),
    `${ts} AS "ts"`,
    `CAST(substr("export", -8) AS bigint) AS "seq"`,
    `CASE "export" ${exportIds} END AS "export_id"`,
  ];
  const keyList = keys(spec)
    .map((k) => leaf(keyRoot, k.attribute, k.type))
    .join(', ');
  return (
    `SELECT ${columns.join(',\n      ')},\n` +
    `      row_number() OVER (PARTITION BY ${keyList} ORDER BY "export" DESC, ${ts} DESC) AS "rn"\n` +
    `    FROM ${q(spec.stagingDatabase)}.${q(spec.stagingTable)}\n` +
    `    WHERE "export" IN (${partitions})`
  );
}

/** Checks a batch: one FULL export alone, or consecutive INCREMENTAL ones. */
function checkBatch(batch: BatchExport[]): void {
  if (batch.length === 0) throw new Error('a merge needs at least one export');
  if (batch[0].type === 'FULL' && batch.length > 1) throw new Error('a FULL export is merged alone');
  batch.forEach((e, i) => {
    if (i > 0 && (e.type !== 'INCREMENTAL' || e.sequence !== batch[i - 1].sequence + 1))
      throw new Error(`export ${e.sequence} does not follow ${batch[i - 1].sequence} in the batch`);
  });
}

/**
 * The MERGE of a batch into the epoch's table: the last record per key (chain order) wins; a delete
 * deletes; an older record than the row's (`_write_ts_micros`) changes nothing, so a batch merged
 * again after a crash before its commit leaves the table as it was.
 */
export function mergeSql(
  spec: IcebergTableSpec,
  epoch: string,
  batch: BatchExport[],
  generation = 0,
): string {
  checkBatch(batch);
  const on = keys(spec)
    .map((k) => `t.${q(k.column)} = s.${q(k.column)}`)
    .join(' AND ');
  const valued = ['item', ...spec.columns.map((c) => c.column)];
  const meta: [string, string][] = [
    ['_write_ts', `CAST(from_unixtime(CAST(s."ts" AS double) / 1e6) AS timestamp(6))`],
    ['_write_ts_micros', `s."ts"`],
    ['_chain_seq', `s."seq"`],
    ['_export_id', `s."export_id"`],
  ];
  const set = [...valued.map((c) => `${q(c)} = s.${q(c)}`), ...meta.map(([c, v]) => `${q(c)} = ${v}`)];
  const insertColumns = [...keys(spec).map((k) => k.column), ...valued, ...meta.map(([c]) => c)];
  const insertValues = [
    ...keys(spec).map((k) => `s.${q(k.column)}`),
    ...valued.map((c) => `s.${q(c)}`),
    ...meta.map(([, v]) => v),
  ];
  return withinQueryLimit(
    `MERGE INTO ${q(spec.database)}.${q(epochTableName(spec, epoch, generation))} AS t\n` +
      `USING (\n  SELECT * FROM (\n    ${sourceSelect(spec, epoch, batch)}\n  ) AS x WHERE "rn" = 1\n) AS s\n` +
      `ON ${on}\n` +
      `WHEN MATCHED AND s."is_delete" AND s."ts" >= t."_write_ts_micros" THEN DELETE\n` +
      `WHEN MATCHED AND NOT s."is_delete" AND s."ts" >= t."_write_ts_micros" THEN UPDATE SET\n  ${set.join(',\n  ')}\n` +
      `WHEN NOT MATCHED AND NOT s."is_delete" THEN INSERT (${insertColumns.map(q).join(', ')})\n` +
      `  VALUES (${insertValues.join(', ')})`,
  );
}
