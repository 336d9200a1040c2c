/**
 * The SQL of a planned statement, and the symlink partitions a MERGE reads (pure). The plan step runs
 * exactly this before it claims a statement, and `dce iceberg sql` prints exactly this without running
 * it, so what the operator sees is what the feed runs.
 */
import type { IcebergEntry, IcebergPlan, IcebergStatement } from './planner';
import {
  addColumnSql,
  createTableSql,
  createViewSql,
  exportPartition,
  mergeSql,
  QueryTooLongError,
  type IcebergTableSpec,
} from './sql';
import { generationOf } from './state';

/** Largest payload Step Functions passes between states: 256 KiB ("Quotas related to state machine executions"). */
export const STATE_PAYLOAD_MAX_BYTES = 262_144;

/** A statement the plan hands to Step Functions stays well inside the 256 KiB state payload. */
export const PLAN_SQL_MAX_BYTES = 200_000;

/** The SQL of one statement; a MERGE's from its entries. */
export function statementSql(
  spec: IcebergTableSpec,
  statement: IcebergStatement,
  entries: IcebergEntry[],
): string {
  const generation = generationOf(statement);
  switch (statement.kind) {
    case 'CREATE_TABLE':
      return createTableSql(spec, statement.epoch, generation);
    case 'ADD_COLUMN': {
      const column = spec.columns.find((c) => c.column === statement.column);
      if (!column) throw new Error(`ADD_COLUMN of ${statement.column}: no such column in the config`);
      return addColumnSql(spec, statement.epoch, column, generation);
    }
    case 'VIEW':
      return createViewSql(spec, statement.epoch, generation);
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
        generation,
      );
  }
}

/** A statement ready to claim: what it is, the entries a MERGE reads, its SQL. */
export interface FittedStatement {
  statement: IcebergStatement;
  entries: IcebergEntry[];
  sql: string;
}

/** A MERGE's batch shortened (halved) until its statement fits the state payload. */
export function fittedMerge(
  spec: IcebergTableSpec,
  plan: Extract<IcebergPlan, { action: 'MERGE' }>,
): FittedStatement {
  let entries = plan.entries;
  for (;;) {
    const last = entries[entries.length - 1];
    const statement = { ...plan.statement, toSequence: last.sequence, to: last.to };
    let sql: string | undefined;
    try {
      sql = statementSql(spec, statement, entries);
    } catch (error) {
      // Past Athena's own limit: halve like any statement too long, unless it is one export already.
      if (!(error instanceof QueryTooLongError) || entries.length === 1) throw error;
    }
    if (sql !== undefined && (Buffer.byteLength(sql) <= PLAN_SQL_MAX_BYTES || entries.length === 1))
      return { statement, entries, sql };
    entries = entries.slice(0, Math.ceil(entries.length / 2));
  }
}

/** The statement of a DDL or MERGE plan, fitted; undefined for any other plan. */
export function fittedStatement(spec: IcebergTableSpec, plan: IcebergPlan): FittedStatement | undefined {
  if (plan.action === 'MERGE') return fittedMerge(spec, plan);
  if (plan.action === 'DDL')
    return { statement: plan.statement, entries: [], sql: statementSql(spec, plan.statement, []) };
  return undefined;
}

/** The staging partitions a fitted statement reads: one per export of a MERGE, none for DDL. */
export function stagingPartitions(fitted: FittedStatement): { entry: IcebergEntry; partition: string }[] {
  return fitted.entries.map((entry) => ({
    entry,
    partition: exportPartition(fitted.statement.epoch, entry.sequence),
  }));
}

/** A plan without a MERGE's entries (they stay in the Lambda; see `claimedPlan`). */
type PlanWithoutEntries = IcebergPlan extends infer P
  ? P extends IcebergPlan
    ? Omit<P, 'entries'>
    : never
  : never;

/** The Plan step's answer for a claimed statement. */
export type ClaimedPlan<C> = PlanWithoutEntries & { claim: C; sql: string; exports?: number; table?: string };

/**
 * What the Plan step returns for a claimed statement: the plan with the fitted statement, its claim and
 * its SQL. A MERGE's entries stay out (the state machine reads none of them; with them, the largest
 * batch at the longest names the config allows passed 256 KiB): `exports` says how many it reads.
 */
export function claimedPlan<C>(
  planned: IcebergPlan,
  fitted: FittedStatement,
  claim: C,
  table?: string,
): ClaimedPlan<C> {
  const { entries: _unsent, ...plan } = planned as IcebergPlan & { entries?: IcebergEntry[] };
  return {
    ...plan,
    statement: fitted.statement,
    ...(planned.action === 'MERGE' ? { exports: fitted.entries.length } : {}),
    claim,
    sql: fitted.sql,
    ...(table ? { table } : {}),
  } as ClaimedPlan<C>;
}
