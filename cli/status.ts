/**
 * `dce status`: what one table's export chain is doing, read from the SSM action and state parameters
 * (and, when the bucket is known, the chain manifest HEAD in S3), and where each of its replicas stands
 * (their state parameters; cli/consumers/replicaStatus.ts) and its Iceberg feed (cli/consumers/icebergStatus.ts). The reading is thin; `deriveStatus` is a pure
 * function of what was read and the current time, so it is tested directly.
 */
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import type { S3Sender, SsmSender } from '../functions/shared/awsClients';
import { ChainStateCorruptError, parseState, type ChainState } from '../functions/chain/state';
import { chainCurrentKey, chainHeadKey, type ChainHead } from '../functions/shared/chainManifest';
import { parseAction, resetCarriedOut } from '../functions/chain/operatorAction';
import { iso } from '../functions/shared/time';
import { monthlyExportCost } from '../functions/chain/costAwareWindow';
import { formatDuration, table } from './output';
import {
  deriveReplicaStatus,
  formatReplicaStatuses,
  replicaActionParameter,
  type ReplicaRef,
  type ReplicaStatusReport,
} from './consumers/replicaStatus';
import {
  deriveIcebergStatus,
  formatIcebergStatus,
  type IcebergRef,
  type IcebergStatusReport,
} from './consumers/icebergStatus';
import { getBytesIfExists } from './s3io';
import type { Target } from './target';

/** What the workflow is doing, most important condition first. */
export type Phase =
  /** The state parameter does not exist: the stack is not deployed (or the name is wrong). */
  | 'NOT_DEPLOYED'
  /** The state parameter holds something that is not a chain state; the tick leaves it untouched. */
  | 'STATE_CORRUPT'
  /** The source table is gone; the chain cannot continue. */
  | 'TABLE_DELETED'
  /** The PITR history no longer covers the watermark; the chain has a hole and needs a new epoch. */
  | 'PITR_GAP'
  /** Point-in-time recovery is disabled on the table: no export can be requested. */
  | 'PITR_DISABLED'
  /** Operator set PAUSE: no new exports start; in-flight ones are still tracked. */
  | 'PAUSED'
  /** Operator set RESET: the next tick starts a new epoch with a full export. */
  | 'RESET_PENDING'
  /** No completed full export yet in this epoch. */
  | 'BOOTSTRAPPING'
  /** The export tick itself keeps failing (incident RUN_FAILED); the chain resumes once it runs again. */
  | 'FAILING'
  /** Chaining, but more than two windows behind (after a pause, an outage or a long backlog). */
  | 'CATCHING_UP'
  /** Chaining normally. */
  | 'CHAINING';

export type Action = 'RUN' | 'PAUSE' | 'RESET';

/** What was read from SSM and S3; `null` where a thing does not exist. */
export interface StatusInput {
  /** Raw value of the action parameter, or null when it does not exist. */
  action: string | null;
  /**
   * Version of the action parameter, and when SSM last modified it (epoch ms), when known: with the
   * value, what tells whether the RESET it holds was carried out (functions/chain/operatorAction.ts).
   */
  actionVersion?: number | null;
  actionModifiedAtMs?: number | null;
  /** Raw value of the state parameter, or null when it does not exist. */
  stateText: string | null;
  stateParameterName: string;
  /** Current time, epoch seconds. */
  now: number;
  /** Normal incremental window, when known; defaults to 15 minutes for the estimate of the next window. */
  windowMinutes?: number;
  /** The chain manifest HEAD of the live epoch, when it was read. */
  head?: ChainHead | null;
  /** Why the manifest could not be read, when it could not. */
  headError?: string;
  /** The table's replicas and the raw value of each one's state parameter (null when it does not exist). */
  replicas?: {
    ref: ReplicaRef;
    stateText: string | null;
    /** The replica's action parameter (nulls when it does not exist). */
    action?: { value: string | null; version: number | null };
  }[];
  /** The table's Iceberg feed: its cursor's raw value (null when it does not exist) and its action. */
  iceberg?: {
    ref: IcebergRef;
    stateText: string | null;
    action: { value: string | null; version: number | null };
  };
}

/** One export not yet committed. */
export interface InFlightExport {
  type: 'FULL' | 'INCREMENTAL';
  from: string;
  to: string;
  attempt: number;
  status: string;
  arn?: string;
  startedAt?: string;
  notBefore?: string;
  lastError?: string;
}

/** The status report, as `--json` prints it. Times are ISO 8601, durations seconds. */
export interface StatusReport {
  alias: string;
  phase: Phase;
  action: string | null;
  /** Set when the state could not be parsed. */
  stateError?: string;
  epoch: string | null;
  chainStart: string | null;
  watermark: string | null;
  /** Seconds between now and the watermark; null before the first full export completed. */
  lagSeconds: number | null;
  lastSequence: number | null;
  inFlight: InFlightExport[];
  incidents: {
    key: string;
    openedAt: string;
    lastNotifiedAt: string;
    occurrences: number;
    reminders: number;
    /** Set while the cause looks gone; resolved after a hold unless it comes back. */
    clearedAt?: string;
  }[];
  /** Notifications recorded but not yet accepted by SNS. */
  notificationsPending?: number;
  lastRun: { at: string; outcome: string; error?: string } | null;
  /** Window the chain will request next, and the earliest time it can (estimate). */
  nextWindow: { from: string; to: string; dueAt: string } | null;
  /**
   * Length of the windows the tick plans now (cost-aware windows change it) and the configured one,
   * seconds; absent before a state exists.
   */
  window?: { seconds: number; configuredSeconds: number };
  /**
   * Incremental export cost per month at the pace of the last exports: what they billed (at least
   * the 10 MB minimum each) over the time they cover; null before an incremental export completed.
   */
  exportCost?: { monthlyUsd: number; exports: number } | null;
  driver: { executionId: string; leaseUntil: string } | null;
  manifest?: { epoch: string; watermark: string; lastSequence: number; agreesWithState: boolean } | null;
  manifestError?: string;
  /** The table's replicas, when the stack output lists them or `--replica-state` names them. */
  replicas?: ReplicaStatusReport[];
  /** The table's Iceberg feed, when it has one. */
  iceberg?: IcebergStatusReport;
}

/**
 * Incident keys (raised by the export tick's planner) that name a condition the chain cannot get
 * past by itself, most severe first. Matched by prefix so that a suffixed key still counts.
 */
const BLOCKING_INCIDENTS: [RegExp, Phase][] = [
  [/^(TABLE_DELETED|TABLE_NOT_FOUND)/, 'TABLE_DELETED'],
  [/^PITR_GAP/, 'PITR_GAP'],
  [/^PITR_DISABLED/, 'PITR_DISABLED'],
];

function incidentPhase(keys: string[]): Phase | undefined {
  for (const [pattern, phase] of BLOCKING_INCIDENTS) if (keys.some((k) => pattern.test(k))) return phase;
  return undefined;
}

/** The pure part of `dce status`: the chain, then each replica against the chain's watermark. */
export function deriveStatus(alias: string, input: StatusInput): StatusReport {
  const report = deriveChainStatus(alias, input);
  // What a consumer can apply is what HEAD has committed; without the manifest, the state's watermark.
  const chain = report.manifest
    ? { epoch: report.manifest.epoch, watermark: report.manifest.watermark }
    : { epoch: report.epoch, watermark: report.watermark };
  // A feed derived from --stack alone is shown only when it is deployed.
  if (input.iceberg && (input.iceberg.stateText !== null || !input.iceberg.ref.derived))
    report.iceberg = deriveIcebergStatus({
      ...input.iceberg,
      now: input.now,
      chainWatermark: chain.watermark,
    });
  if (input.replicas === undefined) return report;
  report.replicas = input.replicas.map(({ ref, stateText, action }) =>
    deriveReplicaStatus({ ref, stateText, action, now: input.now, chain }),
  );
  return report;
}

/** The report before any state exists: nothing deployed (or the wrong parameter name). */
function notDeployedReport(alias: string, action: string | null): StatusReport {
  return {
    alias,
    phase: 'NOT_DEPLOYED',
    action,
    epoch: null,
    chainStart: null,
    watermark: null,
    lagSeconds: null,
    lastSequence: null,
    inFlight: [],
    incidents: [],
    lastRun: null,
    nextWindow: null,
    driver: null,
  };
}

/** The action a raw value asks for; null for one the workflow rejects (it raises ACTION_INVALID). */
function actionKind(raw: string | null): Action | null {
  const parsed = parseAction(raw);
  return parsed.kind === 'INVALID' ? null : parsed.kind;
}

/**
 * A blocking incident (table gone, PITR gap) is shown whatever the operator action, since it is what
 * needs attention first; then the action, then how far the chain has got.
 */
function chainPhase(
  state: ChainState,
  action: Action | null,
  lag: number | null,
  windowSeconds: number,
): Phase {
  const keys = state.incidents.map((i) => i.key);
  const blocking = incidentPhase(keys);
  if (blocking) return blocking;
  if (action === 'PAUSE') return 'PAUSED';
  if (action === 'RESET') return 'RESET_PENDING';
  if (state.chainStart === null) return 'BOOTSTRAPPING';
  if (keys.some((k) => k.startsWith('RUN_FAILED'))) return 'FAILING';
  if (lag !== null && lag > 2 * windowSeconds + state.stats.restorableLagSeconds) return 'CATCHING_UP';
  return 'CHAINING';
}

/** The window after the last one requested, unless the chain is paused, reset or not started. */
function nextWindowOf(
  state: ChainState,
  action: Action | null,
  windowSeconds: number,
): StatusReport['nextWindow'] {
  if (state.watermark === null || action === 'PAUSE' || action === 'RESET') return null;
  const pendingEnd = Math.max(
    state.watermark,
    ...state.exports.filter((e) => e.type === 'INCREMENTAL').map((e) => e.to),
  );
  const to = pendingEnd + windowSeconds;
  return { from: iso(pendingEnd), to: iso(to), dueAt: iso(to + state.stats.restorableLagSeconds) };
}

function inFlightExports(state: ChainState): InFlightExport[] {
  return state.exports.map((e) => ({
    type: e.type,
    from: iso(e.from),
    to: iso(e.to),
    attempt: e.attempt,
    status: e.status,
    ...(e.arn ? { arn: e.arn } : {}),
    ...(e.startedAt !== undefined ? { startedAt: iso(e.startedAt) } : {}),
    ...(e.notBefore !== undefined ? { notBefore: iso(e.notBefore) } : {}),
    ...(e.lastError ? { lastError: `${e.lastError.code}: ${e.lastError.message}` } : {}),
  }));
}

function incidentRows(state: ChainState): StatusReport['incidents'] {
  return state.incidents.map((i) => ({
    key: i.key,
    openedAt: iso(i.openedAt),
    lastNotifiedAt: iso(i.lastNotifiedAt),
    occurrences: i.occurrences,
    reminders: i.reminders,
    ...(i.clearedAt !== undefined ? { clearedAt: iso(i.clearedAt) } : {}),
  }));
}

function lastRunOf(state: ChainState): StatusReport['lastRun'] {
  if (!state.lastRun) return null;
  return {
    at: iso(state.lastRun.at),
    outcome: state.lastRun.outcome,
    ...(state.lastRun.error ? { error: state.lastRun.error } : {}),
  };
}

/** The manifest HEAD as read, and whether it names the state's epoch and watermark. */
function manifestOf(head: ChainHead | null, state: ChainState): StatusReport['manifest'] {
  if (!head) return null;
  return {
    epoch: head.epoch,
    watermark: head.watermark,
    lastSequence: head.lastSequence,
    agreesWithState:
      head.epoch === state.epoch &&
      state.watermark !== null &&
      Date.parse(head.watermark) === state.watermark * 1000,
  };
}

function deriveChainStatus(alias: string, input: StatusInput): StatusReport {
  const action = input.action === null ? null : input.action.trim();
  if (input.stateText === null) return notDeployedReport(alias, action);
  let state: ChainState;
  try {
    state = parseState(input.stateText, input.stateParameterName);
  } catch (error) {
    if (!(error instanceof ChainStateCorruptError)) throw error;
    return { ...notDeployedReport(alias, action), phase: 'STATE_CORRUPT', stateError: error.message };
  }
  // A RESET the workflow carried out stays in the parameter (it is never written back): it is done,
  // and the chain runs, once the state records it, by the rule the workflow decides with.
  const resetDone = resetCarriedOut(
    { value: input.action, version: input.actionVersion ?? null, modifiedAtMs: input.actionModifiedAtMs },
    state,
  );
  const effectiveAction = resetDone ? 'RUN' : actionKind(input.action);
  const configuredSeconds = (input.windowMinutes ?? 15) * 60;
  // The tick records the length it plans with: cost-aware windows make it differ from the configured.
  const windowSeconds = state.stats.windowSeconds ?? configuredSeconds;
  const monthly = monthlyExportCost(state.stats.billing);
  const lag = state.watermark === null ? null : Math.max(0, input.now - state.watermark);
  const report: StatusReport = {
    alias,
    phase: chainPhase(state, effectiveAction, lag, windowSeconds),
    action: resetDone ? `${action} (carried out)` : action,
    epoch: state.epoch,
    chainStart: state.chainStart === null ? null : iso(state.chainStart),
    watermark: state.watermark === null ? null : iso(state.watermark),
    lagSeconds: lag,
    lastSequence: state.sequence,
    inFlight: inFlightExports(state),
    incidents: incidentRows(state),
    notificationsPending: state.outbox.length,
    lastRun: lastRunOf(state),
    nextWindow: nextWindowOf(state, effectiveAction, windowSeconds),
    window: { seconds: windowSeconds, configuredSeconds },
    exportCost: monthly === null ? null : { monthlyUsd: monthly, exports: state.stats.billing.length },
    driver: state.driver
      ? { executionId: state.driver.executionId, leaseUntil: iso(state.driver.leaseUntil) }
      : null,
  };
  if (input.head !== undefined) report.manifest = manifestOf(input.head, state);
  if (input.headError) report.manifestError = input.headError;
  return report;
}

/** The human text of a status report. */
export function formatStatus(report: StatusReport): string {
  const rows: [string, string][] = [
    ['table', report.alias],
    ['phase', report.phase],
    ['action', report.action ?? '(parameter missing)'],
  ];
  if (report.stateError) rows.push(['state error', report.stateError]);
  rows.push(
    ['epoch', report.epoch ?? '-'],
    ['chain start', report.chainStart ?? '-'],
    ['watermark', report.watermark ?? '-'],
    ['lag', report.lagSeconds === null ? '-' : formatDuration(report.lagSeconds)],
    ['last sequence', report.lastSequence === null ? '-' : String(report.lastSequence)],
    [
      'last run',
      report.lastRun
        ? `${report.lastRun.at} ${report.lastRun.outcome}${report.lastRun.error ? ` (${report.lastRun.error})` : ''}`
        : '-',
    ],
    [
      'next window',
      report.nextWindow
        ? `[${report.nextWindow.from}, ${report.nextWindow.to}) due about ${report.nextWindow.dueAt}`
        : '-',
    ],
  );
  if (report.window) {
    const { seconds, configuredSeconds } = report.window;
    rows.push([
      'window',
      formatDuration(seconds) +
        (seconds === configuredSeconds
          ? ''
          : ` (configured ${formatDuration(configuredSeconds)}; cost-aware)`),
    ]);
  }
  if (report.exportCost !== undefined) {
    rows.push([
      'export cost',
      report.exportCost
        ? `about $${report.exportCost.monthlyUsd.toFixed(2)} a month at the pace of the last ${report.exportCost.exports} incremental exports (billed size, at least 10 MB each, $0.10 per GB)`
        : '- (no incremental export completed yet)',
    ]);
  }
  if (report.driver)
    rows.push(['driver', `${report.driver.executionId} (lease until ${report.driver.leaseUntil})`]);
  if (report.manifest !== undefined) {
    rows.push([
      'manifest',
      report.manifest
        ? `epoch ${report.manifest.epoch}, watermark ${report.manifest.watermark}, seq ${report.manifest.lastSequence}` +
          (report.manifest.agreesWithState
            ? ''
            : ' (differs from the state: a commit is in progress or the state was reset)')
        : 'no chain manifest yet',
    ]);
  }
  if (report.manifestError) rows.push(['manifest', `unreadable: ${report.manifestError}`]);
  const lines = [table(rows)];
  lines.push(`in flight (${report.inFlight.length}):`);
  for (const e of report.inFlight) {
    lines.push(
      `  ${e.type.padEnd(11)} [${e.from}, ${e.to}) attempt ${e.attempt} ${e.status}` +
        (e.arn ? ` ${e.arn}` : '') +
        (e.notBefore ? ` not before ${e.notBefore}` : '') +
        (e.lastError ? ` last error ${e.lastError}` : ''),
    );
  }
  lines.push(`open incidents (${report.incidents.length}):`);
  for (const i of report.incidents) {
    const notified = i.lastNotifiedAt.startsWith('1970-')
      ? 'not alerted'
      : `last notified ${i.lastNotifiedAt}`;
    const clearing = i.clearedAt ? `, clear since ${i.clearedAt}` : '';
    lines.push(`  ${i.key} since ${i.openedAt} (${i.occurrences}x, ${notified}${clearing})`);
  }
  if (report.notificationsPending)
    lines.push(`notifications waiting for delivery: ${report.notificationsPending}`);
  if (report.replicas) lines.push(formatReplicaStatuses(report.replicas));
  if (report.iceberg) lines.push(formatIcebergStatus(report.iceberg));
  return lines.join('\n');
}

function isNotFound(error: unknown): boolean {
  const name = (error as { name?: string } | null)?.name ?? '';
  return name === 'ParameterNotFound' || name === 'NoSuchKey' || name === 'NotFound';
}

/** Reads a parameter's value; null when it does not exist. */
export async function readParameter(ssm: SsmSender, name: string): Promise<string | null> {
  return (await readParameterVersion(ssm, name)).value;
}

/** A parameter's value and version; nulls when it does not exist. */
export async function readParameterVersion(
  ssm: SsmSender,
  name: string,
): Promise<{ value: string | null; version: number | null; modifiedAtMs: number | null }> {
  try {
    const out = await ssm.send(new GetParameterCommand({ Name: name }));
    const version = out.Parameter?.Version;
    const modified = out.Parameter?.LastModifiedDate;
    return {
      value: out.Parameter?.Value ?? null,
      version: typeof version === 'number' ? version : null,
      modifiedAtMs: modified ? new Date(modified).getTime() : null,
    };
  } catch (error) {
    if (isNotFound(error)) return { value: null, version: null, modifiedAtMs: null };
    throw error;
  }
}

/** The object parsed as JSON (any JSON value); null when it does not exist. */
async function readJsonObject(s3: S3Sender, bucket: string, key: string): Promise<unknown> {
  const bytes = await getBytesIfExists(s3, bucket, key);
  return bytes === undefined ? null : JSON.parse(Buffer.from(bytes).toString('utf8'));
}

/** Reads everything `dce status` shows. S3 is optional: without a bucket the manifest is skipped. */
export async function readStatus(options: {
  ssm: SsmSender;
  s3?: S3Sender;
  target: Target;
  parameters: { action: string; state: string };
  now: number;
  /** Replicas whose state parameters are read too. */
  replicas?: ReplicaRef[];
  /** The table's Iceberg feed, whose parameters are read too. */
  iceberg?: IcebergRef;
}): Promise<StatusReport> {
  const { ssm, s3, target, parameters, now } = options;
  const [action, stateText, replicaTexts] = await Promise.all([
    readParameterVersion(ssm, parameters.action),
    readParameter(ssm, parameters.state),
    Promise.all((options.replicas ?? []).map((ref) => readParameter(ssm, ref.stateParameterName))),
  ]);
  const replicaActions = await Promise.all(
    (options.replicas ?? []).map((ref) => readParameterVersion(ssm, replicaActionParameter(ref))),
  );
  const feed = options.iceberg;
  const icebergRead = feed
    ? await Promise.all([
        readParameter(ssm, feed.stateParameterName),
        readParameterVersion(ssm, feed.actionParameterName),
      ])
    : undefined;
  const input: StatusInput = {
    ...(feed && icebergRead
      ? {
          iceberg: {
            ref: feed,
            stateText: icebergRead[0],
            action: { value: icebergRead[1].value, version: icebergRead[1].version },
          },
        }
      : {}),
    action: action.value,
    actionVersion: action.version,
    actionModifiedAtMs: action.modifiedAtMs,
    stateText,
    stateParameterName: parameters.state,
    now,
    windowMinutes: target.windowMinutes,
    ...(options.replicas && options.replicas.length > 0
      ? {
          replicas: options.replicas.map((ref, i) => ({
            ref,
            stateText: replicaTexts[i],
            action: replicaActions[i],
          })),
        }
      : {}),
  };
  if (s3 && target.bucket) {
    const prefix = target.prefix ?? '';
    try {
      const current = await readJsonObject(s3, target.bucket, chainCurrentKey(prefix));
      const epoch =
        typeof current === 'object' && current !== null && 'epoch' in current ? current.epoch : undefined;
      input.head =
        typeof epoch === 'string'
          ? ((await readJsonObject(s3, target.bucket, chainHeadKey(prefix, epoch))) as ChainHead | null)
          : null;
    } catch (error) {
      input.headError = (error as Error).message || (error as Error).name;
    }
  }
  return deriveStatus(target.alias, input);
}
