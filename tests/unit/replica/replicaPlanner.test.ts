import { expect } from 'chai';
import {
  plannedEntry as entry,
  PLAN_EPOCH as EPOCH,
  PLAN_T0 as T0,
  planContext as context,
} from '../../helpers/replicaPlans';
import fc from 'fast-check';
import { planReplica, type ChainView, type PlanContext } from '../../../functions/replica/planner';
import { initialReplicaState, type ReplicaState } from '../../../functions/replica/state';

/** Applies plans until the replica is idle or halted; returns the sequences applied, in order. */
function runToRest(state: ReplicaState, chain: ChainView, ctx: PlanContext) {
  const applied: number[] = [];
  for (let step = 0; step < 10_000; step++) {
    const view = { ...chain, entries: chain.entries.filter((e) => e.sequence > state.lastAppliedSequence) };
    const plan = planReplica(state, view, ctx);
    if (plan.action === 'APPLY_GROUP' || plan.action === 'APPLY_DISTRIBUTED') {
      const entries = plan.action === 'APPLY_GROUP' ? plan.entries : [plan.entry];
      applied.push(...entries.map((e) => e.sequence));
      const last = entries[entries.length - 1];
      state = {
        ...state,
        epoch: plan.epoch,
        lastAppliedSequence: last.sequence,
        watermark: Date.parse(last.to) / 1000,
      };
      continue;
    }
    return { applied, plan, state };
  }
  throw new Error('no rest');
}

describe('replica planner (functions/replica/planner.ts)', () => {
  const chainArb = fc
    .record({
      counts: fc.array(fc.integer({ min: 0, max: 3000 }), { minLength: 1, maxLength: 60 }),
      missing: fc.option(fc.nat(), { nil: undefined }),
      headBack: fc.nat({ max: 3 }),
      startAt: fc.nat(),
    })
    .map(({ counts, missing, headBack, startAt }) => {
      const entries = counts.map((c, i) => entry(i, c));
      const lastSequence = Math.max(0, entries.length - 1 - headBack);
      const missingSeq = missing === undefined ? undefined : missing % entries.length;
      const chain: ChainView = {
        currentEpoch: EPOCH,
        head: { lastSequence, watermark: entries[lastSequence].to },
        entries: entries.filter((e) => e.sequence !== missingSeq),
      };
      const lastApplied = Math.min(startAt % (entries.length + 1), lastSequence + 1) - 1;
      return { chain, lastApplied, lastSequence, missingSeq };
    });

  it('applies every committed entry once, strictly in order, never skipping; halts at a missing one', () => {
    fc.assert(
      fc.property(chainArb, ({ chain, lastApplied, lastSequence, missingSeq }) => {
        const start: ReplicaState = {
          ...initialReplicaState(),
          epoch: lastApplied >= 0 ? EPOCH : null,
          lastAppliedSequence: lastApplied,
        };
        const { applied, plan } = runToRest(start, chain, context());
        const expected: number[] = [];
        for (let s = lastApplied + 1; s <= lastSequence; s++) {
          if (s === missingSeq) break;
          expected.push(s);
        }
        expect(applied).to.deep.equal(expected);
        const blocked = missingSeq !== undefined && missingSeq > lastApplied && missingSeq <= lastSequence;
        if (blocked) expect(plan).to.include({ action: 'HALT', reason: 'ENTRY_MISSING' });
        else expect(plan.action).to.equal('IDLE');
      }),
      { numRuns: 300 },
    );
  });

  it('groups consecutive small entries within the limits and sends a large entry alone to the Distributed Map', () => {
    fc.assert(
      fc.property(chainArb, ({ chain }) => {
        const limits = { distributedMinItems: 1000, groupMaxItems: 1500, groupMaxEntries: 5 };
        let state = initialReplicaState();
        for (;;) {
          const view = {
            ...chain,
            entries: chain.entries.filter((e) => e.sequence > state.lastAppliedSequence),
          };
          const plan = planReplica(state, view, context({ limits }));
          if (plan.action === 'APPLY_DISTRIBUTED') {
            expect(plan.entry.itemCount).to.be.at.least(1000);
            state = { ...state, epoch: EPOCH, lastAppliedSequence: plan.entry.sequence };
          } else if (plan.action === 'APPLY_GROUP') {
            expect(plan.entries.length).to.be.within(1, 5);
            plan.entries.forEach((e, i) => {
              expect(e.itemCount).to.be.below(1000);
              if (i > 0) expect(e.sequence).to.equal(plan.entries[i - 1].sequence + 1);
            });
            if (plan.entries.length > 1)
              expect(plan.entries.reduce((n, e) => n + e.itemCount, 0)).to.be.at.most(1500);
            state = {
              ...state,
              epoch: EPOCH,
              lastAppliedSequence: plan.entries[plan.entries.length - 1].sequence,
            };
          } else break;
        }
      }),
      { numRuns: 200 },
    );
  });

  it('halts on a new epoch with onNewEpoch halt, applying nothing of it; rebaselines when asked', () => {
    fc.assert(
      fc.property(
        chainArb,
        fc.constantFrom<'halt' | 'rebaseline'>('halt', 'rebaseline'),
        ({ chain }, onNewEpoch) => {
          const state: ReplicaState = {
            ...initialReplicaState(),
            epoch: '20261101T000000Z',
            lastAppliedSequence: 40,
          };
          const plan = planReplica(state, chain, context({ onNewEpoch }));
          if (onNewEpoch === 'halt') {
            expect(plan).to.include({ action: 'HALT', reason: 'NEW_EPOCH' });
          } else {
            expect(plan).to.deep.equal({
              action: 'REBASELINE',
              fromEpoch: '20261101T000000Z',
              toEpoch: EPOCH,
            });
          }
        },
      ),
      { numRuns: 50 },
    );
  });

  it('a halted replica stays halted whatever the chain holds (the alert is not repeated)', () => {
    const state: ReplicaState = {
      ...initialReplicaState(),
      status: 'HALTED',
      halt: { reason: 'FILES_MISSING', detail: 'x', at: T0, epoch: EPOCH },
    };
    const chain: ChainView = {
      currentEpoch: EPOCH,
      head: { lastSequence: 3, watermark: entry(3, 1).to },
      entries: [0, 1, 2, 3].map((s) => entry(s, 1)),
    };
    expect(planReplica(state, chain, context())).to.deep.equal({ action: 'HALTED', reason: 'FILES_MISSING' });
  });

  it('leaves a replica alone while another execution holds it, and takes over once the lease is over', () => {
    const startedAt = T0;
    const state: ReplicaState = {
      ...initialReplicaState(),
      inProgress: { executionId: 'exec-0', sequences: [0], mode: 'group', startedAt },
    };
    const chain: ChainView = {
      currentEpoch: EPOCH,
      head: { lastSequence: 0, watermark: entry(0, 1).to },
      entries: [entry(0, 1)],
    };
    expect(planReplica(state, chain, context({ now: T0 + 60 }))).to.deep.equal({
      action: 'BUSY',
      executionId: 'exec-0',
    });
    expect(planReplica(state, chain, context({ now: T0 + 1800 })).action).to.equal('APPLY_GROUP');
    expect(planReplica(state, chain, context({ now: T0 + 60, executionId: 'exec-0' })).action).to.equal(
      'APPLY_GROUP',
    );
  });

  it('a Distributed Map claim holds for a day, however long the Map runs', () => {
    const startedAt = T0;
    const state: ReplicaState = {
      ...initialReplicaState(),
      inProgress: { executionId: 'exec-0', sequences: [0], mode: 'distributed', startedAt },
    };
    const chain: ChainView = {
      currentEpoch: EPOCH,
      head: { lastSequence: 0, watermark: entry(0, 1).to },
      entries: [entry(0, 1)],
    };
    expect(planReplica(state, chain, context({ now: T0 + 6 * 3600 })).action).to.equal('BUSY');
    expect(planReplica(state, chain, context({ now: T0 + 86_400 })).action).to.equal('APPLY_GROUP');
  });

  it('is idle before the first commit, and starts an import bootstrap from the full export', () => {
    expect(
      planReplica(initialReplicaState(), { currentEpoch: EPOCH, entries: [] }, context()).action,
    ).to.equal('IDLE');
    const chain: ChainView = {
      currentEpoch: EPOCH,
      head: { lastSequence: 0, watermark: entry(0, 1).to },
      entries: [entry(0, 1)],
    };
    expect(planReplica(initialReplicaState(), chain, context({ bootstrap: 'import' }))).to.deep.equal({
      action: 'START_IMPORT',
      epoch: EPOCH,
      entry: entry(0, 1),
    });
    // A write bootstrap of the same chain writes the full export instead.
    expect(planReplica(initialReplicaState(), chain, context()).action).to.equal('APPLY_GROUP');
  });

  it('checks an import in flight whatever the chain does, but not when halted or paused', () => {
    const inFlight = {
      importArn: 'arn:aws:dynamodb:eu-west-1:123456789012:table/copy/import/01',
      clientToken: 't',
      exportArn: entry(0, 1).exportArn,
      epoch: EPOCH,
      sequence: 0,
      watermark: Date.parse(entry(0, 1).to) / 1000,
      itemCount: 1,
      startedAt: T0,
    };
    const state: ReplicaState = { ...initialReplicaState(), import: inFlight };
    const chains: ChainView[] = [
      {
        currentEpoch: EPOCH,
        head: { lastSequence: 3, watermark: entry(3, 1).to },
        entries: [0, 1, 2, 3].map((s) => entry(s, 1)),
      },
      // The chain moved to a new epoch meanwhile: the import still decides first.
      { currentEpoch: '20261104T010000Z', entries: [] },
    ];
    for (const chain of chains) {
      expect(planReplica(state, chain, context({ bootstrap: 'import' }))).to.deep.equal({
        action: 'CHECK_IMPORT',
        import: inFlight,
      });
    }
    expect(
      planReplica({ ...state, status: 'PAUSED' }, chains[0], context({ bootstrap: 'import' })).action,
    ).to.equal('IDLE');
    expect(
      planReplica({ ...state, status: 'HALTED' }, chains[0], context({ bootstrap: 'import' })).action,
    ).to.equal('HALTED');
    // Once it completed (epoch set, import cleared), the incrementals follow by the ordinary path.
    const imported: ReplicaState = {
      ...initialReplicaState(),
      epoch: EPOCH,
      lastAppliedSequence: 0,
      watermark: Date.parse(entry(0, 1).to) / 1000,
    };
    expect(
      planReplica(
        imported,
        { ...chains[0], entries: chains[0].entries.slice(1) },
        context({ bootstrap: 'import' }),
      ),
    ).to.deep.include({
      action: 'APPLY_GROUP',
      epoch: EPOCH,
    });
  });

  it('never halts with IMPORT_NOT_RUN any more, for any chain', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 3000 }), { minLength: 1, maxLength: 20 }), (counts) => {
        const entries = counts.map((c, i) => entry(i, c));
        const chain: ChainView = {
          currentEpoch: EPOCH,
          head: { lastSequence: entries.length - 1, watermark: entries[entries.length - 1].to },
          entries,
        };
        const plan = planReplica(initialReplicaState(), chain, context({ bootstrap: 'import' }));
        expect(plan.action).to.equal('START_IMPORT');
        expect(plan.action === 'START_IMPORT' && plan.entry.sequence).to.equal(0);
      }),
    );
  });
});
