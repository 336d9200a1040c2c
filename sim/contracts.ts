/**
 * Interfaces between the simulated DynamoDB export engine (`sim/fakeAws/`) and the simulated table
 * and export writer (`sim/workload.ts`, `cli/exportFormat.ts`). Times are epoch seconds unless named
 * otherwise.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';

export type Item = Record<string, AttributeValue>;

/** One item's net change over an incremental window, as an incremental export reports it. */
export interface ChangeRecord {
  /** Key attributes of the item. */
  keys: Item;
  /** State at the end of the window; absent when the item was deleted (or never existed at the end). */
  newImage?: Item;
  /** State just before the window started; absent when the item did not exist then. */
  oldImage?: Item;
  /** Time of the item's last write in the window, microseconds since the epoch. */
  writeTimeMicros: number;
}

/** A source table whose full history is kept, so point-in-time exports can be produced. */
export interface TableSource {
  /** Names of the key attributes (partition key first). */
  readonly keyAttributes: readonly string[];
  /** Every item as of time `t` (writes at or before `t`). */
  snapshotAt(t: number): Item[];
  /** One compacted record per item changed in `[from, to)`; items changed back and forth still appear once. */
  changesBetween(from: number, to: number): ChangeRecord[];
}

export interface ExportSpec {
  exportArn: string;
  /** Last segment of the ARN; names the export's folder `<prefix>/AWSDynamoDB/<exportId>/`. */
  exportId: string;
  type: 'FULL_EXPORT' | 'INCREMENTAL_EXPORT';
  tableArn: string;
  bucket: string;
  /** Key prefix without trailing slash ('' for none). */
  prefix: string;
  exportFormat: 'DYNAMODB_JSON' | 'ION';
  /** Incremental exports only. */
  exportViewType?: 'NEW_AND_OLD_IMAGES' | 'NEW_IMAGE';
  /** Full exports: the snapshot time. */
  exportTime?: number;
  /** Incremental exports: inclusive start and exclusive end. */
  from?: number;
  to?: number;
  startTime: number;
  endTime: number;
}

export interface ExportOutcome {
  itemCount: number;
  billedSizeBytes: number;
  /** Key of the export's manifest-summary.json. */
  manifestSummaryKey: string;
}

/** Writes an export's files; the in-memory sink only counts, the real one writes the AWS format to S3. */
export interface ExportSink {
  writeFull(spec: ExportSpec, items: Item[]): Promise<ExportOutcome>;
  writeIncremental(spec: ExportSpec, records: ChangeRecord[]): Promise<ExportOutcome>;
}
