/**
 * `dce restore --distributed` (cli/restore/restoreDistributed.ts): one-shot executions of the replica's own
 * rendered definition, its Distributed Maps run by the simulation's stand-in (sim/machines/distributedMap.ts)
 * with the real apply Lambda code, into a table on the local DynamoDB server, stopped at a middle
 * point of the chain: the table equals the source's history replayed to that point.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { expect } from 'chai';
import { runDce } from '../../../cli/dce';
import {
  endedWithoutProgress,
  nextDistributedStep,
  type StatesSender,
} from '../../../cli/restore/restoreDistributed';
import { chooseRestorePoint } from '../../../cli/restore/restorePoint';
import { createReplicaHandler, type ReplicaEvent } from '../../../functions/replica/apply';
import { initialReplicaState, parseReplicaState } from '../../../functions/replica/state';
import { getText } from '../../../format/s3io';
import { createFakeAws } from '../../../sim/fakeAws';
import { simulatedSleep, type LocalMachine } from '../../../sim/machines/localMachine';
import type { SendClient } from '../../../sim/machines/localRun';
import { startLocalDynamoDb, type LocalDynamoDb } from '../../../sim/servers';
import { canonicalTable, generateWorkload } from '../../../sim/workload';
import { renderReplicaDefinition } from '../../../statemachine/render';
import { MemoryS3, contiguousWindows, writeChain } from '../../helpers/exportChain';
import { hostRun } from '../../helpers/hostRun';
import { newWorkloadTable, scanTable } from '../../helpers/localTables';
import { seedReplicaParameters, testReplicaSettings } from '../../helpers/replicaSettings';
import { capturedIo } from '../../helpers/capturedIo';

const FUNCTION = 'arn:aws:lambda:eu-west-1:123456789012:function:dev-orders-restore-apply';
const START = Date.UTC(2026, 10, 3, 1) / 1000;
const WINDOWS = contiguousWindows(START, 900, 8);
const END = WINDOWS[WINDOWS.length - 1][1];

/** Step Functions of the local runner: StartExecution on the machine, DescribeExecution from its records. */
function statesOf(machine: LocalMachine): StatesSender {
  return {
    send: (async (command: { input: Record<string, unknown> }) => {
      if (command instanceof StartExecutionCommand) {
        const input = JSON.parse(command.input.input ?? '{}') as Record<string, unknown>;
        const record = machine.startExecution(input, { name: command.input.name });
        return { executionArn: record!.id };
      }
      return machine.statesClient().send(command);
    }) as unknown as StatesSender['send'],
  };
}

describe('distributed restore: one-shot executions of the replica machinery (cli/restore/restoreDistributed.ts)', () => {
  let ddb: LocalDynamoDb;
  before(async () => {
    ddb = await startLocalDynamoDb();
  });
  after(async () => ddb?.stop());

  it('restores to a middle point through the Distributed Map, identical to the history replayed there', async () => {
    const source = generateWorkload({
      from: START - 3600,
      to: END,
      writesPerMinute: 8,
      seed: 21,
      keySpace: 80,
    });
    const s3 = new MemoryS3();
    const chain = await writeChain({
      s3,
      bucket: 'b',
      prefix: 'p',
      table: source,
      start: START,
      windows: WINDOWS,
      sink: { itemsPerFile: 7 },
    });
    const target = await newWorkloadTable(ddb.client, 'orders-restored');
    const aws = createFakeAws();
    const settings = testReplicaSettings({
      bucket: 'b',
      prefix: 'p',
      targetTableName: target,
      concurrency: 3,
    });
    seedReplicaParameters(aws.ssm, settings);
    const point = chooseRestorePoint(
      chain.entries.map((e) => e.entry),
      { time: WINDOWS[4][1] + 300 },
    );
    expect(point).to.deep.include({ sequence: 5, roundedDown: true });

    const run = await hostRun(START * 1000 + 86_400_000, aws);
    const steps: string[] = [];
    try {
      // No SDK retries: they would sleep on the simulated clock while the run waits for the call.
      const client = new DynamoDBClient({
        endpoint: ddb.endpoint,
        region: 'us-east-1',
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
        maxAttempts: 1,
      });
      const lambda = createReplicaHandler(
        settings,
        {
          s3,
          ssm: run.track(aws.ssm as unknown as SendClient) as never,
          sns: { send: async () => ({}) } as never,
          target: run.track(client as unknown as SendClient) as never,
        },
        // Every entry through the Distributed Map, each of several children's batches.
        {
          log: () => undefined,
          info: () => undefined,
          sleep: simulatedSleep,
          limits: { distributedMinItems: 1, distributedBatchMaxItems: 10 },
        },
      );
      const machine = run.addMachine({
        name: 'dev-orders-restore-replica',
        definition: renderReplicaDefinition({ ReplicaFunctionArn: FUNCTION }),
        functionArn: FUNCTION,
        handler: (async (event: ReplicaEvent) => {
          steps.push(event.step);
          return lambda(event);
        }) as never,
        lambdaTimeoutSeconds: 900,
        holdClockWhileRunning: true,
        schedulePeriodMinutes: 15,
        readObject: (bucket, key) => getText(s3, bucket, key),
      });
      const stackOutput = {
        tables: {
          orders: {
            alias: 'orders',
            bucket: 'b',
            prefix: 'p',
            replicas: [
              {
                alias: 'restore',
                scheduled: false,
                stateMachineArn: machine.arn,
                stateParameterName: settings.stateParameterName,
                targetTableName: target,
              },
            ],
          },
        },
      };
      const { io, stdout, stderr } = capturedIo({ now: () => Math.floor(Date.now() / 1000) });
      const deps = {
        clients: () => ({ s3, ssm: aws.ssm as never, dynamodb: client, states: statesOf(machine) }),
        readInput: () => JSON.stringify(stackOutput),
      };
      const argv = ['restore', '--stack-output', 'out.json', '--alias', 'orders', '--json'];
      const at = ['--to', new Date((WINDOWS[4][1] + 300) * 1000).toISOString(), '--table', target];
      let settled = false;
      const restored = runDce([...argv, ...at, '--distributed', '--replica', 'restore'], io, deps).finally(
        () => (settled = true),
      );
      while (!settled) await run.runFor(60_000);
      expect(await restored, stderr()).to.equal(0);
      const report = JSON.parse(stdout()) as { appliedSequence: number; executions: string[] };
      expect(report.appliedSequence).to.equal(5);
      expect(report.executions).to.have.length(1);
      const record = machine.executions[0];
      expect(record.status).to.equal('SUCCEEDED');
      // The point and its epoch: a one-shot execution does nothing while the chain's live epoch is another.
      expect(record.input).to.deep.equal({ restore: { stopAtSequence: 5, epoch: '20261103T010000Z' } });
    } finally {
      await run.dispose();
    }
    // Six entries (0..5), each by Distributed Map children, each recorded; nothing after the point.
    expect(steps.filter((s) => s === 'commit')).to.have.length(6);
    expect(steps.filter((s) => s === 'applyFiles').length).to.be.greaterThan(6);
    expect(steps).not.to.include('applyGroup');
    expect(parseReplicaState(aws.ssm.get(settings.stateParameterName)!)).to.include({
      lastAppliedSequence: 5,
      watermark: Date.parse(point.asOf) / 1000,
    });
    expect(canonicalTable(await scanTable(ddb.client, target))).to.deep.equal(
      canonicalTable(source.snapshotBefore(Date.parse(point.asOf) / 1000)),
    );
    // And not the table at HEAD: the point is a real middle.
    expect(canonicalTable(source.snapshotBefore(Date.parse(point.asOf) / 1000))).not.to.deep.equal(
      canonicalTable(source.snapshotBefore(END)),
    );
  });

  it('decides: done at the point, wait while running, start again after an early end, fail with the reason', () => {
    const stop = { sequence: 5, epoch: 'E' };
    const at = (n: number, over: object = {}) => ({
      ...initialReplicaState(),
      epoch: n >= 0 ? 'E' : null,
      lastAppliedSequence: n,
      watermark: n >= 0 ? 1 : null,
      ...over,
    });
    const running = { arn: 'x', status: 'RUNNING' };
    const ended = { arn: 'x', status: 'SUCCEEDED' };
    const failed = { arn: 'x', status: 'FAILED', error: 'Boom', cause: 'c' };
    expect(nextDistributedStep(at(-1), stop, undefined, 0)).to.deep.equal({ kind: 'start' });
    expect(nextDistributedStep(at(5), stop, ended, 0)).to.deep.equal({ kind: 'done' });
    expect(nextDistributedStep(at(3), stop, running, 0)).to.deep.equal({ kind: 'wait' });
    expect(nextDistributedStep(at(3), stop, ended, 0)).to.deep.equal({ kind: 'start' });
    expect(nextDistributedStep(at(3), stop, failed, 2)).to.deep.equal({ kind: 'start' });
    expect(nextDistributedStep(at(3), stop, failed, 3)).to.deep.include({ kind: 'fail' });
    expect(nextDistributedStep(at(7), stop, undefined, 0)).to.deep.equal({
      kind: 'fail',
      message:
        "the replica's table is already at sequence 7, after the restore point 5; restore into a replica that has not applied past it",
    });
    expect(nextDistributedStep(at(2, { epoch: 'D' }), stop, undefined, 0)).to.deep.equal({
      kind: 'fail',
      message: 'the replica holds epoch D; the restore point is in epoch E',
    });
    const halted = at(2, {
      status: 'HALTED',
      halt: { reason: 'FILES_MISSING', detail: 'gone', at: 1, epoch: 'E', alerted: true },
    });
    expect(nextDistributedStep(halted, stop, ended, 0)).to.deep.equal({
      kind: 'fail',
      message: 'replica halted (FILES_MISSING): gone',
    });
    expect(nextDistributedStep(at(2, { status: 'PAUSED' }), stop, ended, 0)).to.deep.include({
      kind: 'fail',
    });
  });

  it("an entry that keeps failing: waits for the replica's retry time, then stops with the entry's error", () => {
    const stop = { sequence: 5, epoch: 'E' };
    const ended = { arn: 'x', status: 'SUCCEEDED' };
    const failing = (failures: number) => ({
      ...initialReplicaState(),
      epoch: 'E',
      lastAppliedSequence: 3,
      watermark: 1,
      failure: {
        epoch: 'E',
        sequence: 4,
        failures,
        error: 'AccessDeniedException: no',
        at: 100,
        retryAt: 160,
      },
    });
    // An execution before the retry time would plan nothing (the entry is held back): wait instead.
    expect(nextDistributedStep(failing(1), stop, ended, 0, 159)).to.deep.equal({ kind: 'wait' });
    expect(nextDistributedStep(failing(1), stop, ended, 0, 160)).to.deep.equal({ kind: 'start' });
    expect(nextDistributedStep(failing(2), stop, ended, 0, 500)).to.deep.equal({ kind: 'start' });
    expect(nextDistributedStep(failing(3), stop, ended, 0, 500)).to.deep.equal({
      kind: 'fail',
      message:
        'entry 4 failed 3 times in a row, the last: AccessDeniedException: no. Deal with the cause, then run the restore again: it continues from sequence 3',
    });
    // A failure of another epoch is not this restore's.
    const other = { ...failing(3), failure: { ...failing(3).failure, epoch: 'D' } };
    expect(nextDistributedStep(other, stop, ended, 0, 500)).to.deep.equal({ kind: 'start' });
  });

  it('counts an execution that ended without progress only when the state shows no reason for it', () => {
    const base = { ...initialReplicaState(), epoch: 'E', lastAppliedSequence: 3, watermark: 1 };
    expect(endedWithoutProgress(base, 'E', 3)).to.equal(true);
    expect(endedWithoutProgress({ ...base, lastAppliedSequence: 4 }, 'E', 3)).to.equal(false);
    // Before the first entry: -1 until the bootstrap commits.
    expect(endedWithoutProgress({ ...initialReplicaState() }, 'E', -1)).to.equal(true);
    const failure = { epoch: 'E', sequence: 4, failures: 1, error: 'e', at: 1, retryAt: 2 };
    expect(endedWithoutProgress({ ...base, failure }, 'E', 3)).to.equal(false);
    const claim = {
      executionId: 'other',
      sequences: [4],
      mode: 'group' as const,
      startedAt: 1,
    };
    expect(endedWithoutProgress({ ...base, inProgress: claim }, 'E', 3)).to.equal(false);
  });
});
