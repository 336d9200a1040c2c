/**
 * The apply steps that write, each bounded by its invocation's time (functions/replica/workSizing.ts):
 * an invocation writes for its budget, stops at the next write group, and reports how far it got;
 * the next invocation goes on from there. So an entry of any size finishes at the configured rate,
 * and a throttled target slows a replica down without failing it, past the Lambda's timeout too.
 *
 * - `applyChildBatch`: a Distributed Map child's invocation. Where its batch stands travels in the
 *   child execution's own state (the definition loops the invocation until it answers done), so a
 *   retried invocation also goes on from the last position reported.
 * - `applyGroupInTime`: a grouped apply. Entries completely written when it stops are recorded, and
 *   where the entry in progress stands is saved in the replica state (`partial`); the plan applies
 *   that entry alone next, from there.
 *
 * Every write goes through the write guard (functions/replica/writeGuard.ts): none after the
 * invocation's last write time, none once the claim it runs under has moved.
 */
import { toSeconds } from '../shared/time';
import {
  applyEntries,
  applyFilesFrom,
  entryDataFiles,
  type ApplyOptions,
  type DynamoDbSender,
  type FileCursor,
} from '../../apply';
import type { S3Sender } from '../../format';
import type { ChildAnswer, ChildWork, DataFileItem } from './contract';
import { afterChildFailed, afterGroupFailed, type FailureStepDeps } from './failureSteps';
import { withoutFailures } from './failures';
import type { PlannedEntry, ResumeAt } from './planner';
import type { ReplicaSettings } from './settings';
import type { ReplicaState } from './state';
import { ClaimMovedError, WriteDeadlineError, guardWrites } from './writeGuard';
import { APPLY_BUDGET_SECONDS, invocationDeadlines, writeGroupSize } from './workSizing';

export interface TimedApplyDeps {
  settings: ReplicaSettings;
  s3: S3Sender;
  target: DynamoDbSender;
  /** Epoch milliseconds. */
  now: () => number;
  info: (line: string) => void;
  claimConfirmMs?: number;
  readState(): Promise<ReplicaState>;
  saveState(state: ReplicaState): Promise<void>;
  /** The apply engine's options at `writesPerSecond`, writing to `target`. */
  applyOptions(writesPerSecond: number, target: DynamoDbSender): Promise<ApplyOptions>;
  /** Records `entry` applied while `executionId`'s claim stands, and releases the claim. */
  recordApplied(executionId: string, epoch: string, entry: PlannedEntry): Promise<unknown>;
  failureDeps(): FailureStepDeps;
}

/** Whether a Distributed Map child started under `claim` may still write chain entry `sequence`. */
export function childClaimHolds(state: ReplicaState, claim: string, sequence: number): boolean {
  const held = state.inProgress;
  return (
    state.status !== 'HALTED' &&
    held?.executionId === claim &&
    held.mode === 'distributed' &&
    held.sequences.includes(sequence)
  );
}

/** Whether a grouped apply of `executionId` may still write. */
export function groupClaimHolds(state: ReplicaState, executionId: string): boolean {
  return state.status !== 'HALTED' && state.inProgress?.executionId === executionId;
}

/** The target behind the write guard, for an invocation started now with `budgetSeconds`. */
function guarded(
  deps: TimedApplyDeps,
  budgetSeconds: number,
  claim: string | undefined,
  holds: (s: ReplicaState) => boolean,
) {
  const { stopAt, lastWriteAt } = invocationDeadlines(deps.now(), budgetSeconds);
  const target = guardWrites({
    target: deps.target,
    now: deps.now,
    lastWriteAt,
    claim: claim ?? 'the previous definition',
    confirmMs: deps.claimConfirmMs,
    claimHolds: claim === undefined ? undefined : async () => holds(await deps.readState()),
  });
  return { target, stop: () => deps.now() >= stopAt };
}

/**
 * A child of an execution started by the previous definition (its items carry no child work; it
 * neither loops a child's invocations nor tells a claim): the whole batch in this invocation at the
 * rate share that definition planned, as before, since its Map takes any answer for done.
 */
function previousDefinitionChild(settings: ReplicaSettings): Omit<ChildWork, 'claim'> & { claim?: string } {
  return {
    writesPerSecond: Math.max(1, Math.floor(settings.maxWritesPerSecond / settings.concurrency)),
    budgetSeconds: Infinity,
  };
}

/** A Distributed Map child's invocation: its batch from `from`, for its budget. */
export async function applyChildBatch(
  deps: TimedApplyDeps,
  event: { Items: DataFileItem[]; from?: FileCursor | null },
): Promise<ChildAnswer> {
  const items = event.Items;
  if (items.length === 0) return { done: true, resume: null, files: 0, writes: 0 };
  const { entry, format } = items[0];
  const child = items[0].child ?? previousDefinitionChild(deps.settings);
  const { claim } = child;
  const { target, stop } = guarded(
    deps,
    child.budgetSeconds,
    claim,
    (state) => claim === undefined || childClaimHolds(state, claim, entry.sequence),
  );
  let reached: FileCursor = event.from ?? { file: 0, record: 0 };
  try {
    const result = await applyFilesFrom(
      entry,
      items.map((i) => i.file),
      format,
      reached,
      {
        ...(await deps.applyOptions(child.writesPerSecond, target)),
        groupWrites: writeGroupSize(child.writesPerSecond),
        stop,
        onProgress: (at) => (reached = at),
      },
    );
    const files = items.length - (event.from?.file ?? 0);
    return result.done
      ? { done: true, resume: null, files, writes: result.writes }
      : {
          done: false,
          resume: result.cursor,
          files: result.cursor.file - (event.from?.file ?? 0),
          writes: result.writes,
        };
  } catch (err) {
    // Out of time in a throttled group: what was written up to the last complete group stands.
    if (err instanceof WriteDeadlineError) return { done: false, resume: reached, files: 0, writes: 0 };
    if (err instanceof ClaimMovedError)
      deps.info(`replica ${deps.settings.replicaAlias}: chain entry ${entry.sequence}: ${err.message}`);
    return afterChildFailed(deps.failureDeps(), entry, err);
  }
}

export interface GroupEvent {
  executionId: string;
  epoch: string;
  entries: PlannedEntry[];
  resume?: ResumeAt | null;
}

/** What a grouped apply answers. */
export interface GroupAnswer {
  applied: number[];
  /** False when it stopped at its budget: the next plan goes on from the saved position. */
  done: boolean;
  writes: number;
  records?: number;
  halted?: boolean;
  detail?: string;
}

/** Thrown from a data file's completion once the budget is spent: the apply stops there. */
class BudgetSpent extends Error {}

/** A grouped apply for its budget; see the module comment. */
export async function applyGroupInTime(deps: TimedApplyDeps, event: GroupEvent): Promise<GroupAnswer> {
  const { target, stop } = guarded(deps, APPLY_BUDGET_SECONDS, event.executionId, (state) =>
    groupClaimHolds(state, event.executionId),
  );
  const options = await deps.applyOptions(deps.settings.maxWritesPerSecond, target);
  if (event.resume) return resumeEntry(deps, event, event.resume, options, stop);
  let progress: { sequence: number; files: number } | undefined;
  try {
    const result = await applyEntries(event.entries, {
      ...options,
      onFileApplied: (entry, files) => {
        progress = { sequence: entry.sequence, files };
        if (stop()) throw new BudgetSpent();
      },
    });
    await deps.recordApplied(event.executionId, event.epoch, event.entries[event.entries.length - 1]);
    return {
      applied: event.entries.map((e) => e.sequence),
      done: true,
      writes: result.writes,
      records: result.records,
    };
  } catch (err) {
    if (!(err instanceof BudgetSpent) && !(err instanceof WriteDeadlineError))
      return afterGroupFailed(deps.failureDeps(), event, err).then((a) => ({
        ...a,
        applied: [],
        done: true,
        writes: 0,
      }));
    // Every entry before the one a file was last completed in is written; that one from its next file.
    const at = progress ? event.entries.findIndex((e) => e.sequence === progress!.sequence) : 0;
    const partial = { sequence: event.entries[at].sequence, file: progress?.files ?? 0, record: 0 };
    await saveProgress(deps, event, event.entries[at - 1], partial);
    return { applied: event.entries.slice(0, at).map((e) => e.sequence), done: false, writes: 0 };
  }
}

/** The first entry of a group from where an earlier invocation stopped, record by record. */
async function resumeEntry(
  deps: TimedApplyDeps,
  event: GroupEvent,
  from: ResumeAt,
  options: ApplyOptions,
  stop: () => boolean,
): Promise<GroupAnswer> {
  const entry = event.entries[0];
  let reached: FileCursor = from;
  try {
    const { files, format } = await entryDataFiles(deps.s3, entry);
    const result = await applyFilesFrom(entry, files, format, from, {
      ...options,
      groupWrites: writeGroupSize(deps.settings.maxWritesPerSecond),
      stop,
      onProgress: (at) => (reached = at),
    });
    if (result.done) {
      await deps.recordApplied(event.executionId, event.epoch, entry);
      return { applied: [entry.sequence], done: true, writes: result.writes, records: result.records };
    }
    reached = result.cursor;
  } catch (err) {
    if (!(err instanceof WriteDeadlineError))
      return afterGroupFailed(deps.failureDeps(), { ...event, entries: [entry] }, err).then((a) => ({
        ...a,
        applied: [],
        done: true,
        writes: 0,
      }));
  }
  await saveProgress(deps, event, undefined, { sequence: entry.sequence, ...reached });
  return { applied: [], done: false, writes: 0 };
}

/**
 * Records a stopped grouped apply, while its claim stands: the entries completely written (up to
 * `lastComplete`), and where the next one stands. The claim is released; the next plan claims again.
 */
async function saveProgress(
  deps: TimedApplyDeps,
  event: GroupEvent,
  lastComplete: PlannedEntry | undefined,
  partial: { sequence: number; file: number; record: number },
): Promise<void> {
  const state = await deps.readState();
  if (!groupClaimHolds(state, event.executionId)) {
    deps.info(
      `replica ${deps.settings.replicaAlias}: execution ${event.executionId} no longer holds the claim; its progress is not recorded`,
    );
    return;
  }
  const advanced: ReplicaState = lastComplete
    ? {
        ...withoutFailures(state),
        epoch: event.epoch,
        lastAppliedSequence: Math.max(state.lastAppliedSequence, lastComplete.sequence),
        watermark:
          lastComplete.sequence > state.lastAppliedSequence
            ? (toSeconds(lastComplete.to) ?? null)
            : state.watermark,
      }
    : state;
  await deps.saveState({
    ...advanced,
    partial: { epoch: event.epoch, ...partial, at: Math.floor(deps.now() / 1000) },
    inProgress: null,
  });
  deps.info(
    `replica ${deps.settings.replicaAlias}: stopped at its time budget in chain entry ${partial.sequence} (data file ${partial.file}, record ${partial.record}); the next invocation goes on from there`,
  );
}
