/** The estimate of the monthly orchestration cost from the counts of a run (pure). */

/** USD list prices (us-east-1) used by the cost estimate. */
export const PRICES = {
  stepFunctionsPerTransition: 0.025 / 1000,
  lambdaPerRequest: 0.2 / 1_000_000,
  lambdaPerGbSecond: 0.0000166667,
  schedulerPerInvocation: 1 / 1_000_000,
  s3PutOrListPerRequest: 0.005 / 1000,
  s3GetPerRequest: 0.0004 / 1000,
  snsPerPublish: 0.5 / 1_000_000,
};

/** Estimated monthly orchestration cost per table, USD. */
export interface CostEstimate {
  monthlyUsd: number;
  items: { item: string; monthlyUsd: number; basis: string }[];
  notIncluded: string[];
}

/** What a run counted, for the estimate. */
export interface CostCounts {
  days: number;
  transitions: number;
  invocations: number;
  /** Sum of handler durations, ms (each rounded up to 1 ms, as Lambda bills). */
  lambdaMs: number;
  lambdaMemoryMb: number;
  schedulerInvocations: number;
  s3PutsAndLists: number;
  s3Gets: number;
  snsPublishes: number;
}

/** Pure: monthly orchestration cost from the counts of a run that lasted `days`. */
export function estimateMonthlyCost(counts: CostCounts): CostEstimate {
  const perMonth = 30 / counts.days;
  const gbSeconds = (counts.lambdaMs / 1000) * (counts.lambdaMemoryMb / 1024);
  const items = [
    {
      item: 'Step Functions (Standard) state transitions',
      monthlyUsd: counts.transitions * perMonth * PRICES.stepFunctionsPerTransition,
      basis: `${Math.round(counts.transitions * perMonth)} transitions`,
    },
    {
      item: 'Lambda requests and duration',
      monthlyUsd:
        perMonth * (counts.invocations * PRICES.lambdaPerRequest + gbSeconds * PRICES.lambdaPerGbSecond),
      basis: `${Math.round(counts.invocations * perMonth)} invocations, ${Math.round(gbSeconds * perMonth)} GB-s at ${counts.lambdaMemoryMb} MB`,
    },
    {
      item: 'EventBridge Scheduler',
      monthlyUsd: counts.schedulerInvocations * perMonth * PRICES.schedulerPerInvocation,
      basis: `${Math.round(counts.schedulerInvocations * perMonth)} invocations`,
    },
    {
      item: 'S3 requests of the chain manifest',
      monthlyUsd:
        perMonth *
        (counts.s3PutsAndLists * PRICES.s3PutOrListPerRequest + counts.s3Gets * PRICES.s3GetPerRequest),
      basis: `${Math.round(counts.s3PutsAndLists * perMonth)} PUT/LIST, ${Math.round(counts.s3Gets * perMonth)} GET/HEAD`,
    },
    {
      item: 'SNS notifications',
      monthlyUsd: counts.snsPublishes * perMonth * PRICES.snsPerPublish,
      basis: `${Math.round(counts.snsPublishes * perMonth)} publishes`,
    },
  ];
  return {
    monthlyUsd: items.reduce((sum, i) => sum + i.monthlyUsd, 0),
    items,
    notIncluded: [
      'DynamoDB export charges (per GB of data exported)',
      'S3 storage of the exports',
      'CloudWatch custom metrics, dashboard and alarms (fixed monthly charges)',
      'SSM standard parameters and their API calls (no charge at standard throughput)',
    ],
  };
}
