/**
 * The operator's action on one replica, and what the replica's workflow does with it (pure).
 *
 * The operator writes the replica's action parameter (`.../replicas/<alias>/action`: RUN, PAUSE or
 * REBUILD) with `dce replica pause|resume|rebuild`; the workflow only reads it (its role has no
 * PutParameter on it), and only the workflow writes the state parameter. So nothing the workflow does
 * can undo an operator's command, and SSM's lack of a conditional overwrite no longer matters between
 * the two: each parameter has one writer.
 *
 * - RUN: normal operation.
 * - PAUSE: the planner applies nothing new (IDLE); an apply already claimed completes and is recorded.
 * - REBUILD: a one-shot action, identified by the action parameter's SSM Version V. While the state's
 *   `rebuildVersion` is not V, the workflow resets the state to the initial state with
 *   `rebuildVersion: V` (under the claim lease, and only when no other execution's claim is live), so
 *   the next plan bootstraps again. Once carried out, REBUILD acts as RUN until the operator writes
 *   another value; writing REBUILD again is a new version, so a new rebuild. A state written over by an
 *   execution that read it before the rebuild carries the old `rebuildVersion`, so the rebuild is
 *   carried out again rather than lost.
 *
 * The rule of the export chain is the same (functions/chain/state.ts `resetVersion`, cli/operator.ts
 * `isPendingReset`).
 */
import { claimIsLive } from './planner';
import { initialReplicaState, type ReplicaState } from './state';

export const REPLICA_ACTIONS = ['RUN', 'PAUSE', 'REBUILD'] as const;
export type ReplicaAction = (typeof REPLICA_ACTIONS)[number];

/** The value Pulumi creates the action parameter with. */
export const INITIAL_REPLICA_ACTION: ReplicaAction = 'RUN';

/**
 * The initial values of a replica's two parameters: every caller that creates them (the Pulumi
 * component, the offline system, tests) creates them the same way.
 */
export function initialReplicaParameterValues(): { state: string; action: ReplicaAction } {
  return { state: JSON.stringify(initialReplicaState()), action: INITIAL_REPLICA_ACTION };
}

/** The action parameter as read: its value and SSM Version, both null when it does not exist. */
export interface ReplicaActionRead {
  value: string | null;
  version: number | null;
}

/** What the workflow does about the operator's action, before it plans. */
export type ReplicaActionDecision =
  | { kind: 'RUN' }
  | { kind: 'PAUSE'; reason: string }
  /** Reset the state to the initial state with `rebuildVersion: version`, now. */
  | { kind: 'REBUILD'; version: number }
  /** A rebuild is pending, but another execution's claim is live: wait until it ends. */
  | { kind: 'REBUILD_WAITS'; executionId: string; reason: string };

export interface ActionContext {
  executionId: string;
  /** Epoch seconds. */
  now: number;
  /** The replica's lease for a grouped apply (seconds). */
  leaseSeconds: number;
}

/** The action's value, or null when the parameter holds something else. A missing parameter is RUN. */
export function replicaActionValue(read: ReplicaActionRead): ReplicaAction | null {
  if (read.value === null) return 'RUN';
  const value = read.value.trim();
  return (REPLICA_ACTIONS as readonly string[]).includes(value) ? (value as ReplicaAction) : null;
}

/** Whether the action parameter holds a REBUILD the state has not carried out yet. */
export function isPendingRebuild(
  read: ReplicaActionRead,
  state: Pick<ReplicaState, 'rebuildVersion'>,
): boolean {
  return (
    replicaActionValue(read) === 'REBUILD' && (read.version === null || state.rebuildVersion !== read.version)
  );
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
  const value = replicaActionValue(read);
  if (value === null) {
    return {
      kind: 'PAUSE',
      reason: `the action parameter holds ${JSON.stringify(read.value)}, not RUN, PAUSE or REBUILD: nothing is applied until it is fixed`,
    };
  }
  if (value === 'PAUSE') {
    return {
      kind: 'PAUSE',
      reason: `paused by the operator at sequence ${state.lastAppliedSequence}; 'dce replica resume' continues from there`,
    };
  }
  if (value === 'REBUILD' && isPendingRebuild(read, state)) {
    if (read.version === null) {
      // Cannot happen with SSM (GetParameters answers every parameter's Version); without one the
      // rebuild could not be recorded as done and would repeat at every plan.
      return { kind: 'PAUSE', reason: 'the action REBUILD has no parameter version; nothing is applied' };
    }
    const claim = state.inProgress;
    if (
      claim &&
      claim.executionId !== context.executionId &&
      claimIsLive(claim, context.now, context.leaseSeconds)
    ) {
      return {
        kind: 'REBUILD_WAITS',
        executionId: claim.executionId,
        reason: `rebuild (action version ${read.version}) waits until execution ${claim.executionId} has recorded sequence(s) ${claim.sequences.join(', ')}`,
      };
    }
    return { kind: 'REBUILD', version: read.version };
  }
  if (isLegacyPause(state, read)) {
    return {
      kind: 'PAUSE',
      reason: `paused (by an earlier release) at sequence ${state.lastAppliedSequence}; 'dce replica resume' continues from there`,
    };
  }
  return { kind: 'RUN' };
}

/** The state a rebuild writes: the initial state, with the action version it carried out. */
export function rebuiltReplicaState(version: number): ReplicaState {
  return { ...initialReplicaState(), rebuildVersion: version };
}
