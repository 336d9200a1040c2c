/**
 * The shapes of DynamoDB export data shared by every reader and writer: items, the records of
 * full and incremental exports, and what an export writer is asked to write. Times are epoch
 * seconds unless named otherwise.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';

/** An item (or a key, or the body of a map) in the AWS SDK v3 shape; binary values are `Uint8Array`. */
export type Item = Record<string, AttributeValue>;

/** The two output formats DynamoDB exports in (`ExportFormat` of ExportTableToPointInTime). */
export type ExportFormatName = 'DYNAMODB_JSON' | 'ION';

/** Incremental export views (`ExportViewType`). */
export type ExportViewType = 'NEW_AND_OLD_IMAGES' | 'NEW_IMAGE';

/** One item's net change over an incremental window, as an incremental export reports it. */
export interface ChangeRecord {
  /** Key attributes of the item. */
  keys: Item;
  /** State at the end of the window; absent when the item was deleted (or never existed at the end). */
  newImage?: Item;
  /** State just before the window started; absent when the item did not exist then. */
  oldImage?: Item;
  /** Time of the item's last write in the window, microseconds since the epoch. */
  writeTimeMicros: number | bigint;
}

/** What an export writer is asked to write: DynamoDB's view of one export. */
export interface ExportSpec {
  exportArn: string;
  /** Last segment of the ARN; names the export's folder `<prefix>/AWSDynamoDB/<exportId>/`. */
  exportId: string;
  type: 'FULL_EXPORT' | 'INCREMENTAL_EXPORT';
  tableArn: string;
  bucket: string;
  /** Key prefix without trailing slash ('' for none). */
  prefix: string;
  exportFormat: ExportFormatName;
  /** Incremental exports only. */
  exportViewType?: ExportViewType;
  /** Full exports: the snapshot time. */
  exportTime?: number;
  /** Incremental exports: inclusive start and exclusive end. */
  from?: number;
  to?: number;
  startTime: number;
  endTime: number;
}

/** What an export writer reports back, as DescribeExport would. */
export interface ExportOutcome {
  itemCount: number;
  billedSizeBytes: number;
  /** Key of the export's manifest-summary.json. */
  manifestSummaryKey: string;
}

/** Writes an export's files; an in-memory sink only counts, the S3 one writes the AWS format. */
export interface ExportSink {
  writeFull(spec: ExportSpec, items: Item[]): Promise<ExportOutcome>;
  writeIncremental(spec: ExportSpec, records: ChangeRecord[]): Promise<ExportOutcome>;
}

/** Where a record was read: the data file's key and the 1-based line in its uncompressed text. */
export interface RecordPlace {
  file: string;
  line: number;
}

/** A full-export line (`{"Item": ...}`). */
export interface ItemRecord extends RecordPlace {
  kind: 'item';
  item: Item;
}

/** An incremental-export line; no `newImage` means the item was deleted. */
export interface ChangeLineRecord extends RecordPlace {
  kind: 'change';
  keys: Item;
  newImage?: Item;
  oldImage?: Item;
  /**
   * `Metadata.WriteTimestampMicros`, microseconds since the epoch, as an exact integer (a
   * JavaScript number cannot hold every microsecond timestamp exactly). Undefined when absent.
   */
  writeTimestampMicros?: bigint;
}

export type ExportRecord = ItemRecord | ChangeLineRecord;
