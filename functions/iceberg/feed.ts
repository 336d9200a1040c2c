/**
 * The Iceberg feed's Lambda steps (the I/O around functions/iceberg/planner.ts), called by its state
 * machine (statemachine/iceberg-feed.asl.json):
 *
 * - `plan`: under the feed's lease, reads the cursor and the chain, plans, writes the symlink files of
 *   a MERGE's exports, claims the statement in the cursor, and returns its SQL and ClientRequestToken.
 * - `commit`: under the lease, the compare-and-set of the cursor after the query succeeded.
 * - `queryFailed`: under the lease, a retryable failure bumps the attempt (a new token) and asks for a
 *   wait; any other halts the feed with one alert.
 *
 * The feed never writes the chain or anything a replica reads: an Athena outage delays the lake only.
 */
import { createHash } from 'node:crypto';
import { GetParametersCommand, PutParameterCommand } from '@aws-sdk/client-ssm';
import { PublishCommand } from '@aws-sdk/client-sns';
import type { S3Sender, SnsSender, SsmSender } from '../shared/awsClients';
import type { SsmCall } from '../shared/lease';
import { readChainFrom } from '../shared/consumer/chainReading';
import { underLease } from '../shared/consumer/claim';
import {
  attemptFor,
  commitClaim,
  failClaim,
  failureText,
  planIceberg,
  type IcebergEntry,
  type IcebergPlan,
  type IcebergStatement,
  type QueryResult,
} from './planner';
import {
  addColumnSql,
  createTableSql,
  createViewSql,
  epochTableName,
  exportPartition,
  mergeSql,
  type IcebergTableSpec,
} from './sql';
import { icebergHaltAlert } from './alert';
import { writeExportSymlink } from './staging';
import { initialIcebergState, parseIcebergState, type IcebergClaim, type IcebergFeedState } from './state';

/** A statement the plan hands to Step Functions stays well inside the 256 KiB state payload. */
export const PLAN_SQL_MAX_BYTES = 200_000;

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
  lockParameterName: string;
  topicArn?: string;
  onNewEpoch: 'rebuild' | 'halt';
  mergeEveryMinutes: number;
  maxExportsPerMerge: number;
  /** How long a claim holds (seconds). */
  leaseSeconds: number;
}

export interface IcebergClients {
  s3: S3Sender;
  ssm: SsmSender;
  sns: SnsSender;
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
export type IcebergPlanOutput = IcebergPlan & { claim?: IcebergClaim; sql?: string; table?: string };

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
    statement.fromSequence,
    statement.toSequence,
    statement.column,
    attempt,
  ];
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

/** One feed's Lambda steps; `createIcebergHandler` dispatches events to them. */
export class IcebergFeedSteps {
  constructor(
    private readonly settings: IcebergSettings,
    private readonly clients: IcebergClients,
    private readonly now: () => number = () => Date.now() / 1000,
  ) {}

  private readonly ssmCall: SsmCall = (_label, command) => this.clients.ssm.send(command as never) as never;

  private async readState(): Promise<IcebergFeedState> {
    const out = await this.clients.ssm.send(
      new GetParametersCommand({ Names: [this.settings.stateParameterName] }),
    );
    const value = out.Parameters?.find((p) => p.Name === this.settings.stateParameterName)?.Value;
    return value === undefined || value === '' || value === '{}'
      ? initialIcebergState()
      : parseIcebergState(value);
  }

  private async writeState(state: IcebergFeedState): Promise<void> {
    await this.clients.ssm.send(
      new PutParameterCommand({
        Name: this.settings.stateParameterName,
        Value: JSON.stringify(state),
        Type: 'String',
        Overwrite: true,
      }),
    );
  }

  private async underLease<T>(executionId: string, work: () => Promise<T>): Promise<T> {
    const lockName = this.settings.lockParameterName;
    const ran = await underLease(
      this.ssmCall,
      { lockName, executionId, now: this.now(), ownIsStale: true },
      work,
    );
    if (!ran.held) throw new IcebergLeaseBusy(lockName);
    return ran.value;
  }

  /** Publishes the halt once; the state records that it did. */
  private async alertOnce(state: IcebergFeedState): Promise<IcebergFeedState> {
    if (!state.halt || state.halt.alerted) return state;
    if (this.settings.topicArn)
      await this.clients.sns.send(new PublishCommand(icebergHaltAlert(this.settings, state)));
    const alerted = { ...state, halt: { ...state.halt, alerted: true } };
    await this.writeState(alerted);
    return alerted;
  }

  private sqlOf(statement: IcebergStatement, entries: IcebergEntry[]): string {
    const { spec } = this.settings;
    switch (statement.kind) {
      case 'CREATE_TABLE':
        return createTableSql(spec, statement.epoch);
      case 'ADD_COLUMN':
        return addColumnSql(
          spec,
          statement.epoch,
          spec.columns.find((c) => c.column === statement.column)!,
        );
      case 'VIEW':
        return createViewSql(spec, statement.epoch);
      case 'MERGE':
        return mergeSql(
          spec,
          statement.epoch,
          entries.map((e) => ({
            sequence: e.sequence,
            type: e.type,
            exportId: e.exportArn.split('/').pop()!,
            ...(e.type === 'FULL' ? { exportTimeMicros: BigInt(Date.parse(e.to)) * 1000n } : {}),
          })),
        );
    }
  }

  /** A MERGE's batch shortened until its statement fits the state payload. */
  private fittedMerge(plan: Extract<IcebergPlan, { action: 'MERGE' }>): {
    statement: IcebergStatement;
    entries: IcebergEntry[];
    sql: string;
  } {
    let entries = plan.entries;
    for (;;) {
      const last = entries[entries.length - 1];
      const statement = { ...plan.statement, toSequence: last.sequence, to: last.to };
      const sql = this.sqlOf(statement, entries);
      if (Buffer.byteLength(sql) <= PLAN_SQL_MAX_BYTES || entries.length === 1)
        return { statement, entries, sql };
      entries = entries.slice(0, Math.ceil(entries.length / 2));
    }
  }

  async plan(executionId: string): Promise<IcebergPlanOutput> {
    return this.underLease(executionId, async () => {
      let state = await this.readState();
      const chain = await readChainFrom(
        this.clients.s3,
        { bucket: this.settings.chainBucket, prefix: this.settings.chainPrefix },
        {
          followedEpoch: state.epoch,
          fromSequence: state.lastAppliedSequence + 1,
          maxEntries: this.settings.maxExportsPerMerge,
        },
      );
      const at = this.now();
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
        await this.writeState(state);
        await this.alertOnce(state);
        return planned;
      }
      if (planned.action === 'HALTED') {
        await this.alertOnce(state);
        return planned;
      }
      if (planned.action === 'REBUILD') {
        // The old epoch's table and the view stay as they are until the new table holds its full export.
        await this.writeState({
          ...initialIcebergState(),
          epoch: planned.toEpoch,
          viewEpoch: state.viewEpoch,
          updatedAt: iso,
        });
        return planned;
      }
      if (planned.action !== 'DDL' && planned.action !== 'MERGE') return planned;
      const fitted =
        planned.action === 'MERGE'
          ? this.fittedMerge(planned)
          : { statement: planned.statement, entries: [], sql: this.sqlOf(planned.statement, []) };
      for (const entry of fitted.entries)
        await writeExportSymlink(
          this.clients.s3,
          {
            bucket: this.settings.chainBucket,
            prefix: this.settings.chainPrefix,
            table: this.settings.spec.table,
            partition: exportPartition(fitted.statement.epoch, entry.sequence),
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
      await this.writeState({ ...state, epoch: claim.epoch, inProgress: claim, updatedAt: iso });
      const table =
        fitted.statement.kind === 'CREATE_TABLE'
          ? epochTableName(this.settings.spec, fitted.statement.epoch)
          : undefined;
      return { ...planned, statement: fitted.statement, claim, sql: fitted.sql, ...(table ? { table } : {}) };
    });
  }

  async commit(executionId: string, claim: IcebergClaim, query: QueryResult) {
    return this.underLease(executionId, async () => {
      const state = await this.readState();
      const next = commitClaim(state, claim, query, {
        now: this.now(),
        columns: this.settings.spec.columns.map((c) => c.column),
      });
      if (next !== state) await this.writeState(next);
      return { committed: true, lastAppliedSequence: next.lastAppliedSequence, watermark: next.watermark };
    });
  }

  async queryFailed(executionId: string, claim: IcebergClaim, error: { Error?: string; Cause?: string }) {
    return this.underLease(executionId, async () => {
      const state = await this.readState();
      const outcome = failClaim(state, claim, failureText(error), this.now());
      if (outcome.state !== state) await this.writeState(outcome.state);
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
) {
  const steps = new IcebergFeedSteps(settings, clients, now);
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
