/**
 * What a local state machine run records: each execution (its status, transitions as billed, retries,
 * state failures, child executions) and each Lambda invocation, and how an ended execution's event
 * log is counted into its record.
 */
import type { StateMachine } from 'aws-local-stepfunctions';
import type { JsonValue } from './serviceTasks';

/** The input of an execution: the scheduler's `{ scheduledTime }`, or what a scenario passes. */
export type ExecutionInput = { scheduledTime?: string } & Record<string, unknown>;

/** One execution of a state machine. */
export interface ExecutionRecord {
  name: string;
  id: string;
  input: ExecutionInput;
  /** Why it started: a scheduler delivery, a duplicate delivery, or started by the scenario. */
  kind: 'scheduled' | 'duplicate' | 'manual';
  startedAt: number;
  endedAt?: number;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'ABORTED';
  /** Error name for a failed execution (e.g. `ExportTickFailed`). */
  error?: string;
  cause?: string;
  output?: JsonValue;
  /** Billable state transitions: states entered plus retries (child executions not included). */
  transitions: number;
  /** History events AWS would record (estimated, see `HISTORY_EVENTS` in sim/limits.ts), once ended. */
  historyEvents?: number;
  retries: number;
  statesEntered: Record<string, number>;
  /** States whose Catch caught an error, in order. */
  caught: string[];
  /** Every state failure (before Retry or Catch), with the error name and cause as Step Functions saw them. */
  stateFailures: { state: string; error: string; cause: string }[];
  invocations: number;
  /** Child executions started by Distributed Maps, and their state transitions. */
  children: { executions: number; failed: number; transitions: number };
}

/**
 * What a handler answered, as far as the records go: the export tick's `{ next, wakeAt, summary }`
 * (stand-in handlers may answer less), or any other object.
 */
export type HandlerAnswer = {
  next?: string;
  wakeAt?: string;
  summary?: { outcome?: string } & Record<string, unknown>;
} & Record<string, unknown>;

/** One Lambda invocation. */
export interface InvocationRecord {
  execution: string;
  state: string;
  /** The event's `mode` (export tick) or `step` (replica apply). */
  mode: string;
  /** Simulated start and end, epoch ms. */
  at: number;
  endedAt?: number;
  /** Real wall-clock milliseconds spent in the handler. */
  realMs?: number;
  /** `ok` or the error name. */
  outcome: string;
  result?: HandlerAnswer | null;
  errorMessage?: string;
}

/** The counters of an execution record, all at zero. */
export function freshCounts(): Pick<
  ExecutionRecord,
  'transitions' | 'retries' | 'statesEntered' | 'caught' | 'stateFailures' | 'invocations' | 'children'
> {
  return {
    transitions: 0,
    retries: 0,
    statesEntered: {},
    caught: [],
    stateFailures: [],
    invocations: 0,
    children: { executions: 0, failed: 0, transitions: 0 },
  };
}

/** Counts what an ended execution's event log holds into its record (transitions as billed). */
export async function countEvents(
  eventLogs: ReturnType<StateMachine['run']>['eventLogs'],
  record: ExecutionRecord,
): Promise<void> {
  for await (const event of eventLogs) {
    if (event.type === 'StateEntered') {
      record.transitions += 1;
      record.statesEntered[event.state.name] = (record.statesEntered[event.state.name] ?? 0) + 1;
    } else if (event.type === 'StateRetried') {
      record.transitions += 1;
      record.retries += 1;
    } else if (event.type === 'StateFailed') {
      record.stateFailures.push({ state: event.state.name, error: event.Error, cause: String(event.Cause) });
    } else if (event.type === 'StateCaught') {
      record.caught.push(event.state.name);
    }
  }
}
