/**
 * `dce iceberg sql`: the statements the Iceberg feed will run next, printed and not run. Built by the
 * feed's own code from its cursor, its action and the chain: the planner (functions/iceberg/planner.ts),
 * the operator's action rule (functions/iceberg/action.ts) and the statement builder
 * (functions/iceberg/statementSql.ts over sql.ts), with the settings the plan Lambda runs with (the
 * stack output's `tables.<alias>.iceberg.settings`). So the text is the feed's, byte for byte.
 *
 * The feed runs one statement per plan: EnsureTable's DDL first (CREATE TABLE, one ALTER TABLE ... ADD
 * COLUMNS per projection the config gained, the view), then the MERGE of the next batch after the
 * cursor. The preview takes each DDL as committed and goes on to the next MERGE, so the operator sees
 * the whole way there. A MERGE not due yet (mergeEveryMinutes) is shown with the time it is due.
 */
import { decideIcebergAction, rebuiltIcebergState, startedOverState } from '../../functions/iceberg/action';
import { queryToken, type IcebergSettings } from '../../functions/iceberg/feed';
import {
  attemptFor,
  commitClaim,
  planIceberg,
  type IcebergChainView,
  type IcebergPlan,
  type IcebergStatement,
} from '../../functions/iceberg/planner';
import { epochTableName } from '../../functions/iceberg/sql';
import { symlinkKey } from '../../functions/iceberg/staging';
import { fittedStatement, stagingPartitions } from '../../functions/iceberg/statementSql';
import { generationOf, type IcebergFeedState } from '../../functions/iceberg/state';
import type { S3Sender, SsmSender } from '../../functions/shared/awsClients';
import { readChainFrom } from '../../functions/shared/consumer/chainReading';
import { icebergStateOrExplain } from './icebergCommands';
import type { IcebergRef } from './icebergStatus';
import { readParameter, readParameterVersion } from '../status';
import { UsageError } from '../target';

/** The execution id the preview plans as: no execution of the feed has it, so no claim is its own. */
const PREVIEW_EXECUTION = 'dce-iceberg-sql';

/** One statement the feed will run. */
export interface PreviewStatement {
  kind: IcebergStatement['kind'];
  /** The table it runs on (`<table>__e<epoch>[_r<generation>]`), or the view for VIEW. */
  table: string;
  fromSequence?: number;
  toSequence?: number;
  /** Athena's ClientRequestToken the feed will send. */
  token: string;
  /** The symlink files a MERGE reads, one per export (the plan step writes them before it runs). */
  staging: { key: string; exportArn: string }[];
  sql: string;
}

/** What `dce iceberg sql` prints. */
export interface IcebergSqlResult {
  alias: string;
  view: string;
  /** False when the feed has nothing to run (up to date, halted, no chain yet). */
  pending: boolean;
  statements: PreviewStatement[];
  /** Why nothing (more) is pending, and what else the operator should know (paused, rebuild, due time). */
  notes: string[];
}

function previewOf(
  settings: IcebergSettings,
  state: IcebergFeedState,
  fitted: NonNullable<ReturnType<typeof fittedStatement>>,
): PreviewStatement {
  const { spec } = settings;
  const s = fitted.statement;
  return {
    kind: s.kind,
    table:
      s.kind === 'VIEW'
        ? `${spec.database}.${spec.table}`
        : `${spec.database}.${epochTableName(spec, s.epoch, generationOf(s))}`,
    ...(s.fromSequence !== undefined ? { fromSequence: s.fromSequence, toSequence: s.toSequence } : {}),
    token: queryToken(settings.feedName, s, attemptFor(state, s)),
    staging: stagingPartitions(fitted).map(({ entry, partition }) => ({
      key: `s3://${settings.chainBucket}/${symlinkKey(settings.chainPrefix, spec.table, partition)}`,
      exportArn: entry.exportArn,
    })),
    sql: fitted.sql,
  };
}

/** Why a plan runs no statement, in words. */
function whyNothing(plan: IcebergPlan): string {
  switch (plan.action) {
    case 'IDLE':
      return plan.reason;
    case 'BUSY':
      return `execution ${plan.executionId} is running a statement`;
    case 'HALT':
      return `the feed halts (${plan.reason}: ${plan.detail})`;
    case 'HALTED':
      return `the feed is halted (${plan.reason})`;
    default:
      return plan.action;
  }
}

/**
 * The statements from `state` up to and including the next MERGE (pure): each DDL taken as committed.
 * `restart` is set when the chain has a new epoch the feed starts over on (read it again from there).
 */
export function previewStatements(
  settings: IcebergSettings,
  start: IcebergFeedState,
  chain: IcebergChainView,
  now: number,
): { statements: PreviewStatement[]; notes: string[]; restart?: IcebergFeedState } {
  const statements: PreviewStatement[] = [];
  const columns = settings.spec.columns.map((c) => c.column);
  let state = start;
  for (let i = 0; i < 2 + columns.length + 2; i++) {
    const context = {
      executionId: PREVIEW_EXECUTION,
      now,
      leaseSeconds: settings.leaseSeconds,
      onNewEpoch: settings.onNewEpoch,
      maxExportsPerMerge: settings.maxExportsPerMerge,
      columns,
    };
    const plan = planIceberg(state, chain, { ...context, mergeEveryMinutes: 0 });
    if (plan.action === 'REBUILD')
      return {
        statements,
        notes: [`the chain moved to epoch ${plan.toEpoch}: the feed starts a new table for it`],
        restart: startedOverState(state, plan.toEpoch, new Date(now * 1000).toISOString()),
      };
    const fitted = fittedStatement(settings.spec, plan);
    if (!fitted) {
      const why = whyNothing(plan);
      return { statements, notes: [statements.length === 0 ? `nothing pending: ${why}` : `then: ${why}`] };
    }
    statements.push(previewOf(settings, state, fitted));
    if (fitted.statement.kind === 'MERGE') {
      const due = planIceberg(state, chain, { ...context, mergeEveryMinutes: settings.mergeEveryMinutes });
      const notes = due.action === 'IDLE' ? [`the MERGE is not due yet: ${due.reason}`] : [];
      return { statements, notes };
    }
    const claim = {
      ...fitted.statement,
      executionId: PREVIEW_EXECUTION,
      token: '',
      attempt: 0,
      startedAt: '',
    };
    state = commitClaim(
      { ...state, inProgress: claim },
      claim,
      { queryExecutionId: '', dataScannedInBytes: 0 },
      { now, columns },
    );
  }
  return { statements, notes: [] };
}

/** Reads the cursor, the action and the chain, and previews the feed's next statements. */
export async function runIcebergSql(options: {
  ssm: SsmSender;
  s3: S3Sender;
  alias: string;
  feed: IcebergRef;
  /** Epoch seconds. */
  now: number;
}): Promise<IcebergSqlResult> {
  const { feed, now } = options;
  const settings = feed.settings;
  if (!settings)
    throw new UsageError(
      `dce iceberg sql builds the feed's statements from its settings, which only the stack output has (tables.${options.alias}.iceberg.settings): pass --stack-output`,
    );
  const [action, stateText] = await Promise.all([
    readParameterVersion(options.ssm, feed.actionParameterName),
    readParameter(options.ssm, feed.stateParameterName),
  ]);
  let state = icebergStateOrExplain(feed.stateParameterName, stateText);
  const view = `${settings.spec.database}.${settings.spec.table}`;
  const notes: string[] = [];
  const decided = decideIcebergAction(state, action, {
    executionId: PREVIEW_EXECUTION,
    now,
    leaseSeconds: settings.leaseSeconds,
  });
  if (state.status === 'HALTED')
    return {
      alias: options.alias,
      view,
      pending: false,
      statements: [],
      notes: [
        `nothing pending: the feed is HALTED (${state.halt?.reason ?? '?'}: ${state.halt?.detail ?? ''}); 'dce iceberg rebuild' starts it over`,
      ],
    };
  if (decided.kind === 'PAUSE')
    notes.push(`the feed is paused: it runs these once resumed ('dce iceberg resume')`);
  if (decided.kind === 'REBUILD' || decided.kind === 'REBUILD_WAITS') {
    notes.push(`a rebuild is pending (action version ${action.version}): the feed starts a new table first`);
    state = rebuiltIcebergState(state, action.version ?? 0, new Date(now * 1000).toISOString());
  }
  for (let round = 0; round < 2; round++) {
    const chain = await readChainFrom(
      options.s3,
      { bucket: settings.chainBucket, prefix: settings.chainPrefix },
      {
        followedEpoch: state.epoch,
        fromSequence: state.lastAppliedSequence + 1,
        maxEntries: settings.maxExportsPerMerge,
      },
    );
    const preview = previewStatements(settings, state, chain, now);
    notes.push(...preview.notes);
    if (!preview.restart || preview.statements.length > 0)
      return {
        alias: options.alias,
        view,
        pending: preview.statements.length > 0,
        statements: preview.statements,
        notes,
      };
    state = preview.restart;
  }
  return { alias: options.alias, view, pending: false, statements: [], notes };
}

/** The human text: each statement with a comment naming it, its token and the symlink files it reads. */
export function formatIcebergSql(result: IcebergSqlResult): string {
  const lines: string[] = [];
  for (const note of result.notes) lines.push(`-- ${note}`);
  for (const s of result.statements) {
    const range = s.fromSequence === undefined ? '' : ` of sequences ${s.fromSequence}-${s.toSequence}`;
    lines.push('', `-- ${s.kind}${range} on ${s.table} (ClientRequestToken ${s.token})`);
    for (const st of s.staging) lines.push(`-- staging: ${st.key} lists the data files of ${st.exportArn}`);
    lines.push(`${s.sql};`);
  }
  return lines.join('\n').replace(/^\n/, '');
}
