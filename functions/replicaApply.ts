/**
 * The replica's apply Lambda: every step of the replica state machine (statemachine/replica-apply.asl.json)
 * is one call of this handler with a `step`:
 *
 * - `plan`: reads the replica state and the chain, decides what to do next (functions/replicaPlanner.ts),
 *   records the claim or the halt, publishes the halt alert once, and emits the replica lag metric.
 * - `applyGroup`: applies several small consecutive entries together (latest record per key wins).
 * - `applyFiles`: a Distributed Map child: applies its batch of one export's data files.
 * - `commit`: records an entry applied by the Distributed Map.
 * - `checkFailedEntry`: after a failed Distributed Map, tells "files gone" (halt, alert) from any other
 *   failure (the execution fails; the next one applies the entry again, which is harmless).
 *
 * All writes go through the one apply engine (apply/), shared with `dce replay`.
 */
import { GetParametersCommand, PutParameterCommand } from '@aws-sdk/client-ssm';
import { PublishCommand } from '@aws-sdk/client-sns';
import {
  EntryFilesMissingError,
  applyDataFiles,
  applyEntries,
  entryDataFiles,
  targetIsEmpty,
  targetKeyAttributes,
  type ApplyOptions,
  type DynamoDbSender,
} from '../apply';
import type { DataFileEntry, ExportFormatName, S3Sender } from '../format';
import { objectExists } from '../format/s3io';
import type { SnsSender, SsmSender } from './awsClients';
import { acquireLease, releaseLease, type SsmCall } from './lease';
import { DEFAULT_METRIC_NAMESPACE, METRIC_DIMENSION } from './metrics';
import { readChainView } from './replicaChain';
import {
  DEFAULT_PLANNER_LIMITS,
  planReplica,
  type PlannedEntry,
  type PlannerLimits,
  type ReplicaPlan,
} from './replicaPlanner';
import type { ReplicaSettings } from './replicaSettings';
import { parseReplicaState, type ReplicaHaltReason, type ReplicaState } from './replicaState';
import { withRetry } from './retry';

/** The lock parameter whose lease guards a replica's claims: beside its state parameter. */
export function replicaLockName(stateParameterName: string): string {
  return `${stateParameterName}-lock`;
}

export interface ReplicaClients {
  s3: S3Sender;
  ssm: SsmSender;
  sns: SnsSender;
  /** DynamoDB client of the target (its Region, and the assumed role's credentials when set). */
  target: DynamoDbSender;
}

export interface ReplicaHandlerOptions {
  /** Epoch milliseconds. */
  now?: () => number;
  /** Where the EMF metric line goes. */
  log?: (line: string) => void;
  limits?: Partial<PlannerLimits>;
  /** Passed to the apply engine (tests shorten backoff with it). */
  sleep?: ApplyOptions['sleep'];
}

/** One item of the Distributed Map: a data file, with the entry it belongs to (from ItemSelector). */
export interface DataFileItem {
  file: DataFileEntry;
  entry: PlannedEntry;
  format: ExportFormatName;
}

export type ReplicaEvent =
  | { step: 'plan'; executionId: string }
  | { step: 'applyGroup'; executionId: string; epoch: string; entries: PlannedEntry[] }
  | { step: 'applyFiles'; Items: DataFileItem[] }
  | { step: 'commit'; executionId: string; epoch: string; entry: PlannedEntry }
  | { step: 'checkFailedEntry'; executionId: string; epoch: string; entry: PlannedEntry };

/** What `plan` returns to the state machine (its Choice reads `action`). */
export interface PlanOutput {
  action: ReplicaPlan['action'];
  detail?: string;
  epoch?: string;
  entries?: PlannedEntry[];
  entry?: PlannedEntry;
  /** For the Distributed Map's ItemReader: the entry's manifest-files.json (same account and Region). */
  reader?: { Bucket: string; Key: string };
  format?: ExportFormatName;
  /** EXPRESS when every child fits in Express's 5 minutes at the write rate, else STANDARD. */
  childType?: 'EXPRESS' | 'STANDARD';
  /** Distributed Map children at once (its MaxConcurrencyPath). */
  concurrency?: number;
}

export const REPLICA_LAG_METRIC = 'ReplicaLagSeconds';
export const REPLICA_DIMENSION = 'Replica';
/** Seconds of writes an Express child is planned for, well inside its 300-second limit. */
export const EXPRESS_CHILD_BUDGET_SECONDS = 200;

export function createReplicaHandler(
  settings: ReplicaSettings,
  clients: ReplicaClients,
  options: ReplicaHandlerOptions = {},
): (event: ReplicaEvent) => Promise<unknown> {
  const now = options.now ?? Date.now;
  const log = options.log ?? ((line: string) => console.log(line));
  const limits = { ...DEFAULT_PLANNER_LIMITS, ...options.limits };
  const iso = () => new Date(now()).toISOString();
  const ssmCall: SsmCall = (label, command) => withRetry(label, () => clients.ssm.send(command));

  const readState = async (): Promise<ReplicaState> => {
    const out = await clients.ssm.send(new GetParametersCommand({ Names: [settings.stateParameterName] }));
    const value = out.Parameters?.[0]?.Value;
    if (typeof value !== 'string')
      throw new Error(`replica state parameter ${settings.stateParameterName} is missing`);
    return parseReplicaState(value);
  };
  const saveState = async (state: ReplicaState): Promise<void> => {
    await clients.ssm.send(
      new PutParameterCommand({
        Name: settings.stateParameterName,
        Value: JSON.stringify({ ...state, updatedAt: iso() }),
        Type: 'String',
        Overwrite: true,
      }),
    );
  };

  /** Alerts once, then records the halt (a crash in between repeats the alert with the same id). */
  const halt = async (state: ReplicaState, reason: ReplicaHaltReason, detail: string) => {
    const id = `${settings.alias}/replica/${settings.replicaAlias}/${reason}/${state.epoch ?? 'none'}/${state.lastAppliedSequence}`;
    const message = {
      schemaVersion: 1,
      notificationId: id,
      status: 'FAILED',
      event: 'REPLICA_HALTED',
      table: settings.sourceTableName,
      alias: settings.alias,
      replica: settings.replicaAlias,
      targetTable: settings.targetTableName,
      reason,
      epoch: state.epoch,
      lastAppliedSequence: state.lastAppliedSequence,
      watermark: state.watermark,
      message: `Replica ${settings.replicaAlias} (${settings.targetTableName}) halted: ${detail}`,
      hint: 'The replica writes nothing until it is rebuilt; see docs/replica.md, "When a replica halts".',
      time: iso(),
    };
    await clients.sns.send(
      new PublishCommand({
        TopicArn: settings.notificationTopicArn,
        Subject: `[${settings.alias}] FAILED: replica ${settings.replicaAlias} halted (${reason})`.slice(
          0,
          100,
        ),
        Message: JSON.stringify(message),
        MessageAttributes: {
          status: { DataType: 'String', StringValue: 'FAILED' },
          event: { DataType: 'String', StringValue: 'REPLICA_HALTED' },
        },
      }),
    );
    await saveState({
      ...state,
      status: 'HALTED',
      inProgress: null,
      halt: { reason, detail, at: iso(), epoch: state.epoch },
    });
  };

  const emitLag = (state: ReplicaState) => {
    // Before the full export is applied there is no watermark: no data point, so the alarm (which
    // treats missing data as breaching) fires if the replica never starts.
    if (state.watermark === null) return;
    const lagSeconds = Math.max(0, Math.round((now() - Date.parse(state.watermark)) / 1000));
    log(
      JSON.stringify({
        _aws: {
          Timestamp: now(),
          CloudWatchMetrics: [
            {
              Namespace: settings.metricNamespace || DEFAULT_METRIC_NAMESPACE,
              Dimensions: [[METRIC_DIMENSION, REPLICA_DIMENSION]],
              Metrics: [{ Name: REPLICA_LAG_METRIC, Unit: 'Seconds' }],
            },
          ],
        },
        [METRIC_DIMENSION]: settings.alias,
        [REPLICA_DIMENSION]: settings.replicaAlias,
        [REPLICA_LAG_METRIC]: lagSeconds,
      }),
    );
  };

  const applyOptions = async (maxWritesPerSecond: number): Promise<ApplyOptions> => ({
    s3: clients.s3,
    dynamodb: clients.target,
    targetTable: settings.targetTableName,
    keyAttributes: await targetKeyAttributes(clients.target, settings.targetTableName),
    maxWritesPerSecond,
    sleep: options.sleep,
  });

  /** Records entries applied, unless the state moved on meanwhile (never moves it backwards). */
  const recordApplied = async (executionId: string, epoch: string, last: PlannedEntry) => {
    const state = await readState();
    if (state.status === 'HALTED') return state;
    if (state.epoch !== null && state.epoch !== epoch) return state;
    if (state.lastAppliedSequence >= last.sequence) return state;
    const next: ReplicaState = {
      ...state,
      epoch,
      lastAppliedSequence: last.sequence,
      watermark: last.to,
      inProgress: state.inProgress?.executionId === executionId ? null : state.inProgress,
    };
    await saveState(next);
    return next;
  };

  const plan = async (executionId: string): Promise<PlanOutput> => {
    const state = await readState();
    emitLag(state);
    const chain = await readChainView(
      clients.s3,
      settings.bucket,
      settings.prefix,
      state.epoch,
      state.lastAppliedSequence + 1,
      limits.groupMaxEntries + 1,
    );
    const decided = planReplica(state, chain, {
      onNewEpoch: settings.onNewEpoch,
      bootstrap: settings.bootstrap,
      executionId,
      now: now() / 1000,
      leaseSeconds: settings.leaseSeconds,
      limits,
    });
    // Two executions (a duplicate scheduler delivery) may both plan from the same state. The claim is
    // written under the exclusive lease of functions/lease.ts (create-only SSM parameters): the holder
    // reads the state again and claims only if nobody changed it since this plan read it.
    const claim = async (
      epoch: string,
      sequences: number[],
      mode: 'group' | 'distributed',
    ): Promise<boolean> => {
      const lockName = replicaLockName(settings.stateParameterName);
      if (!(await acquireLease(ssmCall, { lockName, executionId, now: Math.floor(now() / 1000) }))) {
        return false;
      }
      try {
        const current = await readState();
        const unchanged =
          current.epoch === state.epoch &&
          current.lastAppliedSequence === state.lastAppliedSequence &&
          current.status === state.status &&
          JSON.stringify(current.inProgress) === JSON.stringify(state.inProgress);
        if (!unchanged) return false;
        // The epoch is recorded with the first claim: a bootstrap interrupted after some writes is
        // then applied again, not mistaken for a target that was never empty.
        await saveState({ ...state, epoch, inProgress: { executionId, sequences, mode, startedAt: iso() } });
        return true;
      } finally {
        await releaseLease(ssmCall, lockName);
      }
    };
    const busy = (): PlanOutput => ({ action: 'BUSY', detail: 'another execution claimed the replica' });
    // A `write` bootstrap starts from an empty target: items already there would stay, and the
    // replica would not equal the source. (A rebaseline applies over the replica on purpose: its
    // epoch is already set.)
    const startsBootstrap =
      state.epoch === null &&
      ((decided.action === 'APPLY_GROUP' && decided.entries[0].sequence === 0) ||
        (decided.action === 'APPLY_DISTRIBUTED' && decided.entry.sequence === 0));
    // Checked by the execution whose claim stands only, so a second execution never mistakes the
    // first one's writes for a table that was not empty.
    const notEmptyHalt = async (): Promise<PlanOutput | undefined> => {
      if (!startsBootstrap || (await targetIsEmpty(clients.target, settings.targetTableName)))
        return undefined;
      const detail = `target table ${settings.targetTableName} is not empty; a write bootstrap needs an empty table`;
      await halt(state, 'TARGET_NOT_EMPTY', detail);
      return { action: 'HALT', detail };
    };
    switch (decided.action) {
      case 'HALT':
        await halt(state, decided.reason, decided.detail);
        return { action: 'HALT', detail: decided.detail };
      case 'REBASELINE':
        // The new epoch's full export is applied over the replica next; see docs/replica.md for
        // what that leaves behind (items deleted between the epochs stay).
        await saveState({
          ...state,
          epoch: decided.toEpoch,
          lastAppliedSequence: -1,
          watermark: null,
          inProgress: null,
        });
        return { action: 'REBASELINE', epoch: decided.toEpoch };
      case 'APPLY_GROUP':
        if (
          !(await claim(
            decided.epoch,
            decided.entries.map((e) => e.sequence),
            'group',
          ))
        )
          return busy();
        return (
          (await notEmptyHalt()) ?? { action: decided.action, epoch: decided.epoch, entries: decided.entries }
        );
      case 'APPLY_DISTRIBUTED': {
        let files;
        try {
          files = await entryDataFiles(clients.s3, decided.entry);
        } catch (err) {
          if (!(err instanceof EntryFilesMissingError)) throw err;
          await halt(state, 'FILES_MISSING', err.message);
          return { action: 'HALT', detail: err.message };
        }
        if (!(await claim(decided.epoch, [decided.entry.sequence], 'distributed'))) return busy();
        const notEmpty = await notEmptyHalt();
        if (notEmpty) return notEmpty;
        const perChild = Math.max(1, Math.floor(settings.maxWritesPerSecond / settings.concurrency));
        const largest = Math.max(0, ...files.files.map((f) => f.itemCount));
        return {
          action: decided.action,
          epoch: decided.epoch,
          entry: decided.entry,
          reader: { Bucket: decided.entry.bucket, Key: files.manifestFilesKey },
          format: files.format,
          // A batch holds up to 4 data files (the definition's ItemBatcher).
          childType:
            state.failedDistributedSequence !== decided.entry.sequence &&
            (4 * largest) / perChild <= EXPRESS_CHILD_BUDGET_SECONDS
              ? 'EXPRESS'
              : 'STANDARD',
          concurrency: settings.concurrency,
        };
      }
      case 'HALTED':
        return { action: 'HALTED', detail: decided.reason };
      case 'BUSY':
        return { action: 'BUSY', detail: `execution ${decided.executionId} is applying` };
      case 'IDLE':
        return { action: 'IDLE', detail: decided.reason };
    }
  };

  return async (event: ReplicaEvent): Promise<unknown> => {
    switch (event.step) {
      case 'plan':
        return plan(event.executionId);
      case 'applyGroup': {
        try {
          const result = await applyEntries(event.entries, await applyOptions(settings.maxWritesPerSecond));
          await recordApplied(event.executionId, event.epoch, event.entries[event.entries.length - 1]);
          return {
            applied: event.entries.map((e) => e.sequence),
            writes: result.writes,
            records: result.records,
          };
        } catch (err) {
          if (!(err instanceof EntryFilesMissingError)) throw err;
          await halt(await readState(), 'FILES_MISSING', err.message);
          return { halted: true, detail: err.message };
        }
      }
      case 'applyFiles': {
        const items = event.Items;
        if (items.length === 0) return { files: 0 };
        const perChild = Math.max(1, Math.floor(settings.maxWritesPerSecond / settings.concurrency));
        const result = await applyDataFiles(
          items[0].entry,
          items.map((i) => i.file),
          items[0].format,
          await applyOptions(perChild),
        );
        return { files: result.filesApplied, writes: result.writes };
      }
      case 'commit':
        await recordApplied(event.executionId, event.epoch, event.entry);
        return { applied: [event.entry.sequence] };
      case 'checkFailedEntry': {
        const state = await readState();
        let missing: string | undefined;
        try {
          const { files } = await entryDataFiles(clients.s3, event.entry);
          for (const f of files) {
            if (!(await objectExists(clients.s3, event.entry.bucket, f.dataFileS3Key))) {
              missing = new EntryFilesMissingError(
                event.entry.sequence,
                event.entry.exportArn,
                f.dataFileS3Key,
              ).message;
              break;
            }
          }
        } catch (err) {
          if (!(err instanceof EntryFilesMissingError)) throw err;
          missing = err.message;
        }
        if (missing) {
          await halt(state, 'FILES_MISSING', missing);
          return { halted: true, detail: missing };
        }
        // Not a missing file: release the claim so the next execution applies the entry again at once,
        // in Standard children (no 5-minute limit) in case an Express child ran out of time.
        await saveState({
          ...state,
          inProgress: state.inProgress?.executionId === event.executionId ? null : state.inProgress,
          failedDistributedSequence: event.entry.sequence,
        });
        const error = new Error(
          `applying chain entry ${event.entry.sequence} failed; the next execution applies it again`,
        );
        error.name = 'ReplicaApplyFailed';
        throw error;
      }
    }
  };
}
