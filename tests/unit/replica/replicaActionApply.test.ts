/**
 * The operator's action through the real apply Lambda's steps (functions/replica/apply.ts,
 * functions/replica/actionSteps.ts): a REBUILD carried out once per version, never over another
 * execution's live claim; progress recorded only under the execution's own claim; an older stack
 * without the action parameter runs.
 */
import { expect } from 'chai';
import { testReplicaSettings } from '../../helpers/replicaSettings';
import { createReplicaHandler, type PlanOutput, type ReplicaEvent } from '../../../functions/replica/apply';
import { initialReplicaParameterValues, rebuiltReplicaState } from '../../../functions/replica/action';
import { initialReplicaState, parseReplicaState, type ReplicaState } from '../../../functions/replica/state';
import { CallLog } from '../../../sim/fakeAws/service';
import { FakeSSM } from '../../../sim/fakeAws/ssm';
import { generateWorkload, WORKLOAD_KEY_SCHEMA } from '../../../sim/workload';
import { contiguousWindows, MemoryS3, writeChain } from '../../helpers/exportChain';

const BUCKET = 'replica-bucket';
const PREFIX = 'exports/orders';
const T0 = Date.UTC(2026, 10, 3) / 1000;
const START = T0 + 3600;
const WINDOWS = contiguousWindows(START, 900, 4);
const STATE = '/dynamodb-continuous-exports/dev/orders/replicas/copy/state';
const ACTION = '/dynamodb-continuous-exports/dev/orders/replicas/copy/action';
const NOW = WINDOWS[3][1] + 600;
const isoAt = (seconds: number) => new Date(seconds * 1000).toISOString();

describe('the operator action in the apply Lambda (functions/replica/apply.ts)', () => {
  let s3: MemoryS3;
  let epoch: string;
  before(async () => {
    s3 = new MemoryS3();
    const table = generateWorkload({
      from: T0,
      to: WINDOWS[3][1] + 3600,
      writesPerMinute: 2,
      seed: 5,
      keySpace: 20,
    });
    epoch = (await writeChain({ s3, bucket: BUCKET, prefix: PREFIX, table, start: START, windows: WINDOWS }))
      .epoch;
  });

  function replica() {
    const ssm = new FakeSSM(new CallLog(), () => clock.now * 1000, 'eu-west-1', '123456789012');
    const clock = { now: NOW };
    const initial = initialReplicaParameterValues();
    ssm.set(STATE, initial.state);
    ssm.set(ACTION, initial.action);
    const info: string[] = [];
    const settings = testReplicaSettings({
      bucket: BUCKET,
      prefix: PREFIX,
      stateParameterName: STATE,
      maxWritesPerSecond: 1000,
      notificationTopicArn: 'arn:aws:sns:eu-west-1:123456789012:t',
    });
    // The target is empty, and every write to it is accepted (the entries are small).
    const target = {
      send: async (c: any) => {
        const name = c.constructor.name;
        if (name === 'ScanCommand') return { Items: [] };
        if (name === 'DescribeTableCommand')
          return {
            Table: {
              KeySchema: WORKLOAD_KEY_SCHEMA,
            },
          };
        return { UnprocessedItems: {} };
      },
    };
    const handler = createReplicaHandler(
      settings,
      { s3, ssm, sns: { send: async () => ({}) } as never, target: target as never },
      {
        now: () => clock.now * 1000,
        log: () => undefined,
        info: (line) => info.push(line),
        sleep: async () => undefined,
      },
    );
    return {
      ssm,
      clock,
      info,
      state: () => parseReplicaState(ssm.get(STATE)!),
      setState: (s: ReplicaState) => ssm.set(STATE, JSON.stringify(s)),
      plan: (executionId = 'exec-1') => handler({ step: 'plan', executionId }) as Promise<PlanOutput>,
      step: (event: ReplicaEvent) => handler(event),
    };
  }

  const halted = (): ReplicaState => ({
    ...initialReplicaState(),
    status: 'HALTED',
    epoch: 'old-epoch',
    lastAppliedSequence: 17,
    watermark: T0,
    halt: { reason: 'NEW_EPOCH', detail: 'moved', at: T0, epoch: 'old-epoch' },
  });

  it('REBUILD: the plan resets the state with the action version and bootstraps at once, logging where the replica was', async () => {
    const r = replica();
    r.setState(halted());
    r.ssm.set(ACTION, 'REBUILD');
    const version = r.ssm.parameters.get(ACTION)!.Version;
    const out = await r.plan();
    expect(out.action).to.equal('APPLY_GROUP');
    expect(out.entries![0].sequence).to.equal(0);
    const state = r.state();
    expect(state).to.deep.include({
      status: 'ACTIVE',
      lastAppliedSequence: -1,
      rebuildVersion: version,
      halt: null,
    });
    expect(state.inProgress?.executionId).to.equal('exec-1');
    const logged = JSON.parse(r.info.find((l) => l.includes('REPLICA_REBUILT'))!);
    expect(logged).to.deep.include({ actionVersion: version });
    expect(logged.previous).to.deep.include({ status: 'HALTED', lastAppliedSequence: 17 });
    expect(r.ssm.get(ACTION), 'the action is never written back').to.equal('REBUILD');

    // Carried out: the next plans (after the entries are recorded) do not rebuild again.
    await r.step({ step: 'applyGroup', executionId: 'exec-1', epoch, entries: out.entries! });
    const recorded = r.state().lastAppliedSequence;
    expect(recorded).to.be.greaterThan(-1);
    await r.plan('exec-2');
    expect(r.state().lastAppliedSequence).to.be.at.least(recorded);
    expect(r.state().rebuildVersion).to.equal(version);
    // A new REBUILD is a new version: carried out again.
    r.ssm.set(ACTION, 'REBUILD');
    await r.plan('exec-3');
    expect(r.state().rebuildVersion).to.equal(version + 1);
  });

  it("REBUILD waits while another execution's claim is live, and is carried out once it has recorded", async () => {
    const r = replica();
    const first = await r.plan('exec-A'); // exec-A claims the bootstrap
    expect(first.action).to.equal('APPLY_GROUP');
    r.ssm.set(ACTION, 'REBUILD');
    const waiting = await r.plan('exec-B');
    expect(waiting.action).to.equal('BUSY');
    expect(waiting.detail).to.match(/rebuild .* waits until execution exec-A has recorded/);
    expect(r.state().inProgress?.executionId).to.equal('exec-A');
    expect(r.state().rebuildVersion).to.equal(undefined);
    // exec-A records its entries (its claim stands), then its next plan carries out the rebuild.
    await r.step({ step: 'applyGroup', executionId: 'exec-A', epoch, entries: first.entries! });
    expect(r.state().lastAppliedSequence).to.equal(first.entries![first.entries!.length - 1].sequence);
    const next = await r.plan('exec-A');
    expect(next.action).to.equal('APPLY_GROUP');
    expect(next.entries![0].sequence).to.equal(0);
    expect(r.state().rebuildVersion).to.equal(r.ssm.parameters.get(ACTION)!.Version);
  });

  it('a claim past its lease does not hold a rebuild back; the execution that held it then writes and records nothing', async () => {
    const r = replica();
    const first = await r.plan('exec-A');
    r.ssm.set(ACTION, 'REBUILD');
    r.clock.now += 1801; // exec-A's grouped claim is over
    const rebuilt = await r.plan('exec-B');
    expect(rebuilt.action).to.equal('APPLY_GROUP');
    expect(r.state().inProgress?.executionId).to.equal('exec-B');
    // exec-A's apply, still running, writes nothing under a claim that moved, and records nothing.
    const stale = await r
      .step({ step: 'applyGroup', executionId: 'exec-A', epoch, entries: first.entries! })
      .then(
        (v) => v,
        (e: Error) => e,
      );
    expect((stale as Error).name).to.equal('ReplicaClaimMoved');
    expect(r.state()).to.deep.include({ lastAppliedSequence: -1 });
    expect(r.state().inProgress?.executionId).to.equal('exec-B');
  });

  it('a claim of another execution is never released or halted by this one', async () => {
    const r = replica();
    const claimed: ReplicaState = {
      ...rebuiltReplicaState(3),
      epoch,
      inProgress: {
        executionId: 'exec-other',
        sequences: [0],
        mode: 'distributed',
        startedAt: NOW - 60,
      },
    };
    r.setState(claimed);
    const version = r.ssm.parameters.get(STATE)!.Version;
    const fakeEntry = {
      sequence: 0,
      type: 'FULL' as const,
      to: isoAt(START),
      itemCount: 1,
      exportArn: 'arn:aws:dynamodb:eu-west-1:123456789012:table/orders/export/gone',
      bucket: BUCKET,
      manifestSummaryKey: `${PREFIX}/AWSDynamoDB/gone/manifest-summary.json`,
    };
    const failed = await r
      .step({ step: 'checkFailedEntry', executionId: 'exec-mine', epoch, entry: fakeEntry })
      .then(
        (v) => v,
        (e: Error) => e,
      );
    expect(failed).to.be.instanceOf(Error); // the execution fails; it halts nothing
    expect((failed as Error).name).to.equal('ReplicaApplyFailed');
    await r.step({ step: 'commit', executionId: 'exec-mine', epoch, entry: fakeEntry });
    expect(r.ssm.parameters.get(STATE)!.Version, 'the state is not written').to.equal(version);
    expect(r.state()).to.deep.equal(claimed);
  });

  it('a stack without the action parameter runs as RUN, saying so in the log', async () => {
    const r = replica();
    r.ssm.remove(ACTION);
    const out = await r.plan();
    expect(out.action).to.equal('APPLY_GROUP');
    expect(r.info.join('\n')).to.match(/action parameter .*\/copy\/action does not exist .*read as RUN/);
    expect(r.ssm.get(ACTION)).to.equal(undefined);
  });
});
