/**
 * The Iceberg feed's offline oracle: a chain written by the format module's writer, the builder's SQL
 * run on DuckDB (sim/athenaDuck.ts) over the chain's own export files, and a reference fold of the
 * chain (records applied in chain order, the last state per key kept) to compare the lake with.
 */
import { canonicalItem, itemFromJson, readExportRecords, type Item, type S3Sender } from '../../format';
import type { ChainEntry } from '../../functions/shared/chainManifest';
import {
  epochTableName,
  exportPartition,
  mergeSql,
  createTableSql,
  type BatchExport,
  type IcebergTableSpec,
} from '../../functions/iceberg/sql';
import { lakeLocation, symlinkKey, writeExportSymlink } from '../../functions/iceberg/staging';
import { DuckAthena } from '../../sim/athenaDuck';

export const LAKE_BUCKET = 'lake-bucket';
export const LAKE_PREFIX = 'exports/orders';

/** The feed of the test table `orders` (key pk, string; sort key sk, number, when `sorted`). */
export function oracleSpec(options: { sorted?: boolean; columns?: IcebergTableSpec['columns'] } = {}) {
  const spec: IcebergTableSpec = {
    database: 'lake',
    table: 'orders',
    partitionKey: { attribute: 'pk', type: 'S', column: 'pk' },
    ...(options.sorted ? { sortKey: { attribute: 'sk', type: 'N' as const, column: 'sk' } } : {}),
    columns: options.columns ?? [],
    stagingDatabase: 'lake_staging',
    stagingTable: 'orders_changes',
    lakeLocation: lakeLocation(LAKE_BUCKET, LAKE_PREFIX, 'orders'),
  };
  return spec;
}

/** A DuckDB Athena whose staging table reads the symlink files under the test prefix. */
export function oracleAthena(s3: S3Sender, spec: IcebergTableSpec): Promise<DuckAthena> {
  return DuckAthena.create({
    [`${spec.stagingDatabase}.${spec.stagingTable}`]: {
      s3,
      bucket: LAKE_BUCKET,
      symlinkKey: (partition) => symlinkKey(LAKE_PREFIX, spec.table, partition),
    },
  });
}

/** The batch export of one chain entry. */
export function batchExport(entry: ChainEntry): BatchExport {
  return {
    sequence: entry.sequence,
    type: entry.type,
    exportId: entry.exportArn.split('/').pop()!,
    ...(entry.type === 'FULL' ? { exportTimeMicros: BigInt(Date.parse(entry.to)) * 1000n } : {}),
  };
}

/** Writes the symlink partition of every entry (as the plan step does). */
export async function writeSymlinks(
  s3: S3Sender,
  spec: IcebergTableSpec,
  entries: ChainEntry[],
): Promise<void> {
  for (const entry of entries)
    await writeExportSymlink(
      s3,
      {
        bucket: LAKE_BUCKET,
        prefix: LAKE_PREFIX,
        table: spec.table,
        partition: exportPartition(entry.epoch, entry.sequence),
      },
      entry,
    );
}

/**
 * Splits entries into batches as the feed may: the full export alone, then runs of incrementals of the
 * given sizes (cycled).
 */
export function batches(entries: ChainEntry[], sizes: number[]): ChainEntry[][] {
  const out: ChainEntry[][] = [];
  let i = 0;
  let s = 0;
  while (i < entries.length) {
    const size = entries[i].type === 'FULL' ? 1 : Math.max(1, sizes[s++ % sizes.length]);
    const run: ChainEntry[] = [];
    while (run.length < size && i < entries.length && entries[i].type === 'INCREMENTAL')
      run.push(entries[i++]);
    if (run.length === 0) run.push(entries[i++]);
    out.push(run);
  }
  return out;
}

/** Creates the epoch's table, then MERGEs each batch. */
export async function mergeChain(
  duck: DuckAthena,
  spec: IcebergTableSpec,
  epoch: string,
  groups: ChainEntry[][],
): Promise<void> {
  await duck.execute(createTableSql(spec, epoch));
  for (const group of groups) await duck.execute(mergeSql(spec, epoch, group.map(batchExport)));
}

/** One row of the lake or the fold: the item (canonical text), its write time and chain sequence. */
export interface LakeRow {
  item: string;
  writeMicros: string;
  seq: number;
}

function keyText(spec: IcebergTableSpec, item: Item): string {
  const part = (attribute: string) => {
    const v = item[attribute] as unknown as Record<string, string>;
    return v.S ?? v.N ?? v.B;
  };
  return spec.sortKey
    ? `${part(spec.partitionKey.attribute)}\u0000${part(spec.sortKey.attribute)}`
    : part(spec.partitionKey.attribute);
}

/** The lake table's rows by key. */
export async function lakeRows(
  duck: DuckAthena,
  spec: IcebergTableSpec,
  epoch: string,
  generation = 0,
): Promise<Map<string, LakeRow>> {
  const rows = await duck.rows(
    `SELECT * FROM "${spec.database}"."${epochTableName(spec, epoch, generation)}"`,
  );
  const out = new Map<string, LakeRow>();
  for (const row of rows) {
    const item = itemFromJson(JSON.parse(String(row.item)));
    const key = spec.sortKey
      ? `${row[spec.partitionKey.column]}\u0000${row[spec.sortKey.column]}`
      : String(row[spec.partitionKey.column]);
    if (out.has(key)) throw new Error(`the lake holds key ${key} twice`);
    if (key !== keyText(spec, item))
      throw new Error(`key columns ${key} do not match item ${canonicalItem(item)}`);
    out.set(key, {
      item: canonicalItem(item),
      writeMicros: String(row._write_ts_micros),
      seq: Number(row._chain_seq),
    });
  }
  return out;
}

/** The reference fold: every record of the entries in chain order, the last state per key kept. */
export async function foldChain(
  s3: S3Sender,
  spec: IcebergTableSpec,
  entries: ChainEntry[],
): Promise<Map<string, LakeRow>> {
  const out = new Map<string, LakeRow>();
  for (const entry of entries) {
    const fullMicros = String(BigInt(Date.parse(entry.to)) * 1000n);
    for await (const record of readExportRecords(s3, entry.bucket, entry.manifestSummaryKey)) {
      if (record.kind === 'item') {
        out.set(keyText(spec, record.item), {
          item: canonicalItem(record.item),
          writeMicros: fullMicros,
          seq: entry.sequence,
        });
      } else if (record.newImage) {
        out.set(keyText(spec, record.keys), {
          item: canonicalItem(record.newImage),
          writeMicros: String(record.writeTimestampMicros),
          seq: entry.sequence,
        });
      } else out.delete(keyText(spec, record.keys));
    }
  }
  return out;
}

/** A map as sorted entries, for deep comparison with a readable diff. */
export function sorted(map: Map<string, LakeRow>): [string, LakeRow][] {
  return [...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
