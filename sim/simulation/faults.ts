/**
 * The faults of a simulation run: what each level injects (pure), the seeded random numbers that pick
 * them, and their installation in the offline account.
 */
import type { FakeAws, TransientFault } from '../fakeAws';
import type { FaultLevel } from './options';

/** Deterministic pseudo-random numbers for the fault plan (mulberry32). */
export function faultRandom(seed: number): () => number {
  let a = (seed ^ 0x9e3779b9) >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The faults of one run, decided up front from the level and the seed. */
export interface FaultPlan {
  /** Probability that the first attempt of an incremental window's export fails. */
  exportFailureRate: number;
  /** Attempts of a picked window that fail (1 or 2). */
  failedAttemptsPerWindow: number;
  /** The full export's first attempt fails. */
  failFullExportOnce: boolean;
  /** Probability of a transient error per call, by fake command. */
  transient: { command: string; error: TransientFault; rate: number }[];
  /** Probability of a transient S3 error (503 SlowDown) per call of the tick's S3 client. */
  s3TransientRate: number;
  duplicateRate: number;
  skipRate: number;
  /** Delivery delay upper bound, seconds. */
  maxDeliveryDelaySeconds: number;
  /** Operator pauses, as fractions of the run: [start, end). */
  pauses: [number, number][];
  /** Operator resets, as fractions of the run. */
  resets: number[];
}

/** Pure: what each fault level injects. */
export function faultPlan(level: FaultLevel): FaultPlan {
  switch (level) {
    case 'none':
      return {
        exportFailureRate: 0,
        failedAttemptsPerWindow: 0,
        failFullExportOnce: false,
        transient: [],
        s3TransientRate: 0,
        duplicateRate: 0,
        skipRate: 0,
        maxDeliveryDelaySeconds: 0,
        pauses: [],
        resets: [],
      };
    case 'some':
      return {
        exportFailureRate: 0.02,
        failedAttemptsPerWindow: 1,
        failFullExportOnce: false,
        transient: [
          { command: 'DescribeExport', error: 'ThrottlingException', rate: 0.02 },
          { command: 'ExportTableToPointInTime', error: 'InternalServerError', rate: 0.02 },
        ],
        s3TransientRate: 0,
        duplicateRate: 0.03,
        skipRate: 0,
        maxDeliveryDelaySeconds: 60,
        pauses: [[0.4, 0.55]],
        resets: [],
      };
    case 'chaos':
      return {
        exportFailureRate: 0.05,
        failedAttemptsPerWindow: 2,
        failFullExportOnce: true,
        transient: [
          { command: 'DescribeExport', error: 'ThrottlingException', rate: 0.05 },
          { command: 'DescribeContinuousBackups', error: 'ServiceUnavailable', rate: 0.03 },
          { command: 'ExportTableToPointInTime', error: 'LimitExceededException', rate: 0.05 },
          { command: 'PutParameter', error: 'ThrottlingException', rate: 0.02 },
          { command: 'GetParameters', error: 'InternalServerError', rate: 0.02 },
          { command: 'Publish', error: 'SdkClientException', rate: 0.05 },
        ],
        s3TransientRate: 0.01,
        duplicateRate: 0.1,
        skipRate: 0.05,
        maxDeliveryDelaySeconds: 90,
        pauses: [
          [0.2, 0.3],
          [0.5, 0.52],
        ],
        resets: [0.7],
      };
  }
}

/** Counts of what was injected, read when the run is over. */
export interface InjectedFaults {
  readonly failedExports: number;
}

/**
 * Makes the fake export engine fail the picked exports (each picked window `failedAttemptsPerWindow`
 * times, the full export once at `chaos`) and the fakes throw the plan's transient errors.
 */
export function installFaults(aws: FakeAws, plan: FaultPlan, random: () => number): InjectedFaults {
  const injected = { failedExports: 0 };
  if (plan.exportFailureRate > 0 || plan.failFullExportOnce) {
    const failedAttempts = new Map<string, number>();
    const pickedWindows = new Map<number, boolean>();
    aws.dynamodb.failNextExports((request) => {
      const full = request.type === 'FULL_EXPORT';
      const id = full ? 'full' : String(request.from);
      let picked: boolean;
      if (full) picked = plan.failFullExportOnce && !failedAttempts.has('full');
      else {
        const from = request.from ?? 0;
        if (!pickedWindows.has(from)) pickedWindows.set(from, random() < plan.exportFailureRate);
        picked = pickedWindows.get(from) === true;
      }
      const limit = full ? 1 : plan.failedAttemptsPerWindow;
      if (!picked || (failedAttempts.get(id) ?? 0) >= limit) return false;
      failedAttempts.set(id, (failedAttempts.get(id) ?? 0) + 1);
      injected.failedExports += 1;
      return true;
    }, 'S3AccessDenied');
  }
  for (const t of plan.transient) {
    aws.injectFault({ command: t.command, error: t.error, times: Infinity, when: () => random() < t.rate });
  }
  return injected;
}
