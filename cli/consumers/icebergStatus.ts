/**
 * The Iceberg feed part of `dce`: which feed a table has (the stack output's `tables.<alias>.iceberg`,
 * or, without one, the parameter names derived from `--stack` and the alias), and where it stands:
 * running, paused or halted, its cursor, its lag behind the chain and the bytes its last query
 * scanned. The derivation is pure (`deriveIcebergStatus`); `dce status` reads the parameters.
 */
import { decideIcebergAction } from '../../functions/iceberg/action';
import type { IcebergSettings } from '../../functions/iceberg/feed';
import { epochTableName } from '../../functions/iceberg/sql';
import {
  generationOf,
  initialIcebergState,
  parseIcebergState,
  type IcebergFeedState,
} from '../../functions/iceberg/state';
import { isPendingRebuild, type ActionRead } from '../../functions/shared/consumer/action';
import { icebergParameterNames } from '../../functions/shared/names';
import { formatDuration, table } from '../output';
import { UsageError, type Target } from '../target';

/** One table's Iceberg feed as `dce` finds it. */
export interface IcebergRef {
  stateParameterName: string;
  actionParameterName: string;
  /** The readers' view `<db>.<table>` (from the stack output). */
  view?: string;
  /** The plan Lambda's settings (from the stack output): what `dce iceberg sql` plans with. */
  settings?: IcebergSettings;
  /** Derived from `--stack` and the alias, not listed in a stack output: may not be deployed. */
  derived?: boolean;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseSettings(text: unknown, alias: string): IcebergSettings | undefined {
  if (typeof text !== 'string') return undefined;
  try {
    const parsed = JSON.parse(text) as unknown;
    if (isRecord(parsed) && isRecord(parsed.spec)) return parsed as unknown as IcebergSettings;
  } catch {
    // reported below
  }
  throw new UsageError(
    `the stack output's tables.${alias}.iceberg.settings is not the feed's settings JSON: take the stack output again ('pulumi stack output --json')`,
  );
}

/** The feed the stack output lists for the target's table, else the one `--stack` names; undefined for none. */
export function icebergForTarget(target: Target): IcebergRef | undefined {
  const listed = target.output.iceberg;
  if (isRecord(listed) && typeof listed.stateParameterName === 'string') {
    const settings = parseSettings(listed.settings, target.alias);
    return {
      stateParameterName: listed.stateParameterName,
      actionParameterName:
        typeof listed.actionParameterName === 'string'
          ? listed.actionParameterName
          : listed.stateParameterName.replace(/\/state$/, '/action'),
      ...(typeof listed.view === 'string' ? { view: listed.view } : {}),
      ...(settings ? { settings } : {}),
    };
  }
  // A stack output without the feed is authoritative: the table has none.
  if (Object.keys(target.output).length > 0 || !target.stack) return undefined;
  const names = icebergParameterNames(target.stack, target.alias);
  return { stateParameterName: names.state, actionParameterName: names.action, derived: true };
}

/** The feed a `dce iceberg` command acts on; a clear error when the table has none. */
export function requireIceberg(target: Target): IcebergRef {
  const ref = icebergForTarget(target);
  if (ref) return ref;
  if (Object.keys(target.output).length > 0)
    throw new UsageError(
      `table ${target.alias} has no Iceberg feed: its stack output has no 'iceberg' entry (configure 'iceberg:' for the table and run 'pulumi up', or check --alias)`,
    );
  throw new UsageError(
    `no Iceberg feed to act on for table ${target.alias}: pass --stack-output (the stack's outputs), or --stack with --alias`,
  );
}

/** What `dce status` shows of the feed. Times are ISO 8601, durations seconds. */
export interface IcebergStatusReport {
  view: string | null;
  stateParameterName: string;
  /** running, paused (the action pauses it, as the plan reads it) or halted; or why there is nothing to show. */
  status: 'running' | 'paused' | 'halted' | 'not deployed' | 'state corrupt';
  stateError?: string;
  action: { parameterName: string; value: string | null; version: number | null; pendingRebuild: boolean };
  halt: IcebergFeedState['halt'];
  epoch: string | null;
  /** The epoch's table the feed builds (`<table>__e<epoch>[_r<generation>]`), when the view is known. */
  table: string | null;
  lastAppliedSequence: number | null;
  /** The lake equals the source as of this time. */
  watermark: string | null;
  /** Seconds between the chain's watermark and the lake's (the feed's lag metric). */
  lagSeconds: number | null;
  /** The last committed query: its id, the bytes it scanned and when. */
  lastQuery: IcebergFeedState['lastQuery'];
  inProgress: {
    kind: string;
    fromSequence?: number;
    toSequence?: number;
    attempt: number;
    executionId: string;
  } | null;
  updatedAt: string | null;
}

/** What was read for the feed, and the chain's watermark. */
export interface IcebergStatusInput {
  ref: IcebergRef;
  /** Raw value of the state parameter, or null when it does not exist. */
  stateText: string | null;
  action: ActionRead;
  /** Epoch seconds. */
  now: number;
  chainWatermark: string | null;
}

/** The pure part of the feed's status. */
export function deriveIcebergStatus(input: IcebergStatusInput): IcebergStatusReport {
  const { ref, action } = input;
  const empty: IcebergStatusReport = {
    view: ref.view ?? null,
    stateParameterName: ref.stateParameterName,
    status: 'not deployed',
    action: { parameterName: ref.actionParameterName, ...action, pendingRebuild: false },
    halt: null,
    epoch: null,
    table: null,
    lastAppliedSequence: null,
    watermark: null,
    lagSeconds: null,
    lastQuery: null,
    inProgress: null,
    updatedAt: null,
  };
  if (input.stateText === null) return empty;
  let state: IcebergFeedState;
  try {
    // The cursor Pulumi creates (`{}`) is the initial state, as the plan step reads it.
    state =
      input.stateText === '{}' || input.stateText === ''
        ? initialIcebergState()
        : parseIcebergState(input.stateText);
  } catch (error) {
    return { ...empty, status: 'state corrupt', stateError: (error as Error).message };
  }
  // As the plan step reads the action (functions/iceberg/action.ts): an invalid value pauses too.
  const decided = decideIcebergAction(state, action, { executionId: 'dce', now: input.now, leaseSeconds: 0 });
  const spec = ref.settings?.spec;
  const claim = state.inProgress;
  const lag =
    input.chainWatermark === null || state.watermark === null
      ? null
      : Math.max(0, Math.round((Date.parse(input.chainWatermark) - Date.parse(state.watermark)) / 1000));
  return {
    ...empty,
    status: state.status === 'HALTED' ? 'halted' : decided.kind === 'PAUSE' ? 'paused' : 'running',
    action: { ...empty.action, pendingRebuild: isPendingRebuild(action, state) },
    halt: state.halt,
    epoch: state.epoch,
    table: spec && state.epoch ? epochTableName(spec, state.epoch, generationOf(state)) : null,
    lastAppliedSequence: state.lastAppliedSequence,
    watermark: state.watermark,
    lagSeconds: Number.isFinite(lag) ? lag : null,
    lastQuery: state.lastQuery,
    inProgress: claim
      ? {
          kind: claim.kind,
          ...(claim.fromSequence !== undefined ? { fromSequence: claim.fromSequence } : {}),
          ...(claim.toSequence !== undefined ? { toSequence: claim.toSequence } : {}),
          attempt: claim.attempt,
          executionId: claim.executionId,
        }
      : null,
    updatedAt: state.updatedAt,
  };
}

function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(bytes < 1e5 ? 3 : 1)} MB`;
}

/** The human text of the feed's status: one block. */
export function formatIcebergStatus(r: IcebergStatusReport): string {
  const status =
    r.status === 'halted' && r.halt
      ? `halted (${r.halt.reason} since ${r.halt.at}: ${r.halt.detail}; 'dce iceberg rebuild' starts it over)`
      : r.status === 'not deployed'
        ? `not deployed (no parameter ${r.stateParameterName})`
        : r.status === 'state corrupt'
          ? `state corrupt (${r.stateError ?? 'unreadable'})`
          : r.status;
  const action =
    r.action.value === null
      ? `- (no parameter ${r.action.parameterName}: read as RUN; run 'pulumi up')`
      : r.action.pendingRebuild
        ? 'REBUILD (pending: the next execution starts a new table from the full export)'
        : r.action.value.trim() === 'REBUILD'
          ? 'REBUILD (carried out: acts as RUN)'
          : r.action.value;
  const rows: [string, string][] = [
    ['view', r.view ?? '-'],
    ['status', status],
    ['action', action],
  ];
  if (r.status !== 'not deployed' && r.status !== 'state corrupt') {
    rows.push(
      ['epoch', r.epoch ? `${r.epoch}${r.table ? ` (table ${r.table})` : ''}` : '- (not started)'],
      [
        'cursor',
        r.lastAppliedSequence === null || r.lastAppliedSequence < 0
          ? '- (nothing merged yet)'
          : `sequence ${r.lastAppliedSequence}`,
      ],
      ['watermark', r.watermark ?? '-'],
      ['lag', r.lagSeconds === null ? '-' : `${formatDuration(r.lagSeconds)} behind the chain`],
      [
        'last query',
        r.lastQuery
          ? `${megabytes(r.lastQuery.dataScannedInBytes)} scanned at ${r.lastQuery.at} (${r.lastQuery.id})`
          : '-',
      ],
      [
        'running',
        r.inProgress
          ? `${r.inProgress.kind}${r.inProgress.fromSequence === undefined ? '' : ` of sequences ${r.inProgress.fromSequence}-${r.inProgress.toSequence}`} by ${r.inProgress.executionId} (attempt ${r.inProgress.attempt + 1})`
          : '-',
      ],
    );
  }
  return [`iceberg:`, table(rows, '  ')].join('\n');
}
