import { expect } from 'chai';
import fc from 'fast-check';
import {
  decideIcebergAction,
  initialIcebergParameterValues,
  rebuiltIcebergState,
  startedOverState,
  withActionStatus,
} from '../../../functions/iceberg/action';
import { queryToken } from '../../../functions/iceberg/feed';
import { icebergLagSeconds } from '../../../functions/iceberg/lag';
import {
  commitClaim,
  planIceberg,
  type IcebergChainView,
  type IcebergPlanContext,
} from '../../../functions/iceberg/planner';
import { epochTableName } from '../../../functions/iceberg/sql';
import {
  initialIcebergState,
  parseIcebergState,
  type IcebergClaim,
  type IcebergFeedState,
} from '../../../functions/iceberg/state';
import { icebergMetricRecord } from '../../../functions/shared/emf';
import { ICEBERG_METRICS } from '../../../functions/shared/metrics';
import { ICEBERG_EPOCH, ICEBERG_T0, icebergChainOf, icebergEntry } from '../../helpers/icebergChain';

const EPOCH = ICEBERG_EPOCH;
const T0 = ICEBERG_T0;
const AT = new Date(T0 * 1000).toISOString();

const entry = icebergEntry;
const chainOf = icebergChainOf;

const CONTEXT: IcebergPlanContext = {
  executionId: 'x1',
  now: T0 + 86_400,
  leaseSeconds: 1800,
  onNewEpoch: 'rebuild',
  mergeEveryMinutes: 15,
  maxExportsPerMerge: 96,
  columns: ['status'],
};

/** Plans and commits until the plan is no longer a statement; the statements' tables in order. */
function drive(start: IcebergFeedState, chain: IcebergChainView, context = CONTEXT) {
  let state = start;
  const statements: string[] = [];
  for (let i = 0; i < 50; i++) {
    const plan = planIceberg(state, chain, context);
    if (plan.action !== 'DDL' && plan.action !== 'MERGE') return { state, statements };
    const claim: IcebergClaim = {
      ...plan.statement,
      executionId: context.executionId,
      token: queryToken('f', plan.statement, 0),
      attempt: 0,
      startedAt: AT,
    };
    statements.push(`${claim.kind} ${epochTableName({ table: 't' }, claim.epoch, claim.generation ?? 0)}`);
    state = commitClaim(
      { ...state, epoch: claim.epoch, inProgress: claim },
      claim,
      {
        queryExecutionId: `q${i}`,
        dataScannedInBytes: 1,
      },
      context,
    );
    expect(parseIcebergState(JSON.stringify(state))).to.deep.equal(state);
  }
  throw new Error('did not settle');
}

const claimOf = (executionId: string, startedAt: string): IcebergClaim => ({
  executionId,
  kind: 'MERGE',
  epoch: EPOCH,
  fromSequence: 3,
  toSequence: 5,
  to: entry(5).to,
  token: 't',
  attempt: 0,
  startedAt,
});

describe("Iceberg feed: the operator's action (functions/iceberg/action.ts)", () => {
  const read = (value: string | null, version: number | null = 1) => ({ value, version });
  const ctx = { executionId: 'me', now: T0, leaseSeconds: 600 };

  it('Pulumi creates the cursor as {} and the action as RUN', () => {
    expect(initialIcebergParameterValues()).to.deep.equal({ state: '{}', action: 'RUN' });
  });

  it('RUN and a missing parameter run; PAUSE and a value that is no action pause, naming the resume command', () => {
    const state = initialIcebergState();
    expect(decideIcebergAction(state, read('RUN'), ctx)).to.deep.equal({ kind: 'RUN' });
    expect(decideIcebergAction(state, read(null, null), ctx)).to.deep.equal({ kind: 'RUN' });
    const paused = decideIcebergAction(state, read('PAUSE'), ctx);
    expect(paused.kind).to.equal('PAUSE');
    expect((paused as { reason: string }).reason).to.match(/dce iceberg resume/);
    expect(decideIcebergAction(state, read('STOP'), ctx)).to.deep.include({ kind: 'PAUSE' });
  });

  it('property: a REBUILD is carried out exactly once per version, and waits for another live claim', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.option(fc.integer({ min: 1, max: 50 }), { nil: undefined }),
        fc.boolean(),
        fc.integer({ min: 0, max: 1200 }),
        (version, carriedOut, ownClaim, claimAge) => {
          const state: IcebergFeedState = {
            ...initialIcebergState(),
            ...(carriedOut !== undefined ? { rebuildVersion: carriedOut } : {}),
            inProgress: claimOf(ownClaim ? 'me' : 'other', new Date((T0 - claimAge) * 1000).toISOString()),
          };
          const decided = decideIcebergAction(state, read('REBUILD', version), ctx);
          if (carriedOut === version) expect(decided).to.deep.equal({ kind: 'RUN' });
          else if (!ownClaim && claimAge < 600) expect(decided.kind).to.equal('REBUILD_WAITS');
          else {
            expect(decided).to.deep.equal({ kind: 'REBUILD', version });
            // Once written, the same version is done.
            const after = rebuiltIcebergState(state, version, AT);
            expect(decideIcebergAction(after, read('REBUILD', version), ctx)).to.deep.equal({ kind: 'RUN' });
          }
        },
      ),
    );
  });

  it('a rebuild builds the same lake on a new table generation, and swaps the view only once it has merged as far as the old table', () => {
    const chain = chainOf(6);
    const done = drive(initialIcebergState(), chain).state;
    expect(done).to.include({ lastAppliedSequence: 6, viewEpoch: EPOCH });
    const rebuilt = rebuiltIcebergState({ ...done, status: 'HALTED', halt: null }, 7, AT);
    expect(rebuilt).to.include({
      status: 'ACTIVE',
      epoch: null,
      generation: 7,
      rebuildVersion: 7,
      viewEpoch: EPOCH,
    });
    expect(rebuilt.viewGeneration).to.equal(0);
    const { state, statements } = drive(rebuilt, chain);
    expect(statements).to.deep.equal([
      'CREATE_TABLE t__e20261103t000000z_r7',
      'MERGE t__e20261103t000000z_r7',
      'MERGE t__e20261103t000000z_r7',
      // Not after the full export alone: the old table had merged up to sequence 6.
      'VIEW t__e20261103t000000z_r7',
    ]);
    expect(state).to.include({ lastAppliedSequence: 6, watermark: done.watermark, viewGeneration: 7 });
  });

  it("a new epoch keeps the operator's last rebuild (else it would be carried out again) and the view", () => {
    const state: IcebergFeedState = {
      ...initialIcebergState(),
      epoch: EPOCH,
      rebuildVersion: 4,
      viewEpoch: EPOCH,
      viewGeneration: 4,
      generation: 4,
    };
    const next = startedOverState(state, '20261104T000000Z', AT);
    expect(next).to.include({
      epoch: '20261104T000000Z',
      rebuildVersion: 4,
      viewEpoch: EPOCH,
      viewGeneration: 4,
    });
    expect(next.generation).to.equal(undefined);
    expect(decideIcebergAction(next, read('REBUILD', 4), ctx)).to.deep.equal({ kind: 'RUN' });
  });

  it('the status follows the action, except for a halted feed; unchanged is the same object (nothing written)', () => {
    const active = initialIcebergState();
    const paused = withActionStatus(active, true, AT);
    expect(paused.status).to.equal('PAUSED');
    expect(withActionStatus(paused, true, AT)).to.equal(paused);
    expect(withActionStatus(paused, false, AT).status).to.equal('ACTIVE');
    expect(withActionStatus(active, false, AT)).to.equal(active);
    const halted: IcebergFeedState = { ...active, status: 'HALTED' };
    expect(withActionStatus(halted, true, AT)).to.equal(halted);
  });

  it('a cursor written before these fields existed still parses; generation 0 keeps its old table name and tokens', () => {
    const old = { ...initialIcebergState() } as Record<string, unknown>;
    expect(parseIcebergState(JSON.stringify(old))).to.deep.equal(old);
    expect(epochTableName({ table: 't' }, EPOCH)).to.equal('t__e20261103t000000z');
    expect(epochTableName({ table: 't' }, EPOCH, 3)).to.equal('t__e20261103t000000z_r3');
    expect(() => epochTableName({ table: 't' }, EPOCH, -1)).to.throw(/generation/);
    const statement = { kind: 'MERGE' as const, epoch: EPOCH, fromSequence: 1, toSequence: 2 };
    expect(queryToken('f', { ...statement, generation: 0 }, 0)).to.equal(queryToken('f', statement, 0));
    expect(queryToken('f', { ...statement, generation: 2 }, 0)).to.not.equal(queryToken('f', statement, 0));
  });
});

describe('Iceberg feed: lag and metrics (functions/iceberg/lag.ts, functions/shared/emf.ts)', () => {
  it("property: the lag is the chain's watermark minus the lake's, never negative", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 40 }), (head, lake) => {
        const chain = chainOf(head);
        const state = { watermark: entry(lake).to };
        expect(icebergLagSeconds(state, chain)).to.equal(Math.max(0, (head - lake) * 900));
      }),
    );
  });

  it("a lake halted on an old epoch lags behind the new epoch's HEAD, growing as the chain goes on", () => {
    const newHead = (hours: number) => ({
      head: { lastSequence: 0, watermark: new Date((T0 + 86_400 + hours * 3600) * 1000).toISOString() },
      entries: [],
    });
    const lake = { watermark: entry(4).to };
    expect(icebergLagSeconds(lake, newHead(0))).to.equal(86_400 - 4 * 900);
    expect(icebergLagSeconds(lake, newHead(5))).to.equal(86_400 + 5 * 3600 - 4 * 900);
  });

  it('an empty lake counts from the full export; a chain without HEAD leaves no lag', () => {
    expect(icebergLagSeconds({ watermark: null }, chainOf(4))).to.equal(4 * 900);
    expect(icebergLagSeconds({ watermark: null }, { entries: [] })).to.equal(0);
  });

  it('records carry the table and the view as dimensions, with the names the alarm uses', () => {
    const lag = icebergMetricRecord(
      undefined,
      { table: 'orders', view: 'lake.orders' },
      { lagSeconds: 60 },
      1,
    );
    expect(lag).to.deep.include({
      Table: 'orders',
      IcebergTable: 'lake.orders',
      [ICEBERG_METRICS.icebergLagSeconds]: 60,
    });
    const bytes = icebergMetricRecord(
      'NS',
      { table: 'orders', view: 'lake.orders' },
      { dataScannedInBytes: 5 },
      1,
    );
    const cw = (bytes._aws as { CloudWatchMetrics: { Namespace: string; Metrics: unknown[] }[] })
      .CloudWatchMetrics[0];
    expect(cw.Namespace).to.equal('NS');
    expect(cw.Metrics).to.deep.equal([{ Name: 'DataScannedInBytes', Unit: 'Bytes' }]);
  });
});
