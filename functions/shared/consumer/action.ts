/**
 * The operator's action on a consumer of the chain, and what the consumer's workflow does with it
 * (pure).
 *
 * The operator writes the consumer's action parameter (RUN, PAUSE or REBUILD; `dce replica
 * pause|resume|rebuild` for a replica); the workflow only reads it (its role has no PutParameter on
 * it), and only the workflow writes its cursor. So nothing the workflow does can undo an operator's
 * command, and SSM's lack of a conditional overwrite does not matter between the two: each parameter
 * has one writer.
 *
 * - RUN: normal operation.
 * - PAUSE: the planner starts nothing new (IDLE); work already claimed completes and is recorded.
 * - REBUILD: a one-shot action, identified by the action parameter's SSM Version V. While the cursor's
 *   `rebuildVersion` is not V, the workflow resets the cursor to its initial value with
 *   `rebuildVersion: V` (under the lease, and only when no other execution's claim is live), so the
 *   next plan bootstraps again. Once carried out, REBUILD acts as RUN until the operator writes another
 *   value; writing REBUILD again is a new version, so a new rebuild. A cursor written over by an
 *   execution that read it before the rebuild carries the old `rebuildVersion`, so the rebuild is
 *   carried out again rather than lost.
 *
 * The export chain's RESET follows the same rule (functions/chain/operatorAction.ts).
 */

export const CONSUMER_ACTIONS = ['RUN', 'PAUSE', 'REBUILD'] as const;
export type ConsumerAction = (typeof CONSUMER_ACTIONS)[number];

/** The value Pulumi creates an action parameter with. */
export const INITIAL_CONSUMER_ACTION: ConsumerAction = 'RUN';

/** The action parameter as read: its value and SSM Version, both null when it does not exist. */
export interface ActionRead {
  value: string | null;
  version: number | null;
}

/** What the workflow does about the operator's action, before it plans. */
export type ActionDecision =
  | { kind: 'RUN' }
  | { kind: 'PAUSE'; reason: string }
  /** Reset the cursor to its initial value with `rebuildVersion: version`, now. */
  | { kind: 'REBUILD'; version: number }
  /** A rebuild is pending, but another execution's claim is live: wait until it ends. */
  | { kind: 'REBUILD_WAITS'; executionId: string; reason: string };

/** What the rule needs of the consumer's cursor. */
export interface ActionFacts {
  /** The action version whose REBUILD the cursor carried out (null or absent before any). */
  rebuildVersion?: number | null;
  lastAppliedSequence: number;
  /** Another execution's claim that is still live, and what it is doing (`has recorded sequence(s) 3`). */
  liveClaimOfOther?: { executionId: string; doing: string };
  /** Paused by a release that kept the pause in the cursor itself (the replica's legacy PAUSED). */
  pausedByEarlierRelease?: boolean;
  /** The operator's command that resumes: `dce replica resume`. */
  resumeCommand: string;
}

/** The action's value, or null when the parameter holds something else. A missing parameter is RUN. */
export function actionValue(read: ActionRead): ConsumerAction | null {
  if (read.value === null) return 'RUN';
  const value = read.value.trim();
  return (CONSUMER_ACTIONS as readonly string[]).includes(value) ? (value as ConsumerAction) : null;
}

/** Whether the action parameter holds a REBUILD the cursor has not carried out yet. */
export function isPendingRebuild(read: ActionRead, cursor: { rebuildVersion?: number | null }): boolean {
  return actionValue(read) === 'REBUILD' && (read.version === null || cursor.rebuildVersion !== read.version);
}

/** What the workflow does about the action (pure). A halted consumer is left to its planner. */
export function decideAction(read: ActionRead, facts: ActionFacts): ActionDecision {
  const value = actionValue(read);
  if (value === null) {
    return {
      kind: 'PAUSE',
      reason: `the action parameter holds ${JSON.stringify(read.value)}, not RUN, PAUSE or REBUILD: nothing is applied until it is fixed`,
    };
  }
  if (value === 'PAUSE') {
    return {
      kind: 'PAUSE',
      reason: `paused by the operator at sequence ${facts.lastAppliedSequence}; '${facts.resumeCommand}' continues from there`,
    };
  }
  if (value === 'REBUILD' && isPendingRebuild(read, facts)) {
    if (read.version === null) {
      // Cannot happen with SSM (GetParameters answers every parameter's Version); without one the
      // rebuild could not be recorded as done and would repeat at every plan.
      return { kind: 'PAUSE', reason: 'the action REBUILD has no parameter version; nothing is applied' };
    }
    const claim = facts.liveClaimOfOther;
    if (claim) {
      return {
        kind: 'REBUILD_WAITS',
        executionId: claim.executionId,
        reason: `rebuild (action version ${read.version}) waits until execution ${claim.executionId} ${claim.doing}`,
      };
    }
    return { kind: 'REBUILD', version: read.version };
  }
  if (facts.pausedByEarlierRelease) {
    return {
      kind: 'PAUSE',
      reason: `paused (by an earlier release) at sequence ${facts.lastAppliedSequence}; '${facts.resumeCommand}' continues from there`,
    };
  }
  return { kind: 'RUN' };
}
