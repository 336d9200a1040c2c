/**
 * IAM for what a state machine and its schedule do themselves, evaluated as for the functions' calls
 * (`sim/iam/`): the state machine's role invokes its Lambda function and starts the Distributed Map's
 * child executions; the scheduler's role starts the state machine. A denied call fails the way the
 * service reports it.
 */
import type { AccessEvaluator } from '../iam/evaluator';
import { denialMessage } from '../iam/evaluator';
import type { IamRequest } from '../iam/requests';

/** The deployed roles of one state machine and its schedule, and the evaluator of the run. */
export interface MachineAccess {
  evaluator: AccessEvaluator;
  stateMachineRole: string;
  schedulerRole: string;
}

/** What each of a machine's own calls is, and how a denial of it surfaces. */
const CALLS = {
  // Step Functions reports a Lambda API error of the invocation as `Lambda.<exception>`.
  invoke: { role: 'stateMachineRole', command: 'lambda:Invoke', errorName: 'Lambda.AWSLambdaException' },
  // A child execution the Map Run cannot start fails the child, and so the Map Run.
  startChild: { role: 'stateMachineRole', command: 'states:StartExecution', errorName: 'States.Runtime' },
  // EventBridge Scheduler's invocation of its target fails; the delivery is dropped after its retries.
  scheduledStart: {
    role: 'schedulerRole',
    command: 'states:StartExecution',
    errorName: 'AccessDeniedException',
  },
} as const;

export type MachineCall = keyof typeof CALLS;

/**
 * Evaluates a service integration Task (e.g. `athena:startQueryExecution.sync`) for the state
 * machine's role: the API call and what the service then does with the caller's permissions
 * (`requests`, in order); throws an error named `errorName` when one is denied.
 */
export async function authorizeServiceTask(
  access: MachineAccess | undefined,
  command: string,
  requests: IamRequest[],
  errorName: string,
): Promise<void> {
  if (!access) return;
  const denial = await access.evaluator.authorize(access.stateMachineRole, command, requests);
  if (!denial) return;
  const error = new Error(denialMessage(access.evaluator.role(access.stateMachineRole), denial));
  error.name = errorName;
  throw error;
}

/** Evaluates `call` for the role that makes it; throws the error the service reports when denied. */
export async function authorizeMachineCall(
  access: MachineAccess | undefined,
  call: MachineCall,
  request: IamRequest,
): Promise<void> {
  if (!access) return;
  const { role: roleKey, command, errorName } = CALLS[call];
  const role = access[roleKey];
  const denial = await access.evaluator.authorize(role, command, [request]);
  if (!denial) return;
  const error = new Error(denialMessage(access.evaluator.role(role), denial));
  error.name = errorName;
  throw error;
}
