/**
 * The replica state in epoch seconds (version 2), and the states version 1 wrote with ISO 8601 times,
 * which still parse: each time is read as its epoch second, and the state is written back as version 2.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import {
  REPLICA_STATE_VERSION,
  initialReplicaState,
  parseReplicaState,
  serializeReplicaState,
  type ReplicaState,
} from '../../../functions/replica/state';

const iso = (seconds: number) => new Date(seconds * 1000).toISOString();

/** A version 1 state as an earlier release wrote it: every time as ISO 8601 text. */
function versionOne(t: number) {
  return {
    schemaVersion: 1,
    status: 'HALTED',
    epoch: '20261103T000000Z',
    lastAppliedSequence: 4,
    watermark: iso(t),
    inProgress: { executionId: 'x', sequences: [5], mode: 'group', startedAt: iso(t + 1) },
    halt: {
      reason: 'FILES_MISSING',
      detail: 'gone',
      at: iso(t + 2),
      epoch: '20261103T000000Z',
      alerted: false,
    },
    failure: { epoch: null, sequence: 5, failures: 2, error: 'e', at: iso(t + 3), retryAt: iso(t + 4) },
    import: {
      importArn: 'a',
      clientToken: 'c',
      exportArn: 'e',
      epoch: '20261103T000000Z',
      sequence: 0,
      watermark: iso(t + 5),
      itemCount: 3,
      startedAt: iso(t + 6),
    },
    partial: { epoch: '20261103T000000Z', sequence: 5, file: 1, record: 2, at: iso(t + 7) },
    clearing: { cursor: null, deleted: 0, startedAt: iso(t + 8) },
    updatedAt: iso(t + 9),
  };
}

describe('replica state: epoch seconds, and version 1 states with ISO times', () => {
  it('reads every ISO time of a version 1 state as its epoch second, as version 2', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1_600_000_000, max: 2_000_000_000 }), (t) => {
        const state = parseReplicaState(JSON.stringify(versionOne(t)));
        expect(state.schemaVersion).to.equal(REPLICA_STATE_VERSION);
        expect(state.watermark).to.equal(t);
        expect(state.inProgress?.startedAt).to.equal(t + 1);
        expect(state.halt?.at).to.equal(t + 2);
        expect([state.failure?.at, state.failure?.retryAt]).to.deep.equal([t + 3, t + 4]);
        expect([state.import?.watermark, state.import?.startedAt]).to.deep.equal([t + 5, t + 6]);
        expect(state.partial?.at).to.equal(t + 7);
        expect(state.clearing?.startedAt).to.equal(t + 8);
        expect(state.updatedAt).to.equal(t + 9);
      }),
    );
  });

  it('drops the milliseconds of a version 1 time (whole seconds, as the chain keeps them)', () => {
    const state = parseReplicaState(
      JSON.stringify({ ...initialReplicaState(), schemaVersion: 1, watermark: '2026-11-03T00:00:00.999Z' }),
    );
    expect(state.watermark).to.equal(Date.parse('2026-11-03T00:00:00Z') / 1000);
  });

  it('writes version 2 with numbers, and reads back what it wrote', () => {
    const migrated = parseReplicaState(JSON.stringify(versionOne(1_790_000_000)));
    const text = serializeReplicaState(migrated, 1_790_000_100_500);
    const written = JSON.parse(text) as Record<string, unknown>;
    expect(written.schemaVersion).to.equal(2);
    expect(written.watermark).to.equal(1_790_000_000);
    expect(written.updatedAt).to.equal(1_790_000_100);
    const again: ReplicaState = parseReplicaState(text);
    expect(again).to.deep.equal({ ...migrated, updatedAt: 1_790_000_100 });
  });

  it('names a time that is not one, and a version it does not know', () => {
    const bad = { ...initialReplicaState(), watermark: 'yesterday' };
    expect(() => parseReplicaState(JSON.stringify(bad))).to.throw(/watermark: .*not a time: "yesterday"/);
    const future = { ...initialReplicaState(), schemaVersion: 3 };
    expect(() => parseReplicaState(JSON.stringify(future))).to.throw(/schemaVersion/);
  });
});
