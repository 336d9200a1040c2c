/**
 * The operator's action on a replica (functions/replica/action.ts), as pure decisions: PAUSE applies
 * nothing new, RUN is normal, REBUILD is carried out once per parameter version and never over another
 * execution's live claim.
 */
import { expect } from 'chai';
import { plannedEntry as entry, PLAN_EPOCH as EPOCH, PLAN_T0 as T0, isoAt } from '../../helpers/replicaPlans';
import fc from 'fast-check';
import {
  decideReplicaAction,
  initialReplicaParameterValues,
  isPendingRebuild,
  rebuiltReplicaState,
  type ReplicaActionRead,
} from '../../../functions/replica/action';
import { planReplica, type ChainView } from '../../../functions/replica/planner';
import { replicaActionParameterName } from '../../../functions/shared/names';
import { initialReplicaState, parseReplicaState, type ReplicaState } from '../../../functions/replica/state';

const NOW = T0 + 86_400;
const LEASE = 1800;
const ctx = { executionId: 'exec-me', now: NOW, leaseSeconds: LEASE };

const chain: ChainView = {
  currentEpoch: EPOCH,
  head: { lastSequence: 40, watermark: isoAt(T0 + 40 * 900) },
  entries: Array.from({ length: 41 }, (_, i) => entry(i)),
};

/** Any replica state: status, progress, a claim of any age by this or another execution, a rebuild version. */
const stateArb: fc.Arbitrary<ReplicaState> = fc
  .record({
    status: fc.constantFrom('ACTIVE' as const, 'HALTED' as const, 'PAUSED' as const),
    last: fc.integer({ min: -1, max: 30 }),
    claim: fc.option(
      fc.record({
        mine: fc.boolean(),
        age: fc.integer({ min: 0, max: 2 * 86_400 }),
        mode: fc.constantFrom('group' as const, 'distributed' as const),
      }),
    ),
    rebuildVersion: fc.option(fc.integer({ min: 1, max: 6 })),
  })
  .map(({ status, last, claim, rebuildVersion }) => ({
    ...initialReplicaState(),
    status,
    epoch: last >= 0 ? EPOCH : null,
    lastAppliedSequence: last,
    watermark: last >= 0 ? T0 + last * 900 : null,
    inProgress: claim
      ? {
          executionId: claim.mine ? 'exec-me' : 'exec-other',
          sequences: [last + 1],
          mode: claim.mode,
          startedAt: NOW - claim.age,
        }
      : null,
    halt:
      status === 'HALTED' ? { reason: 'FILES_MISSING' as const, detail: 'gone', at: T0, epoch: EPOCH } : null,
    ...(rebuildVersion === null ? {} : { rebuildVersion }),
  }));

const actionArb: fc.Arbitrary<ReplicaActionRead> = fc.record({
  value: fc.constantFrom('RUN', 'PAUSE', 'REBUILD', ' PAUSE\n', 'STOP', null),
  version: fc.integer({ min: 1, max: 6 }),
});

const otherLiveClaim = (s: ReplicaState) => {
  const c = s.inProgress;
  if (!c || c.executionId === 'exec-me') return false;
  const lease = c.mode === 'distributed' ? 86_400 : LEASE;
  return NOW - c.startedAt < lease;
};

describe('replica action rule (functions/replica/action.ts)', () => {
  it('PAUSE (or a value that is not an action) plans nothing new: IDLE with the reason, or HALTED', () => {
    fc.assert(
      fc.property(stateArb, fc.constantFrom('PAUSE', ' PAUSE\n', 'STOP'), (state, value) => {
        const decided = decideReplicaAction(state, { value, version: 3 }, ctx);
        expect(decided.kind).to.equal('PAUSE');
        if (decided.kind !== 'PAUSE') return;
        const plan = planReplica(state, chain, {
          onNewEpoch: 'halt',
          bootstrap: 'write',
          ...ctx,
          pausedBecause: decided.reason,
        });
        if (state.status === 'HALTED') expect(plan.action).to.equal('HALTED');
        else expect(plan).to.deep.equal({ action: 'IDLE', reason: decided.reason });
      }),
    );
  });

  it('RUN (and a missing parameter) runs, except a state paused by an earlier release before the operator writes', () => {
    fc.assert(
      fc.property(stateArb, fc.option(fc.integer({ min: 1, max: 6 })), (state, version) => {
        const read = version === null ? { value: null, version: null } : { value: 'RUN', version };
        const legacy = state.status === 'PAUSED' && (version === null || version <= 1);
        expect(decideReplicaAction(state, read, ctx).kind).to.equal(legacy ? 'PAUSE' : 'RUN');
      }),
    );
  });

  it("REBUILD version V: carried out unless the state records V; waits for another execution's live claim", () => {
    fc.assert(
      fc.property(stateArb, fc.integer({ min: 1, max: 6 }), (state, version) => {
        const read = { value: 'REBUILD', version };
        const decided = decideReplicaAction(state, read, ctx);
        if (state.rebuildVersion === version) {
          expect(isPendingRebuild(read, state)).to.equal(false);
          // Carried out: acts as RUN (a state paused by an earlier release is not, the version being V)
          expect(decided.kind).to.equal(state.status === 'PAUSED' && version <= 1 ? 'PAUSE' : 'RUN');
        } else if (otherLiveClaim(state)) {
          expect(decided).to.deep.include({ kind: 'REBUILD_WAITS', executionId: 'exec-other' });
        } else expect(decided).to.deep.equal({ kind: 'REBUILD', version });
      }),
    );
  });

  it('a rebuild carried out is not carried out again for the same version, whatever the state was; a new version is', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), (version) => {
        const rebuilt = rebuiltReplicaState(version);
        expect(rebuilt).to.deep.equal({ ...initialReplicaState(), rebuildVersion: version });
        expect(decideReplicaAction(rebuilt, { value: 'REBUILD', version }, ctx).kind).to.equal('RUN');
        expect(decideReplicaAction(rebuilt, { value: 'REBUILD', version: version + 1 }, ctx)).to.deep.equal({
          kind: 'REBUILD',
          version: version + 1,
        });
        // The rebuilt state bootstraps at the next plan.
        const plan = planReplica(rebuilt, chain, { onNewEpoch: 'halt', bootstrap: 'write', ...ctx });
        expect(plan.action === 'APPLY_GROUP' && plan.entries[0].sequence).to.equal(0);
      }),
    );
  });

  it('over any sequence of operator writes and workflow steps, each REBUILD version is carried out at most once, and the action is the last written', () => {
    type Op = { kind: 'write'; value: 'RUN' | 'PAUSE' | 'REBUILD' } | { kind: 'step'; claimLive: boolean };
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      fc.constantFrom('RUN' as const, 'PAUSE' as const, 'REBUILD' as const).map((value) => ({
        kind: 'write' as const,
        value,
      })),
      fc.boolean().map((claimLive) => ({ kind: 'step' as const, claimLive })),
    );
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 30 }), (ops) => {
        let action = { value: 'RUN', version: 1 };
        let state: ReplicaState = initialReplicaState();
        const carriedOut: number[] = [];
        let lastWritten = 'RUN';
        for (const op of ops) {
          if (op.kind === 'write') {
            action = { value: op.value, version: action.version + 1 };
            lastWritten = op.value;
            continue;
          }
          const withClaim: ReplicaState = op.claimLive
            ? {
                ...state,
                inProgress: {
                  executionId: 'exec-other',
                  sequences: [0],
                  mode: 'group',
                  startedAt: NOW - 5,
                },
              }
            : { ...state, inProgress: null };
          const decided = decideReplicaAction(withClaim, action, ctx);
          if (decided.kind === 'REBUILD') {
            expect(op.claimLive).to.equal(false);
            carriedOut.push(decided.version);
            state = rebuiltReplicaState(decided.version);
          } else if (decided.kind === 'RUN') {
            state = { ...state, lastAppliedSequence: state.lastAppliedSequence + 1 };
          } else if (decided.kind === 'REBUILD_WAITS') expect(op.claimLive).to.equal(true);
        }
        expect(new Set(carriedOut).size).to.equal(carriedOut.length);
        expect(action.value).to.equal(lastWritten);
      }),
    );
  });

  it('for any state and action: a rebuild only when pending and no other live claim; an unknown value pauses', () => {
    fc.assert(
      fc.property(stateArb, actionArb, (state, read) => {
        const decided = decideReplicaAction(state, read, ctx);
        if (decided.kind === 'REBUILD') {
          expect(isPendingRebuild(read, state)).to.equal(true);
          expect(otherLiveClaim(state)).to.equal(false);
          expect(decided.version).to.equal(read.version);
        }
        if (read.value === 'STOP') expect(decided.kind).to.equal('PAUSE');
        if (read.value?.trim() === 'PAUSE') expect(decided.kind).to.equal('PAUSE');
      }),
    );
  });

  it('states written before rebuildVersion existed parse; both parameters have one set of initial values', () => {
    const old = JSON.stringify({ ...initialReplicaState(), lastAppliedSequence: 4 });
    expect(parseReplicaState(old).rebuildVersion).to.equal(undefined);
    expect(parseReplicaState(JSON.stringify(rebuiltReplicaState(7))).rebuildVersion).to.equal(7);
    expect(initialReplicaParameterValues()).to.deep.equal({
      state: JSON.stringify(initialReplicaState()),
      action: 'RUN',
    });
    expect(replicaActionParameterName('/dce/dev/orders/replicas/dr/state')).to.equal(
      '/dce/dev/orders/replicas/dr/action',
    );
  });
});
