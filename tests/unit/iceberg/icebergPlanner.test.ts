import { expect } from 'chai';
import fc from 'fast-check';
import {
  IcebergCommitConflict,
  MAX_QUERY_ATTEMPTS,
  commitClaim,
  failClaim,
  failureText,
  planIceberg,
  type IcebergChainView,
  type IcebergPlanContext,
} from '../../../functions/iceberg/planner';
import { queryToken } from '../../../functions/iceberg/feed';
import { rebuiltIcebergState } from '../../../functions/iceberg/action';
import { MAX_ICEBERG_COLUMNS } from '../../../components/config/iceberg';
import {
  initialIcebergState,
  parseIcebergState,
  type IcebergClaim,
  type IcebergFeedState,
} from '../../../functions/iceberg/state';
import { ICEBERG_EPOCH, ICEBERG_T0, icebergChainOf, icebergEntry } from '../../helpers/icebergChain';

const EPOCH = ICEBERG_EPOCH;
const T0 = ICEBERG_T0;

const entry = icebergEntry;
const chainOf = icebergChainOf;

const CONTEXT: IcebergPlanContext = {
  executionId: 'x1',
  now: T0 + 86_400,
  leaseSeconds: 1800,
  onNewEpoch: 'rebuild',
  mergeEveryMinutes: 60,
  maxExportsPerMerge: 4,
  columns: ['status'],
};

/** Plans and commits (every query succeeding) until the plan is no longer a statement. */
function drive(state: IcebergFeedState, chain: IcebergChainView, context = CONTEXT) {
  const statements: string[] = [];
  for (let i = 0; i < 1000; i++) {
    const plan = planIceberg(state, chain, context);
    if (plan.action !== 'DDL' && plan.action !== 'MERGE') return { state, plan, statements };
    const claim: IcebergClaim = {
      ...plan.statement,
      executionId: context.executionId,
      token: queryToken('f', plan.statement, 0),
      attempt: 0,
      startedAt: new Date(context.now * 1000).toISOString(),
    };
    state = { ...state, epoch: claim.epoch, inProgress: claim };
    if (plan.action === 'MERGE') {
      expect(plan.entries[0].sequence).to.equal(state.lastAppliedSequence + 1);
      expect(plan.entries.length).to.be.at.most(context.maxExportsPerMerge);
      plan.entries.forEach((e, j) => expect(e.sequence).to.equal(plan.entries[0].sequence + j));
      if (plan.entries.some((e) => e.type === 'FULL')) expect(plan.entries).to.have.length(1);
    }
    statements.push(plan.action === 'MERGE' ? `MERGE ${claim.fromSequence}-${claim.toSequence}` : claim.kind);
    state = commitClaim(state, claim, { queryExecutionId: `q${i}`, dataScannedInBytes: 1 }, context);
    expect(parseIcebergState(JSON.stringify(state))).to.deep.equal(state);
  }
  throw new Error('did not settle');
}

describe('Iceberg feed planner (functions/iceberg/planner.ts)', () => {
  it('creates the table, bootstraps, swaps the view, then merges up to maxExportsPerMerge at a time in order', () => {
    const { state, plan, statements } = drive(initialIcebergState(), chainOf(6));
    expect(statements).to.deep.equal(['CREATE_TABLE', 'MERGE 0-0', 'VIEW', 'MERGE 1-4']);
    expect(plan).to.deep.include({ action: 'IDLE' });
    expect(state).to.include({ lastAppliedSequence: 4, viewEpoch: EPOCH, tableCreated: true });
    // mergeEveryMinutes later, the rest.
    const later = drive(state, chainOf(6), { ...CONTEXT, now: CONTEXT.now + 3600 });
    expect(later.statements).to.deep.equal(['MERGE 5-6']);
  });

  it('any chain, batch size and starting point: merges reach HEAD in order, never past it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 1, max: 10 }), (last, k) => {
        let state = initialIcebergState();
        let now = CONTEXT.now;
        for (let round = 0; round < 60 && state.lastAppliedSequence < last; round++) {
          state = drive(state, chainOf(last), { ...CONTEXT, maxExportsPerMerge: k, now }).state;
          now += 3600;
        }
        expect(state.lastAppliedSequence).to.equal(last);
        expect(state.watermark).to.equal(entry(last).to);
      }),
      { numRuns: 50 },
    );
  });

  it('one execution runs at most the columns the config gained + 4 statements (its history stays bounded)', () => {
    // docs/iceberg.md "Limits": the table, the bootstrap, the view and one batch, plus one ADD COLUMNS
    // per projection gained; the config allows MAX_ICEBERG_COLUMNS. A view rebuilt after added columns
    // takes the place of the table and the bootstrap, which a cursor with a view has run already.
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: MAX_ICEBERG_COLUMNS }),
        fc.integer({ min: 0, max: MAX_ICEBERG_COLUMNS }),
        fc.integer({ min: 0, max: 300 }),
        fc.integer({ min: -1, max: 300 }),
        fc.integer({ min: 1, max: 200 }),
        (total, known, last, applied, k) => {
          const columns = Array.from({ length: total }, (_, i) => `c${i}`);
          const fresh = initialIcebergState();
          const state: IcebergFeedState =
            applied < 0
              ? fresh
              : {
                  ...fresh,
                  epoch: EPOCH,
                  tableCreated: true,
                  columns: columns.slice(0, Math.min(known, total)),
                  lastAppliedSequence: Math.min(applied, last),
                  viewEpoch: EPOCH,
                };
          const gained = applied < 0 ? 0 : total - Math.min(known, total);
          const run = drive(state, chainOf(last), { ...CONTEXT, columns, maxExportsPerMerge: k });
          expect(run.statements.length).to.be.at.most(gained + 4);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('adds a column the config gained, once, then rebuilds the view so that readers see it', () => {
    const { state } = drive(initialIcebergState(), chainOf(2));
    expect(state.viewColumns).to.deep.equal(['status']);
    const gained = { ...CONTEXT, columns: ['status', 'amount'] };
    const run = drive(state, chainOf(2), gained);
    expect(run.statements).to.deep.equal(['ADD_COLUMN', 'VIEW']);
    expect(run.state).to.deep.include({ columns: ['status', 'amount'], viewColumns: ['status', 'amount'] });
    expect(drive(run.state, chainOf(2), gained).statements).to.deep.equal([]);
  });

  it("the view is planned again whenever its columns differ from the config's, with a token of its own", () => {
    const { state } = drive(initialIcebergState(), chainOf(2));
    const first = planIceberg({ ...state, viewEpoch: null }, chainOf(2), CONTEXT);
    const gained = { ...CONTEXT, columns: ['status', 'amount'] };
    const again = planIceberg({ ...state, columns: ['status', 'amount'] }, chainOf(2), gained);
    expect(again).to.deep.equal({
      action: 'DDL',
      statement: { kind: 'VIEW', epoch: EPOCH, columns: ['status', 'amount'] },
    });
    if (first.action !== 'DDL' || again.action !== 'DDL') throw new Error('expected DDL');
    // Athena answers a known ClientRequestToken with the query already run: the new view needs its own.
    expect(queryToken('f', again.statement, 0)).to.not.equal(queryToken('f', first.statement, 0));
    // A column the config dropped leaves the view too (the table keeps it).
    const dropped = planIceberg({ ...state, columns: ['status', 'amount'] }, chainOf(2), {
      ...CONTEXT,
      columns: [],
    });
    expect(dropped).to.deep.include({ action: 'DDL' });
  });

  it('a cursor written before viewColumns existed rebuilds its view once, then goes on', () => {
    const { state } = drive(initialIcebergState(), chainOf(2));
    const { viewColumns, ...older } = state;
    expect(viewColumns).to.deep.equal(['status']);
    const parsed = parseIcebergState(JSON.stringify(older));
    expect(parsed.viewColumns).to.equal(undefined);
    const run = drive(parsed, chainOf(3), { ...CONTEXT, now: CONTEXT.now + 7200 });
    expect(run.statements).to.deep.equal(['VIEW', 'MERGE 3-3']);
    expect(run.state.viewColumns).to.deep.equal(['status']);
  });

  it('after a rebuild within the live epoch, the view stays on the old table until the new one has merged as far', () => {
    const context = { ...CONTEXT, maxExportsPerMerge: 4 };
    const at = new Date(CONTEXT.now * 1000).toISOString();
    const old: IcebergFeedState = {
      ...initialIcebergState(),
      epoch: EPOCH,
      tableCreated: true,
      columns: ['status'],
      lastAppliedSequence: 10,
      watermark: entry(10).to,
      viewEpoch: EPOCH,
      viewColumns: ['status'],
      lastMergeAt: new Date((CONTEXT.now - 60) * 1000).toISOString(),
    };
    const chain = chainOf(12);
    let run = drive(rebuiltIcebergState(old, 3, at), chain, context);
    // The full export alone is older than what the readers see: no VIEW yet.
    expect(run.statements).to.deep.equal(['CREATE_TABLE', 'MERGE 0-0', 'MERGE 1-4']);
    expect(run.state).to.deep.include({ viewEpoch: EPOCH, viewGeneration: 0, viewSequence: 10 });
    run = drive(run.state, chain, { ...context, now: CONTEXT.now + 3600 });
    expect(run.statements).to.deep.equal(['MERGE 5-8']);
    run = drive(run.state, chain, { ...context, now: CONTEXT.now + 7200 });
    // Past sequence 10: the view moves to the new table, which nothing holds any longer.
    expect(run.statements).to.deep.equal(['MERGE 9-12', 'VIEW']);
    expect(run.state).to.deep.include({ viewGeneration: 3, lastAppliedSequence: 12 });
    expect(run.state.viewSequence).to.equal(undefined);
    // A rebuild onto another epoch than the view's swaps as soon as the new table holds its full export.
    const elsewhere = rebuiltIcebergState(
      { ...old, epoch: '20261001T000000Z', viewEpoch: '20261001T000000Z' },
      4,
      at,
    );
    expect(elsewhere.viewSequence).to.equal(10);
    expect(drive(elsewhere, chain, context).statements).to.deep.equal([
      'CREATE_TABLE',
      'MERGE 0-0',
      'VIEW',
      'MERGE 1-4',
    ]);
  });

  it('halts on a missing entry below HEAD, and on a new epoch with onNewEpoch halt; rebuilds otherwise', () => {
    const { state } = drive(initialIcebergState(), chainOf(1));
    expect(planIceberg(state, chainOf(4, [2]), CONTEXT)).to.deep.include({
      action: 'HALT',
      reason: 'ENTRY_MISSING',
    });
    const moved = { ...chainOf(1), currentEpoch: '20261201T000000Z' };
    expect(planIceberg(state, moved, { ...CONTEXT, onNewEpoch: 'halt' })).to.deep.include({
      action: 'HALT',
      reason: 'NEW_EPOCH',
    });
    expect(planIceberg(state, moved, CONTEXT)).to.deep.equal({
      action: 'REBUILD',
      fromEpoch: EPOCH,
      toEpoch: '20261201T000000Z',
    });
    expect(planIceberg({ ...state, status: 'HALTED' }, chainOf(3), CONTEXT).action).to.equal('HALTED');
  });

  it("leaves another execution's live claim alone, and takes over an expired one with the same batch (same token)", () => {
    const { state } = drive(initialIcebergState(), chainOf(1));
    const stateAt = { ...state, lastMergeAt: null };
    const plan = planIceberg(stateAt, chainOf(3), CONTEXT);
    if (plan.action !== 'MERGE') throw new Error('expected a merge');
    const claim: IcebergClaim = {
      ...plan.statement,
      executionId: 'other',
      token: 't',
      attempt: 2,
      startedAt: new Date(CONTEXT.now * 1000).toISOString(),
    };
    const claimed = { ...stateAt, inProgress: claim };
    expect(planIceberg(claimed, chainOf(9), CONTEXT)).to.deep.equal({ action: 'BUSY', executionId: 'other' });
    const later = planIceberg(claimed, chainOf(9), { ...CONTEXT, now: CONTEXT.now + 1800 });
    expect(later).to.deep.include({ action: 'MERGE', statement: plan.statement });
  });

  it('a commit is a compare-and-set: a foreign claim conflicts, a repeated commit changes nothing', () => {
    const { state } = drive(initialIcebergState(), chainOf(0));
    const claim: IcebergClaim = {
      kind: 'MERGE',
      epoch: EPOCH,
      fromSequence: 0,
      toSequence: 0,
      to: entry(0).to,
      executionId: 'x1',
      token: 'tok',
      attempt: 0,
      startedAt: '',
    };
    // Already committed (the state moved past it): a repeated commit is a no-op.
    expect(commitClaim(state, claim, { queryExecutionId: 'q', dataScannedInBytes: 0 }, CONTEXT)).to.equal(
      state,
    );
    const behind = {
      ...state,
      lastAppliedSequence: 3,
      inProgress: { ...claim, fromSequence: 2, toSequence: 5 },
    };
    expect(() =>
      commitClaim(
        behind,
        { ...claim, fromSequence: 2, toSequence: 5 },
        { queryExecutionId: 'q', dataScannedInBytes: 0 },
        CONTEXT,
      ),
    ).to.throw(IcebergCommitConflict, /cursor is at 3/);
    expect(() =>
      commitClaim(
        { ...state, inProgress: { ...claim, token: 'mine' } },
        claim,
        { queryExecutionId: 'q', dataScannedInBytes: 0 },
        CONTEXT,
      ),
    ).to.throw(IcebergCommitConflict);
  });

  it('a retryable failure backs off with a new attempt; too many, or any other failure, halts', () => {
    const claim: IcebergClaim = {
      kind: 'VIEW',
      epoch: EPOCH,
      executionId: 'x1',
      token: 't',
      attempt: 0,
      startedAt: '',
    };
    let state: IcebergFeedState = { ...initialIcebergState(), inProgress: claim };
    const waits: number[] = [];
    for (let i = 0; i < MAX_QUERY_ATTEMPTS - 1; i++) {
      const out = failClaim(
        state,
        state.inProgress!,
        'States.TaskFailed: ICEBERG_COMMIT_ERROR: conflict',
        T0,
      );
      waits.push(out.retryInSeconds!);
      state = out.state;
    }
    expect(waits).to.deep.equal([30, 60, 120, 240]);
    expect(queryToken('f', state.inProgress!, state.inProgress!.attempt)).not.to.equal(
      queryToken('f', claim, 0),
    );
    const last = failClaim(state, state.inProgress!, 'ICEBERG_COMMIT_ERROR', T0);
    expect(last.state.status).to.equal('HALTED');
    const bad = failClaim({ ...initialIcebergState(), inProgress: claim }, claim, 'HIVE_BAD_DATA: x', T0);
    expect(bad.retryInSeconds).to.equal(undefined);
    expect(bad.state.halt).to.include({ reason: 'QUERY_FAILED', alerted: false });
    expect(
      failureText({
        Error: 'States.TaskFailed',
        Cause: JSON.stringify({ QueryExecution: { Status: { StateChangeReason: 'R' } } }),
      }),
    ).to.equal('States.TaskFailed: R');
  });
});
