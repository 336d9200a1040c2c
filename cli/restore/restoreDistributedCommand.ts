/**
 * `dce restore --distributed --replica <alias>` as a command: the replica chosen from the stack output
 * and checked (no schedule, its table is `--table`, it reads the bucket the point is chosen in), the
 * point chosen and checked in the chain, then the one-shot executions started and followed
 * (cli/restore/restoreDistributed.ts) with a progress line, and the report printed.
 */
import type { ReplicaOutput } from '../../components/stackOutput';
import { operatorMessage, table, formatDuration, type Io, type Output } from '../output';
import { checkedRestorePoint } from './restore';
import { parseRestoreTarget, type RestoreFlags } from './restoreCommand';
import {
  runDistributedRestore,
  type DistributedRestoreReport,
  type StatesSender,
} from './restoreDistributed';
import { ChainProblemError } from '../replayCommand';
import { UsageError, type Clients } from '../target';

/** The replica whose machine restores, checked against the flags; a usage error names what is wrong. */
export function restoreReplica(
  replicas: readonly Partial<ReplicaOutput>[] | undefined,
  flags: Pick<RestoreFlags, 'replica' | 'table' | 'epoch'>,
): ReplicaOutput {
  if (!flags.replica)
    throw new UsageError(
      '--distributed needs --replica <alias>: the replica whose machine restores (schedule: false)',
    );
  const found = (replicas ?? []).find((r) => r.alias === flags.replica);
  if (!found || !found.stateMachineArn || !found.stateParameterName || !found.targetTableName)
    throw new UsageError(
      `--replica ${flags.replica}: not in the stack output (replicas: ${(replicas ?? []).map((r) => r.alias).join(', ') || 'none'})`,
    );
  const replica = found as ReplicaOutput;
  if (replica.scheduled !== false)
    throw new UsageError(
      `--replica ${flags.replica} has a schedule: its next scheduled execution would follow the chain past the point. Deploy a replica with schedule: false for restores`,
    );
  if (replica.targetTableName !== flags.table)
    throw new UsageError(
      `--table ${flags.table}: replica ${flags.replica} writes into ${replica.targetTableName}; a distributed restore restores into the replica's table`,
    );
  if (flags.epoch !== undefined)
    throw new UsageError(
      '--epoch: a distributed restore restores from the live epoch, which the replica follows',
    );
  return replica;
}

/** Runs the distributed restore with a progress line; prints the report. */
export async function runDistributedRestoreCommand(
  options: RestoreFlags & {
    io: Io;
    out: Output;
    s3: Clients['s3'];
    /** Step Functions and SSM of the replica's Region (its state machine's). */
    states: StatesSender;
    ssm: Clients['ssm'];
    replicas: readonly Partial<ReplicaOutput>[] | undefined;
    /** The stack's export bucket, which the replica's workflow reads. */
    stackBucket?: string;
    bucket: string;
    prefix: string;
    sleep?: (ms: number) => Promise<void>;
    pollMs?: number;
  },
): Promise<DistributedRestoreReport> {
  const { io, out } = options;
  const replica = restoreReplica(options.replicas, options);
  if (options.stackBucket !== undefined && options.bucket !== options.stackBucket)
    throw new UsageError(
      `--bucket ${options.bucket}: the replica's workflow reads the stack's export bucket ${options.stackBucket}; a distributed restore restores from it (from a copy, restore without --distributed)`,
    );
  const to = parseRestoreTarget(options.to);
  const started = Date.now();
  let report: DistributedRestoreReport;
  try {
    const { epoch, point } = await checkedRestorePoint(
      options.s3,
      { bucket: options.bucket, prefix: options.prefix },
      to,
    );
    let last = '';
    report = await runDistributedRestore({
      states: options.states,
      ssm: options.ssm,
      replica,
      epoch,
      point,
      ...(options.sleep ? { sleep: options.sleep } : {}),
      ...(options.pollMs !== undefined ? { pollMs: options.pollMs } : {}),
      onProgress: (p) => {
        if (out.json) return;
        const line = `restore: replica ${replica.alias} at sequence ${p.appliedSequence}/${p.stopAtSequence}, ${p.executions} execution(s)${p.executionStatus ? `, last ${p.executionStatus}` : ''}`;
        if (line !== last) io.stderr.write(`${line}\n`);
        last = line;
      },
    });
  } catch (error) {
    const e = error as Error & { $metadata?: unknown };
    if (e.name === 'RestorePointError') throw new UsageError(`--to ${options.to}: ${e.message}`);
    if (e.$metadata === undefined && !(error instanceof UsageError))
      throw new ChainProblemError(`restore failed: ${operatorMessage(e)}`);
    throw error;
  }
  const durationMs = Date.now() - started;
  out.result({ ...report, durationMs }, () =>
    table([
      ['table', report.targetTable],
      ['replica', report.replica],
      ['epoch', report.epoch],
      ['restored to', `sequence ${report.point.sequence}: every write before ${report.point.asOf}`],
      ['executions', report.executions.join('\n')],
      ['duration', formatDuration(durationMs / 1000)],
      ...(report.point.roundedDown
        ? [
            ['note', 'the time given is inside a window: restored to the boundary before it'] as [
              string,
              string,
            ],
          ]
        : []),
    ]),
  );
  return report;
}
