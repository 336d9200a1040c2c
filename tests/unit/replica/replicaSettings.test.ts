import { expect } from 'chai';
import { fromReplicaEnvironment, toReplicaEnvironment } from '../../../functions/replica/settings';
import { testReplicaSettings } from '../../helpers/replicaSettings';

describe('replica settings (functions/replica/settings.ts)', () => {
  it('reads back exactly what the component writes', () => {
    const settings = testReplicaSettings();
    expect(fromReplicaEnvironment(toReplicaEnvironment(settings))).to.deep.equal(settings);
  });

  it('names every missing or wrong field at once', () => {
    const { bucket: _bucket, ...rest } = testReplicaSettings();
    const env = toReplicaEnvironment({ ...rest, maxWritesPerSecond: 0, bootstrap: 'copy' } as never);
    expect(() => fromReplicaEnvironment(env))
      .to.throw(/DCE_REPLICA_SETTINGS: /)
      .that.satisfies((e: Error) =>
        ['bucket', 'maxWritesPerSecond', 'bootstrap'].every((f) => e.message.includes(`${f}:`)),
      );
  });

  it('says when the variable is missing or not JSON', () => {
    expect(() => fromReplicaEnvironment({})).to.throw('DCE_REPLICA_SETTINGS is not set');
    expect(() => fromReplicaEnvironment({ DCE_REPLICA_SETTINGS: '{' })).to.throw(/is not JSON/);
  });

  it('keeps working when a newer deployment adds a setting it does not know', () => {
    const env = { DCE_REPLICA_SETTINGS: JSON.stringify({ ...testReplicaSettings(), addedLater: 1 }) };
    expect(fromReplicaEnvironment(env)).to.deep.equal(testReplicaSettings());
  });
});
