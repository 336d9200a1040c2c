/**
 * `dce restore --distributed --replica <alias>`: a restore of a large table by the replica's own
 * Distributed Map machinery, as one-shot executions of the replica's state machine
 * (statemachine/replica-apply.asl.json, unchanged) with the input
 * `{"restore": {"stopAtSequence": N, "epoch": E}}`
 * (functions/replica/oneShot.ts): many Lambda children write the data files of each large export at
 * once, instead of this one process.
 *
 * Why the replica's deployed machine, and not one deployed for restores: the machine, its apply
 * Lambda, their roles (from the one action list), the target's Region, account and role, the import
 * bootstrap and the claim under the lease already exist for a replica and are tested; a restore is a
 * replica that stops at a point. Deployed with `schedule: false` (components/config/replica.ts), such
 * a replica never runs on its own: only this command starts it, so nothing follows the chain past the
 * point. Its state parameter is the restore's cursor, so running the command again continues (no state
 * file), and the target is the replica's table (`--table` must name it).
 *
 * The command follows its executions: the replica's state (its applied sequence) is the progress; an
 * execution that ends before the point (an import still running, another execution's claim) is
 * followed by a new one after a wait. An entry that failed waits for its retry time (the replica's own
 * backoff, `failure.retryAt`) and stops the restore with its error once it has failed
 * `MAX_FAILED_EXECUTIONS` times; executions that end without applying anything for no reason the state
 * shows (a failed execution, a crash) stop it after as many in a row; so does a halted replica. The
 * decision is `nextDistributedStep` (pure).
 */
import {
  DescribeExecutionCommand,
  StartExecutionCommand,
  type DescribeExecutionCommandOutput,
  type StartExecutionCommandOutput,
} from '@aws-sdk/client-sfn';
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import { parseReplicaState, type ReplicaState } from '../../functions/replica/state';
import type { SsmSender } from '../../functions/shared/awsClients';
import type { RestorePoint } from './restorePoint';

/** The Step Functions calls the command makes (a real SFNClient, or the simulation's). */
export interface StatesSender {
  send(command: StartExecutionCommand): Promise<Pick<StartExecutionCommandOutput, 'executionArn'>>;
  send(
    command: DescribeExecutionCommand,
  ): Promise<Pick<DescribeExecutionCommandOutput, 'status' | 'error' | 'cause'>>;
}

/** The replica whose machine restores: its stack output entry's fields. */
export interface RestoreReplica {
  alias: string;
  stateMachineArn: string;
  stateParameterName: string;
  targetTableName: string;
}

/** How the last execution stands, as DescribeExecution says. */
export interface ExecutionView {
  arn: string;
  status: string;
  error?: string;
  cause?: string;
}

export type DistributedStep =
  { kind: 'done' } | { kind: 'start' } | { kind: 'wait' } | { kind: 'fail'; message: string };

/**
 * How many failed attempts at one entry, or executions in a row that ended without progress and
 * without a reason in the state, stop the restore. @default 3
 */
export const MAX_FAILED_EXECUTIONS = 3;

/**
 * Pure: what the restore does next, from the replica's state, its last execution, how many executions
 * in a row ended without progress for no reason the state shows (`stalledInARow`, see
 * `endedWithoutProgress`) and the time (epoch seconds).
 */
export function nextDistributedStep(
  state: ReplicaState,
  stop: { sequence: number; epoch: string },
  execution: ExecutionView | undefined,
  stalledInARow: number,
  nowSeconds = 0,
): DistributedStep {
  const at = state.lastAppliedSequence;
  if (state.status === 'HALTED')
    return {
      kind: 'fail',
      message: `replica halted (${state.halt?.reason ?? 'unknown'}): ${state.halt?.detail ?? ''}`.trim(),
    };
  if (state.epoch !== null && state.epoch !== stop.epoch)
    return {
      kind: 'fail',
      message: `the replica holds epoch ${state.epoch}; the restore point is in epoch ${stop.epoch}`,
    };
  if (state.epoch === stop.epoch && at === stop.sequence) return { kind: 'done' };
  if (state.epoch === stop.epoch && at > stop.sequence)
    return {
      kind: 'fail',
      message: `the replica's table is already at sequence ${at}, after the restore point ${stop.sequence}; restore into a replica that has not applied past it`,
    };
  if (state.status === 'PAUSED')
    return {
      kind: 'fail',
      message: `the replica is paused; 'dce replica resume' it, then run the restore again`,
    };
  if (execution?.status === 'RUNNING') return { kind: 'wait' };
  const failure = state.failure;
  if (failure && (failure.epoch ?? stop.epoch) === stop.epoch) {
    if (failure.failures >= MAX_FAILED_EXECUTIONS)
      return {
        kind: 'fail',
        message: `entry ${failure.sequence} failed ${failure.failures} times in a row, the last: ${failure.error}. Deal with the cause, then run the restore again: it continues from sequence ${at}`,
      };
    // The replica applies it again only from its retry time: an execution before then does nothing.
    if (nowSeconds < failure.retryAt) return { kind: 'wait' };
  }
  if (stalledInARow >= MAX_FAILED_EXECUTIONS)
    return {
      kind: 'fail',
      message:
        `${stalledInARow} executions in a row ended without applying an entry; the last: ${execution?.arn ?? '?'} ${execution?.status ?? ''} ${execution?.error ?? ''} ${execution?.cause ?? ''}`
          .replace(/\s+/g, ' ')
          .trim(),
    };
  return { kind: 'start' };
}

/**
 * Pure: whether an execution that ended left the replica where it started (`appliedAtStart`) for no
 * reason the state shows: an import in flight, another execution's claim or an entry failure waiting
 * for its retry time hold it back and are judged on their own.
 */
export function endedWithoutProgress(state: ReplicaState, epoch: string, appliedAtStart: number): boolean {
  const applied = state.epoch === epoch ? state.lastAppliedSequence : -1;
  if (applied > appliedAtStart) return false;
  return !state.import && !state.inProgress && !state.failure;
}

/** The execution input of a one-shot restore (functions/replica/oneShot.ts reads it). */
export function oneShotExecutionInput(stopAtSequence: number, epoch: string): string {
  return JSON.stringify({ restore: { stopAtSequence, epoch } });
}

export interface DistributedProgress {
  phase: 'distributed';
  execution?: string;
  executionStatus?: string;
  appliedSequence: number;
  stopAtSequence: number;
  executions: number;
}

export interface DistributedRestoreOptions {
  states: StatesSender;
  ssm: SsmSender;
  replica: RestoreReplica;
  epoch: string;
  point: RestorePoint;
  onProgress?: (progress: DistributedProgress) => void;
  /** Waits between looks at the execution. @default setTimeout */
  sleep?: (ms: number) => Promise<void>;
  /** @default 15 s */
  pollMs?: number;
  /** Epoch milliseconds, for execution names. @default Date.now */
  now?: () => number;
}

export interface DistributedRestoreReport {
  replica: string;
  targetTable: string;
  epoch: string;
  point: RestorePoint;
  executions: string[];
  appliedSequence: number;
}

async function readState(ssm: SsmSender, name: string): Promise<ReplicaState> {
  const out = await ssm.send(new GetParameterCommand({ Name: name }));
  const value = out.Parameter?.Value;
  if (value === undefined) throw new Error(`replica state parameter ${name} has no value`);
  return parseReplicaState(value);
}

/** Starts and follows one-shot executions until the replica's table is at the point; see the module comment. */
export async function runDistributedRestore(
  options: DistributedRestoreOptions,
): Promise<DistributedRestoreReport> {
  const { states, replica, point } = options;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const now = options.now ?? Date.now;
  const stop = { sequence: point.sequence, epoch: options.epoch };
  const executions: string[] = [];
  let execution: ExecutionView | undefined;
  let stalledInARow = 0;
  /** The applied sequence when the last execution started; undefined once its end is counted. */
  let appliedAtStart: number | undefined;
  for (;;) {
    const state = await readState(options.ssm, replica.stateParameterName);
    const applied = state.epoch === options.epoch ? state.lastAppliedSequence : -1;
    if (execution && execution.status !== 'RUNNING' && appliedAtStart !== undefined) {
      if (applied > appliedAtStart) stalledInARow = 0;
      else if (endedWithoutProgress(state, options.epoch, appliedAtStart)) stalledInARow += 1;
      appliedAtStart = undefined;
    }
    options.onProgress?.({
      phase: 'distributed',
      ...(execution ? { execution: execution.arn, executionStatus: execution.status } : {}),
      appliedSequence: applied,
      stopAtSequence: point.sequence,
      executions: executions.length,
    });
    const step = nextDistributedStep(state, stop, execution, stalledInARow, Math.floor(now() / 1000));
    if (step.kind === 'done')
      return {
        replica: replica.alias,
        targetTable: replica.targetTableName,
        epoch: options.epoch,
        point,
        executions,
        appliedSequence: state.lastAppliedSequence,
      };
    if (step.kind === 'fail')
      throw new Error(`distributed restore with replica ${replica.alias}: ${step.message}`);
    if (step.kind === 'start') {
      // Waits before a start that follows an execution: what held it back (an import, a claim) needs time.
      if (execution) await sleep(options.pollMs ?? 15_000);
      const name = `dce-restore-${point.sequence}-${now()}`.slice(0, 80);
      const out = await states.send(
        new StartExecutionCommand({
          stateMachineArn: replica.stateMachineArn,
          name,
          input: oneShotExecutionInput(point.sequence, options.epoch),
        }),
      );
      if (!out.executionArn) throw new Error('StartExecution answered without an executionArn');
      executions.push(out.executionArn);
      execution = { arn: out.executionArn, status: 'RUNNING' };
      appliedAtStart = applied;
      continue;
    }
    await sleep(options.pollMs ?? 15_000);
    // Waiting for an entry's retry time after the last execution ended: nothing to describe.
    if (execution?.status !== 'RUNNING') continue;
    const described = await states.send(new DescribeExecutionCommand({ executionArn: execution.arn }));
    execution = {
      arn: execution.arn,
      status: described.status ?? 'RUNNING',
      ...(described.error ? { error: described.error } : {}),
      ...(described.cause ? { cause: described.cause } : {}),
    };
  }
}
