/**
 * What a consumer of the chain (a replica, the Iceberg feed) did on its own state machine over a
 * simulation run, as its report row counts it.
 */
import type { LocalMachine } from '../machines/localRun';

/** Executions, failures by error and failing state, Lambda invocations and billed transitions. */
export interface ConsumerActivity {
  executions: {
    total: number;
    failed: number;
    /** Failed executions by `<error> in <last failed state>`. */
    failedBy: Record<string, number>;
    invocations: number;
  };
  transitions: number;
}

/** The activity of `machine` (none when the consumer never deployed one). */
export function consumerActivity(machine: LocalMachine | undefined): ConsumerActivity {
  const executions = machine?.executions ?? [];
  const failed = executions.filter((e) => e.status === 'FAILED');
  const failedBy: Record<string, number> = {};
  for (const e of failed) {
    const key = `${e.error ?? 'Error'} in ${e.stateFailures[e.stateFailures.length - 1]?.state ?? '?'}`;
    failedBy[key] = (failedBy[key] ?? 0) + 1;
  }
  return {
    executions: {
      total: executions.length,
      failed: failed.length,
      failedBy,
      invocations: machine?.invocations.length ?? 0,
    },
    transitions: executions.reduce((n, e) => n + e.transitions, 0),
  };
}

/** The fields of a consumer's state its report row shows. */
export interface ConsumerStateView {
  status: string;
  halt: { reason: string; detail: string } | null;
  epoch: string | null;
  lastAppliedSequence: number;
}

/**
 * Where a consumer stands at the end: its status, why it halted, its epoch, the last entry it
 * applied, and how far its watermark (epoch seconds) trails the chain's (ISO).
 */
export function consumerPosition(
  state: ConsumerStateView,
  watermarkSeconds: number | null,
  chainWatermark: string | null,
): {
  status: string;
  halt: string | null;
  epoch: string | null;
  lastAppliedSequence: number;
  lagBehindChainSeconds: number | null;
} {
  return {
    status: state.status,
    halt: state.halt ? `${state.halt.reason}: ${state.halt.detail}` : null,
    epoch: state.epoch,
    lastAppliedSequence: state.lastAppliedSequence,
    lagBehindChainSeconds:
      watermarkSeconds === null || chainWatermark === null
        ? null
        : Date.parse(chainWatermark) / 1000 - watermarkSeconds,
  };
}

/**
 * The report fields of a consumer whose state could not be read or compared with the source: not
 * ok, its position unknown, and why.
 */
export function unreadableConsumer(error: unknown) {
  return {
    ok: false as const,
    status: 'UNKNOWN',
    halt: null,
    epoch: null,
    lastAppliedSequence: -1,
    watermark: null,
    lagBehindChainSeconds: null,
    expectedItems: 0,
    identical: false,
    firstDifferences: [] as string[],
    error: (error as Error).message,
  };
}
