/**
 * What the replica does next, from its state and the chain (pure; the apply Lambda does the I/O).
 *
 * Rules, in order:
 * 1. A halted replica stays halted until the operator's REBUILD (see docs/replica.md).
 *    A paused replica (the operator's action PAUSE, functions/replica/action.ts) applies nothing (IDLE)
 *    until `dce replica resume`; an apply already claimed by a running execution still completes and
 *    is recorded, so it resumes where it stopped.
 * 2. Another execution that started applying less than a lease ago is left alone (BUSY).
 * 3. A new epoch in the chain halts the replica (`onNewEpoch: halt`, alerted once) or starts it over
 *    from the new epoch's full export (`rebaseline`).
 * 4. Only committed entries (sequence at or below HEAD) are applied, strictly in sequence order from
 *    the one after the last applied; a missing entry below HEAD halts, never skips.
 *    An `import` bootstrap starts ImportTable from the full export instead of writing it, and while
 *    that import runs, its description alone decides (functions/replica/bootstrap.ts).
 * 5. An entry whose apply failed is applied again only once its backoff has passed
 *    (functions/replica/failures.ts), so one that keeps failing is not retried every period.
 * 6. An entry a grouped apply left part-way (its invocation ran out of time) is applied alone next,
 *    from where it stopped.
 * 7. A large entry is applied alone by the Distributed Map; consecutive small entries are applied
 *    together by one Lambda (latest record per key wins), bounded in records and entries, and in
 *    records by what the write rate writes in one invocation's budget (functions/replica/workSizing.ts),
 *    so one invocation normally finishes them; an entry larger than that goes to the Distributed Map.
 */
import type { ConsumerChainView, ConsumerEntry } from '../shared/consumer/chainReading';
import { claimIsLive as consumerClaimIsLive } from '../shared/consumer/claim';
import { newEpochDecision } from '../shared/consumer/newEpoch';
import { iso } from '../shared/time';
import { heldBackBy } from './failures';
import type { ReplicaHaltReason, ReplicaImport, ReplicaInProgress, ReplicaState } from './state';
import { groupRecordCap } from './workSizing';

/** A committed chain entry as the planner sees it (the fields of the chain manifest it needs). */
export type PlannedEntry = ConsumerEntry;

/** The chain as read for one plan (functions/shared/consumer/chainReading.ts). */
export type ChainView = ConsumerChainView;

export interface PlannerLimits {
  /** Entries of at least this many records are applied by the Distributed Map. @default 100000 */
  distributedMinItems: number;
  /** Records applied together by one Lambda at most (a single entry may exceed it). @default 50000 */
  groupMaxItems: number;
  /** Entries applied together by one Lambda at most. @default 96 (a day of 15-minute windows) */
  groupMaxEntries: number;
  /**
   * Records of one Distributed Map child's batch at most, below what one invocation writes at the
   * child's rate (functions/replica/workSizing.ts). @default Infinity (that alone decides)
   */
  distributedBatchMaxItems: number;
}

/**
 * A Distributed Map claim holds for a day: a large export (a bootstrap) may take hours, and no plan
 * step runs meanwhile to renew it. Its own execution releases it when the Map ends, fails or is
 * caught; only an execution stopped from outside leaves it behind (docs/replica.md).
 */
export const DISTRIBUTED_LEASE_SECONDS = 86_400;

export const DEFAULT_PLANNER_LIMITS: PlannerLimits = {
  distributedMinItems: 100_000,
  groupMaxItems: 50_000,
  groupMaxEntries: 96,
  distributedBatchMaxItems: Infinity,
};

export interface PlanContext {
  onNewEpoch: 'halt' | 'rebaseline';
  bootstrap: 'write' | 'import';
  executionId: string;
  /** Epoch seconds. */
  now: number;
  /** How long an execution's claim on the replica holds (seconds), for a grouped apply. */
  leaseSeconds: number;
  /**
   * The execution holding the claim is known to have ended (Step Functions says it is no longer
   * running): its claim no longer holds, however young. Unknown (undefined): the lease decides.
   */
  claimHolderEnded?: boolean;
  limits?: Partial<PlannerLimits>;
  /** Why the replica is paused, when the operator's action pauses it (functions/replica/action.ts). */
  pausedBecause?: string;
  /** The replica's write rate: a group holds at most what it writes in one invocation's budget. */
  maxWritesPerSecond?: number;
  /**
   * A one-shot restore execution's point (functions/replica/oneShot.ts): entries after it are not
   * applied, and once it is applied the plan is IDLE, which ends the execution.
   */
  stopAtSequence?: number;
  /** A one-shot restore's epoch: while the chain's live epoch is another, nothing is done. */
  stopInEpoch?: string;
}

/** Where an entry's apply goes on from: its data files before `file`, and `record` records of `file`, are written. */
export interface ResumeAt {
  file: number;
  record: number;
}

export type ReplicaPlan =
  | { action: 'IDLE'; reason: string }
  | { action: 'HALTED'; reason: ReplicaHaltReason }
  | { action: 'BUSY'; executionId: string }
  | { action: 'HALT'; reason: ReplicaHaltReason; detail: string }
  | { action: 'REBASELINE'; fromEpoch: string; toEpoch: string }
  /** A rebaseline empties the target before the new epoch's full export: delete its next items. */
  | { action: 'CLEAR'; epoch: string }
  | { action: 'APPLY_GROUP'; epoch: string; entries: PlannedEntry[]; resume?: ResumeAt }
  | { action: 'APPLY_DISTRIBUTED'; epoch: string; entry: PlannedEntry }
  /** Bootstrap by ImportTable from the epoch's full export (`entry`, sequence 0). */
  | { action: 'START_IMPORT'; epoch: string; entry: PlannedEntry }
  /** An import is in flight: look at how it stands. */
  | { action: 'CHECK_IMPORT'; import: ReplicaImport };

/** How long a claim holds: a day for a Distributed Map, the replica's lease for a grouped apply. */
export function claimLeaseSeconds(claim: Pick<ReplicaInProgress, 'mode'>, groupLeaseSeconds: number): number {
  return claim.mode === 'distributed' ? DISTRIBUTED_LEASE_SECONDS : groupLeaseSeconds;
}

/** Whether a claim still holds at `now` (epoch seconds): younger than its lease. */
export function claimIsLive(claim: ReplicaInProgress, now: number, groupLeaseSeconds: number): boolean {
  return consumerClaimIsLive(claim.startedAt, now, claimLeaseSeconds(claim, groupLeaseSeconds));
}

/** The state's epoch and watermark as a halt detail says them. */
function watermarkText(state: ReplicaState): { epoch: string | null; watermark: string | null } {
  return { epoch: state.epoch, watermark: state.watermark === null ? null : iso(state.watermark) };
}

/** Why there is nothing to apply: up to date, or a one-shot restore's point reached. */
function upToDate(state: ReplicaState, stopAtSequence: number | undefined): string {
  const at = state.lastAppliedSequence;
  if (stopAtSequence === undefined) return `up to date at sequence ${at}`;
  if (at === stopAtSequence) return `restore point reached: sequence ${at} applied`;
  if (at > stopAtSequence)
    return `restore point ${stopAtSequence} is behind the replica, already at sequence ${at}: nothing applied`;
  return `up to date at sequence ${at}, before the restore point ${stopAtSequence}`;
}

export function planReplica(state: ReplicaState, chain: ChainView, context: PlanContext): ReplicaPlan {
  const limits = { ...DEFAULT_PLANNER_LIMITS, ...context.limits };
  if (state.status === 'HALTED') return { action: 'HALTED', reason: state.halt?.reason ?? 'NEW_EPOCH' };
  if (context.pausedBecause !== undefined) return { action: 'IDLE', reason: context.pausedBecause };
  if (state.status === 'PAUSED') {
    // Before any other rule: a paused replica neither claims, halts nor rebaselines, so resuming it
    // finds the state exactly as the pause left it (plus what a running execution recorded).
    return {
      action: 'IDLE',
      reason: `paused by the operator at sequence ${state.lastAppliedSequence}; 'dce replica resume' continues from there`,
    };
  }
  const claim = state.inProgress;
  if (claim && claim.executionId !== context.executionId) {
    // An execution that failed or was stopped after claiming (a Distributed Map claim holds a day)
    // leaves its claim behind: the next execution takes over at once and applies the entries again,
    // which is harmless.
    if (claimIsLive(claim, context.now, context.leaseSeconds) && context.claimHolderEnded !== true)
      return { action: 'BUSY', executionId: claim.executionId };
  }
  // Before the epoch rules: the import's own outcome decides, even if the chain moved on meanwhile
  // (the replica then holds the imported epoch, and the next plan sees the new one).
  if (state.epoch === null && state.import) return { action: 'CHECK_IMPORT', import: state.import };
  if (context.stopInEpoch !== undefined && chain.currentEpoch !== context.stopInEpoch)
    return {
      action: 'IDLE',
      reason: `the chain's live epoch is ${chain.currentEpoch || 'none'}, the restore point is in epoch ${context.stopInEpoch}: a one-shot restore applies, halts and rebaselines nothing`,
    };
  const newEpoch = newEpochDecision(watermarkText(state), chain.currentEpoch, {
    startOver: context.onNewEpoch === 'rebaseline',
    holder: 'the replica',
    stops: 'writes',
  });
  if (newEpoch?.kind === 'START_OVER')
    return { action: 'REBASELINE', fromEpoch: newEpoch.fromEpoch, toEpoch: newEpoch.toEpoch };
  if (newEpoch?.kind === 'HALT') return { action: 'HALT', reason: 'NEW_EPOCH', detail: newEpoch.detail };
  const epoch = state.epoch ?? chain.currentEpoch;
  // A rebaseline applies the new epoch's full export into an emptied target only: an item the source
  // deleted between the epochs would otherwise stay (a full export lists what exists, not deletes).
  if (state.clearing) return { action: 'CLEAR', epoch };
  if (!chain.head) return { action: 'IDLE', reason: `epoch ${epoch} has no committed entry yet` };
  const expected = state.lastAppliedSequence + 1;
  const last = Math.min(chain.head.lastSequence, context.stopAtSequence ?? Infinity);
  if (last < expected) return { action: 'IDLE', reason: upToDate(state, context.stopAtSequence) };
  const committed = chain.entries.filter((e) => e.sequence >= expected && e.sequence <= last);
  const first = committed[0];
  if (!first || first.sequence !== expected) {
    return {
      action: 'HALT',
      reason: 'ENTRY_MISSING',
      detail: `chain entry ${expected} of epoch ${epoch} is missing while HEAD is at sequence ${chain.head.lastSequence}`,
    };
  }
  const held = heldBackBy(state, epoch, expected, context.now);
  if (held) {
    return {
      action: 'IDLE',
      reason: `chain entry ${expected} failed ${held.failures} time${held.failures === 1 ? '' : 's'} (last: ${held.error}); applied again from ${iso(held.retryAt)}`,
    };
  }
  if (expected === 0 && context.bootstrap === 'import')
    return { action: 'START_IMPORT', epoch, entry: first };
  const partial = state.partial;
  if (partial && partial.epoch === epoch && partial.sequence === expected) {
    return {
      action: 'APPLY_GROUP',
      epoch,
      entries: [first],
      resume: { file: partial.file, record: partial.record },
    };
  }
  const cap =
    context.maxWritesPerSecond === undefined ? Infinity : groupRecordCap(context.maxWritesPerSecond);
  const distributed = (e: PlannedEntry) => e.itemCount >= limits.distributedMinItems || e.itemCount > cap;
  if (distributed(first)) return { action: 'APPLY_DISTRIBUTED', epoch, entry: first };
  const maxItems = Math.min(limits.groupMaxItems, cap);
  const group: PlannedEntry[] = [first];
  let items = first.itemCount;
  for (const next of committed.slice(1)) {
    if (next.sequence !== group[group.length - 1].sequence + 1) break;
    if (distributed(next)) break;
    if (group.length >= limits.groupMaxEntries || items + next.itemCount > maxItems) break;
    group.push(next);
    items += next.itemCount;
  }
  return { action: 'APPLY_GROUP', epoch, entries: group };
}
