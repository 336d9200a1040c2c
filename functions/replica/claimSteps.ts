/**
 * The replica's claim and halt steps (the consumer shape's claim and commit, functions/shared/consumer/
 * claim.ts): claiming entries under the lease, recording entries applied under the claim, telling
 * whether a claim's holder has ended, and halting with one alert.
 */
import { underLease, unchangedSincePlanned } from '../shared/consumer/claim';
import { toSeconds } from '../shared/time';
import { haltAlert } from './alert';
import { nowSeconds, type ReplicaContext } from './context';
import { withoutFailures } from './failures';
import { claimIsLive, type PlannedEntry } from './planner';
import {
  REPLICA_CLAIM_ALSO_COMPARES,
  type ReplicaHaltReason,
  type ReplicaInProgress,
  type ReplicaState,
} from './state';
import { claimHolderEndedAt } from './writeGuard';

/** Publishes the alert of a halted state and records it sent; a failure is logged and left pending. */
export async function sendHaltAlert(ctx: ReplicaContext, halted: ReplicaState): Promise<void> {
  if (!halted.halt) return;
  try {
    await ctx.aws.publish('Publish (replica halted)', haltAlert(ctx.settings, halted));
  } catch (err) {
    ctx.log(
      JSON.stringify({
        level: 'WARN',
        message: 'replica halt alert not delivered; the next execution sends it again',
        error: `${(err as Error).name}: ${(err as Error).message}`,
      }),
    );
    return;
  }
  await ctx.aws.saveState({ ...halted, halt: { ...halted.halt, alerted: true } });
}

/**
 * Records the halt, then alerts. The alert is off the critical path: the halt is recorded first,
 * with the alert pending; an alert SNS does not take (after the transient retries) is sent again
 * by the next execution, with the same notification id, until SNS takes it.
 */
export async function halt(
  ctx: ReplicaContext,
  state: ReplicaState,
  reason: ReplicaHaltReason,
  detail: string,
): Promise<void> {
  const halted: ReplicaState = {
    ...state,
    status: 'HALTED',
    inProgress: null,
    halt: { reason, detail, at: nowSeconds(ctx), epoch: state.epoch, alerted: false },
  };
  await ctx.aws.saveState(halted);
  await sendHaltAlert(ctx, halted);
}

/**
 * Records entries applied, only while this execution's claim stands (never moves it backwards).
 * Nobody else writes the state while a claim is live: other executions stand down (BUSY), a rebuild
 * waits for the claim (functions/replica/action.ts), and the operator writes only the action. A claim
 * that is gone was taken over after its lease or reset by a rebuild: the entries are then not
 * recorded, and whoever holds the replica applies them again, which gives the same table.
 * The one window left is a claim whose lease ends between this read and this write (milliseconds,
 * after a step that ran past twice the Lambda timeout) while another execution writes in between:
 * the entries recorded are still applied, and a rebuild written over is carried out again, since
 * this write keeps the `rebuildVersion` read before it.
 */
export async function recordApplied(
  ctx: ReplicaContext,
  executionId: string,
  epoch: string,
  last: PlannedEntry,
): Promise<ReplicaState> {
  const state = await ctx.aws.readState();
  if (state.inProgress?.executionId !== executionId) {
    ctx.info(
      `replica ${ctx.settings.replicaAlias}: execution ${executionId} no longer holds the claim; sequence ${last.sequence} is not recorded (applied again by the holder)`,
    );
    return state;
  }
  if (state.status === 'HALTED') return state;
  if (state.epoch !== null && state.epoch !== epoch) return state;
  if (state.lastAppliedSequence >= last.sequence) return state;
  const next: ReplicaState = {
    ...withoutFailures(state),
    epoch,
    lastAppliedSequence: last.sequence,
    watermark: toSeconds(last.to) ?? null,
    inProgress: null,
    partial: state.partial && state.partial.sequence > last.sequence ? state.partial : null,
  };
  await ctx.aws.saveState(next);
  return next;
}

/** What one claim takes: the entries, how they are applied, and the state planned from and read. */
export interface ClaimRequest {
  /** The state planned from (what the claim writes over). */
  planned: ReplicaState;
  /** The state as read (what the claim compares with, functions/replica/actionSteps.ts). */
  read: ReplicaState;
  executionId: string;
  epoch: string;
  sequences: number[];
  mode: ReplicaInProgress['mode'];
}

/**
 * Two executions (a duplicate scheduler delivery) may both plan from the same state. The claim is
 * written under the exclusive lease of functions/shared/lease.ts (create-only SSM parameters): the
 * holder reads the state again and claims only if it is unchanged since planned (the consumer shape's
 * one rule), and only if the operator's action still lets it run: a PAUSE or REBUILD written since
 * the plan read the action stops the claim.
 */
export async function claim(ctx: ReplicaContext, request: ClaimRequest): Promise<boolean> {
  const { planned, read, executionId, epoch, sequences, mode } = request;
  const lease = { lockName: ctx.lockName, executionId, now: nowSeconds(ctx) };
  const claimed = await underLease(ctx.aws.ssmCall, lease, async () => {
    const { state: current, action } = await ctx.action.read();
    if (!unchangedSincePlanned(read, current, REPLICA_CLAIM_ALSO_COMPARES)) return false;
    if (ctx.action.decide(current, action, executionId).kind !== 'RUN') return false;
    // The epoch is recorded with the first claim: a bootstrap interrupted after some writes is
    // then applied again, not mistaken for a target that was never empty.
    await ctx.aws.saveState({
      ...planned,
      epoch,
      inProgress: { executionId, sequences, mode, startedAt: nowSeconds(ctx) },
    });
    return true;
  });
  return claimed.held && claimed.value;
}

/**
 * Whether another execution's live claim was left by an execution that is no longer running
 * (failed, stopped, timed out). Undefined when there is no such claim or it cannot be told.
 */
export async function claimHolderEnded(
  ctx: ReplicaContext,
  state: ReplicaState,
  executionId: string,
): Promise<boolean | undefined> {
  const held = state.inProgress;
  if (!held || held.executionId === executionId || !ctx.clients.states) return undefined;
  if (!claimIsLive(held, ctx.now() / 1000, ctx.settings.leaseSeconds)) return undefined;
  try {
    const out = await ctx.aws.describeExecution(held.executionId);
    return out === undefined ? undefined : claimHolderEndedAt(out, ctx.now());
  } catch (err) {
    // An execution Step Functions no longer knows (older than its 90-day history) has ended.
    if ((err as { name?: string }).name === 'ExecutionDoesNotExist') return true;
    // Anything else (throttling, a denied call): the lease decides, as without the client.
    return undefined;
  }
}
