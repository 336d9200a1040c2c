/**
 * The operator's action on an Iceberg feed (pure): the consumer's action rule (functions/shared/
 * consumer/action.ts: RUN, PAUSE, REBUILD by SSM version) applied to the feed's cursor.
 *
 * The operator writes the feed's action parameter (`.../iceberg/action`) with `dce iceberg
 * pause|resume|rebuild`; the plan step only reads it, and only the feed writes its cursor.
 *
 * - PAUSE: the plan starts no statement (the cursor says PAUSED); a statement already claimed runs and
 *   is committed. The chain and the replicas never read the feed, so they are not affected.
 * - RUN: the next plan continues after the last merged entry.
 * - REBUILD: the cursor starts over on a new generation of the live epoch's table
 *   (`<table>__e<epoch>_r<version>`, functions/iceberg/sql.ts), bootstrapped from the full export; the
 *   view keeps selecting the old table until the new one has merged as far as the old one had (within
 *   the view's epoch; after a new epoch, once it holds the full export), then is swapped: the path of a
 *   new epoch with `onNewEpoch: rebuild`, within one epoch. A halted feed is rebuilt this way.
 */
import {
  CONSUMER_ACTIONS,
  INITIAL_CONSUMER_ACTION,
  decideAction,
  type ActionDecision,
  type ActionRead,
  type ConsumerAction,
} from '../shared/consumer/action';
import { claimIsLive } from '../shared/consumer/claim';
import { initialIcebergState, type IcebergFeedState } from './state';

export const ICEBERG_ACTIONS = CONSUMER_ACTIONS;
export type IcebergAction = ConsumerAction;

/** The operator's command that resumes a paused feed, as the pause reason names it. */
export const ICEBERG_RESUME_COMMAND = 'dce iceberg resume';

/**
 * The initial values of the feed's two parameters: every caller that creates them (the Pulumi
 * component, the offline system, tests) creates them the same way. The cursor starts as `{}`, which
 * the feed reads as its initial state.
 */
export function initialIcebergParameterValues(): { state: string; action: IcebergAction } {
  return { state: '{}', action: INITIAL_CONSUMER_ACTION };
}

export interface IcebergActionContext {
  executionId: string;
  /** Epoch seconds. */
  now: number;
  leaseSeconds: number;
}

/** What the plan step does about the operator's action, before it plans (pure). */
export function decideIcebergAction(
  state: IcebergFeedState,
  read: ActionRead,
  context: IcebergActionContext,
): ActionDecision {
  const claim = state.inProgress;
  const otherLive =
    claim !== null &&
    claim.executionId !== context.executionId &&
    claimIsLive(Date.parse(claim.startedAt) / 1000, context.now, context.leaseSeconds);
  return decideAction(read, {
    rebuildVersion: state.rebuildVersion ?? null,
    lastAppliedSequence: state.lastAppliedSequence,
    liveClaimOfOther: otherLive
      ? {
          executionId: claim.executionId,
          doing: `has committed its ${claim.kind}${claim.fromSequence === undefined ? '' : ` of entries ${claim.fromSequence}-${claim.toSequence}`}`,
        }
      : undefined,
    resumeCommand: ICEBERG_RESUME_COMMAND,
  });
}

/**
 * The cursor a REBUILD of version `version` writes: the initial cursor on a new generation of the live
 * epoch's table (its epoch is read from the chain at the next plan), keeping what the readers' view
 * selects until the new table holds the full export, and, within the same epoch, until it has merged
 * as far as the old table had (`viewSequence`).
 */
export function rebuiltIcebergState(state: IcebergFeedState, version: number, at: string): IcebergFeedState {
  return {
    ...initialIcebergState(),
    generation: version,
    viewEpoch: state.viewEpoch,
    viewGeneration: state.viewGeneration ?? 0,
    ...(state.viewColumns !== undefined ? { viewColumns: state.viewColumns } : {}),
    // The view stays on the old table until the new one has merged as far (planner.ts).
    ...(state.epoch !== null && state.viewEpoch === state.epoch
      ? { viewSequence: Math.max(state.lastAppliedSequence, state.viewSequence ?? -1) }
      : {}),
    rebuildVersion: version,
    updatedAt: at,
  };
}

/**
 * The cursor a new epoch writes with `onNewEpoch: rebuild`: the initial cursor on the new epoch's
 * table. The view and the operator's last rebuild are kept: forgetting the rebuild's version would
 * carry it out again.
 */
export function startedOverState(state: IcebergFeedState, toEpoch: string, at: string): IcebergFeedState {
  return {
    ...initialIcebergState(),
    epoch: toEpoch,
    viewEpoch: state.viewEpoch,
    ...(state.viewGeneration !== undefined ? { viewGeneration: state.viewGeneration } : {}),
    ...(state.viewColumns !== undefined ? { viewColumns: state.viewColumns } : {}),
    ...(state.rebuildVersion !== undefined ? { rebuildVersion: state.rebuildVersion } : {}),
    updatedAt: at,
  };
}

/**
 * The cursor as the plan step leaves it for the action: PAUSED while the action pauses a feed that is
 * not halted, ACTIVE again once it does not. The same object when nothing changes (nothing to write).
 */
export function withActionStatus(state: IcebergFeedState, paused: boolean, at: string): IcebergFeedState {
  if (state.status === 'HALTED') return state;
  const status = paused ? 'PAUSED' : 'ACTIVE';
  return state.status === status ? state : { ...state, status, updatedAt: at };
}
