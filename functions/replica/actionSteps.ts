/**
 * The apply Lambda's side of the operator's action (functions/replica/action.ts holds the rule): reading
 * the state with the action, carrying out a REBUILD under the claim lease, and what a plan starts from.
 * The Lambda only reads the action parameter; it writes the state parameter alone.
 */
import { underLease } from '../shared/consumer/claim';
import {
  decideReplicaAction,
  rebuiltReplicaState,
  type ReplicaActionDecision,
  type ReplicaActionRead,
} from './action';
import type { ReplicaSettings } from './settings';
import type { ReplicaAws } from './replicaAws';
import type { ReplicaState } from './state';

/** What the plan step does before planning: stand down with `output`, or plan from `state`. */
export type PreparedPlan =
  | { output: { action: 'BUSY'; detail: string } }
  | {
      /** The state as read: what a claim compares with. */
      read: ReplicaState;
      /** The state to plan from: one paused by an earlier release that was resumed since plans as ACTIVE. */
      state: ReplicaState;
      /** Set when the operator's action pauses the replica. */
      pausedBecause?: string;
    };

export interface ReplicaActionStepsOptions {
  settings: ReplicaSettings;
  /** The replica's AWS calls: the state with the action, and the lease's SSM calls. */
  aws: Pick<ReplicaAws, 'readStateAndAction' | 'ssmCall'>;
  /** The lock whose lease guards the replica's claims (functions/shared/names.ts `replicaLockName`). */
  lockName: string;
  /** Epoch milliseconds. */
  now: () => number;
  info: (line: string) => void;
  saveState: (state: ReplicaState) => Promise<void>;
}

export class ReplicaActionSteps {
  constructor(private readonly o: ReplicaActionStepsOptions) {}

  /** The state and the operator's action, in one GetParameters (functions/replica/replicaAws.ts). */
  read(): Promise<{ state: ReplicaState; action: ReplicaActionRead }> {
    return this.o.aws.readStateAndAction();
  }

  decide(state: ReplicaState, action: ReplicaActionRead, executionId: string): ReplicaActionDecision {
    return decideReplicaAction(state, action, {
      executionId,
      now: this.o.now() / 1000,
      leaseSeconds: this.o.settings.leaseSeconds,
    });
  }

  /**
   * Carries out the operator's REBUILD: under the claim lease, reads the state and the action again
   * and, if the rebuild is still due and no other execution's claim is live, writes the initial state
   * with the action's version. False when the lease is taken or a claim is live (the rebuild waits);
   * true when the state is rebuilt, or the rebuild is no longer due (plan again).
   */
  async rebuild(executionId: string, version: number): Promise<boolean> {
    const lease = { lockName: this.o.lockName, executionId, now: Math.floor(this.o.now() / 1000) };
    const ran = await underLease(this.o.aws.ssmCall, lease, async () => {
      const { state, action } = await this.read();
      const decided = this.decide(state, action, executionId);
      if (decided.kind === 'REBUILD_WAITS') return false;
      if (decided.kind !== 'REBUILD' || decided.version !== version) return true;
      // The log keeps where the replica was: the rebuilt state no longer says.
      this.o.info(
        JSON.stringify({
          event: 'REPLICA_REBUILT',
          replica: this.o.settings.replicaAlias,
          actionVersion: version,
          previous: state,
        }),
      );
      await this.o.saveState(rebuiltReplicaState(version));
      return true;
    });
    return ran.held && ran.value;
  }

  /**
   * The operator's action before a plan: a pending REBUILD is carried out first (then the state is
   * read again); PAUSE becomes the planner's `pausedBecause`.
   */
  async prepare(executionId: string, rebuilt = false): Promise<PreparedPlan> {
    const { state: read, action } = await this.read();
    const decided = this.decide(read, action, executionId);
    switch (decided.kind) {
      case 'REBUILD':
        if (!rebuilt && (await this.rebuild(executionId, decided.version)))
          return this.prepare(executionId, true);
        return {
          output: {
            action: 'BUSY',
            detail: `rebuild (action version ${decided.version}) is pending; another execution holds the claim lease`,
          },
        };
      case 'REBUILD_WAITS':
        return { output: { action: 'BUSY', detail: decided.reason } };
      case 'PAUSE':
        return { read, state: read, pausedBecause: decided.reason };
      case 'RUN':
        return { read, state: read.status === 'PAUSED' ? { ...read, status: 'ACTIVE' } : read };
    }
  }
}
