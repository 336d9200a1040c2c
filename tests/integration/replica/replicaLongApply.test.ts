/**
 * Entries that take longer than one Lambda invocation at the configured write rate: a full export in
 * one large data file, a group at one write a second, a target throttling past the timeout. Each runs
 * through the deployed definition on the offline runner (sim/machines/localMachine.ts), whose Lambda times out
 * at 900 s of simulated time as Lambda does, with the real apply Lambda writing into dynalite; the
 * replica must end equal to the source with every invocation inside the timeout.
 */
import { expect } from 'chai';
import { BatchWriteItemCommand } from '@aws-sdk/client-dynamodb';
import { createReplicaHandler } from '../../../functions/replica/apply';
import type { PlannerLimits } from '../../../functions/replica/planner';
import type { ReplicaSettings } from '../../../functions/replica/settings';
import { parseReplicaState, type ReplicaState } from '../../../functions/replica/state';
import { getText } from '../../../format/s3io';
import { CallLog } from '../../../sim/fakeAws/service';
import { FakeSSM } from '../../../sim/fakeAws/ssm';
import {
  simulatedSleep,
  type ExecutionRecord,
  type InvocationRecord,
} from '../../../sim/machines/localMachine';
import { startLocalDynamoDb, type LocalDynamoDb } from '../../../sim/servers';
import { canonicalTable, generateWorkload, type SyntheticTable } from '../../../sim/workload';
import { renderReplicaDefinition } from '../../../statemachine/render';
import { MemoryS3, contiguousWindows, writeChain } from '../../helpers/exportChain';
import { newWorkloadTable, scanTable } from '../../helpers/localTables';
import { seedReplicaParameters, testReplicaSettings } from '../../helpers/replicaSettings';
import { hostRun } from '../../helpers/hostRun';

const FUNCTION = 'arn:aws:lambda:eu-west-1:123456789012:function:dev-orders-copy-apply';
const TIMEOUT_MS = 900_000;

describe('entries longer than one invocation at the write rate (offline runner, dynalite)', function () {
  this.timeout(300_000);
  let ddb: LocalDynamoDb;
  let tables = 0;
  before(async () => {
    ddb = await startLocalDynamoDb();
  });
  after(async () => ddb?.stop());

  interface Scenario {
    source: SyntheticTable;
    start: number;
    windows: [number, number][];
    itemsPerFile: number;
    settings: Partial<ReplicaSettings>;
    limits?: Partial<PlannerLimits>;
    /** Wraps the target's client (throttling). */
    target?: (send: (command: any) => Promise<any>) => (command: any) => Promise<any>;
  }

  /** One execution of the replica's deployed definition until it ends; its record, invocations and the replica. */
  async function runReplica(scenario: Scenario) {
    const s3 = new MemoryS3();
    const chain = await writeChain({
      s3,
      bucket: 'b',
      prefix: 'p',
      table: scenario.source,
      start: scenario.start,
      windows: scenario.windows,
      sink: { itemsPerFile: scenario.itemsPerFile },
    });
    const targetTable = await newWorkloadTable(ddb.client, `long-${++tables}`);
    const settings = testReplicaSettings({
      bucket: 'b',
      prefix: 'p',
      targetTableName: targetTable,
      ...scenario.settings,
    });
    const runStart = (chain.watermark + 3600) * 1000;
    const ssm = new FakeSSM(new CallLog(), () => Date.now(), 'eu-west-1', '123456789012');
    seedReplicaParameters(ssm, settings);
    const plain = (command: any) => ddb.client.send(command);
    const send = scenario.target ? scenario.target(plain) : plain;
    const run = await hostRun(runStart);
    let record: ExecutionRecord;
    let invocations: InvocationRecord[];
    try {
      const handler = createReplicaHandler(
        settings,
        { s3, ssm, sns: { send: async () => ({}) }, target: { send } as never },
        { log: () => undefined, info: () => undefined, limits: scenario.limits, sleep: simulatedSleep },
      );
      const machine = run.addMachine({
        name: 'dev-orders-copy-replica',
        definition: renderReplicaDefinition({ ReplicaFunctionArn: FUNCTION }),
        functionArn: FUNCTION,
        handler: handler as never,
        lambdaTimeoutSeconds: 900,
        holdClockWhileRunning: true,
        schedulePeriodMinutes: 15,
        readObject: (bucket, key) => getText(s3, bucket, key),
      });
      record = machine.startExecution({})!;
      await run.drain(7 * 86_400_000, [machine]);
      invocations = machine.invocations;
    } finally {
      await run.dispose();
    }
    const state: ReplicaState = parseReplicaState(ssm.get(settings.stateParameterName)!);
    const items = canonicalTable(await scanTable(ddb.client, targetTable));
    return { record, invocations, state, items, chain };
  }

  /** The longest invocation, in simulated milliseconds. */
  const longest = (invocations: InvocationRecord[]) =>
    Math.max(...invocations.map((i) => (i.endedAt ?? Infinity) - i.at));

  it('a full export whose one data file holds more than one child invocation writes at the rate finishes across invocations of one child and equals the source', async () => {
    const start = Date.UTC(2026, 10, 3) / 1000;
    // About 2,400 live items in one data file; at 2 writes a second an invocation writes 1,200.
    const source = generateWorkload({
      from: start - 6 * 3600,
      to: start,
      writesPerMinute: 8,
      seed: 21,
      keySpace: 1_000_000,
    });
    const { record, invocations, state, items } = await runReplica({
      source,
      start,
      windows: [],
      itemsPerFile: 1_000_000,
      settings: { maxWritesPerSecond: 2, concurrency: 10 },
      limits: { distributedMinItems: 100 },
    });
    expect(record.status, record.cause).to.equal('SUCCEEDED');
    const children = invocations.filter((i) => i.mode === 'applyFiles');
    expect(children.length).to.be.within(3, 4);
    expect(children.every((i) => i.outcome === 'ok')).to.equal(true);
    expect(longest(invocations)).to.be.below(TIMEOUT_MS);
    expect(record.children).to.include({ executions: 1, failed: 0 });
    expect(state).to.include({ lastAppliedSequence: 0, status: 'ACTIVE', inProgress: null });
    expect(items).to.deep.equal(canonicalTable(source.snapshotBefore(start)));
  });

  it('a group at maxWritesPerSecond 1 never exceeds the timeout: groups hold what one invocation writes at the rate', async () => {
    const start = Date.UTC(2026, 10, 3) / 1000;
    // 12 windows of about 90 distinct keys each: about 1,100 writes, 18 minutes at 1 write a second.
    const windows = contiguousWindows(start, 900, 12);
    const source = generateWorkload({
      from: start - 600,
      to: windows[11][1],
      writesPerMinute: 6,
      seed: 22,
      keySpace: 1_000_000,
    });
    const { record, invocations, state, items } = await runReplica({
      source,
      start,
      windows,
      itemsPerFile: 25,
      settings: { maxWritesPerSecond: 1, concurrency: 2 },
    });
    expect(record.status, record.cause).to.equal('SUCCEEDED');
    const groups = invocations.filter((i) => i.mode === 'applyGroup');
    expect(groups.length).to.be.at.least(2);
    expect(groups.every((i) => i.outcome === 'ok')).to.equal(true);
    expect(longest(invocations)).to.be.below(TIMEOUT_MS);
    expect(state).to.include({ lastAppliedSequence: 12, inProgress: null });
    expect(items).to.deep.equal(canonicalTable(source.snapshotBefore(windows[11][1])));
  });

  it('a target throttling every write for 20 minutes slows a grouped apply past the timeout without failing it: progress is saved and continued', async () => {
    const start = Date.UTC(2026, 10, 3) / 1000;
    const windows = contiguousWindows(start, 900, 4);
    const source = generateWorkload({
      from: start - 600,
      to: windows[3][1],
      writesPerMinute: 6,
      seed: 23,
      keySpace: 1_000_000,
    });
    let throttleUntil = 0;
    let throttled = 0;
    const { record, invocations, state, items } = await runReplica({
      source,
      start,
      windows,
      itemsPerFile: 25,
      settings: { maxWritesPerSecond: 1000, concurrency: 2 },
      target: (send) => async (command) => {
        throttleUntil ||= Date.now() + 20 * 60_000;
        if (command instanceof BatchWriteItemCommand && Date.now() < throttleUntil) {
          throttled += 1;
          throw Object.assign(new Error('Throughput exceeds the current capacity'), {
            name: 'ThrottlingException',
          });
        }
        return send(command);
      },
    });
    expect(throttled).to.be.greaterThan(100);
    expect(record.status, record.cause).to.equal('SUCCEEDED');
    const groups = invocations.filter((i) => i.mode === 'applyGroup');
    expect(groups.length).to.be.at.least(2);
    expect(groups.every((i) => i.outcome === 'ok')).to.equal(true);
    expect(longest(invocations)).to.be.below(TIMEOUT_MS);
    expect(state).to.include({ lastAppliedSequence: 4, inProgress: null, partial: null });
    expect(items).to.deep.equal(canonicalTable(source.snapshotBefore(windows[3][1])));
  });
});
