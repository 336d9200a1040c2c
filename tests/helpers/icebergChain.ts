/**
 * A committed chain as the Iceberg feed's planner reads it (functions/iceberg/planner.ts), for the
 * feed's unit tests: the full export at `ICEBERG_T0`, then one 15-minute window per sequence.
 */
import type { IcebergChainView, IcebergEntry } from '../../functions/iceberg/planner';

export const ICEBERG_EPOCH = '20261103T000000Z';
export const ICEBERG_T0 = Date.UTC(2026, 10, 3) / 1000;

/** Entry `sequence`: the full export at 0, else the window ending `sequence` quarters of an hour on. */
export function icebergEntry(sequence: number): IcebergEntry {
  return {
    sequence,
    type: sequence === 0 ? 'FULL' : 'INCREMENTAL',
    to: new Date((ICEBERG_T0 + sequence * 900) * 1000).toISOString(),
    exportArn: `arn:aws:dynamodb:eu-west-1:1:table/t/export/${sequence}`,
    bucket: 'b',
    manifestSummaryKey: `k${sequence}`,
  };
}

/** The chain committed up to `last`, without the entries in `missing`. */
export function icebergChainOf(last: number, missing: number[] = []): IcebergChainView {
  return {
    currentEpoch: ICEBERG_EPOCH,
    head: { lastSequence: last, watermark: icebergEntry(last).to },
    entries: Array.from({ length: last + 1 }, (_, i) => icebergEntry(i)).filter(
      (e) => !missing.includes(e.sequence),
    ),
  };
}
