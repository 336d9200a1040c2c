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
  type IcebergTableSpec,
} from './sql';
import { generationOf } from './state';

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
    const sql = statementSql(spec, statement, entries);
    if (Buffer.byteLength(sql) <= PLAN_SQL_MAX_BYTES || entries.length === 1)
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
