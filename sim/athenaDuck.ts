/**
 * An offline stand-in for Athena (engine v3) that runs the Iceberg feed's exact SQL on DuckDB
 * (`@duckdb/node-api`, in process, nothing downloaded at run time). Used by the SQL oracle tests, the
 * workflow test's `athena:startQueryExecution.sync` handler and the bench.
 *
 * What it does as Athena does:
 * - The DML (MERGE, SELECT, CREATE OR REPLACE VIEW) runs verbatim, with five compatibility macros for
 *   Trino functions DuckDB lacks or names otherwise (SHIMS below). DuckDB's own `try`, `try_cast`,
 *   `row_number`, `MERGE INTO` and `timestamp(6)` behave as Trino's for the statements the builder makes.
 * - The staging table reads its symlink partitions at query time: for each partition a statement names
 *   (`"export" IN (...)`), it reads `symlink.txt` from S3, then every gzip data file it lists, line by line.
 * - It refuses what Athena refuses: a statement over 262,144 bytes, and a MERGE in which one target row
 *   matches several source rows (`MERGE_TARGET_ROW_MULTIPLE_MATCHES`; DuckDB would update twice).
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

/** Trino functions DuckDB lacks, as macros (the builder applies json_extract_scalar to leaves only). */
export const SHIMS = [
  `CREATE MACRO json_extract_scalar(j, p) AS json_extract_string(j, p)`,
  `CREATE MACRO json_format(j) AS CAST(j AS VARCHAR)`,
  `CREATE MACRO json_parse(s) AS CAST(s AS JSON)`,
  `CREATE MACRO from_unixtime(x) AS to_timestamp(x)`,
  `CREATE MACRO from_iso8601_timestamp(s) AS CAST(s AS TIMESTAMPTZ)`,
];

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
      await this.run(translateDdl(text));
      return { kind: 'DDL', dataScannedInBytes: 0 };
    }
    if (/^CREATE OR REPLACE VIEW/i.test(text)) {
      await this.ensureSchemaOf(/VIEW\s+"([a-z_0-9]+)"\./i.exec(text)?.[1]);
      await this.run(text);
      return { kind: 'DDL', dataScannedInBytes: 0 };
    }
    const scanned = await this.loadPartitions(text);
    if (/^MERGE INTO/i.test(text)) await this.refuseMultipleMatches(text);
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
    const m = /^MERGE INTO (\S+) AS t\nUSING \(\n([\s\S]*)\n\) AS s\nON (.*)\n/.exec(sql);
    if (!m) throw new AthenaQueryError('the stand-in reads MERGE statements of the builder shape only');
    const [, target, source, on] = m;
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
