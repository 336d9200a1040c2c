/**
 * Task states of other optimized service integrations than Lambda (e.g.
 * `arn:aws:states:::athena:startQueryExecution.sync`), served by local stand-ins for a machine of
 * `sim/machines/localMachine.ts`: the task's parameters within the Step Functions payload limit, IAM for the
 * state machine's role (the API call, then what the service does with the caller's permissions), then
 * the stand-in, while the clock waits as it does for a client call.
 */
import type { StateMachine } from 'aws-local-stepfunctions';
import type { IamRequest } from '../iam/requests';
import { authorizeServiceTask, type MachineAccess } from './machineAccess';
import { checkStatesPayload } from '../limits';

/** A JSON value, as executions take and return them (sim/machines/localMachine.ts re-exports it). */
export type JsonValue = Parameters<StateMachine['run']>[0];

/**
 * A Task of another optimized service integration (its `Resource`, e.g.
 * `arn:aws:states:::athena:startQueryExecution.sync`), served by a local stand-in with the state
 * machine's role.
 */
export interface ServiceTask {
  /** The command IAM counts the call as (`athena:StartQueryExecution`). */
  command: string;
  /** What IAM evaluates for the task's parameters: the API call, then what the service does as the caller. */
  requests(params: JsonValue): IamRequest[];
  /** The error a denied task fails with, as Step Functions names the service's error. */
  deniedError: string;
  /** Runs the task: its result, or an error whose name is the task's error. */
  handle(params: JsonValue): Promise<JsonValue>;
}

/** The Task states among `states` whose Resource is one of `resources`, with their resource. */
export function serviceTaskStates(
  states: Record<string, Record<string, unknown>>,
  resources: Record<string, ServiceTask> | undefined,
): [string, ServiceTask][] {
  if (!resources) return [];
  return Object.entries(states).flatMap(([name, s]) =>
    s.Type === 'Task' && typeof s.Resource === 'string' && resources[s.Resource]
      ? [[name, resources[s.Resource]] as [string, ServiceTask]]
      : [],
  );
}

/** What a machine's host offers a service task: work in progress that holds the clock. */
interface TaskHost {
  ioStarted(label?: string): void;
  ioEnded(label?: string): void;
}

/** Serves one service integration Task; its work holds the clock, as a client call does. */
export async function runServiceTask(
  host: TaskHost,
  access: MachineAccess | undefined,
  state: string,
  task: ServiceTask,
  input: JsonValue,
): Promise<JsonValue> {
  checkStatesPayload('input', state, input);
  host.ioStarted(`${task.command} ${state}`);
  try {
    await authorizeServiceTask(access, task.command, task.requests(input), task.deniedError);
    const result = await task.handle(input);
    checkStatesPayload('result', state, result);
    return result;
  } finally {
    host.ioEnded(`${task.command} ${state}`);
  }
}
