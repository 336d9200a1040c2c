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
 * counted for the plan's backoff (functions/replica/failureSteps.ts).
 *
 * All writes go through the one apply engine (apply/), shared with `dce replay`.
 */
import { DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import { GetParametersCommand, PutParameterCommand } from '@aws-sdk/client-ssm';
import { PublishCommand } from '@aws-sdk/client-sns';
import {
  EntryFilesMissingError,
  entryDataFiles,
  targetIsEmpty,
  targetKeyAttributes,
  type ApplyOptions,
  type DynamoDbSender,
} from '../../apply';
import type { SsmCall } from '../shared/lease';
import { underLease, unchangedSincePlanned } from '../shared/consumer/claim';
import { DEFAULT_METRIC_NAMESPACE, METRIC_DIMENSION } from '../shared/metrics';
import { haltAlert } from './alert';
import {
  REPLICA_DIMENSION,
  REPLICA_LAG_METRIC,
  replicaLockName,
  type ReplicaClients,
  type ReplicaEvent,
  type ReplicaHandlerOptions,
  type PlanOutput,
} from './contract';
import { readChainFrom } from '../shared/consumer/chainReading';
import { clearTarget } from './clear';
import { checkFailedEntry, targetSchemaProblem, type FailureStepDeps } from './failureSteps';
import { withoutFailures } from './failures';
import { checkImport, startImport, type ImportBootstrapDeps } from './importBootstrap';
import {
  claimIsLive,
  DEFAULT_PLANNER_LIMITS,
  planReplica,
  type PlannedEntry,
  type PlannerLimits,
  type ReplicaPlan,
} from './planner';
import { ReplicaActionSteps } from './actionSteps';
import type { ReplicaSettings } from './settings';
import {
  parseReplicaState,
  REPLICA_CLAIM_ALSO_COMPARES,
  type ReplicaHaltReason,
  type ReplicaState,
} from './state';
import { withRetry } from '../shared/retry';
import { applyChildBatch, applyGroupInTime, type TimedApplyDeps } from './timedApply';
import { claimHolderEndedAt } from './writeGuard';
import { planDistributedWork } from './workSizing';

export {
  replicaLockName,
  REPLICA_LAG_METRIC,
  REPLICA_DIMENSION,
  EXPRESS_CHILD_BUDGET_SECONDS,
  type ReplicaClients,
  type ReplicaHandlerOptions,
  type DataFileItem,
  type ReplicaEvent,
  type PlanOutput,
} from './contract';

/**
 * The replica's apply steps for one replica: one method per step, over its settings and clients.
 */
class ReplicaApply {
  private readonly now: () => number;
  private readonly log: (line: string) => void;
  private readonly limits: PlannerLimits;
  private readonly ssmCall: SsmCall;
  private readonly action: ReplicaActionSteps;

  constructor(
    private readonly settings: ReplicaSettings,
    private readonly clients: ReplicaClients,
    private readonly options: ReplicaHandlerOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.log = options.log ?? ((line: string) => console.log(line));
    this.limits = { ...DEFAULT_PLANNER_LIMITS, ...options.limits };
    this.ssmCall = (label, command) =>
      withRetry(label, () => clients.ssm.send(command), { sleep: options.sleep });
    this.action = new ReplicaActionSteps({
      settings,
      ssm: clients.ssm,
      ssmCall: this.ssmCall,
      lockName: replicaLockName(settings.stateParameterName),
      now: this.now,
      info: (line) => this.info(line),
      saveState: (state) => this.saveState(state),
    });
  }

  private info(line: string): void {
    (this.options.info ?? console.log)(line);
  }

  private iso(): string {
    return new Date(this.now()).toISOString();
  }

  private async readState(): Promise<ReplicaState> {
    const out = await this.ssmCall(
      'GetParameters (replica state)',
      new GetParametersCommand({ Names: [this.settings.stateParameterName] }),
    );
    const value = out.Parameters?.[0]?.Value;
    if (typeof value !== 'string')
      throw new Error(`replica state parameter ${this.settings.stateParameterName} is missing`);
    return parseReplicaState(value);
  }
  private async saveState(state: ReplicaState): Promise<void> {
    await this.ssmCall(
      'PutParameter (replica state)',
      new PutParameterCommand({
        Name: this.settings.stateParameterName,
        Value: JSON.stringify({ ...state, updatedAt: this.iso() }),
        Type: 'String',
        Overwrite: true,
      }),
    );
  }

  /**
   * Records the halt, then alerts. The alert is off the critical path: the halt is recorded first,
   * with the alert pending; an alert SNS does not take (after the transient retries) is sent again
   * by the next execution, with the same notification id, until SNS takes it.
   */
  private async halt(state: ReplicaState, reason: ReplicaHaltReason, detail: string) {
    const halted: ReplicaState = {
      ...state,
      status: 'HALTED',
      inProgress: null,
      halt: { reason, detail, at: this.iso(), epoch: state.epoch, alerted: false },
    };
    await this.saveState(halted);
    await this.sendHaltAlert(halted);
  }

  /** Publishes the alert of a halted state and records it sent; a failure is logged and left pending. */
  private async sendHaltAlert(halted: ReplicaState): Promise<void> {
    if (!halted.halt) return;
    try {
      await withRetry(
        'Publish (replica halted)',
        () => this.clients.sns.send(new PublishCommand(haltAlert(this.settings, halted))),
        { sleep: this.options.sleep },
      );
    } catch (err) {
      this.log(
        JSON.stringify({
          level: 'WARN',
          message: 'replica halt alert not delivered; the next execution sends it again',
          error: `${(err as Error).name}: ${(err as Error).message}`,
        }),
      );
      return;
    }
    await this.saveState({ ...halted, halt: { ...halted.halt, alerted: true } });
  }

  private emitLag(state: ReplicaState): void {
    // Before the full export is applied there is no watermark: no data point, so the alarm (which
    // treats missing data as breaching) fires if the replica never starts.
    if (state.watermark === null) return;
    const lagSeconds = Math.max(0, Math.round((this.now() - Date.parse(state.watermark)) / 1000));
    this.log(
      JSON.stringify({
        _aws: {
          Timestamp: this.now(),
          CloudWatchMetrics: [
            {
              Namespace: this.settings.metricNamespace || DEFAULT_METRIC_NAMESPACE,
              Dimensions: [[METRIC_DIMENSION, REPLICA_DIMENSION]],
              Metrics: [{ Name: REPLICA_LAG_METRIC, Unit: 'Seconds' }],
            },
          ],
        },
        [METRIC_DIMENSION]: this.settings.alias,
        [REPLICA_DIMENSION]: this.settings.replicaAlias,
        [REPLICA_LAG_METRIC]: lagSeconds,
      }),
    );
  }

  private async applyOptions(maxWritesPerSecond: number, dynamodb: DynamoDbSender): Promise<ApplyOptions> {
    return {
      s3: this.clients.s3,
      dynamodb,
      targetTable: this.settings.targetTableName,
      keyAttributes: await targetKeyAttributes(this.clients.target, this.settings.targetTableName),
      maxWritesPerSecond,
      sleep: this.options.sleep,
    };
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
  private async recordApplied(executionId: string, epoch: string, last: PlannedEntry) {
    const state = await this.readState();
    if (state.inProgress?.executionId !== executionId) {
      this.info(
        `replica ${this.settings.replicaAlias}: execution ${executionId} no longer holds the claim; sequence ${last.sequence} is not recorded (applied again by the holder)`,
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
      watermark: last.to,
      inProgress: null,
      partial: state.partial && state.partial.sequence > last.sequence ? state.partial : null,
    };
    await this.saveState(next);
    return next;
  }

  /**
   * Two executions (a duplicate scheduler delivery) may both plan from the same state. The claim is
   * written under the exclusive lease of functions/shared/lease.ts (create-only SSM parameters): the holder
   * reads the state again and claims only if nobody changed it since `read` was read (`planned` is the
   * state planned from, functions/replica/actionSteps.ts), and only if the operator's action still
   * lets it run: a PAUSE or REBUILD written since the plan read the action stops the claim.
   */
  private async claim(
    planned: ReplicaState,
    executionId: string,
    epoch: string,
    sequences: number[],
    mode: 'group' | 'distributed',
    read: ReplicaState = planned,
  ): Promise<boolean> {
    const lease = {
      lockName: replicaLockName(this.settings.stateParameterName),
      executionId,
      now: Math.floor(this.now() / 1000),
    };
    const claimed = await underLease(this.ssmCall, lease, async () => {
      const { state: current, action } = await this.action.read();
      if (!unchangedSincePlanned(read, current, REPLICA_CLAIM_ALSO_COMPARES)) return false;
      if (this.action.decide(current, action, executionId).kind !== 'RUN') return false;
      // The epoch is recorded with the first claim: a bootstrap interrupted after some writes is
      // then applied again, not mistaken for a target that was never empty.
      await this.saveState({
        ...planned,
        epoch,
        inProgress: { executionId, sequences, mode, startedAt: this.iso() },
      });
      return true;
    });
    return claimed.held && claimed.value;
  }

  /**
   * Whether another execution's live claim was left by an execution that is no longer running
   * (failed, stopped, timed out). Undefined when there is no such claim or it cannot be told.
   */
  private async claimHolderEnded(state: ReplicaState, executionId: string): Promise<boolean | undefined> {
    const claim = state.inProgress;
    if (!claim || claim.executionId === executionId || !this.clients.states) return undefined;
    if (!claimIsLive(claim, this.now() / 1000, this.settings.leaseSeconds)) return undefined;
    try {
      const out = await this.clients.states.send(
        new DescribeExecutionCommand({ executionArn: claim.executionId }),
      );
      return claimHolderEndedAt(out, this.now());
    } catch (err) {
      // An execution Step Functions no longer knows (older than its 90-day history) has ended.
      if ((err as { name?: string }).name === 'ExecutionDoesNotExist') return true;
      // Anything else (throttling, a denied call): the lease decides, as without the client.
      return undefined;
    }
  }

  /** What the failure and schema steps (functions/replica/failureSteps.ts) use of this Lambda. */
  private failureDeps(): FailureStepDeps {
    return {
      settings: this.settings,
      s3: this.clients.s3,
      target: this.clients.target,
      source: this.clients.source,
      now: this.now,
      sleep: this.options.sleep,
      info: (line) => this.info(line),
      readState: () => this.readState(),
      saveState: (state) => this.saveState(state),
      halt: (state, reason, detail) => this.halt(state, reason, detail),
    };
  }

  /** What the time-bounded apply steps (functions/replica/timedApply.ts) use of this Lambda. */
  private timedDeps(): TimedApplyDeps {
    return {
      settings: this.settings,
      s3: this.clients.s3,
      target: this.clients.target,
      now: this.now,
      info: (line) => this.info(line),
      claimConfirmMs: this.options.claimConfirmMs,
      readState: () => this.readState(),
      saveState: (state) => this.saveState(state),
      applyOptions: (rate, target) => this.applyOptions(rate, target),
      recordApplied: (executionId, epoch, entry) => this.recordApplied(executionId, epoch, entry),
      failureDeps: () => this.failureDeps(),
    };
  }

  /** What the `import` bootstrap (functions/replica/importBootstrap.ts) uses of this Lambda. */
  private importDeps(executionId: string): ImportBootstrapDeps {
    const source = this.clients.source;
    return {
      settings: this.settings,
      s3: this.clients.s3,
      ssm: this.clients.ssm,
      source: source ?? { send: () => Promise.reject(new Error('no DynamoDB client for the source table')) },
      target: this.clients.target,
      lockName: replicaLockName(this.settings.stateParameterName),
      executionId,
      now: this.now,
      sleep: this.options.sleep,
      readState: () => this.readState(),
      saveState: (state) => this.saveState(state),
      halt: (state, reason, detail) => this.halt(state, reason, detail),
    };
  }

  /**
   * Claims the entries to apply and tells the state machine how: grouped by one Lambda, or by the
   * Distributed Map over the entry's data files (with its reader, child type and concurrency).
   */
  private async planApply(
    planned: { state: ReplicaState; read: ReplicaState; executionId: string },
    decided: Extract<ReplicaPlan, { action: 'APPLY_GROUP' | 'APPLY_DISTRIBUTED' }>,
  ): Promise<PlanOutput> {
    const { state, read, executionId } = planned;
    const entries = decided.action === 'APPLY_GROUP' ? decided.entries : [decided.entry];
    let files: Awaited<ReturnType<typeof entryDataFiles>> | undefined;
    let sized: ReturnType<typeof planDistributedWork> | undefined;
    if (decided.action === 'APPLY_DISTRIBUTED') {
      try {
        files = await entryDataFiles(this.clients.s3, decided.entry);
      } catch (err) {
        if (!(err instanceof EntryFilesMissingError)) throw err;
        await this.halt(state, 'FILES_MISSING', err.message);
        return { action: 'HALT', detail: err.message };
      }
      sized = planDistributedWork({
        files: files.files,
        maxWritesPerSecond: this.settings.maxWritesPerSecond,
        concurrency: this.settings.concurrency,
        standardOnly: state.failedDistributedSequence === decided.entry.sequence,
        maxBatchRecords: this.limits.distributedBatchMaxItems,
      });
      if (!sized.ok) {
        const detail = `chain entry ${decided.entry.sequence}: ${sized.detail}`;
        await this.halt(state, 'WORK_UNIT_TOO_LARGE', detail);
        return { action: 'HALT', detail };
      }
    }
    const mode = decided.action === 'APPLY_GROUP' ? 'group' : 'distributed';
    const sequences = entries.map((e) => e.sequence);
    if (!(await this.claim(state, executionId, decided.epoch, sequences, mode, read)))
      return { action: 'BUSY', detail: 'another execution claimed the replica' };
    // Checked under the claim, so one execution halts and alerts.
    const mismatch = await targetSchemaProblem(this.failureDeps());
    if (mismatch) {
      await this.halt(state, 'TARGET_SCHEMA_MISMATCH', mismatch);
      return { action: 'HALT', detail: mismatch };
    }
    const notEmpty = await this.bootstrapTargetNotEmpty(state, entries[0].sequence);
    if (notEmpty) return notEmpty;
    if (decided.action === 'APPLY_GROUP' || !files || !sized?.ok)
      return {
        action: 'APPLY_GROUP',
        epoch: decided.epoch,
        entries,
        resume: decided.action === 'APPLY_GROUP' ? (decided.resume ?? null) : null,
      };
    const { work } = sized;
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
  private async planClear(
    planned: { state: ReplicaState; read: ReplicaState; executionId: string },
    epoch: string,
  ): Promise<PlanOutput> {
    const { state, read, executionId } = planned;
    if (!(await this.claim(state, executionId, epoch, [], 'group', read)))
      return { action: 'BUSY', detail: 'another execution claimed the replica' };
    const cleared = await clearTarget(
      {
        settings: this.settings,
        target: this.clients.target,
        now: this.now,
        sleep: this.options.sleep,
        saveState: (s) => this.saveState(s),
      },
      await this.readState(),
    );
    await this.saveState({ ...cleared, inProgress: null });
    return {
      action: 'CONTINUE',
      epoch,
      detail: cleared.clearing
        ? `emptying the target for epoch ${epoch}: ${cleared.clearing.deleted} items deleted so far`
        : `target emptied for epoch ${epoch}; its full export is applied next`,
    };
  }

  /**
   * A `write` bootstrap starts from an empty target: items already there would stay, and the replica
   * would not equal the source (a rebaseline applies over the replica on purpose: its epoch is already
   * set). Checked after the claim stands only, so a second execution never mistakes the first one's
   * writes for a table that was not empty.
   */
  private async bootstrapTargetNotEmpty(
    state: ReplicaState,
    firstSequence: number,
  ): Promise<PlanOutput | undefined> {
    if (state.epoch !== null || firstSequence !== 0) return undefined;
    if (await targetIsEmpty(this.clients.target, this.settings.targetTableName)) return undefined;
    const detail = `target table ${this.settings.targetTableName} is not empty; a write bootstrap needs an empty table`;
    await this.halt(state, 'TARGET_NOT_EMPTY', detail);
    return { action: 'HALT', detail };
  }

  private async plan(executionId: string): Promise<PlanOutput> {
    const prepared = await this.action.prepare(executionId);
    if ('output' in prepared) return prepared.output;
    const { state, read, pausedBecause } = prepared;
    this.emitLag(state);
    const chain = await readChainFrom(
      this.clients.s3,
      { bucket: this.settings.bucket, prefix: this.settings.prefix },
      {
        followedEpoch: state.epoch,
        fromSequence: state.lastAppliedSequence + 1,
        maxEntries: this.limits.groupMaxEntries + 1,
      },
    );
    const decided = planReplica(state, chain, {
      onNewEpoch: this.settings.onNewEpoch,
      bootstrap: this.settings.bootstrap,
      claimHolderEnded: await this.claimHolderEnded(state, executionId),
      executionId,
      now: this.now() / 1000,
      leaseSeconds: this.settings.leaseSeconds,
      limits: this.limits,
      pausedBecause,
      maxWritesPerSecond: this.settings.maxWritesPerSecond,
    });
    switch (decided.action) {
      case 'HALT':
        await this.halt(state, decided.reason, decided.detail);
        return { action: 'HALT', detail: decided.detail };
      case 'REBASELINE':
        // The target is emptied (CLEAR), then the new epoch's full export is applied into it.
        await this.saveState({
          ...withoutFailures(state),
          epoch: decided.toEpoch,
          lastAppliedSequence: -1,
          watermark: null,
          inProgress: null,
          partial: null,
          clearing: { cursor: null, deleted: 0, startedAt: this.iso() },
        });
        return { action: 'REBASELINE', epoch: decided.toEpoch };
      case 'CLEAR':
        return this.planClear({ state, read, executionId }, decided.epoch);
      case 'APPLY_GROUP':
      case 'APPLY_DISTRIBUTED':
        return this.planApply({ state, read, executionId }, decided);
      case 'START_IMPORT':
        return startImport(this.importDeps(executionId), state, decided.epoch, decided.entry);
      case 'CHECK_IMPORT':
        return checkImport(this.importDeps(executionId), state);
      case 'HALTED':
        // An alert a previous execution could not deliver goes out now.
        if (state.halt?.alerted === false) await this.sendHaltAlert(state);
        return { action: 'HALTED', detail: decided.reason };
      case 'BUSY':
        return { action: 'BUSY', detail: `execution ${decided.executionId} is applying` };
      case 'IDLE':
        return { action: 'IDLE', detail: decided.reason };
    }
  }

  async handle(event: ReplicaEvent): Promise<unknown> {
    switch (event.step) {
      case 'plan':
        return this.plan(event.executionId);
      case 'applyGroup':
        return applyGroupInTime(this.timedDeps(), event);
      case 'applyFiles':
        return applyChildBatch(this.timedDeps(), event);
      case 'commit':
        await this.recordApplied(event.executionId, event.epoch, event.entry);
        return { applied: [event.entry.sequence] };
      case 'checkFailedEntry':
        return checkFailedEntry(this.failureDeps(), event);
    }
  }
}

/** The Lambda handler of one replica: every step of its state machine is one call. */
export function createReplicaHandler(
  settings: ReplicaSettings,
  clients: ReplicaClients,
  options: ReplicaHandlerOptions = {},
): (event: ReplicaEvent) => Promise<unknown> {
  const steps = new ReplicaApply(settings, clients, options);
  return (event) => steps.handle(event);
}
