/**
 * The Iceberg feed's Lambda steps (the I/O around functions/iceberg/planner.ts), called by its state
 * machine (statemachine/iceberg-feed.asl.json):
 *
 * - `plan`: under the feed's lease, reads the cursor with the operator's action (functions/iceberg/
 *   action.ts: a REBUILD is carried out, PAUSE plans nothing), reads the chain, emits the lake's lag,
 *   plans, writes the symlink files of a MERGE's exports, claims the statement in the cursor, and
 *   returns its SQL (functions/iceberg/statementSql.ts) and ClientRequestToken.
 * - `commit`: under the lease, the compare-and-set of the cursor after the query succeeded, and the
 *   query's `DataScannedInBytes` metric.
 * - `queryFailed`: under the lease, a retryable failure bumps the attempt (a new token) and asks for a
 *   wait; any other halts the feed with one alert.
 *
 * The feed never writes the chain or anything a replica reads: an Athena outage delays the lake only.
 * Every AWS call goes through functions/iceberg/icebergAws.ts (the one retry policy): an error that
 * persists fails the step as `TransientAwsError`, which the definition retries.
 */
import { createHash } from 'node:crypto';
import { readChainFrom } from '../shared/consumer/chainReading';
import { underLease } from '../shared/consumer/claim';
import { icebergMetricRecord } from '../shared/emf';
import type { RetryOptions } from '../shared/retry';
import {
  attemptFor,
  commitClaim,
  failClaim,
  failureText,
  planIceberg,
  type IcebergChainView,
  type IcebergPlan,
  type IcebergStatement,
  type QueryResult,
} from './planner';
import { epochTableName, type IcebergTableSpec } from './sql';
import { icebergHaltAlert } from './alert';
import { decideIcebergAction, rebuiltIcebergState, startedOverState, withActionStatus } from './action';
import { IcebergAws, type IcebergClients } from './icebergAws';
import { icebergLagSeconds } from './lag';
import { claimedPlan, fittedStatement, stagingPartitions, type ClaimedPlan } from './statementSql';
import { writeExportSymlink } from './staging';
import { generationOf, type IcebergClaim, type IcebergFeedState } from './state';

export { PLAN_SQL_MAX_BYTES } from './statementSql';
export type { IcebergClients } from './icebergAws';

export interface IcebergSettings {
  /** Names the feed in alerts and tokens (`<component>-iceberg`). */
  feedName: string;
  /** The source table's alias and name, for the alert's envelope. @default the feed's name */
  sourceAlias?: string;
  sourceTableName?: string;
  spec: IcebergTableSpec;
  /** Where the chain is (the table's export bucket and prefix); the symlink files go beside it. */
  chainBucket: string;
  chainPrefix: string;
  stateParameterName: string;
  /** The operator's action parameter (RUN, PAUSE, REBUILD); absent in a feed deployed before it existed. */
  actionParameterName?: string;
  lockParameterName: string;
  topicArn?: string;
  /** CloudWatch namespace of the feed's metrics. @default DEFAULT_METRIC_NAMESPACE */
  metricNamespace?: string;
  onNewEpoch: 'rebuild' | 'halt';
  mergeEveryMinutes: number;
  maxExportsPerMerge: number;
  /** How long a claim holds (seconds). */
  leaseSeconds: number;
}

/** What the steps use besides the settings and clients. */
export interface IcebergStepOptions {
  /** Writes one log line (EMF metrics, the rebuild's record): console.log in Lambda. */
  log?: (line: string) => void;
  retry?: RetryOptions;
}

export type IcebergEvent =
  | { step: 'plan'; executionId: string }
  | { step: 'commit'; executionId: string; claim: IcebergClaim; query: QueryResult }
  | {
      step: 'queryFailed';
      executionId: string;
      claim: IcebergClaim;
      error: { Error?: string; Cause?: string };
    };

/**
 * What `plan` returns: the plan, and for a statement its claim and SQL; for a CREATE TABLE also the
 * table's name, on which the workflow then creates the Glue table optimizers.
 */
/** The Plan step's answer: a plan as it is, or a claimed statement (without a MERGE's entries). */
export type IcebergPlanOutput = IcebergPlan | ClaimedPlan<IcebergClaim>;

/** Thrown when the lease is held by another execution: the state machine retries. */
export class IcebergLeaseBusy extends Error {
  constructor(lockName: string) {
    super(`${lockName} is held by another execution`);
    this.name = 'IcebergLeaseBusy';
  }
}

/** The ClientRequestToken of a statement: the same statement and attempt always give the same token. */
export function queryToken(feedName: string, statement: IcebergStatement, attempt: number): string {
  const parts = [
    feedName,
    statement.kind,
    statement.epoch,
    // Absent for generation 0, so a statement's token is what it was before rebuilds existed.
    ...(statement.generation ? [`r${statement.generation}`] : []),
    statement.fromSequence,
    statement.toSequence,
    statement.column,
    // A VIEW names its columns: the view built again after a column was added is a new query.
    ...(statement.kind === 'VIEW' && statement.columns ? [statement.columns.join(',')] : []),
    attempt,
  ];
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

/** One feed's Lambda steps; `createIcebergHandler` dispatches events to them. */
export class IcebergFeedSteps {
  private readonly aws: IcebergAws;
  private readonly log: (line: string) => void;

  constructor(
    private readonly settings: IcebergSettings,
    clients: IcebergClients,
    private readonly now: () => number = () => Date.now() / 1000,
    options: IcebergStepOptions = {},
  ) {
    this.aws = new IcebergAws(clients, settings, options.retry);
    this.log = options.log ?? ((line) => console.log(line));
  }

  private async underLease<T>(executionId: string, work: () => Promise<T>): Promise<T> {
    const lockName = this.settings.lockParameterName;
    const ran = await underLease(
      this.aws.ssmCall,
      { lockName, executionId, now: this.now(), ownIsStale: true },
      work,
    );
    if (!ran.held) throw new IcebergLeaseBusy(lockName);
    return ran.value;
  }

  /** Publishes the halt once; the state records that it did. */
  private async alertOnce(state: IcebergFeedState): Promise<IcebergFeedState> {
    if (!state.halt || state.halt.alerted) return state;
    if (this.settings.topicArn) await this.aws.publish(icebergHaltAlert(this.settings, state));
    const alerted = { ...state, halt: { ...state.halt, alerted: true } };
    await this.aws.writeState(alerted);
    return alerted;
  }

  /** One EMF line of the feed's metrics (functions/shared/metrics.ts `ICEBERG_METRICS`). */
  private emit(metric: { lagSeconds: number } | { dataScannedInBytes: number }): void {
    const { spec, sourceAlias, feedName, metricNamespace } = this.settings;
    const record = icebergMetricRecord(
      metricNamespace,
      { table: sourceAlias ?? feedName, view: `${spec.database}.${spec.table}` },
      metric,
      Math.round(this.now() * 1000),
    );
    this.log(JSON.stringify(record));
  }

  /**
   * The cursor after the operator's action, and whether it pauses the plan: a pending REBUILD is
   * carried out here (under the lease the plan holds), PAUSE and RUN are recorded in the status.
   */
  private async actOnAction(
    executionId: string,
    at: number,
  ): Promise<{ state: IcebergFeedState; pausedBecause?: string; busy?: IcebergPlan }> {
    const iso = new Date(at * 1000).toISOString();
    const read = await this.aws.readStateAndAction();
    let state = read.state;
    const decided = decideIcebergAction(state, read.action, {
      executionId,
      now: at,
      leaseSeconds: this.settings.leaseSeconds,
    });
    if (decided.kind === 'REBUILD_WAITS')
      return { state, busy: { action: 'BUSY', executionId: state.inProgress?.executionId ?? '' } };
    if (decided.kind === 'REBUILD') {
      // The log keeps where the feed was: the rebuilt cursor no longer says.
      this.log(
        JSON.stringify({
          event: 'ICEBERG_REBUILT',
          feed: this.settings.feedName,
          actionVersion: decided.version,
          previous: state,
        }),
      );
      state = rebuiltIcebergState(state, decided.version, iso);
      await this.aws.writeState(state);
    }
    const paused = decided.kind === 'PAUSE';
    const recorded = withActionStatus(state, paused, iso);
    if (recorded !== state) await this.aws.writeState(recorded);
    return paused && recorded.status === 'PAUSED'
      ? { state: recorded, pausedBecause: decided.reason }
      : { state: recorded };
  }

  async plan(executionId: string): Promise<IcebergPlanOutput> {
    return this.underLease(executionId, async () => {
      const at = this.now();
      const acted = await this.actOnAction(executionId, at);
      if (acted.busy) return acted.busy;
      let state = acted.state;
      const chain: IcebergChainView = await readChainFrom(
        this.aws.s3,
        { bucket: this.settings.chainBucket, prefix: this.settings.chainPrefix },
        {
          followedEpoch: state.epoch,
          fromSequence: state.lastAppliedSequence + 1,
          maxEntries: this.settings.maxExportsPerMerge,
        },
      );
      this.emit({ lagSeconds: icebergLagSeconds(state, chain) });
      // A paused feed starts nothing; the cursor says PAUSED (dce status), the chain goes on.
      if (acted.pausedBecause) return { action: 'IDLE', reason: acted.pausedBecause };
      const planned = planIceberg(state, chain, {
        executionId,
        now: at,
        leaseSeconds: this.settings.leaseSeconds,
        onNewEpoch: this.settings.onNewEpoch,
        mergeEveryMinutes: this.settings.mergeEveryMinutes,
        maxExportsPerMerge: this.settings.maxExportsPerMerge,
        columns: this.settings.spec.columns.map((c) => c.column),
      });
      const iso = new Date(at * 1000).toISOString();
      if (planned.action === 'HALT') {
        state = {
          ...state,
          status: 'HALTED',
          inProgress: null,
          halt: { reason: planned.reason, detail: planned.detail, at: iso, alerted: false },
          updatedAt: iso,
        };
        await this.aws.writeState(state);
        await this.alertOnce(state);
        return planned;
      }
      if (planned.action === 'HALTED') {
        await this.alertOnce(state);
        return planned;
      }
      if (planned.action === 'REBUILD') {
        // The old epoch's table and the view stay as they are until the new table holds its full export.
        await this.aws.writeState(startedOverState(state, planned.toEpoch, iso));
        return planned;
      }
      return this.claim(executionId, state, planned, iso);
    });
  }

  /** Writes a statement's symlink files and claims it in the cursor; other plans pass through. */
  private async claim(
    executionId: string,
    state: IcebergFeedState,
    planned: IcebergPlan,
    iso: string,
  ): Promise<IcebergPlanOutput> {
    const fitted = fittedStatement(this.settings.spec, planned);
    if (!fitted) return planned;
    for (const { entry, partition } of stagingPartitions(fitted))
      await writeExportSymlink(
        this.aws.s3,
        {
          bucket: this.settings.chainBucket,
          prefix: this.settings.chainPrefix,
          table: this.settings.spec.table,
          partition,
        },
        entry,
      );
    const attempt = attemptFor(state, fitted.statement);
    const claim: IcebergClaim = {
      ...fitted.statement,
      executionId,
      token: queryToken(this.settings.feedName, fitted.statement, attempt),
      attempt,
      startedAt: iso,
    };
    await this.aws.writeState({ ...state, epoch: claim.epoch, inProgress: claim, updatedAt: iso });
    // A table it creates gets its Glue table optimizers from the next states (by name, with generation).
    const table =
      fitted.statement.kind === 'CREATE_TABLE'
        ? epochTableName(this.settings.spec, fitted.statement.epoch, generationOf(fitted.statement))
        : undefined;
    return claimedPlan(planned, fitted, claim, table);
  }

  async commit(executionId: string, claim: IcebergClaim, query: QueryResult) {
    return this.underLease(executionId, async () => {
      const state = await this.aws.readState();
      const next = commitClaim(state, claim, query, {
        now: this.now(),
        columns: this.settings.spec.columns.map((c) => c.column),
      });
      if (next !== state) {
        await this.aws.writeState(next);
        this.emit({ dataScannedInBytes: query.dataScannedInBytes });
      }
      return { committed: true, lastAppliedSequence: next.lastAppliedSequence, watermark: next.watermark };
    });
  }

  async queryFailed(executionId: string, claim: IcebergClaim, error: { Error?: string; Cause?: string }) {
    return this.underLease(executionId, async () => {
      const state = await this.aws.readState();
      const outcome = failClaim(state, claim, failureText(error), this.now());
      if (outcome.state !== state) await this.aws.writeState(outcome.state);
      if (outcome.retryInSeconds !== undefined)
        return { action: 'RETRY', waitSeconds: outcome.retryInSeconds };
      await this.alertOnce(outcome.state);
      return { action: outcome.state.status === 'HALTED' ? 'HALTED' : 'RETRY', waitSeconds: 0 };
    });
  }
}

export function createIcebergHandler(
  settings: IcebergSettings,
  clients: IcebergClients,
  now: () => number = () => Date.now() / 1000,
  options: IcebergStepOptions = {},
) {
  const steps = new IcebergFeedSteps(settings, clients, now, options);
  return async (event: IcebergEvent): Promise<unknown> => {
    switch (event.step) {
      case 'plan':
        return steps.plan(event.executionId);
      case 'commit':
        return steps.commit(event.executionId, event.claim, event.query);
      case 'queryFailed':
        return steps.queryFailed(event.executionId, event.claim, event.error);
      default:
        throw new Error(`unknown step ${JSON.stringify((event as { step?: unknown }).step)}`);
    }
  };
}
