/**
 * Step Functions limits on every execution the interpreter runs (numbers and errors in
 * `sim/limits.ts`):
 *
 * - a state's input (as it enters) and output (after ResultSelector, ResultPath and OutputPath) over
 *   256 KiB fail the execution with `States.DataLimitExceeded`; the first state's input is the
 *   execution's input and the last state's output its output, so both are covered;
 * - a Standard execution whose history passes 25,000 events fails with `States.Runtime`. The history
 *   is estimated from the interpreter's events as they happen (`HISTORY_EVENTS`) and checked each
 *   time a state is entered or exited.
 *
 * Both are terminal: the execution fails, whatever the state's Retry and Catch say.
 *
 * aws-local-stepfunctions has no hook between states, so this wraps the per-run event logger its
 * StateMachine hands to its (private) `execute` method: a check that throws there is inside the
 * interpreter's loop over states, outside any state's Retry and Catch, and fails the execution with
 * that error. It depends on aws-local-stepfunctions 3.0.0's internals; `instrument` fails loudly if
 * they are not there, and tests/integration/workflow/limits.stepFunctions.test.ts fails if the checks stop working.
 */
import type { RunOptions, StateMachine } from 'aws-local-stepfunctions';
import {
  HISTORY_EVENTS,
  STANDARD_HISTORY_EVENT_LIMIT,
  checkStatesPayload,
  historyLimitExceeded,
} from '../limits';

/** `STANDARD` or `EXPRESS`, as the state machine (or a Distributed Map's ItemProcessor) declares it. */
export type ExecutionType = 'STANDARD' | 'EXPRESS';

/** The limits of one execution, and what it has counted so far. */
export class ExecutionLimits {
  /** History events so far (estimated, see `HISTORY_EVENTS`). */
  historyEvents = 0;

  constructor(readonly type: ExecutionType) {}

  /** Counts history events. */
  count(events: number): void {
    this.historyEvents += events;
  }

  /**
   * Counts `events` about to be recorded; a Standard execution whose history they would fill (its
   * ExecutionFailed event needs the last place) fails instead, with the history at 25,000 events.
   */
  record(events: number): void {
    if (
      this.type === 'STANDARD' &&
      this.historyEvents + events + HISTORY_EVENTS.execution > STANDARD_HISTORY_EVENT_LIMIT
    )
      throw historyLimitExceeded();
    this.count(events);
  }
}

/** The interpreter's per-run event logger, as far as the limits use it. */
interface EventLogger {
  dispatchExecutionStartedEvent(input: unknown): void;
  dispatchExecutionSucceededEvent(output: unknown): void;
  dispatchExecutionFailedEvent(error: unknown): void;
  dispatchStateEnteredEvent(name: string, type: string, input: unknown): void;
  dispatchStateExitedEvent(name: string, type: string, input: unknown, output: unknown): void;
  dispatchStateFailedEvent(name: string, type: string, input: unknown, error: unknown): void;
  dispatchStateRetriedEvent(...args: unknown[]): void;
}

type Execute = (
  input: unknown,
  options: { runOptions?: Record<PropertyKey, unknown>; eventLogger: EventLogger },
  cleanup: () => void,
) => Promise<unknown>;

const LIMITS = Symbol('executionLimits');
const instrumented = new WeakSet<StateMachine>();

/** Runs `machine` with `limits` enforced (see the module comment). */
export function runWithLimits(
  machine: StateMachine,
  input: Parameters<StateMachine['run']>[0],
  options: RunOptions,
  limits: ExecutionLimits,
): ReturnType<StateMachine['run']> {
  instrument(machine);
  return machine.run(input, { ...options, [LIMITS]: limits } as RunOptions);
}

function instrument(machine: StateMachine): void {
  if (instrumented.has(machine)) return;
  const target = machine as unknown as { execute?: Execute };
  const execute = target.execute;
  if (typeof execute !== 'function') {
    throw new Error(
      'sim/machines/executionLimits.ts: aws-local-stepfunctions StateMachine has no execute method; the Step Functions limits cannot be enforced',
    );
  }
  target.execute = function (this: unknown, input, options, cleanup) {
    const limits = options.runOptions?.[LIMITS];
    if (limits instanceof ExecutionLimits) guardEvents(options.eventLogger, limits);
    return execute.call(this, input, options, cleanup);
  };
  instrumented.add(machine);
}

/** Wraps one run's event logger with the counts and checks. */
function guardEvents(logger: EventLogger, limits: ExecutionLimits): void {
  const original = {
    started: logger.dispatchExecutionStartedEvent.bind(logger),
    succeeded: logger.dispatchExecutionSucceededEvent.bind(logger),
    failed: logger.dispatchExecutionFailedEvent.bind(logger),
    entered: logger.dispatchStateEnteredEvent.bind(logger),
    exited: logger.dispatchStateExitedEvent.bind(logger),
    stateFailed: logger.dispatchStateFailedEvent.bind(logger),
    retried: logger.dispatchStateRetriedEvent.bind(logger),
  };
  const fail = (name: string, type: string, input: unknown, error: Error): never => {
    original.stateFailed(name, type, input, error);
    throw error;
  };
  logger.dispatchExecutionStartedEvent = (input) => {
    limits.count(HISTORY_EVENTS.execution);
    original.started(input);
  };
  logger.dispatchExecutionSucceededEvent = (output) => {
    limits.count(HISTORY_EVENTS.execution);
    original.succeeded(output);
  };
  logger.dispatchExecutionFailedEvent = (error) => {
    limits.count(HISTORY_EVENTS.execution);
    original.failed(error);
  };
  logger.dispatchStateEnteredEvent = (name, type, input) => {
    try {
      limits.record(HISTORY_EVENTS.stateEntered + (type === 'Task' ? HISTORY_EVENTS.taskAttempt : 0));
    } catch (error) {
      fail(name, type, input, error as Error);
    }
    original.entered(name, type, input);
    try {
      checkStatesPayload('input', name, input);
    } catch (error) {
      fail(name, type, input, error as Error);
    }
  };
  logger.dispatchStateExitedEvent = (name, type, input, output) => {
    try {
      checkStatesPayload('output', name, output);
      limits.record(HISTORY_EVENTS.stateExited);
    } catch (error) {
      fail(name, type, input, error as Error);
    }
    original.exited(name, type, input, output);
  };
  logger.dispatchStateRetriedEvent = (...args) => {
    limits.count(HISTORY_EVENTS.taskAttempt);
    original.retried(...args);
  };
}
