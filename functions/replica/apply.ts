/**
 * The replica's apply Lambda: every step of the replica state machine (statemachine/replica-apply.asl.json)
 * is one call of this handler with a `step`:
 *
 * - `plan`: reads the replica state and the chain, decides what to do next (functions/replica/planner.ts),
 *   records the claim or the halt, publishes the halt alert once, and emits the replica lag metric.
 * - `applyGroup`: applies several small consecutive entries together (latest record per key wins),
 *   for at most its time budget (functions/replica/timedApply.ts).
 * - `applyFiles`: a Distributed Map child's invocation: applies its batch of one export's data files
 *   from where the child's previous invocation stopped, for at most its time budget.
 * - `commit`: records an entry applied by the Distributed Map.
 * - `checkFailedEntry`: after a failed Distributed Map, tells a rejected write or files gone (halt,
 *   alert) from any other failure (the execution fails; the next one applies the entry again, which is
 *   harmless, once its backoff has passed).
 *
 * Before a write the target's key schema is checked against the source's; a failed apply halts or is
 * counted for the plan's backoff (functions/replica/failureSteps.ts). The plan step is
 * functions/replica/planStep.ts; claims, commits and halts functions/replica/claimSteps.ts; every AWS
 * call of its own functions/replica/replicaAws.ts.
 *
 * All writes go through the one apply engine (apply/), shared with `dce replay`.
 */
import { recordApplied } from './claimSteps';
import { replicaContext } from './context';
import type { ReplicaClients, ReplicaEvent, ReplicaHandlerOptions } from './contract';
import { checkFailedEntry } from './failureSteps';
import { oneShotInput } from './oneShot';
import { planStep } from './planStep';
import type { ReplicaSettings } from './settings';
import { failureDeps, timedDeps } from './stepDeps';
import { applyChildBatch, applyGroupInTime } from './timedApply';

export {
  EXPRESS_CHILD_BUDGET_SECONDS,
  type ReplicaClients,
  type ReplicaHandlerOptions,
  type DataFileItem,
  type ReplicaEvent,
  type PlanOutput,
} from './contract';

/**
 * The Lambda handler of one replica: every step of its state machine is one call, a named step over
 * the replica's context (functions/replica/context.ts).
 */
export function createReplicaHandler(
  settings: ReplicaSettings,
  clients: ReplicaClients,
  options: ReplicaHandlerOptions = {},
): (event: ReplicaEvent) => Promise<unknown> {
  const ctx = replicaContext(settings, clients, options);
  return async (event) => {
    switch (event.step) {
      case 'plan':
        return planStep(ctx, event.executionId, oneShotInput(event.input));
      case 'applyGroup':
        return applyGroupInTime(timedDeps(ctx), event);
      case 'applyFiles':
        return applyChildBatch(timedDeps(ctx), event);
      case 'commit':
        await recordApplied(ctx, event.executionId, event.epoch, event.entry);
        return { applied: [event.entry.sequence] };
      case 'checkFailedEntry':
        return checkFailedEntry(failureDeps(ctx), event);
    }
  };
}
