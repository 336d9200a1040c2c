/**
 * A Lambda task of a local state machine, served the way `lambda:invoke` does: the function the
 * definition names (another fails as in AWS), its input and result measured against the Step
 * Functions payload limit, the invoke authorized against the machine's role, the handler run under
 * the function's limits (`sim/machines/lambdaSandbox.ts`), and each invocation recorded.
 */
import type { ExecutionRecord, HandlerAnswer, InvocationRecord } from './executionRecords';
import type { IamRequest } from '../iam/requests';
import { invokeInProcess, type SandboxHost } from './lambdaSandbox';
import { checkStatesPayload } from '../limits';
import type { MachineCall } from './machineAccess';
import type { JsonValue } from './serviceTasks';
import type { SimulatedClock } from './simulatedClock';

/** What serving a Lambda task needs from its state machine. */
export interface LambdaTaskContext {
  host: SandboxHost & { readonly clock: SimulatedClock };
  spec: {
    /** The one function the machine's tasks may invoke. */
    functionArn: string;
    handler: (event: never) => Promise<unknown>;
    lambdaTimeoutSeconds: number;
    lambdaRealTimeLimitSeconds?: number;
    holdClockWhileRunning?: boolean;
  };
  memorySizeMb: number;
  /** Where each invocation is recorded. */
  invocations: InvocationRecord[];
  /** IAM's decision on the machine's own call: throws when denied. */
  authorize(call: MachineCall, request: IamRequest): Promise<void>;
}

/** The fields of a Lambda task's parameters the runner reads. */
interface LambdaInvokeParameters {
  FunctionName?: unknown;
  Payload?: unknown;
}

/** Serves one Lambda task the way `lambda:invoke` does. */
export async function invokeLambdaTask(
  ctx: LambdaTaskContext,
  record: ExecutionRecord,
  state: string,
  input: JsonValue,
  executionName = record.name,
): Promise<JsonValue> {
  const params = (input ?? {}) as LambdaInvokeParameters;
  if (params.FunctionName !== ctx.spec.functionArn) {
    const error = new Error(`Function not found: ${String(params.FunctionName)}`);
    error.name = 'Lambda.ResourceNotFoundException';
    throw error;
  }
  // Step Functions measures the task's input after Parameters before it calls Lambda.
  checkStatesPayload('input', state, input);
  await ctx.authorize('invoke', {
    action: 'lambda:InvokeFunction',
    resource: ctx.spec.functionArn,
  });
  record.invocations += 1;
  const payloadIn = (params.Payload ?? {}) as Record<string, unknown>;
  const clock = ctx.host.clock;
  const inv: InvocationRecord = {
    execution: executionName,
    state,
    mode: String(payloadIn.mode ?? payloadIn.step ?? ''),
    at: clock.now,
    outcome: 'ok',
  };
  ctx.invocations.push(inv);
  const realStart = performance.now();
  let payload: JsonValue;
  try {
    payload = (await invokeInProcess({
      host: ctx.host,
      limits: {
        timeoutSeconds: ctx.spec.lambdaTimeoutSeconds,
        memorySizeMb: ctx.memorySizeMb,
        realTimeLimitSeconds: ctx.spec.lambdaRealTimeLimitSeconds,
      },
      holdClock: ctx.spec.holdClockWhileRunning === true,
      handler: ctx.spec.handler as (event: unknown) => Promise<unknown>,
      event: params.Payload ?? {},
    })) as JsonValue;
  } catch (error) {
    const e = error as Error;
    inv.outcome = e?.name ?? 'Error';
    inv.errorMessage = e?.message;
    // An Invoke API error (`Lambda.*`) reaches Step Functions as it is.
    if (inv.outcome.startsWith('Lambda.')) throw e;
    // A function error: Error = errorType and Cause = Lambda's JSON error.
    const mapped = new Error(
      JSON.stringify({ errorType: inv.outcome, errorMessage: e?.message ?? String(error), trace: [] }),
    );
    mapped.name = inv.outcome;
    throw mapped;
  } finally {
    inv.endedAt = clock.now;
    inv.realMs = performance.now() - realStart;
  }
  inv.result = payload as HandlerAnswer | null;
  const result = { ExecutedVersion: '$LATEST', Payload: payload, StatusCode: 200 };
  // The task's result, before ResultSelector and ResultPath (its output is checked as it exits).
  checkStatesPayload('result', state, result);
  return result;
}
