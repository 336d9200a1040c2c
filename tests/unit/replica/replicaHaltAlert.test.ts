/**
 * The replica's halt alert is off the critical path: the halt is recorded first, an alert SNS does not
 * take is sent again by the next execution with the same notification id, and a failing SNS never
 * fails an execution.
 */
import { expect } from 'chai';
import { createReplicaHandler, type PlanOutput } from '../../../functions/replica/apply';
import { initialReplicaState, parseReplicaState } from '../../../functions/replica/state';
import { CallLog } from '../../../sim/fakeAws/service';
import { FakeSSM } from '../../../sim/fakeAws/ssm';
import { generateWorkload } from '../../../sim/workload';
import { seedReplicaParameters, testReplicaSettings } from '../../helpers/replicaSettings';
import { MemoryS3, contiguousWindows, writeChain } from '../../helpers/exportChain';

const T0 = Date.UTC(2026, 10, 3, 1) / 1000;
const START = T0 + 3600;

describe('replica halt alert (functions/replica/alert.ts)', () => {
  it('records the halt first; an undelivered alert goes out with the next execution, once, with the same id', async () => {
    const s3 = new MemoryS3();
    const source = generateWorkload({
      from: T0,
      to: START + 3600,
      writesPerMinute: 2,
      seed: 9,
      keySpace: 20,
    });
    await writeChain({
      s3,
      bucket: 'b',
      prefix: 'p',
      table: source,
      start: START,
      windows: contiguousWindows(START, 900, 2),
    });
    const ssm = new FakeSSM(new CallLog(), () => Date.now(), 'eu-west-1', '123456789012');
    const settings = testReplicaSettings({ bucket: 'b', prefix: 'p', maxWritesPerSecond: 1000 });
    // The replica follows an epoch the chain has left: the next plan halts it (NEW_EPOCH).
    seedReplicaParameters(ssm, settings, {
      ...initialReplicaState(),
      epoch: '20261101T000000Z',
      lastAppliedSequence: 7,
      watermark: '2026-11-01T02:00:00.000Z',
    });
    let snsDown = true;
    const published: any[] = [];
    const attempts: string[] = [];
    const sns = {
      send: async (command: any) => {
        attempts.push(JSON.parse(command.input.Message).notificationId);
        if (snsDown) {
          const error = new Error('Internal error');
          error.name = 'InternalErrorException';
          (error as any).$metadata = { httpStatusCode: 500 };
          throw error;
        }
        published.push(JSON.parse(command.input.Message));
        return { MessageId: String(published.length) };
      },
    };
    const logs: string[] = [];
    const handler = createReplicaHandler(
      settings,
      { s3, ssm, sns, target: { send: async () => ({}) } as any },
      { now: () => (START + 7200) * 1000, log: (l) => logs.push(l), sleep: async () => undefined },
    );
    const state = () => parseReplicaState(ssm.get(settings.stateParameterName)!);

    const first = (await handler({ step: 'plan', executionId: 'exec-1' })) as PlanOutput;
    expect(first.action).to.equal('HALT');
    expect(state().status).to.equal('HALTED');
    expect(state().halt).to.include({ reason: 'NEW_EPOCH', alerted: false });
    expect(published).to.have.length(0);
    expect(attempts.length).to.be.greaterThan(1); // retried as a transient error, then left pending
    expect(logs.some((l) => l.includes('alert not delivered'))).to.equal(true);

    snsDown = false;
    const second = (await handler({ step: 'plan', executionId: 'exec-2' })) as PlanOutput;
    expect(second.action).to.equal('HALTED');
    expect(published).to.have.length(1);
    expect(published[0]).to.include({ event: 'REPLICA_HALTED', reason: 'NEW_EPOCH', lastAppliedSequence: 7 });
    expect(new Set(attempts)).to.deep.equal(new Set([published[0].notificationId]));
    expect(state().halt).to.include({ alerted: true });

    await handler({ step: 'plan', executionId: 'exec-3' });
    expect(published).to.have.length(1);
  });
});
