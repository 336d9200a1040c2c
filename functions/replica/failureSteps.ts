/**
 * The apply Lambda's steps around failures and the target's schema (the edge of
 * functions/replica/failures.ts and functions/replica/schema.ts): describing both tables before a write,
 * and after a failed apply, halting once (a missing file, a rejected write) or recording the failure
 * for the plan's backoff. Only the execution holding the claim writes the state: without it (taken
 * over, or reset by a rebuild) nothing is recorded and nothing halts.
 */
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { EntryFilesMissingError, WriteRejectedError, entryDataFiles, type DynamoDbSender } from '../../apply';
import { errorName, type S3Sender } from '../../format';
import { objectExists } from '../../format/s3io';
import type { PlannedEntry } from './planner';
import { classifyApplyFailure, withEntryFailure } from './failures';
import { schemaMismatch, tableKeys } from './schema';
import type { ReplicaSettings } from './settings';
import type { ReplicaHaltReason, ReplicaState } from './state';
import { withRetry } from '../shared/retry';
import { CLAIM_SUCCESSOR_WAIT_SECONDS } from './writeGuard';

export interface FailureStepDeps {
  settings: ReplicaSettings;
  s3: S3Sender;
  target: DynamoDbSender;
  /** The source's account and Region; without it the target's schema is not checked. */
  source?: DynamoDbSender;
  /** Epoch milliseconds. */
  now: () => number;
  sleep?: (ms: number) => Promise<void>;
  info: (line: string) => void;
  readState(): Promise<ReplicaState>;
  saveState(state: ReplicaState): Promise<void>;
  /** Records the halt and alerts once. */
  halt(state: ReplicaState, reason: ReplicaHaltReason, detail: string): Promise<void>;
}

/** What a failed step answers when it halted (or found the claim gone) instead of failing. */
export interface HaltAnswer {
  halted: boolean;
  detail: string;
}

/**
 * Why the target cannot hold the source's items one for one (functions/replica/schema.ts), from a
 * DescribeTable of each; undefined when it can, or when the source is not known (no client, or the
 * source table is gone while its chain is still applied).
 */
export async function targetSchemaProblem(deps: FailureStepDeps): Promise<string | undefined> {
  const { settings, source, target } = deps;
  if (!source) return undefined;
  const describe = (client: DynamoDbSender, table: string, label: string) =>
    withRetry(`DescribeTable(${label})`, () => client.send(new DescribeTableCommand({ TableName: table })), {
      sleep: deps.sleep,
    });
  let sourceTable;
  try {
    sourceTable = (await describe(source, settings.sourceTableName, 'source')).Table;
  } catch (err) {
    if (errorName(err) !== 'ResourceNotFoundException') throw err;
    deps.info(
      `replica ${settings.replicaAlias}: source table ${settings.sourceTableName} is gone; the target's key schema is not checked`,
    );
    return undefined;
  }
  const targetTable = (await describe(target, settings.targetTableName, 'target')).Table;
  return schemaMismatch(
    tableKeys(settings.sourceTableName, sourceTable),
    tableKeys(settings.targetTableName, targetTable),
  );
}

/**
 * A grouped apply failed: halts on a missing file or a rejected write, else records the failure and
 * throws again. The claim stays for a `TransientAwsError`, which the definition retries at once under
 * it; any other error ends the execution, so its claim is released for the next one.
 */
export async function afterGroupFailed(
  deps: FailureStepDeps,
  event: { executionId: string; epoch: string; entries: PlannedEntry[] },
  error: unknown,
): Promise<HaltAnswer> {
  const sequences = event.entries.map((e) => e.sequence);
  const failure = classifyApplyFailure(error, sequences);
  const state = await deps.readState();
  const holds = state.inProgress?.executionId === event.executionId && state.status !== 'HALTED';
  if (failure.kind === 'HALT') {
    if (!holds) return { halted: false, detail: failure.detail };
    await deps.halt(state, failure.reason, failure.detail);
    return { halted: true, detail: failure.detail };
  }
  if (holds) {
    const failed = withEntryFailure(state, {
      epoch: event.epoch,
      sequence: sequences[0],
      error: failure.error,
      now: deps.now() / 1000,
    });
    const retried = errorName(error) === 'TransientAwsError';
    await deps.saveState(retried ? failed : { ...failed, inProgress: null });
  }
  throw error;
}

/**
 * A Distributed Map child's write was rejected: recorded in the state for `checkFailedEntry` (the
 * Map's failure does not carry its children's errors), while this execution's Map holds the claim on
 * the entry. Children run at once; any one of their rejections names the entry's problem.
 */
export async function afterChildFailed(
  deps: FailureStepDeps,
  entry: PlannedEntry,
  error: unknown,
): Promise<never> {
  if (error instanceof WriteRejectedError) {
    const state = await deps.readState();
    const claim = state.inProgress;
    const mine = claim?.mode === 'distributed' && claim.sequences.includes(entry.sequence);
    if (mine && state.status !== 'HALTED' && state.rejectedWrite?.sequence !== entry.sequence) {
      const failure = classifyApplyFailure(error, [entry.sequence]);
      if (failure.kind === 'HALT')
        await deps.saveState({
          ...state,
          rejectedWrite: { sequence: entry.sequence, detail: failure.detail },
        });
    }
  }
  throw error;
}

/** The first export file of `entry` that is gone, as the halt's detail; undefined when all are there. */
async function missingFile(s3: S3Sender, entry: PlannedEntry): Promise<string | undefined> {
  try {
    const { files } = await entryDataFiles(s3, entry);
    for (const f of files) {
      if (!(await objectExists(s3, entry.bucket, f.dataFileS3Key)))
        return new EntryFilesMissingError(entry.sequence, entry.exportArn, f.dataFileS3Key).message;
    }
    return undefined;
  } catch (err) {
    if (!(err instanceof EntryFilesMissingError)) throw err;
    return err.message;
  }
}

/**
 * After a failed Distributed Map: a write a child found rejected, or a file gone, halts with one
 * alert. Anything else releases the claim and records the failure, so the next execution applies the
 * entry again once its backoff has passed, in Standard children (an Express child that ran out of its
 * 5 minutes against a slow target would fail the same way every time); the execution then fails.
 */
export async function checkFailedEntry(
  deps: FailureStepDeps,
  event: { executionId: string; epoch: string; entry: PlannedEntry },
): Promise<HaltAnswer> {
  const { entry } = event;
  const state = await deps.readState();
  const holds = state.inProgress?.executionId === event.executionId;
  const rejected = state.rejectedWrite?.sequence === entry.sequence ? state.rejectedWrite.detail : undefined;
  const detail = rejected ?? (await missingFile(deps.s3, entry));
  if (detail && holds) {
    await deps.halt(state, rejected ? 'WRITE_REJECTED' : 'FILES_MISSING', detail);
    return { halted: true, detail };
  }
  const message = `applying chain entry ${entry.sequence} failed; the next execution applies it again`;
  if (holds) {
    const failed = withEntryFailure(state, {
      epoch: event.epoch,
      sequence: entry.sequence,
      error: 'ReplicaApplyFailed: the Distributed Map failed',
      now: deps.now() / 1000,
    });
    // Children of the failed Map Run may still be writing until they see the claim released: the
    // entry is applied again only once they have stopped (functions/replica/writeGuard.ts).
    const notBefore = Math.ceil(deps.now() / 1000 + CLAIM_SUCCESSOR_WAIT_SECONDS);
    const failure = failed.failure!;
    await deps.saveState({
      ...failed,
      failure: { ...failure, retryAt: failure.retryAt < notBefore ? notBefore : failure.retryAt },
      inProgress: null,
      failedDistributedSequence: entry.sequence,
    });
  }
  const error = new Error(message);
  error.name = 'ReplicaApplyFailed';
  throw error;
}
