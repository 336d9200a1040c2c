/**
 * An offline stand-in for Athena (engine v3) that runs the Iceberg feed's exact SQL on DuckDB
 * (`@duckdb/node-api`, in process, nothing downloaded at run time). Used by the SQL oracle tests, the
 * workflow test's `athena:startQueryExecution.sync` handler and the bench.
 *
 * What it does as Athena does:
 * - The DML (MERGE, SELECT, CREATE OR REPLACE VIEW) runs verbatim, with compatibility macros for
 *   Trino functions DuckDB lacks or names otherwise (SHIMS below), the zoned timestamps of
 *   `from_iso8601_timestamp` and `at_timezone` included (a CAST to timestamp keeps their own zone's
 *   wall clock, as Trino's does). DuckDB's own `try`, `try_cast`,
 *   `row_number`, `MERGE INTO` and `timestamp(6)` behave as Trino's for the statements the builder makes.
 * - The staging table reads its symlink partitions at query time: for each partition a statement names
 *   (`"export" IN (...)`), it reads `symlink.txt` from S3, then every gzip data file it lists, line by line.
 * - It refuses what Athena refuses: a statement over 262,144 bytes, a MERGE in which one target row
 *   matches several source rows (`MERGE_TARGET_ROW_MULTIPLE_MATCHES`; DuckDB would update twice), and a
 *   MERGE that writes more than 100 partitions of a bucket-partitioned table
 *   (`HIVE_TOO_MANY_OPEN_PARTITIONS`), counted with Iceberg's own bucket transform (murmur3 of the key's
 *   UTF-8 bytes) over the rows the MERGE writes: updated, deleted or inserted.
 *
 * What it translates (Hive-style DDL, which DuckDB does not parse): back-quoted names, the `string`
 * type, and the clauses DuckDB has no use for (PARTITIONED BY, LOCATION, TBLPROPERTIES).
 * Not covered offline: Iceberg itself (snapshots, commits, conflicts), Athena's reading of symlinked
 * gzip files, and the exact Trino semantics of the JSON functions (docs/iceberg.md, "What the offline
 * proof does not cover").
 */
import { gunzipSync } from 'node:zlib';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { getBytes, getText, type S3Sender } from '../format';
import { ATHENA_QUERY_LIMIT_BYTES } from '../functions/iceberg/sql';
import { parseSymlinkBody } from '../functions/iceberg/staging';

/** The text of a wall clock and a UTC offset in minutes: `YYYY-MM-DD HH:MM:SS.fff+hh:mm`. */
const ZONED_TEXT =
  `CREATE MACRO __zoned_text(wall, minutes) AS strftime(wall, '%Y-%m-%d %H:%M:%S.%g') || ` +
  `CASE WHEN minutes < 0 THEN '-' ELSE '+' END || lpad(CAST(abs(minutes) // 60 AS VARCHAR), 2, '0') || ':' || ` +
  `lpad(CAST(abs(minutes) % 60 AS VARCHAR), 2, '0')`;

/**
 * Trino functions DuckDB lacks, as macros (the builder applies json_extract_scalar to leaves only).
 *
 * A Trino `timestamp with time zone` is an instant and its own zone, and a CAST of it to `timestamp`
 * keeps the wall clock of that zone (`2026-01-01T01:02:03+01:00` casts to 01:02:03, not to UTC's
 * 00:02:03). DuckDB's TIMESTAMPTZ keeps the instant only, and its CAST to TIMESTAMP gives the session
 * zone's (UTC) wall clock, which would hide a missing `at_timezone`. So the value of
 * `from_iso8601_timestamp` and `at_timezone` is the zoned text `YYYY-MM-DD HH:MM:SS.fff+hh:mm` (Trino's
 * millisecond precision), whose DuckDB CAST to TIMESTAMP keeps the written wall clock, as Trino's does;
 * a CAST to TIMESTAMPTZ reads its instant. A text that is not a timestamp fails, as in Trino.
 * `from_unixtime` stays a TIMESTAMPTZ: Trino's is in the session zone, UTC on Athena, so both casts agree.
 */
export const SHIMS = [
  `CREATE MACRO json_extract_scalar(j, p) AS json_extract_string(j, p)`,
  `CREATE MACRO json_format(j) AS CAST(j AS VARCHAR)`,
  `CREATE MACRO json_parse(s) AS CAST(s AS JSON)`,
  `CREATE MACRO from_unixtime(x) AS to_timestamp(x)`,
  ZONED_TEXT,
  // The offset the text carries (none is the session zone, UTC). The repeated casts are try_casts and
  // a bad text fails in one CAST of its own: DuckDB hoists repeated subexpressions out of try(), where
  // a failing CAST would fail the whole statement instead of giving NULL (and error() is volatile).
  `CREATE MACRO from_iso8601_timestamp(s) AS CASE WHEN try_cast(s AS TIMESTAMPTZ) IS NULL ` +
    `THEN CAST(CAST(s AS TIMESTAMPTZ) AS VARCHAR) ELSE __zoned_text(try_cast(s AS TIMESTAMP), ` +
    `date_diff('minute', CAST(try_cast(s AS TIMESTAMPTZ) AS TIMESTAMP), try_cast(s AS TIMESTAMP))) END`,
  // The same instant, with the wall clock and offset of zone z; x appears once (a lambda names it),
  // so a failure inside it stays inside try().
  `CREATE MACRO at_timezone(x, z) AS list_transform([CAST(CAST(x AS VARCHAR) AS TIMESTAMPTZ)], ` +
    `i -> __zoned_text(timezone(z, i), date_diff('minute', timezone('UTC', i), timezone(z, i))))[1]`,
  // Seconds since the epoch (a double) of the instant, whatever its zone.
  `CREATE MACRO to_unixtime(t) AS epoch(CAST(CAST(t AS VARCHAR) AS TIMESTAMPTZ))`,
];

/** Athena writes at most this many partitions (buckets, for Iceberg) per query. */
export const ATHENA_MAX_PARTITIONS_WRITTEN = 100;

/** MurmurHash3 x86 32-bit, seed 0, as a signed 32-bit integer (Java's `int`): Iceberg's bucket hash. */
export function murmur3x86_32(bytes: Uint8Array): number {
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  const mix = (k: number) => Math.imul(rotl(Math.imul(k, c1), 15), c2);
  let h = 0;
  const tail = bytes.length & ~3;
  for (let i = 0; i < tail; i += 4) {
    h ^= mix(bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24));
    h = (Math.imul(rotl(h, 13), 5) + 0xe6546b64) | 0;
  }
  let k = 0;
  const rest = bytes.length & 3;
  if (rest >= 3) k ^= bytes[tail + 2] << 16;
  if (rest >= 2) k ^= bytes[tail + 1] << 8;
  if (rest >= 1) h ^= mix(k ^ bytes[tail]);
  h ^= bytes.length;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
}

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

/** Iceberg's `bucket(n, value)` of a string: (murmur3 of its UTF-8 bytes & Integer.MAX_VALUE) % n. */
export function icebergBucket(value: string, n: number): number {
  return (murmur3x86_32(Buffer.from(value, 'utf8')) & 0x7fffffff) % n;
}

/** A failed query, with the error text Athena's StateChangeReason would carry. */
export class AthenaQueryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AthenaQueryError';
  }
}

/** Where one staging table's partitions are: the bucket and the key of a partition's symlink file. */
export interface StagingSource {
  s3: S3Sender;
  bucket: string;
  symlinkKey: (partition: string) => string;
}

/** What one query did. */
export interface QueryOutcome {
  kind: 'DDL' | 'DML';
  /** Bytes of staging data read (Athena bills scanned bytes; a 10 MB minimum applies per query). */
  dataScannedInBytes: number;
  /** Rows of a SELECT. */
  rows?: Record<string, unknown>[];
}

export class DuckAthena {
  private constructor(
    private readonly instance: DuckDBInstance,
    readonly connection: DuckDBConnection,
    private readonly staging: Map<string, StagingSource>,
  ) {}

  /** The bucket partitioning of each table created (`"db"."table"`), from its DDL. */
  private readonly partitioning = new Map<string, { buckets: number; column: string }>();

  /** A fresh database with the shims, UTC as the session zone (as Athena's), and two threads. */
  static async create(staging: Record<string, StagingSource> = {}): Promise<DuckAthena> {
    const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
    const connection = await instance.connect();
    await connection.run(`SET TimeZone = 'UTC'`);
    for (const shim of SHIMS) await connection.run(shim);
    const duck = new DuckAthena(instance, connection, new Map(Object.entries(staging)));
    for (const name of duck.staging.keys()) {
      const [schema] = name.split('.');
      await connection.run(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
      await connection.run(`CREATE TABLE ${quoteName(name)} ("line" VARCHAR, "export" VARCHAR)`);
    }
    return duck;
  }

  close(): void {
    this.connection.closeSync();
    this.instance.closeSync();
  }

  /** Runs one statement as Athena would; throws `AthenaQueryError` for what Athena refuses. */
  async execute(sql: string): Promise<QueryOutcome> {
    const bytes = Buffer.byteLength(sql, 'utf8');
    if (bytes > ATHENA_QUERY_LIMIT_BYTES)
      throw new AthenaQueryError(
        `Query string length ${bytes} exceeds the maximum of ${ATHENA_QUERY_LIMIT_BYTES}`,
      );
    const text = sql.trim();
    if (/^(CREATE TABLE|ALTER TABLE)/i.test(text)) {
      this.notePartitioning(text);
      await this.run(translateDdl(text));
      return { kind: 'DDL', dataScannedInBytes: 0 };
    }
    if (/^CREATE OR REPLACE VIEW/i.test(text)) {
      await this.ensureSchemaOf(/VIEW\s+"([a-z_0-9]+)"\./i.exec(text)?.[1]);
      await this.run(text);
      return { kind: 'DDL', dataScannedInBytes: 0 };
    }
    const scanned = await this.loadPartitions(text);
    if (/^MERGE INTO/i.test(text)) {
      await this.refuseMultipleMatches(text);
      await this.refuseTooManyPartitions(text);
    }
    const reader = await this.run(text);
    const rows = /^SELECT/i.test(text) ? reader.getRowObjectsJson() : undefined;
    return { kind: 'DML', dataScannedInBytes: scanned, ...(rows ? { rows } : {}) };
  }

  /** A query's rows as JSON values (bigints as strings). */
  async rows(sql: string): Promise<Record<string, unknown>[]> {
    return (await this.run(sql)).getRowObjectsJson();
  }

  private async run(sql: string) {
    try {
      return await this.connection.runAndReadAll(sql);
    } catch (err) {
      throw new AthenaQueryError((err as Error).message);
    }
  }

  private async ensureSchemaOf(schema: string | undefined): Promise<void> {
    if (schema) await this.run(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  }

  /** Reloads, from their symlink files, the staging partitions a statement reads; returns the bytes read. */
  private async loadPartitions(sql: string): Promise<number> {
    let scanned = 0;
    for (const [name, source] of this.staging) {
      if (!sql.includes(quoteName(name))) continue;
      const list = /"export" IN \(([^)]*)\)/.exec(sql)?.[1] ?? '';
      const partitions = [...list.matchAll(/'([^']+)'/g)].map((m) => m[1]);
      for (const partition of partitions) {
        await this.run(`DELETE FROM ${quoteName(name)} WHERE "export" = '${partition.replace(/'/g, "''")}'`);
        const symlink = await getText(source.s3, source.bucket, source.symlinkKey(partition));
        const appender = await this.connection.createAppender(name.split('.')[1], name.split('.')[0]);
        for (const file of parseSymlinkBody(symlink)) {
          const text = gunzipSync(await getBytes(source.s3, file.bucket, file.key)).toString('utf8');
          scanned += Buffer.byteLength(text);
          for (const line of text.split('\n')) {
            if (line.trim() === '') continue;
            appender.appendVarchar(line);
            appender.appendVarchar(partition);
            appender.endRow();
          }
        }
        appender.closeSync();
      }
    }
    return scanned;
  }

  /**
   * Athena fails a MERGE in which one target row matches more than one source row; DuckDB does not,
   * so the source is joined to the target on the MERGE's own ON condition first.
   */
  private async refuseMultipleMatches(sql: string): Promise<void> {
    const { target, source, on } = mergeParts(sql);
    const keys = [...on.matchAll(/t\.("[a-z_0-9]+")/g)].map((k) => `t.${k[1]}`);
    const rows = await this.rows(
      `SELECT ${keys.join(', ')}, count(*) AS n FROM ${target} AS t JOIN (${source}) AS s ON ${on} ` +
        `GROUP BY ${keys.join(', ')} HAVING count(*) > 1 LIMIT 1`,
    );
    if (rows.length > 0)
      throw new AthenaQueryError(
        `MERGE_TARGET_ROW_MULTIPLE_MATCHES: One MERGE target table row matched more than one source row (${JSON.stringify(rows[0])})`,
      );
  }

  /** Records a CREATE TABLE's `PARTITIONED BY (bucket(n, column))`. */
  private notePartitioning(ddl: string): void {
    const table = /^CREATE TABLE IF NOT EXISTS `([a-z_0-9]+)`\.`([a-z_0-9]+)`/.exec(ddl);
    const bucket = /\nPARTITIONED BY \(bucket\((\d+), `([a-z_0-9]+)`\)\)/.exec(ddl);
    if (table && bucket)
      this.partitioning.set(`"${table[1]}"."${table[2]}"`, { buckets: Number(bucket[1]), column: bucket[2] });
  }

  /**
   * Athena fails a write that opens more than 100 partition writers (HIVE_TOO_MANY_OPEN_PARTITIONS),
   * Iceberg tables included. The rows a MERGE writes are those it updates or deletes (a matched row
   * not older than the target's) and those it inserts (an unmatched row that is not a delete); each
   * is in the bucket of its partition column.
   */
  private async refuseTooManyPartitions(sql: string): Promise<void> {
    const { target, source, on } = mergeParts(sql);
    const partitioning = this.partitioning.get(target);
    if (!partitioning) return;
    const column = `"${partitioning.column}"`;
    const rows = await this.rows(
      `SELECT DISTINCT s.${column} AS v FROM (${source}) AS s LEFT JOIN ${target} AS t ON ${on} ` +
        `WHERE (t.${column} IS NOT NULL AND s."ts" >= t."_write_ts_micros") OR (t.${column} IS NULL AND NOT s."is_delete")`,
    );
    const written = new Set(rows.map((r) => icebergBucket(String(r.v), partitioning.buckets)));
    if (written.size > ATHENA_MAX_PARTITIONS_WRITTEN)
      throw new AthenaQueryError(
        `HIVE_TOO_MANY_OPEN_PARTITIONS: Exceeded limit of ${ATHENA_MAX_PARTITIONS_WRITTEN} open writers for partitions/buckets (this MERGE writes ${written.size} buckets of ${target})`,
      );
  }
}

/** The parts of a MERGE of the builder's shape: target, source query, ON condition. */
function mergeParts(sql: string): { target: string; source: string; on: string } {
  const m = /^MERGE INTO (\S+) AS t\nUSING \(\n([\s\S]*)\n\) AS s\nON (.*)\n/.exec(sql);
  if (!m) throw new AthenaQueryError('the stand-in reads MERGE statements of the builder shape only');
  return { target: m[1], source: m[2], on: m[3] };
}

function quoteName(name: string): string {
  return name
    .split('.')
    .map((part) => `"${part}"`)
    .join('.');
}

/** Hive-style Athena DDL to DuckDB: see the module comment. */
export function translateDdl(sql: string): string {
  let text = sql.replace(/`([a-z_0-9]+)`/g, '"$1"').replace(/\bstring\b/g, 'VARCHAR');
  text = text.replace(/\nPARTITIONED BY \(bucket\(\d+, "[a-z_0-9]+"\)\)/, '');
  text = text.replace(/\nLOCATION '[^']*'/, '').replace(/\nTBLPROPERTIES \([^)]*\)/, '');
  const add = /^ALTER TABLE (\S+) ADD COLUMNS \(("[a-z_0-9]+") ([^)]+\)?)\)$/.exec(text);
  if (add) return `ALTER TABLE ${add[1]} ADD COLUMN ${add[2]} ${add[3]}`;
  const schema = /^CREATE TABLE IF NOT EXISTS "([a-z_0-9]+)"\./.exec(text)?.[1];
  return schema ? `CREATE SCHEMA IF NOT EXISTS "${schema}"; ${text}` : text;
}
