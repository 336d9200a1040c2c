/**
 * The modelled monthly cost of keeping an Iceberg table fresh, per merge interval and table size
 * (`npm run bench:iceberg`, docs/iceberg.md "Cost model"), beside the alternatives whose prices the
 * project's reference gives. Pure; every assumption is a named constant.
 *
 * Athena MERGE (the feed): bytes scanned per MERGE = the target's join columns across the table
 * (keys and `_write_ts_micros`, about 20 bytes a row compressed [I]) + the export's changes (about
 * 200 bytes a change gzip-compressed [I]), at least the 10 MB minimum per query; $5 per TB scanned
 * [C2]. Plus about 6 Step Functions transitions per MERGE ($0.025 per 1,000). DDL and failed queries
 * are free. Glue table optimizers (compaction, $0.44 per DPU-hour) are not modelled: how often they
 * run is [U].
 *
 * Glue Spark MERGE on the same schedule: at least 2 DPU for 2 to 3 minutes a run (start and work) at
 * $0.44 per DPU-hour [I], a floor that grows with the table ([U] beyond a small table).
 * Glue zero-ETL: its ingestion price was not found [U]; it also pays its own exports.
 */

/** Prices and sizes of the model. */
export const ICEBERG_COST = {
  athenaPerTb: 5,
  athenaMinimumBytes: 10 * 1024 * 1024,
  keyBytesPerRow: 20,
  changeBytes: 200,
  /** A typical item, to turn a table's size into rows. */
  itemBytes: 1024,
  /** Share of the table's items changed a day. */
  dailyChangeRate: 0.01,
  transitionsPerMerge: 6,
  stepFunctionsPerTransition: 0.025 / 1000,
  glueDpuHour: 0.44,
  sparkDpu: 2,
  sparkMinutes: [2, 3] as const,
  minutesPerMonth: 30 * 24 * 60,
};

const TB = 1024 ** 4;

/** One row of the model: a table size and merge interval. */
export interface IcebergCostRow {
  tableBytes: number;
  mergeEveryMinutes: number;
  mergesPerMonth: number;
  bytesScannedPerMerge: number;
  athenaUsd: number;
  stepFunctionsUsd: number;
  /** Athena plus Step Functions. */
  feedUsd: number;
  /** Glue Spark on the same schedule: a floor and a ceiling. */
  glueSparkUsd: [number, number];
}

/** The model for one table size and one merge interval (see the module comment). */
export function icebergMonthlyCost(tableBytes: number, mergeEveryMinutes: number): IcebergCostRow {
  const c = ICEBERG_COST;
  const rows = tableBytes / c.itemBytes;
  const mergesPerMonth = c.minutesPerMonth / mergeEveryMinutes;
  const changesPerMerge = (rows * c.dailyChangeRate * mergeEveryMinutes) / (24 * 60);
  const bytesScannedPerMerge = Math.max(
    c.athenaMinimumBytes,
    rows * c.keyBytesPerRow + changesPerMerge * c.changeBytes,
  );
  const athenaUsd = (mergesPerMonth * bytesScannedPerMerge * c.athenaPerTb) / TB;
  const stepFunctionsUsd = mergesPerMonth * c.transitionsPerMerge * c.stepFunctionsPerTransition;
  const sparkRun = (minutes: number) => (c.sparkDpu * minutes * c.glueDpuHour) / 60;
  return {
    tableBytes,
    mergeEveryMinutes,
    mergesPerMonth,
    bytesScannedPerMerge,
    athenaUsd,
    stepFunctionsUsd,
    feedUsd: athenaUsd + stepFunctionsUsd,
    glueSparkUsd: [
      mergesPerMonth * sparkRun(c.sparkMinutes[0]),
      mergesPerMonth * sparkRun(c.sparkMinutes[1]),
    ],
  };
}
