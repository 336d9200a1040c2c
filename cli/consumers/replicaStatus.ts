/**
 * The replicas part of `dce status`: which replicas a table has (from the stack output, or named with
 * `--replica-state`) and, from each one's state parameter, where it stands against the chain. The
 * derivation is pure (`deriveReplicaStatus`); `dce status` reads the parameters and calls it.
 */
import { iso } from '../../functions/shared/time';
import { REPLICA_GROUP_LEASE_SECONDS } from '../../functions/shared/lambdaHandlers';
import {
  isLegacyPause,
  isPendingRebuild,
  replicaActionValue,
  type ReplicaActionRead,
} from '../../functions/replica/action';
import { claimIsLive, claimLeaseSeconds } from '../../functions/replica/planner';
import {
  replicaActionParameterName,
  replicaAliasOfParameter,
  replicaParameterNames,
} from '../../functions/shared/names';
import { parseReplicaState, type ReplicaHaltReason, type ReplicaState } from '../../functions/replica/state';
import { formatDuration, table } from '../output';
import { UsageError, type Target } from '../target';

export { REPLICA_GROUP_LEASE_SECONDS };

/** One replica as `dce` finds it: at least its state parameter. */
export interface ReplicaRef {
  /** The replica's alias within its table (from the stack output or the parameter path). */
  alias: string;
  stateParameterName: string;
  /** The operator's action parameter; beside the state parameter when the stack output does not name it. */
  actionParameterName?: string;
  targetTableName?: string;
  targetRegion?: string;
}

/** The state parameter of a replica, from the stack name and the aliases (components/consumers/tableReplica.ts). */
export function replicaStateParameterName(stack: string, tableAlias: string, replicaAlias: string): string {
  return replicaParameterNames(stack, tableAlias, replicaAlias).state;
}

/** The action parameter of a replica: from the stack output, else beside its state parameter. */
export function replicaActionParameter(replica: ReplicaRef): string {
  return replica.actionParameterName ?? replicaActionParameterName(replica.stateParameterName);
}

/** The replica alias in a state parameter name `.../replicas/<alias>/state`; else the name itself. */
export function replicaAliasFromParameter(name: string): string {
  return replicaAliasOfParameter(name) ?? name;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The replicas the stack output lists for the target's table (`tables.<alias>.replicas[]`). */
export function replicasInStackOutput(target: Target): ReplicaRef[] {
  const listed = target.output.replicas;
  if (!Array.isArray(listed)) return [];
  const refs: ReplicaRef[] = [];
  for (const entry of listed) {
    if (!isRecord(entry) || typeof entry.stateParameterName !== 'string') continue;
    const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
    const targetTableName = str(entry.targetTableName);
    const targetRegion = str(entry.targetRegion);
    const actionParameterName = str(entry.actionParameterName);
    refs.push({
      alias: str(entry.alias) ?? replicaAliasFromParameter(entry.stateParameterName),
      stateParameterName: entry.stateParameterName,
      ...(actionParameterName ? { actionParameterName } : {}),
      ...(targetTableName ? { targetTableName } : {}),
      ...(targetRegion ? { targetRegion } : {}),
    });
  }
  return refs;
}

/** The replicas `dce status` shows: those of the stack output, then each `--replica-state` not among them. */
export function replicasForStatus(target: Target, stateParameters: string[] = []): ReplicaRef[] {
  const refs = replicasInStackOutput(target);
  for (const name of stateParameters) {
    if (!name.startsWith('/')) {
      throw new UsageError(
        `--replica-state ${JSON.stringify(name)}: expected an SSM parameter name (starting with /)`,
      );
    }
    if (!refs.some((r) => r.stateParameterName === name))
      refs.push({ alias: replicaAliasFromParameter(name), stateParameterName: name });
  }
  return refs;
}

/**
 * The replica a `dce replica` command acts on: listed in the stack output, or (without one) derived
 * from `--stack` and the table alias, as the component names its state parameter.
 */
export function resolveReplica(target: Target, replicaAlias: string): ReplicaRef {
  const listed = replicasInStackOutput(target);
  const found = listed.find((r) => r.alias === replicaAlias);
  if (found) return found;
  if (listed.length > 0) {
    throw new UsageError(
      `--replica ${JSON.stringify(replicaAlias)}: table ${target.alias} has no such replica (known: ${listed.map((r) => r.alias).join(', ')})`,
    );
  }
  if (!/^[A-Za-z0-9_.-]+$/.test(replicaAlias)) {
    throw new UsageError(`--replica ${JSON.stringify(replicaAlias)}: letters, digits, '.', '_' and '-' only`);
  }
  if (!target.stack) {
    throw new UsageError(
      `--replica ${JSON.stringify(replicaAlias)}: the stack output lists no replicas for table ${target.alias}; pass --stack (with --alias), or a stack output with 'replicas'`,
    );
  }
  return {
    alias: replicaAlias,
    stateParameterName: replicaStateParameterName(target.stack, target.alias, replicaAlias),
  };
}

/** What `dce status` shows of one replica. Times are ISO 8601, durations seconds. */
export interface ReplicaStatusReport {
  alias: string;
  stateParameterName: string;
  targetTableName: string | null;
  targetRegion: string | null;
  /**
   * HALTED (the state), else PAUSED (the action pauses it, as the workflow reads it) or ACTIVE (the
   * state's own word for a replica that applies the chain);
   * NOT_DEPLOYED without a state parameter, STATE_CORRUPT when it holds something that is not a replica
   * state.
   */
  status: 'ACTIVE' | 'PAUSED' | 'HALTED' | 'NOT_DEPLOYED' | 'STATE_CORRUPT';
  stateError?: string;
  /**
   * The operator's action parameter: its value (null when it does not exist: read as RUN), its SSM
   * Version, and whether it holds a REBUILD the workflow has not carried out yet.
   */
  action: { parameterName: string; value: string | null; version: number | null; pendingRebuild: boolean };
  halt: { reason: ReplicaHaltReason; detail: string; at: string; epoch: string | null } | null;
  epoch: string | null;
  lastAppliedSequence: number | null;
  /** The replica equals the source as of this time. */
  watermark: string | null;
  /** Seconds between now and the replica's watermark. */
  lagSeconds: number | null;
  /** Seconds between the chain's watermark and the replica's (what the replica has yet to apply). */
  behindChainSeconds: number | null;
  /** Whether the replica follows the chain's live epoch; null before it follows any. */
  followsLiveEpoch: boolean | null;
  inProgress: {
    executionId: string;
    sequences: number[];
    mode: 'group' | 'distributed';
    startedAt: string;
    ageSeconds: number;
    /** Younger than its lease: the execution is presumed to be applying. */
    live: boolean;
  } | null;
  /** The import bootstrap in flight (the replica has no watermark until it completes). */
  importing?: { importArn: string; startedAt: string; elapsedSeconds: number } | null;
  /** A rebaseline emptying the target before the new epoch's full export (no watermark meanwhile). */
  clearing?: { deleted: number; startedAt: string } | null;
  updatedAt: string | null;
}

/** What was read for one replica, and the chain it follows. */
export interface ReplicaStatusInput {
  ref: ReplicaRef;
  /** Raw value of the state parameter, or null when it does not exist. */
  stateText: string | null;
  /** The action parameter as read; absent or nulls when it does not exist (read as RUN). */
  action?: ReplicaActionRead;
  /** Epoch seconds. */
  now: number;
  /** The chain's live epoch and watermark (ISO 8601), as far as they are known. */
  chain: { epoch: string | null; watermark: string | null };
  groupLeaseSeconds?: number;
}

function secondsBetween(later: string | null, earlier: string | null): number | null {
  if (later === null || earlier === null) return null;
  const diff = (Date.parse(later) - Date.parse(earlier)) / 1000;
  return Number.isFinite(diff) ? Math.max(0, Math.round(diff)) : null;
}

/** The pure part of a replica's status. */
export function deriveReplicaStatus(input: ReplicaStatusInput): ReplicaStatusReport {
  const { ref, now, chain } = input;
  const empty: ReplicaStatusReport = {
    alias: ref.alias,
    stateParameterName: ref.stateParameterName,
    targetTableName: ref.targetTableName ?? null,
    targetRegion: ref.targetRegion ?? null,
    status: 'NOT_DEPLOYED',
    action: {
      parameterName: replicaActionParameter(ref),
      value: input.action?.value ?? null,
      version: input.action?.version ?? null,
      pendingRebuild: false,
    },
    halt: null,
    epoch: null,
    lastAppliedSequence: null,
    watermark: null,
    lagSeconds: null,
    behindChainSeconds: null,
    followsLiveEpoch: null,
    inProgress: null,
    updatedAt: null,
  };
  if (input.stateText === null) return empty;
  let state: ReplicaState;
  try {
    state = parseReplicaState(input.stateText);
  } catch (error) {
    return { ...empty, status: 'STATE_CORRUPT', stateError: (error as Error).message };
  }
  const nowIso = iso(now);
  const isoOrNull = (seconds: number | null | undefined) =>
    seconds === null || seconds === undefined ? null : iso(seconds);
  // The report says times in ISO 8601, as the chain's status does; the state keeps epoch seconds.
  const watermark = isoOrNull(state.watermark);
  const followsLiveEpoch = state.epoch === null || chain.epoch === null ? null : state.epoch === chain.epoch;
  const claim = state.inProgress;
  const groupLease = input.groupLeaseSeconds ?? REPLICA_GROUP_LEASE_SECONDS;
  const action = input.action ?? { value: null, version: null };
  const pendingRebuild = isPendingRebuild(action, state);
  // As the workflow reads the action (functions/replica/action.ts): an invalid value pauses too.
  const paused =
    !pendingRebuild &&
    (replicaActionValue(action) === 'PAUSE' ||
      replicaActionValue(action) === null ||
      isLegacyPause(state, action));
  return {
    ...empty,
    action: { ...empty.action, pendingRebuild },
    status: state.status === 'HALTED' ? 'HALTED' : paused ? 'PAUSED' : 'ACTIVE',
    halt: state.halt ? { ...state.halt, at: iso(state.halt.at) } : null,
    epoch: state.epoch,
    lastAppliedSequence: state.lastAppliedSequence,
    watermark,
    lagSeconds: secondsBetween(nowIso, watermark),
    // Across epochs the two watermarks are still instants of the same source table.
    behindChainSeconds: secondsBetween(chain.watermark, watermark),
    followsLiveEpoch,
    inProgress: claim
      ? {
          ...claim,
          startedAt: iso(claim.startedAt),
          ageSeconds: Math.max(0, Math.round(now - claim.startedAt)),
          live: claimIsLive(claim, now, groupLease),
        }
      : null,
    importing: state.import
      ? {
          importArn: state.import.importArn,
          startedAt: iso(state.import.startedAt),
          elapsedSeconds: Math.max(0, Math.round(now - state.import.startedAt)),
        }
      : null,
    clearing: state.clearing
      ? { deleted: state.clearing.deleted, startedAt: iso(state.clearing.startedAt) }
      : null,
    updatedAt: isoOrNull(state.updatedAt),
  };
}

function sequenceRange(sequences: number[]): string {
  if (sequences.length === 0) return '-';
  if (sequences.length === 1) return String(sequences[0]);
  return `${sequences[0]}-${sequences[sequences.length - 1]}`;
}

/** The action row: the value, and whether a REBUILD is pending or carried out. */
function formatReplicaAction(action: ReplicaStatusReport['action']): string {
  if (action.value === null) return `- (no parameter ${action.parameterName}: read as RUN; run 'pulumi up')`;
  const value = action.value.trim();
  if (value === 'REBUILD') {
    return action.pendingRebuild
      ? 'REBUILD (pending: the next execution starts the replica over, once no apply is in progress)'
      : 'REBUILD (carried out: acts as RUN)';
  }
  if (replicaActionValue(action) === null)
    return `${JSON.stringify(action.value)} (not RUN, PAUSE or REBUILD: applies nothing)`;
  return value;
}

/** The human text of the replicas' status, one block per replica. */
export function formatReplicaStatuses(replicas: ReplicaStatusReport[]): string {
  const lines = [`replicas (${replicas.length}):`];
  for (const r of replicas) {
    const target = r.targetTableName
      ? `${r.targetTableName}${r.targetRegion ? ` (${r.targetRegion})` : ''}`
      : '(not in the stack output)';
    const status =
      r.status === 'HALTED' && r.halt
        ? `HALTED (${r.halt.reason} since ${r.halt.at}: ${r.halt.detail})`
        : r.status === 'NOT_DEPLOYED'
          ? `NOT_DEPLOYED (no parameter ${r.stateParameterName})`
          : r.status === 'STATE_CORRUPT'
            ? `STATE_CORRUPT (${r.stateError ?? 'unreadable'})`
            : r.status;
    const rows: [string, string][] = [
      ['target', target],
      ['status', status],
      ['action', formatReplicaAction(r.action)],
    ];
    if (r.status !== 'NOT_DEPLOYED' && r.status !== 'STATE_CORRUPT') {
      rows.push(
        [
          'epoch',
          `${r.epoch ?? (r.importing ? '- (importing the full export)' : '- (bootstrap not started)')}${r.followsLiveEpoch === false ? ' (not the live epoch)' : ''}`,
        ],
        ['last sequence', r.lastAppliedSequence === null ? '-' : String(r.lastAppliedSequence)],
        ['watermark', r.watermark ?? '-'],
        [
          'lag',
          r.lagSeconds === null
            ? '-'
            : `${formatDuration(r.lagSeconds)}` +
              (r.behindChainSeconds === null
                ? ''
                : ` (${formatDuration(r.behindChainSeconds)} behind the chain)`),
        ],
        [
          'applying',
          r.inProgress
            ? `sequence ${sequenceRange(r.inProgress.sequences)} (${r.inProgress.mode}) by ${r.inProgress.executionId} since ${r.inProgress.startedAt}` +
              (r.inProgress.live ? '' : ' (lease over: the next execution takes over)')
            : '-',
        ],
      );
      if (r.clearing)
        rows.push([
          'emptying',
          `the target for the new epoch since ${r.clearing.startedAt} (${r.clearing.deleted} items deleted so far)`,
        ]);
      if (r.importing)
        rows.push([
          'importing',
          `import ${r.importing.importArn} since ${r.importing.startedAt} (${formatDuration(r.importing.elapsedSeconds)} running)`,
        ]);
    }
    lines.push(`  ${r.alias}:`, table(rows, '    '));
  }
  return lines.join('\n');
}

/** Seconds a claim has left of its lease (0 when it is over). */
export function claimSecondsLeft(
  claim: NonNullable<ReplicaState['inProgress']>,
  now: number,
  groupLeaseSeconds = REPLICA_GROUP_LEASE_SECONDS,
): number {
  const end = claim.startedAt + claimLeaseSeconds(claim, groupLeaseSeconds);
  return Math.max(0, Math.ceil(end - now));
}
