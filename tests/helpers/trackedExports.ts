import type { TrackedExport } from '../../functions/chain/state';

/** An export in flight: its window, its ARN, when it is next described, how often it was. */
export interface InFlightWindow {
  from: number;
  to: number;
  arn: string;
  nextCheckAt: number;
  /** DescribeExport calls so far. @default 0 */
  checks?: number;
}

/**
 * An incremental export DynamoDB accepted and is still running, on its first attempt: how the
 * planner tests put exports in flight before a tick.
 */
export function inProgressIncremental(w: InFlightWindow): TrackedExport {
  return {
    type: 'INCREMENTAL',
    from: w.from,
    to: w.to,
    attempt: 1,
    status: 'IN_PROGRESS',
    arn: w.arn,
    nextCheckAt: w.nextCheckAt,
    checks: w.checks ?? 0,
  };
}
