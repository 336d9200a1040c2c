/** Fixtures of the replica planner's tests: one epoch, 15-minute entries from T0, a plan context. */
import type { PlanContext, PlannedEntry } from '../../functions/replica/planner';

export const PLAN_EPOCH = '20261103T010000Z';
/** The epoch's start, epoch seconds. */
export const PLAN_T0 = Date.UTC(2026, 10, 3, 1) / 1000;

export const isoAt = (seconds: number): string => new Date(seconds * 1000).toISOString();

/** Chain entry `sequence` (0 is the full export), ending `sequence` windows of 15 minutes after T0. */
export function plannedEntry(sequence: number, itemCount = 10): PlannedEntry {
  return {
    sequence,
    type: sequence === 0 ? 'FULL' : 'INCREMENTAL',
    to: isoAt(PLAN_T0 + sequence * 900),
    itemCount,
    exportArn: `arn:aws:dynamodb:eu-west-1:123456789012:table/orders/export/${sequence}`,
    bucket: 'b',
    manifestSummaryKey: `k/${sequence}/manifest-summary.json`,
  };
}

/** A plan context a day after T0, with small limits so groups and Distributed Map entries show. */
export const planContext = (over: Partial<PlanContext> = {}): PlanContext => ({
  onNewEpoch: 'halt',
  bootstrap: 'write',
  executionId: 'exec-1',
  now: PLAN_T0 + 86_400,
  leaseSeconds: 1800,
  limits: { distributedMinItems: 1000, groupMaxItems: 1500, groupMaxEntries: 5 },
  ...over,
});
