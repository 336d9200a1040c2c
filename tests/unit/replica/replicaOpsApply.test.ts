/**
 * A paused replica through the real apply Lambda's plan step (functions/replica/apply.ts): nothing is
 * claimed or written, and a pause written between the plan's read and its claim stops the claim.
 */
import { expect } from 'chai';
import { testReplicaSettings } from '../../helpers/replicaSettings';
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import { createReplicaHandler, type PlanOutput } from '../../../functions/replica/apply';
import { replicaLockName } from '../../../functions/shared/names';
import { initialReplicaState, parseReplicaState } from '../../../functions/replica/state';
import { CallLog } from '../../../sim/fakeAws/service';
import { FakeSSM } from '../../../sim/fakeAws/ssm';
import { generateWorkload } from '../../../sim/workload';
import { contiguousWindows, MemoryS3, writeChain } from '../../helpers/exportChain';

const BUCKET = 'replica-bucket';
const PREFIX = 'exports/orders';
const T0 = Date.UTC(2026, 10, 3) / 1000;
const START = T0 + 3600;
const WINDOWS = contiguousWindows(START, 900, 4);
const STATE = '/dynamodb-continuous-exports/dev/orders/replicas/copy/state';
const ACTION = '/dynamodb-continuous-exports/dev/orders/replicas/copy/action';

describe('a paused replica in the apply Lambda (functions/replica/apply.ts)', () => {
  let s3: MemoryS3;
  before(async () => {
    s3 = new MemoryS3();
    const table = generateWorkload({
      from: T0,
      to: WINDOWS[3][1] + 3600,
      writesPerMinute: 2,
      seed: 5,
      keySpace: 20,
    });
    await writeChain({ s3, bucket: BUCKET, prefix: PREFIX, table, start: START, windows: WINDOWS });
  });

  function replica(interceptLockCreate?: (ssm: FakeSSM) => void, emptyTarget = false) {
    const ssm = new FakeSSM(new CallLog(), () => Date.now(), 'eu-west-1', '123456789012');
    const lock = replicaLockName(STATE);
    const ssmSender = {
      send: (command: any) => {
        if (interceptLockCreate && command instanceof PutParameterCommand && command.input.Name === lock)
          interceptLockCreate(ssm);
        return ssm.send(command);
      },
    };
    const settings = testReplicaSettings({
      bucket: BUCKET,
      prefix: PREFIX,
      stateParameterName: STATE,
      maxWritesPerSecond: 1000,
      notificationTopicArn: 'arn:aws:sns:eu-west-1:123456789012:t',
    });
    const untouchable = {
      send: async () => {
        throw new Error('a paused replica must not touch the target or publish');
      },
    };
    const handler = createReplicaHandler(
      settings,
      {
        s3,
        ssm: ssmSender as never,
        sns: untouchable as never,
        target: (emptyTarget ? { send: async () => ({ Items: [], Count: 0 }) } : untouchable) as never,
      },
      { now: () => (WINDOWS[3][1] + 600) * 1000, log: () => undefined, info: () => undefined },
    );
    return { ssm, plan: () => handler({ step: 'plan', executionId: 'exec-1' }) as Promise<PlanOutput> };
  }

  it('plans IDLE, claims nothing and leaves the state as it was', async () => {
    const r = replica();
    r.ssm.set(STATE, JSON.stringify(initialReplicaState()));
    r.ssm.set(ACTION, 'PAUSE');
    const out = await r.plan();
    expect(out.action).to.equal('IDLE');
    expect(out.detail).to.match(/paused by the operator/);
    expect(parseReplicaState(r.ssm.get(STATE)!)).to.deep.equal(initialReplicaState());
  });

  it('a state paused by an earlier release stays paused until the operator writes the action', async () => {
    const r = replica(undefined, true);
    const paused = { ...initialReplicaState(), status: 'PAUSED' as const };
    r.ssm.set(STATE, JSON.stringify(paused));
    r.ssm.set(ACTION, 'RUN'); // as Pulumi created it: version 1
    expect((await r.plan()).detail).to.match(/paused \(by an earlier release\)/);
    expect(parseReplicaState(r.ssm.get(STATE)!)).to.deep.equal(paused);
    r.ssm.set(ACTION, 'RUN'); // dce replica resume: version 2
    expect((await r.plan()).action).to.equal('APPLY_GROUP');
    const claimed = parseReplicaState(r.ssm.get(STATE)!);
    expect(claimed.status).to.equal('ACTIVE');
    expect(claimed.inProgress?.executionId).to.equal('exec-1');
  });

  it('a pause written after the plan read the state and before its claim stands: the plan stands down', async () => {
    // Control: without the pause, the same plan claims the bootstrap.
    const control = replica(undefined, true); // the bootstrap checks that the target is empty
    control.ssm.set(STATE, JSON.stringify(initialReplicaState()));
    expect((await control.plan()).action).to.equal('APPLY_GROUP');
    expect(parseReplicaState(control.ssm.get(STATE)!).inProgress?.executionId).to.equal('exec-1');

    const r = replica((ssm) => {
      if (ssm.get(ACTION) === 'RUN') ssm.set(ACTION, 'PAUSE');
    });
    r.ssm.set(STATE, JSON.stringify(initialReplicaState()));
    r.ssm.set(ACTION, 'RUN');
    const out = await r.plan();
    expect(out.action).to.equal('BUSY');
    expect(r.ssm.get(ACTION)).to.equal('PAUSE');
    expect(parseReplicaState(r.ssm.get(STATE)!)).to.deep.equal(initialReplicaState());
  });
});
