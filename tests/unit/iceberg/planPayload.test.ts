/**
 * The Plan step's answer travels through the state machine, and Step Functions fails an execution whose
 * state payload passes 256 KiB (functions/iceberg/statementSql.ts): a MERGE's batch is halved until its
 * SQL fits `PLAN_SQL_MAX_BYTES`, and the answer carries only the fitted batch. Checked at the longest
 * names and most columns the config allows, at the largest batch, and past them.
 */
import { expect } from 'chai';
import { MAX_ICEBERG_COLUMNS } from '../../../components/config/iceberg';
import type { IcebergEntry, IcebergPlan } from '../../../functions/iceberg/planner';
import type { IcebergTableSpec } from '../../../functions/iceberg/sql';
import {
  PLAN_SQL_MAX_BYTES,
  STATE_PAYLOAD_MAX_BYTES,
  claimedPlan,
  fittedMerge,
} from '../../../functions/iceberg/statementSql';
import type { IcebergClaim } from '../../../functions/iceberg/state';

const EPOCH = '20261103T000000Z';
const T0 = Date.UTC(2026, 10, 3) / 1000;
/** The config's bound on maxExportsPerMerge (components/config/iceberg.ts). */
const MAX_BATCH = 200;

/** A spec with `n` projections at the longest names the config allows (128 and 255 characters). */
function specWith(n: number): IcebergTableSpec {
  const long = (prefix: string, i: number, length: number) => `${prefix}${i}_`.padEnd(length, 'x');
  return {
    database: 'd'.repeat(100),
    table: 't'.repeat(80),
    partitionKey: { attribute: long('pk', 0, 255), type: 'N', column: long('pk', 0, 128) },
    sortKey: { attribute: long('sk', 0, 255), type: 'S', column: long('sk', 0, 128) },
    columns: Array.from({ length: n }, (_, i) => ({
      column: long('c', i, 128),
      attribute: long('a', i, 255),
      type: i % 2 ? 'decimal(38,10)' : 'timestamp',
      conversion: i % 2 ? 'none' : 'iso8601',
      attributeType: i % 2 ? 'N' : 'S',
    })),
    bucketPartitions: 100,
    stagingDatabase: 's'.repeat(100),
    stagingTable: 'u'.repeat(80),
    lakeLocation: `s3://${'b'.repeat(63)}/${'p'.repeat(200)}/`,
  };
}

function entry(sequence: number): IcebergEntry {
  return {
    sequence,
    type: 'INCREMENTAL',
    to: new Date((T0 + sequence * 900) * 1000).toISOString(),
    exportArn: `arn:aws:dynamodb:eu-west-1:111122223333:table/${'T'.repeat(255)}/export/0176${String(sequence).padStart(13, '0')}-abcdef12`,
    bucket: 'b'.repeat(63),
    manifestSummaryKey: `${'p'.repeat(200)}/AWSDynamoDB/0176${sequence}-abcdef12/manifest-summary.json`,
  };
}

function mergeOf(count: number): Extract<IcebergPlan, { action: 'MERGE' }> {
  const entries = Array.from({ length: count }, (_, i) => entry(i + 1));
  const last = entries[entries.length - 1];
  return {
    action: 'MERGE',
    statement: { kind: 'MERGE', epoch: EPOCH, fromSequence: 1, toSequence: last.sequence, to: last.to },
    entries,
  };
}

function claimOf(
  statement: IcebergClaim | Omit<IcebergClaim, 'executionId' | 'token' | 'attempt' | 'startedAt'>,
) {
  return {
    ...statement,
    executionId: `arn:aws:states:eu-west-1:111122223333:execution:${'m'.repeat(80)}:${'e'.repeat(80)}`,
    token: 'f'.repeat(64),
    attempt: 4,
    startedAt: new Date(T0 * 1000).toISOString(),
  } as IcebergClaim;
}

/** The state after Plan (`ResultSelector: {"plan.$": "$.Payload"}`), as Step Functions measures it. */
function stateBytes(planned: Extract<IcebergPlan, { action: 'MERGE' }>, spec: IcebergTableSpec): number {
  const fitted = fittedMerge(spec, planned);
  const output = claimedPlan(planned, fitted, claimOf(fitted.statement));
  return Buffer.byteLength(JSON.stringify({ plan: output }));
}

describe('the Iceberg Plan step within the state payload (functions/iceberg/statementSql.ts)', () => {
  it('the largest batch at the most and longest columns the config allows fits 256 KiB whole', () => {
    const spec = specWith(MAX_ICEBERG_COLUMNS);
    const planned = mergeOf(MAX_BATCH);
    const fitted = fittedMerge(spec, planned);
    expect(fitted.entries).to.have.length(MAX_BATCH);
    expect(Buffer.byteLength(fitted.sql)).to.be.at.most(PLAN_SQL_MAX_BYTES);
    expect(stateBytes(planned, spec)).to.be.below(STATE_PAYLOAD_MAX_BYTES);
  });

  it('with more columns than the config allows, the batch is halved until its SQL fits, and the answer carries only the fitted batch', () => {
    const spec = specWith(1.8 * MAX_ICEBERG_COLUMNS);
    const planned = mergeOf(MAX_BATCH);
    const fitted = fittedMerge(spec, planned);
    expect(Buffer.byteLength(fitted.sql)).to.be.at.most(PLAN_SQL_MAX_BYTES);
    expect(fitted.entries.length).to.be.below(MAX_BATCH);
    // A prefix of the batch, and the statement ends where the fitted batch ends.
    expect(fitted.entries).to.deep.equal(planned.entries.slice(0, fitted.entries.length));
    const last = fitted.entries[fitted.entries.length - 1];
    expect(fitted.statement).to.include({ fromSequence: 1, toSequence: last.sequence, to: last.to });
    const output = claimedPlan(planned, fitted, claimOf(fitted.statement));
    expect(output).to.deep.include({ action: 'MERGE', exports: fitted.entries.length, sql: fitted.sql });
    expect(output).not.to.have.property('entries');
    expect(stateBytes(planned, spec)).to.be.below(STATE_PAYLOAD_MAX_BYTES);
  });

  it('a statement of one export that is still too long is left to the SQL builder, which names the limit', () => {
    // One export cannot be split further: fittedMerge returns it and mergeSql refuses past Athena's limit.
    // A batch past Athena's own limit is halved like one past the payload's, down to one export.
    const wide = fittedMerge(specWith(2.4 * MAX_ICEBERG_COLUMNS), mergeOf(MAX_BATCH));
    expect(wide.entries).to.have.length(1);
    expect(Buffer.byteLength(wide.sql)).to.be.within(PLAN_SQL_MAX_BYTES, 262_144);
    const spec = specWith(40 * MAX_ICEBERG_COLUMNS);
    expect(() => fittedMerge(spec, mergeOf(1))).to.throw(/Athena takes at most 262144|bytes/);
  });
});
