/**
 * The replica's `plan` step, in named steps: the operator's action first (functions/replica/
 * actionSteps.ts), the lag metric, the chain read from the cursor, the plan (pure, functions/replica/
 * planner.ts), then what the plan says carried out: halt, rebaseline, clear, claim and hand the
 * entries to the state machine, or the import bootstrap.
 */
import { EntryFilesMissingError, entryDataFiles, targetIsEmpty } from '../../apply';
import { readChainFrom } from '../shared/consumer/chainReading';
import { replicaLagRecord } from '../shared/emf';
import { claim, claimHolderEnded, halt, sendHaltAlert } from './claimSteps';
import { clearTarget } from './clear';
import { nowSeconds, type ReplicaContext } from './context';
import type { PlanOutput } from './contract';
import { targetSchemaProblem } from './failureSteps';
import { withoutFailures } from './failures';
import { checkImport, startImport } from './importBootstrap';
import type { OneShotInput } from './oneShot';
import { planReplica, type ReplicaPlan } from './planner';
import type { ReplicaState } from './state';
import { failureDeps, importDeps } from './stepDeps';
import { planDistributedWork } from './workSizing';

/** The state a plan starts from (after the operator's action), and the state as read. */
interface Planned {
  state: ReplicaState;
  read: ReplicaState;
  executionId: string;
}

type ApplyPlan = Extract<ReplicaPlan, { action: 'APPLY_GROUP' | 'APPLY_DISTRIBUTED' }>;

const BUSY: PlanOutput = { action: 'BUSY', detail: 'another execution claimed the replica' };

/**
 * The lag metric. Before the full export is applied there is no watermark: no data point, so the
 * alarm (which treats missing data as breaching) fires if the replica never starts.
 */
function emitLag(ctx: ReplicaContext, state: ReplicaState): void {
  if (state.watermark === null) return;
  const lagSeconds = Math.max(0, Math.round(ctx.now() / 1000 - state.watermark));
  const aliases = { table: ctx.settings.alias, replica: ctx.settings.replicaAlias };
  ctx.log(JSON.stringify(replicaLagRecord(ctx.settings.metricNamespace, aliases, lagSeconds, ctx.now())));
}

/** Halts and says so to the state machine. */
async function halted(
  ctx: ReplicaContext,
  state: ReplicaState,
  reason: Parameters<typeof halt>[2],
  detail: string,
): Promise<PlanOutput> {
  await halt(ctx, state, reason, detail);
  return { action: 'HALT', detail };
}

/**
 * A `write` bootstrap starts from an empty target: items already there would stay, and the replica
 * would not equal the source (a rebaseline applies over the replica on purpose: its epoch is already
 * set). Checked after the claim stands only, so a second execution never mistakes the first one's
 * writes for a table that was not empty.
 */
async function bootstrapTargetNotEmpty(
  ctx: ReplicaContext,
  state: ReplicaState,
  firstSequence: number,
): Promise<PlanOutput | undefined> {
  if (state.epoch !== null || firstSequence !== 0) return undefined;
  if (await targetIsEmpty(ctx.clients.target, ctx.settings.targetTableName)) return undefined;
  const detail = `target table ${ctx.settings.targetTableName} is not empty; a write bootstrap needs an empty table`;
  return halted(ctx, state, 'TARGET_NOT_EMPTY', detail);
}

/** A Distributed Map's work: the entry's data files, sized into batches and children. */
async function distributedWork(ctx: ReplicaContext, state: ReplicaState, decided: ApplyPlan) {
  if (decided.action !== 'APPLY_DISTRIBUTED') return { ok: true as const };
  let files: Awaited<ReturnType<typeof entryDataFiles>>;
  try {
    files = await entryDataFiles(ctx.clients.s3, decided.entry);
  } catch (err) {
    if (!(err instanceof EntryFilesMissingError)) throw err;
    return { ok: false as const, output: await halted(ctx, state, 'FILES_MISSING', err.message) };
  }
  const sized = planDistributedWork({
    files: files.files,
    maxWritesPerSecond: ctx.settings.maxWritesPerSecond,
    concurrency: ctx.settings.concurrency,
    standardOnly: state.failedDistributedSequence === decided.entry.sequence,
    maxBatchRecords: ctx.limits.distributedBatchMaxItems,
  });
  if (!sized.ok) {
    const detail = `chain entry ${decided.entry.sequence}: ${sized.detail}`;
    return { ok: false as const, output: await halted(ctx, state, 'WORK_UNIT_TOO_LARGE', detail) };
  }
  return { ok: true as const, files, work: sized.work };
}

/**
 * Claims the entries to apply and tells the state machine how: grouped by one Lambda, or by the
 * Distributed Map over the entry's data files (with its reader, child type and concurrency).
 */
async function planApply(ctx: ReplicaContext, planned: Planned, decided: ApplyPlan): Promise<PlanOutput> {
  const { state, read, executionId } = planned;
  const entries = decided.action === 'APPLY_GROUP' ? decided.entries : [decided.entry];
  const distributed = await distributedWork(ctx, state, decided);
  if (!distributed.ok) return distributed.output;
  const mode = decided.action === 'APPLY_GROUP' ? 'group' : 'distributed';
  const sequences = entries.map((e) => e.sequence);
  if (!(await claim(ctx, { planned: state, read, executionId, epoch: decided.epoch, sequences, mode })))
    return BUSY;
  // Checked under the claim, so one execution halts and alerts.
  const mismatch = await targetSchemaProblem(failureDeps(ctx));
  if (mismatch) return halted(ctx, state, 'TARGET_SCHEMA_MISMATCH', mismatch);
  const notEmpty = await bootstrapTargetNotEmpty(ctx, state, entries[0].sequence);
  if (notEmpty) return notEmpty;
  if (decided.action === 'APPLY_GROUP' || !distributed.files || !distributed.work)
    return {
      action: 'APPLY_GROUP',
      epoch: decided.epoch,
      entries,
      resume: decided.action === 'APPLY_GROUP' ? (decided.resume ?? null) : null,
    };
  const { files, work } = distributed;
  return {
    action: decided.action,
    epoch: decided.epoch,
    entry: decided.entry,
    reader: { Bucket: decided.entry.bucket, Key: files.manifestFilesKey },
    format: files.format,
    childType: work.childType,
    concurrency: work.children,
    filesPerBatch: work.filesPerBatch,
    child: {
      claim: executionId,
      writesPerSecond: work.childWritesPerSecond,
      budgetSeconds: work.budgetSeconds,
    },
  };
}

/**
 * Empties the target for a rebaseline, under the claim, for a bounded time (functions/replica/clear.ts);
 * answers CONTINUE so the definition plans again: it goes on clearing, then applies the full export.
 */
async function planClear(ctx: ReplicaContext, planned: Planned, epoch: string): Promise<PlanOutput> {
  const { state, read, executionId } = planned;
  if (!(await claim(ctx, { planned: state, read, executionId, epoch, sequences: [], mode: 'group' })))
    return BUSY;
  const cleared = await clearTarget(
    {
      settings: ctx.settings,
      target: ctx.clients.target,
      now: ctx.now,
      sleep: ctx.options.sleep,
      saveState: (s) => ctx.aws.saveState(s),
    },
    await ctx.aws.readState(),
  );
  await ctx.aws.saveState({ ...cleared, inProgress: null });
  return {
    action: 'CONTINUE',
    epoch,
    detail: cleared.clearing
      ? `emptying the target for epoch ${epoch}: ${cleared.clearing.deleted} items deleted so far`
      : `target emptied for epoch ${epoch}; its full export is applied next`,
  };
}

/** A rebaseline: the target is emptied (CLEAR), then the new epoch's full export is applied into it. */
async function rebaseline(ctx: ReplicaContext, state: ReplicaState, toEpoch: string): Promise<PlanOutput> {
  await ctx.aws.saveState({
    ...withoutFailures(state),
    epoch: toEpoch,
    lastAppliedSequence: -1,
    watermark: null,
    inProgress: null,
    partial: null,
    clearing: { cursor: null, deleted: 0, startedAt: nowSeconds(ctx) },
  });
  return { action: 'REBASELINE', epoch: toEpoch };
}

/** Carries out what the planner decided. */
async function carryOut(ctx: ReplicaContext, planned: Planned, decided: ReplicaPlan): Promise<PlanOutput> {
  const { state, executionId } = planned;
  switch (decided.action) {
    case 'HALT':
      return halted(ctx, state, decided.reason, decided.detail);
    case 'REBASELINE':
      return rebaseline(ctx, state, decided.toEpoch);
    case 'CLEAR':
      return planClear(ctx, planned, decided.epoch);
    case 'APPLY_GROUP':
    case 'APPLY_DISTRIBUTED':
      return planApply(ctx, planned, decided);
    case 'START_IMPORT':
      return startImport(importDeps(ctx, executionId), state, decided.epoch, decided.entry);
    case 'CHECK_IMPORT':
      return checkImport(importDeps(ctx, executionId), state);
    case 'HALTED':
      // An alert a previous execution could not deliver goes out now.
      if (state.halt?.alerted === false) await sendHaltAlert(ctx, state);
      return { action: 'HALTED', detail: decided.reason };
    case 'BUSY':
      return { action: 'BUSY', detail: `execution ${decided.executionId} is applying` };
    case 'IDLE':
      return { action: 'IDLE', detail: decided.reason };
  }
}

/** The `plan` step: the operator's action, the lag, the chain from the cursor, the plan, carried out. */
export async function planStep(
  ctx: ReplicaContext,
  executionId: string,
  oneShot: OneShotInput = {},
): Promise<PlanOutput> {
  const prepared = await ctx.action.prepare(executionId);
  if ('output' in prepared) return prepared.output;
  const { state, read, pausedBecause } = prepared;
  emitLag(ctx, state);
  const chain = await readChainFrom(
    ctx.clients.s3,
    { bucket: ctx.settings.bucket, prefix: ctx.settings.prefix },
    {
      followedEpoch: state.epoch,
      fromSequence: state.lastAppliedSequence + 1,
      maxEntries: ctx.limits.groupMaxEntries + 1,
    },
  );
  const decided = planReplica(state, chain, {
    onNewEpoch: ctx.settings.onNewEpoch,
    bootstrap: ctx.settings.bootstrap,
    claimHolderEnded: await claimHolderEnded(ctx, state, executionId),
    executionId,
    now: ctx.now() / 1000,
    leaseSeconds: ctx.settings.leaseSeconds,
    limits: ctx.limits,
    pausedBecause,
    maxWritesPerSecond: ctx.settings.maxWritesPerSecond,
    ...(oneShot.stopAtSequence !== undefined ? { stopAtSequence: oneShot.stopAtSequence } : {}),
    ...(oneShot.epoch !== undefined ? { stopInEpoch: oneShot.epoch } : {}),
  });
  return carryOut(ctx, { state, read, executionId }, decided);
}
