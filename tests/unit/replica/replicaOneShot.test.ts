/**
 * A one-shot restore execution of the replica machinery (functions/replica/oneShot.ts): the execution
 * input's stop point, and the planner applying the chain up to it, never past it.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { oneShotInput } from '../../../functions/replica/oneShot';
import { planReplica, type ChainView } from '../../../functions/replica/planner';
import { initialReplicaState, type ReplicaState } from '../../../functions/replica/state';
import { PLAN_EPOCH as EPOCH, plannedEntry as entry, planContext } from '../../helpers/replicaPlans';

describe('one-shot restore execution (functions/replica/oneShot.ts, planner stopAtSequence)', () => {
  it('reads the stop point from the execution input; a scheduled input has none', () => {
    expect(oneShotInput({})).to.deep.equal({});
    expect(oneShotInput(undefined)).to.deep.equal({});
    expect(oneShotInput({ scheduledTime: 'x' })).to.deep.equal({});
    expect(oneShotInput({ restore: { stopAtSequence: 0 } })).to.deep.equal({ stopAtSequence: 0 });
    expect(oneShotInput({ restore: { stopAtSequence: 17 } })).to.deep.equal({ stopAtSequence: 17 });
    expect(oneShotInput({ restore: { stopAtSequence: 17, epoch: EPOCH } })).to.deep.equal({
      stopAtSequence: 17,
      epoch: EPOCH,
    });
    expect(() => oneShotInput({ restore: { stopAtSequence: 1, epoch: 'yesterday' } })).to.throw(
      /restore\.epoch: expected an epoch like 20261124T000000Z, got "yesterday"/,
    );
    for (const bad of [
      { restore: {} },
      { restore: 3 },
      { restore: { stopAtSequence: -1 } },
      { restore: { stopAtSequence: 1.5 } },
      { restore: { stopAtSequence: '4' } },
    ])
      expect(() => oneShotInput(bad), JSON.stringify(bad)).to.throw(
        /restore\.stopAtSequence: expected a whole number/,
      );
  });

  it('applies every entry up to the stop point once, in order, and none after it; then IDLE', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 3000 }), { minLength: 1, maxLength: 40 }),
        fc.nat(),
        fc.nat(),
        (counts, stopSeed, startSeed) => {
          const entries = counts.map((c, i) => entry(i, c));
          const head = entries.length - 1;
          const chain: ChainView = {
            currentEpoch: EPOCH,
            head: { lastSequence: head, watermark: entries[head].to },
            entries,
          };
          // A stop point anywhere, also past HEAD (the chain is followed up to HEAD then).
          const stop = stopSeed % (entries.length + 3);
          let state: ReplicaState = { ...initialReplicaState() };
          const start = (startSeed % (Math.min(stop, head) + 1)) - 1;
          if (start >= 0)
            state = {
              ...state,
              epoch: EPOCH,
              lastAppliedSequence: start,
              watermark: Date.parse(entries[start].to) / 1000,
            };
          const applied: number[] = [];
          for (let i = 0; i < 1000; i++) {
            const view = { ...chain, entries: entries.filter((e) => e.sequence > state.lastAppliedSequence) };
            const plan = planReplica(state, view, planContext({ stopAtSequence: stop }));
            if (plan.action !== 'APPLY_GROUP' && plan.action !== 'APPLY_DISTRIBUTED') {
              expect(plan.action).to.equal('IDLE');
              if (stop <= head) expect((plan as { reason: string }).reason).to.match(/restore point reached/);
              break;
            }
            const planned = plan.action === 'APPLY_GROUP' ? plan.entries : [plan.entry];
            applied.push(...planned.map((e) => e.sequence));
            const last = planned[planned.length - 1];
            state = {
              ...state,
              epoch: plan.epoch,
              lastAppliedSequence: last.sequence,
              watermark: Date.parse(last.to) / 1000,
            };
          }
          const until = Math.min(stop, head);
          expect(applied).to.deep.equal(Array.from({ length: until - start }, (_, k) => start + 1 + k));
        },
      ),
    );
  });

  it("while the chain's live epoch is another than the point's, a one-shot execution rebaselines, halts and applies nothing", () => {
    const entries = [0, 1, 2].map((i) => entry(i));
    const state: ReplicaState = {
      ...initialReplicaState(),
      epoch: EPOCH,
      lastAppliedSequence: 1,
      watermark: Date.parse(entries[1].to) / 1000,
    };
    const moved: ChainView = {
      currentEpoch: '20261201T000000Z',
      head: { lastSequence: 0, watermark: entries[0].to },
      entries: [],
    };
    for (const onNewEpoch of ['rebaseline', 'halt'] as const) {
      // A scheduled execution starts over or halts; the one-shot restore of EPOCH does neither.
      expect(planReplica(state, moved, planContext({ onNewEpoch })).action).to.be.oneOf([
        'REBASELINE',
        'HALT',
      ]);
      expect(
        planReplica(state, moved, planContext({ onNewEpoch, stopAtSequence: 2, stopInEpoch: EPOCH })),
      ).to.deep.equal({
        action: 'IDLE',
        reason: `the chain's live epoch is 20261201T000000Z, the restore point is in epoch ${EPOCH}: a one-shot restore applies, halts and rebaselines nothing`,
      });
    }
  });

  it('a replica already past the stop point applies nothing and says so', () => {
    const entries = [0, 1, 2, 3].map((i) => entry(i));
    const state: ReplicaState = {
      ...initialReplicaState(),
      epoch: EPOCH,
      lastAppliedSequence: 3,
      watermark: Date.parse(entries[3].to) / 1000,
    };
    const plan = planReplica(
      state,
      { currentEpoch: EPOCH, head: { lastSequence: 3, watermark: entries[3].to }, entries: [] },
      planContext({ stopAtSequence: 1 }),
    );
    expect(plan).to.deep.equal({
      action: 'IDLE',
      reason: 'restore point 1 is behind the replica, already at sequence 3: nothing applied',
    });
  });
});
