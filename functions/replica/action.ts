/**
 * The operator's action on one replica (pure): the consumer's action rule (functions/shared/consumer/
 * action.ts: RUN, PAUSE, REBUILD by SSM version) applied to the replica's state.
 *
 * The operator writes the replica's action parameter (`.../replicas/<alias>/action`) with `dce replica
 * pause|resume|rebuild`; the workflow only reads it, and only the workflow writes the state parameter.
 * A REBUILD resets the state to the initial state with `rebuildVersion: V` (under the claim lease, and
 * only when no other execution's claim is live), so the next plan bootstraps again.
 *
 * The rule of the export chain is the same (functions/chain/state.ts `resetVersion`, cli/operator.ts
 * `isPendingReset`).
 */
import {
  CONSUMER_ACTIONS,
  INITIAL_CONSUMER_ACTION,
  actionValue,
  decideAction,
  isPendingRebuild as isPendingConsumerRebuild,
  type ActionDecision,
  type ActionRead,
  type ConsumerAction,
} from '../shared/consumer/action';
import { claimIsLive } from './planner';
import { initialReplicaState, type ReplicaState } from './state';

export const REPLICA_ACTIONS = CONSUMER_ACTIONS;
export type ReplicaAction = ConsumerAction;

/** The value Pulumi creates the action parameter with. */
export const INITIAL_REPLICA_ACTION: ReplicaAction = INITIAL_CONSUMER_ACTION;

/**
 * The initial values of a replica's two parameters: every caller that creates them (the Pulumi
 * component, the offline system, tests) creates them the same way.
 */
export function initialReplicaParameterValues(): { state: string; action: ReplicaAction } {
  return { state: JSON.stringify(initialReplicaState()), action: INITIAL_REPLICA_ACTION };
}

/** The action parameter as read: its value and SSM Version, both null when it does not exist. */
export type ReplicaActionRead = ActionRead;

/** What the workflow does about the operator's action, before it plans. */
export type ReplicaActionDecision = ActionDecision;

export interface ActionContext {
  executionId: string;
  /** Epoch seconds. */
  now: number;
  /** The replica's lease for a grouped apply (seconds). */
  leaseSeconds: number;
}

/** The action's value, or null when the parameter holds something else. A missing parameter is RUN. */
export const replicaActionValue = actionValue;

/** Whether the action parameter holds a REBUILD the state has not carried out yet. */
export function isPendingRebuild(
  read: ReplicaActionRead,
  state: Pick<ReplicaState, 'rebuildVersion'>,
): boolean {
  return isPendingConsumerRebuild(read, state);
}

/**
 * A state PAUSED by an earlier release (whose `dce replica pause` wrote the state) stays paused until
 * the operator writes the action parameter: Pulumi creates it at version 1, so a later version is the
 * operator's own choice.
 */
export function isLegacyPause(state: Pick<ReplicaState, 'status'>, read: ReplicaActionRead): boolean {
  return state.status === 'PAUSED' && (read.version === null || read.version <= 1);
}

/** What the workflow does about the action (pure). A halted replica is left to the planner. */
export function decideReplicaAction(
  state: ReplicaState,
  read: ReplicaActionRead,
  context: ActionContext,
): ReplicaActionDecision {
  const claim = state.inProgress;
  const otherLive =
    claim &&
    claim.executionId !== context.executionId &&
    claimIsLive(claim, context.now, context.leaseSeconds);
  return decideAction(read, {
    rebuildVersion: state.rebuildVersion,
    lastAppliedSequence: state.lastAppliedSequence,
    liveClaimOfOther: otherLive
      ? { executionId: claim.executionId, doing: `has recorded sequence(s) ${claim.sequences.join(', ')}` }
      : undefined,
    pausedByEarlierRelease: isLegacyPause(state, read),
    resumeCommand: 'dce replica resume',
  });
}

/** The state a rebuild writes: the initial state, with the action version it carried out. */
export function rebuiltReplicaState(version: number): ReplicaState {
  return { ...initialReplicaState(), rebuildVersion: version };
}
