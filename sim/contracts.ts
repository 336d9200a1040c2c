/**
 * Interfaces between the simulated DynamoDB export engine (`sim/fakeAws/`) and the simulated table
 * (`sim/workload.ts`). The item, record and export shapes belong to the format module and are
 * re-exported here. Times are epoch seconds unless named otherwise.
 */
import type { ChangeRecord, Item } from '../format/types';

export type { ChangeRecord, ExportOutcome, ExportSink, ExportSpec, Item } from '../format/types';

/** A source table whose full history is kept, so point-in-time exports can be produced. */
export interface TableSource {
  /** Names of the key attributes (partition key first). */
  readonly keyAttributes: readonly string[];
  /** Every item as of time `t` (writes at or before `t`). */
  snapshotAt(t: number): Item[];
  /** One compacted record per item changed in `[from, to)`; items changed back and forth still appear once. */
  changesBetween(from: number, to: number): ChangeRecord[];
}
