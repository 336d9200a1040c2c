/**
 * How work is split by records and by the write rate (functions/replica/workSizing.ts), and the
 * planner's use of it (functions/replica/planner.ts): groups capped by what the rate writes in one
 * invocation, an entry left part-way resumed alone, Distributed Map batches sized for one invocation
 * at the rate of the children that actually run.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { planReplica, type ChainView } from '../../../functions/replica/planner';
import { initialReplicaState, type ReplicaState } from '../../../functions/replica/state';
import {
  APPLY_BUDGET_SECONDS,
  EXPRESS_CHILD_BUDGET_SECONDS,
  MAX_CHILD_INVOCATIONS,
  MAX_MAP_CHILDREN,
  groupRecordCap,
  planDistributedWork,
} from '../../../functions/replica/workSizing';
import {
  PLAN_EPOCH as EPOCH,
  plannedEntry as entry,
  planContext as context,
} from '../../helpers/replicaPlans';

const files = (counts: number[]) =>
  counts.map((itemCount, i) => ({ itemCount, dataFileS3Key: `data/${i}.json.gz` }));

describe('replica work sizing (functions/replica/workSizing.ts)', () => {
  it('never runs more children than the rate allows in total, and sizes a batch of several files to one invocation at the child rate', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 2_000_000 }), { minLength: 1, maxLength: 300 }),
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.integer({ min: 1, max: 1_000 }),
        fc.boolean(),
        fc.option(fc.integer({ min: 1, max: 100_000 }), { nil: undefined }),
        (counts, rate, concurrency, standardOnly, maxBatchRecords) => {
          const planned = planDistributedWork({
            files: files(counts),
            maxWritesPerSecond: rate,
            concurrency,
            standardOnly,
            maxBatchRecords,
          });
          if (!planned.ok) {
            // Only when a batch needs more invocations than a child's history holds.
            expect(
              Math.max(...counts) / (rate / Math.min(concurrency, rate, counts.length)),
            ).to.be.greaterThan(MAX_CHILD_INVOCATIONS * APPLY_BUDGET_SECONDS * 0.99);
            return;
          }
          const w = planned.work;
          expect(w.children).to.be.within(1, Math.min(concurrency, Math.max(1, Math.floor(rate)), w.batches));
          // Together the children write at most the rate, each at least one write a second.
          expect(w.children * w.childWritesPerSecond).to.be.closeTo(rate, 1e-6 * rate);
          expect(w.childWritesPerSecond).to.be.at.least(1);
          expect(w.batches).to.equal(Math.ceil(counts.length / w.filesPerBatch));
          expect(w.batches).to.be.at.most(MAX_MAP_CHILDREN);
          if (w.filesPerBatch > 1) {
            expect(w.largestBatchRecords).to.be.at.most(w.childWritesPerSecond * APPLY_BUDGET_SECONDS);
            expect(w.largestBatchRecords).to.be.at.most(maxBatchRecords ?? Infinity);
          }
          expect(w.invocationsPerLargestBatch).to.be.at.most(MAX_CHILD_INVOCATIONS);
          const seconds = w.largestBatchRecords / w.childWritesPerSecond;
          expect(w.childType === 'EXPRESS').to.equal(
            !standardOnly && seconds <= EXPRESS_CHILD_BUDGET_SECONDS,
          );
          expect(w.budgetSeconds).to.equal(
            w.childType === 'EXPRESS' ? EXPRESS_CHILD_BUDGET_SECONDS : APPLY_BUDGET_SECONDS,
          );
        },
      ),
      { numRuns: 500 },
    );
  });

  it('at the defaults (1,000 writes/s, 10 children) a child invocation writes 60,000 items; a file of 150 million is the most one child applies', () => {
    const many = planDistributedWork({
      files: files(Array(100).fill(10_000)),
      maxWritesPerSecond: 1000,
      concurrency: 10,
      standardOnly: false,
    });
    expect(many.ok && many.work).to.include({ children: 10, childWritesPerSecond: 100, filesPerBatch: 6 });
    // One file alone: one child, at the whole rate.
    const one = planDistributedWork({
      files: files([5_000_000]),
      maxWritesPerSecond: 1000,
      concurrency: 10,
      standardOnly: false,
    });
    expect(one.ok && one.work).to.include({
      children: 1,
      childWritesPerSecond: 1000,
      invocationsPerLargestBatch: 9,
    });
    const largest = (n: number) =>
      planDistributedWork({
        files: files(Array(10).fill(n)),
        maxWritesPerSecond: 1000,
        concurrency: 10,
        standardOnly: false,
      }).ok;
    expect(largest(150_000_000)).to.equal(true);
    expect(largest(150_000_001)).to.equal(false);
  });

  it('a Map Run has at most 10,000 children however many data files', () => {
    const planned = planDistributedWork({
      files: files(Array(95_000).fill(1)),
      maxWritesPerSecond: 1000,
      concurrency: 1000,
      standardOnly: false,
    });
    expect(planned.ok && planned.work.batches).to.be.at.most(MAX_MAP_CHILDREN);
  });
});

describe('replica planner: groups by the write rate, entries resumed', () => {
  it('a group never holds more records than the rate writes in one invocation; a larger entry goes to the Distributed Map', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 5_000 }), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 20 }),
        (counts, rate) => {
          const chain: ChainView = {
            currentEpoch: EPOCH,
            head: { lastSequence: counts.length - 1, watermark: entry(counts.length - 1).to },
            entries: counts.map((c, i) => entry(i, c)),
          };
          const limits = { distributedMinItems: 100_000, groupMaxItems: 50_000, groupMaxEntries: 96 };
          let state: ReplicaState = initialReplicaState();
          for (let i = 0; i < 100; i++) {
            const plan = planReplica(state, chain, context({ limits, maxWritesPerSecond: rate }));
            if (plan.action === 'APPLY_GROUP') {
              const records = plan.entries.reduce((n, e) => n + e.itemCount, 0);
              expect(records).to.be.at.most(groupRecordCap(rate));
            } else if (plan.action === 'APPLY_DISTRIBUTED') {
              expect(plan.entry.itemCount).to.be.greaterThan(groupRecordCap(rate));
            } else break;
            const applied = plan.action === 'APPLY_GROUP' ? plan.entries : [plan.entry];
            const last = applied[applied.length - 1];
            state = {
              ...state,
              epoch: EPOCH,
              lastAppliedSequence: last.sequence,
              watermark: Date.parse(last.to) / 1000,
            };
          }
          expect(state.lastAppliedSequence).to.equal(counts.length - 1);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('an entry a grouped apply left part-way is applied alone next, from where it stopped', () => {
    const chain: ChainView = {
      currentEpoch: EPOCH,
      head: { lastSequence: 5, watermark: entry(5).to },
      entries: [3, 4, 5].map((s) => entry(s)),
    };
    const state: ReplicaState = {
      ...initialReplicaState(),
      epoch: EPOCH,
      lastAppliedSequence: 2,
      watermark: Date.parse(entry(2).to) / 1000,
      partial: { epoch: EPOCH, sequence: 3, file: 2, record: 75, at: Date.parse(entry(5).to) / 1000 },
    };
    expect(planReplica(state, chain, context())).to.deep.equal({
      action: 'APPLY_GROUP',
      epoch: EPOCH,
      entries: [entry(3)],
      resume: { file: 2, record: 75 },
    });
    // A position left in another epoch, or for an entry already applied, is ignored.
    for (const partial of [
      { ...state.partial!, epoch: 'other' },
      { ...state.partial!, sequence: 2 },
    ]) {
      const plan = planReplica({ ...state, partial }, chain, context());
      expect(plan).to.include({ action: 'APPLY_GROUP' });
      expect(plan).to.not.have.property('resume');
    }
  });
});
