/**
 * An export sink that writes nothing: it records what an export would contain and answers with the
 * key DynamoDB would give its manifest-summary.json. Fast enough for month-long simulations.
 */
import { manifestSummaryKey } from '../format/layout';
import type { ChangeRecord, ExportOutcome, ExportSink, ExportSpec, Item } from './contracts';

/** What one export would have written. */
export interface RecordedExport {
  spec: ExportSpec;
  kind: 'FULL' | 'INCREMENTAL';
  itemCount: number;
  billedSizeBytes: number;
  manifestSummaryKey: string;
  /** Kept only when the sink was created with `keepData: true`. */
  items?: Item[];
  records?: ChangeRecord[];
}

export { manifestSummaryKey };

export class MemorySink implements ExportSink {
  readonly written: RecordedExport[] = [];

  constructor(private readonly options: { keepData?: boolean } = {}) {}

  async writeFull(spec: ExportSpec, items: Item[]): Promise<ExportOutcome> {
    return this.record(spec, 'FULL', items.length, sizeOf(items), { items });
  }

  async writeIncremental(spec: ExportSpec, records: ChangeRecord[]): Promise<ExportOutcome> {
    return this.record(spec, 'INCREMENTAL', records.length, sizeOf(records), { records });
  }

  /** Number of times an export ARN was written: must be at most 1. */
  timesWritten(exportArn: string): number {
    return this.written.filter((w) => w.spec.exportArn === exportArn).length;
  }

  private record(
    spec: ExportSpec,
    kind: 'FULL' | 'INCREMENTAL',
    itemCount: number,
    billedSizeBytes: number,
    data: { items?: Item[]; records?: ChangeRecord[] },
  ): ExportOutcome {
    const key = manifestSummaryKey(spec.prefix, spec.exportId);
    this.written.push({
      spec,
      kind,
      itemCount,
      billedSizeBytes,
      manifestSummaryKey: key,
      ...(this.options.keepData ? data : {}),
    });
    return { itemCount, billedSizeBytes, manifestSummaryKey: key };
  }
}

function sizeOf(value: unknown[]): number {
  let size = 0;
  for (const v of value) size += JSON.stringify(v).length;
  return size;
}
