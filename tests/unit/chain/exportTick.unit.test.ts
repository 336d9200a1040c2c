import { expect } from 'chai';
import FakeTimers from '@sinonjs/fake-timers';
import { createExportTickHandler, type ExportTickEvent } from '../../../functions/chain/exportTick';
import type { WorkflowSettings } from '../../../functions/chain/settings';
import {
  initialState,
  initialStateJson,
  parseState,
  serializeState,
  type ChainState,
} from '../../../functions/chain/state';
import { clientToken } from '../../../functions/chain/tokens';
import { LOCK_LEASE_SECONDS } from '../../../functions/shared/lease';
import { chainSettings } from '../../helpers/chainSettings';

const T0 = Date.parse('2026-11-24T10:00:00Z');

const settings: WorkflowSettings = chainSettings({
  prefix: 'tables/orders',
  maxInFlight: 2,
  notifyOnSuccess: false,
});

function awsError(name: string, status = 400): Error {
  return Object.assign(new Error(`${name}: simulated`), { name, $metadata: { httpStatusCode: status } });
}

/** Small hand-written stand-ins with the SDK `send(command)` shape; every call is recorded. */
class World {
  params = new Map<string, string>();
  calls: { service: string; command: string; input: any }[] = [];
  pitr: any = { PointInTimeRecoveryStatus: 'ENABLED' };
  exports = new Map<string, any>();
  tokens = new Map<string, string>();
  startError: Error | null = null;
  counter = 0;

  private record(service: string, command: any) {
    const name = command.constructor.name.replace(/Command$/, '');
    this.calls.push({ service, command: name, input: command.input });
    return name;
  }

  ssm = {
    send: async (command: any) => {
      const name = this.record('ssm', command);
      const input = command.input;
      if (name === 'GetParameters') {
        return {
          Parameters: input.Names.filter((n: string) => this.params.has(n)).map((n: string) => ({
            Name: n,
            Value: this.params.get(n),
          })),
          InvalidParameters: input.Names.filter((n: string) => !this.params.has(n)),
        };
      }
      if (name === 'PutParameter') {
        if (!input.Overwrite && this.params.has(input.Name)) throw awsError('ParameterAlreadyExists');
        this.params.set(input.Name, input.Value);
        return { Version: 1 };
      }
      if (name === 'DeleteParameter') {
        if (!this.params.delete(input.Name)) throw awsError('ParameterNotFound');
        return {};
      }
      throw new Error(`unexpected ${name}`);
    },
  };

  dynamodb = {
    send: async (command: any) => {
      const name = this.record('dynamodb', command);
      const now = new Date(Date.now());
      if (name === 'DescribeContinuousBackups') {
        if (this.pitr === 'GONE') throw awsError('TableNotFoundException');
        return {
          ContinuousBackupsDescription: {
            ContinuousBackupsStatus: 'ENABLED',
            PointInTimeRecoveryDescription: {
              EarliestRestorableDateTime: new Date(T0 - 7 * 86400_000),
              LatestRestorableDateTime: new Date(now.getTime() - 300_000),
              RecoveryPeriodInDays: 35,
              ...this.pitr,
            },
          },
        };
      }
      if (name === 'ExportTableToPointInTime') {
        if (this.startError) throw this.startError;
        const token = command.input.ClientToken;
        let arn = this.tokens.get(token);
        if (!arn) {
          arn = `${settings.tableArn}/export/0000${++this.counter}-abc`;
          this.tokens.set(token, arn);
          this.exports.set(arn, { ExportArn: arn, ExportStatus: 'IN_PROGRESS', StartTime: now });
        }
        return { ExportDescription: this.exports.get(arn) };
      }
      if (name === 'DescribeExport') return { ExportDescription: this.exports.get(command.input.ExportArn) };
      throw new Error(`unexpected ${name}`);
    },
  };

  s3 = { send: async (command: any) => (this.record('s3', command), {}) };
  sns = { send: async (command: any) => (this.record('sns', command), { MessageId: 'm' }) };

  writes() {
    return this.calls.filter(
      (c) =>
        (c.command === 'PutParameter' && c.input.Name !== settings.lockParameterName) ||
        ['PutObject', 'Publish', 'ExportTableToPointInTime'].includes(c.command),
    );
  }

  state(): ChainState {
    return parseState(this.params.get(settings.stateParameterName) as string, 'state');
  }
}

function tickEvent(executionId = 'exec-1', scheduled = T0): ExportTickEvent {
  return {
    mode: 'TICK',
    executionId,
    executionStartTime: new Date(scheduled + 1500).toISOString(),
    input: { scheduledTime: new Date(scheduled).toISOString() },
  };
}

describe('export tick handler', () => {
  let clock: ReturnType<typeof FakeTimers.install>;
  let world: World;
  let logs: string[];
  let handler: ReturnType<typeof createExportTickHandler>;

  before(() => {
    clock = FakeTimers.install({ now: T0, toFake: ['Date'] });
  });
  after(() => clock.uninstall());

  beforeEach(() => {
    clock.setSystemTime(T0);
    world = new World();
    world.params.set(settings.stateParameterName, initialStateJson());
    world.params.set(settings.actionParameterName, 'RUN');
    logs = [];
    handler = createExportTickHandler({
      clients: world,
      settings,
      log: (line) => logs.push(line),
      retry: { attempts: 2, baseDelayMs: 1 },
    });
  });

  it('bootstraps: takes the lock, reads state and action in one call, records the full export before sending it', async () => {
    const result = await handler(tickEvent());
    expect(Object.keys(result)).to.have.members(['next', 'wakeAt', 'summary']);
    const commands = world.calls.map((c) => c.command);
    expect(commands[0]).to.equal('PutParameter');
    expect(world.calls[0].input).to.include({ Name: settings.lockParameterName, Overwrite: false });
    expect(world.calls[1].command).to.equal('GetParameters');
    expect(world.calls[1].input.Names).to.have.members([
      settings.stateParameterName,
      settings.actionParameterName,
    ]);
    expect(commands.filter((c) => c === 'DescribeContinuousBackups')).to.have.length(1);
    const startIndex = commands.indexOf('ExportTableToPointInTime');
    const firstSave = world.calls.findIndex(
      (c) => c.command === 'PutParameter' && c.input.Name === settings.stateParameterName,
    );
    expect(firstSave).to.be.within(0, startIndex);
    const saved = parseState(world.calls[firstSave].input.Value, 'state');
    expect(saved.exports.map((e) => [e.type, e.status])).to.deep.equal([['FULL', 'STARTING']]);
    const request = world.calls[startIndex].input;
    expect(request.ExportType).to.equal('FULL_EXPORT');
    expect(request.ExportTime.getTime() % 60_000).to.equal(0);
    expect(request.ExportTime.getTime()).to.equal(T0 - 360_000);
    expect(request.S3Prefix).to.equal('tables/orders');
    expect(request.ClientToken).to.match(/^dce-[0-9a-f]{40}$/);
    expect(commands[commands.length - 1]).to.equal('DeleteParameter');
    expect(world.params.has(settings.lockParameterName)).to.equal(false);
    const state = world.state();
    expect(state.exports[0].status).to.equal('IN_PROGRESS');
    expect(state.driver?.executionId).to.equal('exec-1');
    // One EMF line with the shared metric names.
    expect(logs).to.have.length(1);
    const emf = JSON.parse(logs[0]);
    expect(emf._aws.CloudWatchMetrics[0].Dimensions).to.deep.equal([['Table']]);
    expect(emf.Table).to.equal('orders');
    expect(emf.InFlightExports).to.equal(1);
    expect(emf.ExportsStarted).to.equal(1);
  });

  it('repairs a crash after recording STARTING by resending the identical request (same token)', async () => {
    const s = initialState();
    s.epoch = '20261124T095000Z';
    s.exports = [
      { type: 'FULL', from: T0 / 1000 - 600, to: T0 / 1000 - 600, attempt: 1, status: 'STARTING', checks: 0 },
    ];
    world.params.set(settings.stateParameterName, serializeState(s));
    await handler(tickEvent());
    const start = world.calls.find((c) => c.command === 'ExportTableToPointInTime');
    expect(start?.input.ClientToken).to.equal(
      clientToken({
        tableArn: settings.tableArn,
        epoch: s.epoch,
        type: 'FULL',
        from: s.exports[0].from,
        to: s.exports[0].to,
        attempt: 1,
      }),
    );
    expect(start?.input.ExportTime.getTime()).to.equal(T0 - 600_000);
  });

  it('does nothing while another tick holds the lock, and asks to come back in 15 s', async () => {
    world.params.set(
      settings.lockParameterName,
      JSON.stringify({ executionId: 'other', expiresAt: T0 / 1000 + 100 }),
    );
    const result = await handler(tickEvent());
    expect(result.next).to.equal('WAIT');
    expect(result.wakeAt).to.equal(new Date(T0 + 15_000).toISOString());
    expect(world.writes()).to.deep.equal([]);
    expect(world.params.get(settings.lockParameterName)).to.contain('other');
  });

  it('answers DONE when the lock is busy past the execution period', async () => {
    world.params.set(
      settings.lockParameterName,
      JSON.stringify({ executionId: 'other', expiresAt: T0 / 1000 + 100 }),
    );
    clock.setSystemTime(T0 + 900_000 - 5000);
    const result = await handler(tickEvent());
    expect(result.next).to.equal('DONE');
  });

  it('takes over an expired lock once', async () => {
    world.params.set(
      settings.lockParameterName,
      JSON.stringify({ executionId: 'crashed', expiresAt: T0 / 1000 - 1 }),
    );
    const result = await handler(tickEvent());
    expect(result.summary.outcome).to.equal('OK');
    const lockCalls = world.calls
      .filter((c) => c.input?.Name === settings.lockParameterName)
      .map((c) => c.command);
    // Create refused, then (after winning the takeover marker) overwritten, then released at the end.
    expect(lockCalls).to.deep.equal(['PutParameter', 'PutParameter', 'DeleteParameter']);
    const markers = world.calls.filter((c) =>
      String(c.input?.Name ?? '').startsWith(`${settings.lockParameterName}-takeover-`),
    );
    expect(markers.map((c) => c.command)).to.deep.equal(['PutParameter', 'DeleteParameter']);
    expect(markers[0].input.Overwrite).to.equal(false);
  });

  it('a missing state fails with a clear error naming the parameter and writes nothing', async () => {
    world.params.delete(settings.stateParameterName);
    const error = await handler(tickEvent()).catch((e: Error) => e);
    expect(error).to.be.instanceOf(Error);
    expect((error as Error).name).to.equal('ChainStateMissingError');
    expect((error as Error).message).to.contain(settings.stateParameterName);
    expect(world.writes()).to.deep.equal([]);
    expect(world.params.has(settings.lockParameterName)).to.equal(false);
  });

  it('a corrupt state fails with a clear error and is never overwritten', async () => {
    world.params.set(settings.stateParameterName, '{"schemaVersion":1,"epoch":');
    const error = (await handler(tickEvent()).catch((e: Error) => e)) as Error;
    expect(error.name).to.equal('ChainStateCorruptError');
    expect(error.message).to.contain(settings.stateParameterName);
    expect(world.params.get(settings.stateParameterName)).to.equal('{"schemaVersion":1,"epoch":');
    expect(world.writes()).to.deep.equal([]);
  });

  it('stands down without side effects when a newer execution drives the chain', async () => {
    const s = initialState();
    s.driver = { executionId: 'exec-newer', scheduledAt: T0 / 1000 + 900, leaseUntil: T0 / 1000 + 1920 };
    world.params.set(settings.stateParameterName, serializeState(s));
    clock.setSystemTime(T0 + 901_000);
    const result = await handler(tickEvent('exec-old', T0));
    expect(result.next).to.equal('DONE');
    expect(result.summary.outcome).to.equal('NOT_DRIVER');
    expect(world.writes()).to.deep.equal([]);
  });

  it('PAUSE: checks and commits in-flight exports, starts nothing', async () => {
    const s = initialState();
    s.epoch = '20261124T000000Z';
    s.chainStart = T0 / 1000 - 3600;
    s.watermark = T0 / 1000 - 3600;
    s.sequence = 0;
    const arn = `${settings.tableArn}/export/01-inc`;
    s.exports = [
      {
        type: 'INCREMENTAL',
        from: s.watermark,
        to: s.watermark + 900,
        attempt: 1,
        status: 'IN_PROGRESS',
        arn,
        nextCheckAt: T0 / 1000,
        checks: 0,
      },
    ];
    world.params.set(settings.stateParameterName, serializeState(s));
    world.params.set(settings.actionParameterName, 'PAUSE');
    world.exports.set(arn, {
      ExportArn: arn,
      ExportStatus: 'COMPLETED',
      StartTime: new Date(T0 - 400_000),
      EndTime: new Date(T0 - 60_000),
      ItemCount: 3,
      BilledSizeBytes: 300,
    });
    const result = await handler(tickEvent());
    const commands = world.calls.map((c) => c.command);
    expect(commands).to.not.include('ExportTableToPointInTime');
    const puts = world.calls.filter((c) => c.command === 'PutObject').map((c) => c.input.Key);
    expect(puts).to.deep.equal([
      `tables/orders/chain/20261124T000000Z/00000001_20261124T090000Z_20261124T091500Z.json`,
      'tables/orders/chain/20261124T000000Z/HEAD.json',
    ]);
    const entry = JSON.parse(world.calls.find((c) => c.command === 'PutObject')?.input.Body);
    expect(entry.completedAt).to.equal(new Date(T0 - 60_000).toISOString());
    expect(entry.manifestSummaryKey).to.equal('tables/orders/AWSDynamoDB/01-inc/manifest-summary.json');
    // S3 first, then the state.
    const lastPut = commands.lastIndexOf('PutObject');
    const stateSave = world.calls.findIndex(
      (c) => c.command === 'PutParameter' && c.input.Name === settings.stateParameterName,
    );
    expect(stateSave).to.be.greaterThan(lastPut);
    expect(world.state().watermark).to.equal(T0 / 1000 - 2700);
    expect(result.next).to.equal('DONE');
  });

  it('RESET: new epoch, full export requested, action parameter never written, WARNING listing dropped exports', async () => {
    const s = initialState();
    s.epoch = '20261124T000000Z';
    s.chainStart = T0 / 1000 - 3600;
    s.watermark = T0 / 1000 - 3600;
    s.sequence = 0;
    const arn = `${settings.tableArn}/export/01-inflight`;
    s.exports = [
      {
        type: 'INCREMENTAL',
        from: s.watermark,
        to: s.watermark + 900,
        attempt: 1,
        status: 'IN_PROGRESS',
        arn,
        nextCheckAt: T0 / 1000 + 100,
        checks: 0,
      },
    ];
    world.params.set(settings.stateParameterName, serializeState(s));
    world.params.set(settings.actionParameterName, 'RESET');
    await handler(tickEvent());
    // Recorded in the state, never written back: an operator's later PAUSE cannot be overwritten.
    expect(world.params.get(settings.actionParameterName)).to.equal('RESET');
    expect(
      world.calls.some((c) => c.command === 'PutParameter' && c.input.Name === settings.actionParameterName),
    ).to.equal(false);
    const state = world.state();
    expect(state.lastReset).to.not.equal(null);
    expect(state.epoch).to.equal('20261124T100000Z');
    expect(state.chainStart).to.equal(null);
    expect(state.exports.map((e) => [e.type, e.status])).to.deep.equal([['FULL', 'IN_PROGRESS']]);
    const publish = world.calls.find((c) => c.command === 'Publish');
    expect(publish?.input.Subject).to.match(/^\[orders\] WARNING: /);
    const body = JSON.parse(publish?.input.Message);
    expect(body.event).to.equal('RESET');
    expect(body.message).to.contain('01-inflight');
    expect(body.notificationId).to.equal('orders/reset@20261124T100000Z');
    expect(publish?.input.MessageAttributes.event.StringValue).to.equal('RESET');
    // Published only after the new epoch is saved.
    const saveIndex = world.calls.findIndex(
      (c) => c.command === 'PutParameter' && c.input.Name === settings.stateParameterName,
    );
    expect(world.calls.indexOf(publish!)).to.be.greaterThan(saveIndex);
    // The same RESET is not carried out twice.
    clock.setSystemTime(T0 + 60_000);
    await handler(tickEvent('exec-1', T0));
    expect(world.state().epoch).to.equal('20261124T100000Z');
  });

  it('"not yet" answers keep the window and come back a minute later without alerting', async () => {
    const s = initialState();
    s.epoch = '20261124T000000Z';
    s.chainStart = T0 / 1000 - 3600;
    s.watermark = T0 / 1000 - 3600;
    s.sequence = 0;
    world.params.set(settings.stateParameterName, serializeState(s));
    world.startError = awsError('InvalidExportTimeException');
    const result = await handler(tickEvent());
    expect(world.calls.filter((c) => c.command === 'Publish')).to.deep.equal([]);
    const state = world.state();
    expect(state.exports.every((e) => e.status === 'STARTING' && e.notBefore === T0 / 1000 + 60)).to.equal(
      true,
    );
    expect(result.wakeAt).to.equal(new Date(T0 + 60_000).toISOString());
  });

  it('a persisting transient error ends in TransientAwsError and releases the lock', async () => {
    world.dynamodb.send = async () => {
      throw awsError('ThrottlingException');
    };
    const error = (await handler(tickEvent()).catch((e: Error) => e)) as Error;
    expect(error.name).to.equal('TransientAwsError');
    expect(world.params.has(settings.lockParameterName)).to.equal(false);
  });

  it('REPORT_FAILURE: records RUN_FAILED and alerts once per incident; the next good tick resolves it', async () => {
    const failure: ExportTickEvent = {
      mode: 'REPORT_FAILURE',
      executionId: 'exec-1',
      executionStartTime: new Date(T0).toISOString(),
      error: { Error: 'AccessDeniedException', Cause: 'not allowed to PutObject' },
    };
    await handler(failure);
    clock.setSystemTime(T0 + 600_000);
    await handler(failure);
    const published = world.calls
      .filter((c) => c.command === 'Publish')
      .map((c) => JSON.parse(c.input.Message));
    expect(published.map((m) => [m.event, m.status])).to.deep.equal([['RUN_FAILED', 'FAILED']]);
    expect(published[0].message).to.contain('AccessDeniedException').and.contain('not allowed to PutObject');
    expect(published[0].hint).to.be.a('string');
    expect(world.state().incidents.map((i) => i.key)).to.deep.equal(['RUN_FAILED:AccessDeniedException']);
    // A completed tick clears it; it is resolved once it stayed clear for the hold time.
    await handler(tickEvent('exec-2', T0 + 600_000));
    expect(world.state().incidents.map((i) => i.clearedAt)).to.deep.equal([T0 / 1000 + 600]);
    clock.setSystemTime(T0 + 1_200_000);
    await handler(tickEvent('exec-2', T0 + 600_000));
    const after = world.calls
      .filter((c) => c.command === 'Publish')
      .map((c) => JSON.parse(c.input.Message).event);
    expect(after.filter((e) => e === 'RUN_RECOVERED')).to.have.length(1);
    expect(world.state().incidents).to.deep.equal([]);
  });

  it("REPORT_FAILURE takes over the lock its own dead tick left behind, but not another execution's", async () => {
    const failure: ExportTickEvent = {
      mode: 'REPORT_FAILURE',
      executionId: 'exec-1',
      executionStartTime: new Date(T0).toISOString(),
      error: { Error: 'Sandbox.Timedout', Cause: 'timed out' },
    };
    // Taken when the timed-out tick started, 130 s ago: Lambda stopped it at its 120 s timeout.
    world.params.set(
      settings.lockParameterName,
      JSON.stringify({ executionId: 'exec-1', expiresAt: T0 / 1000 - 130 + LOCK_LEASE_SECONDS }),
    );
    await handler(failure);
    expect(world.state().incidents.map((i) => i.key)).to.deep.equal(['RUN_FAILED:Sandbox.Timedout']);
    expect(world.params.has(settings.lockParameterName)).to.equal(false);

    world.params.set(settings.stateParameterName, initialStateJson());
    world.params.set(
      settings.lockParameterName,
      JSON.stringify({ executionId: 'exec-2', expiresAt: T0 / 1000 + 200 }),
    );
    await handler({ ...failure, executionStartTime: new Date(T0 + 1_200_000).toISOString() });
    expect(world.state().incidents, 'not saved without the lock').to.deep.equal([]);
    expect(world.params.get(settings.lockParameterName)).to.contain('exec-2');
  });

  it("REPORT_FAILURE leaves its own execution's lock alone while the attempt that took it may still run", async () => {
    // The invoke's answer was lost while the tick went on running: Step Functions retried, gave up,
    // and runs the report 20 s after that tick took the lock.
    const held = JSON.stringify({
      executionId: 'exec-1',
      nonce: 'n',
      expiresAt: T0 / 1000 - 20 + LOCK_LEASE_SECONDS,
    });
    world.params.set(settings.lockParameterName, held);
    const result = await handler({
      mode: 'REPORT_FAILURE',
      executionId: 'exec-1',
      executionStartTime: new Date(T0 - 30_000).toISOString(),
      error: { Error: 'Lambda.ClientExecutionTimeoutException', Cause: 'no answer' },
    });
    expect(result.summary).to.include({ outcome: 'FAILURE_RECORDED', saved: false });
    expect(world.params.get(settings.lockParameterName)).to.equal(held);
    expect(world.state().incidents).to.deep.equal([]);
  });

  it('a retried tick never takes over the live lock of its own earlier attempt', async () => {
    const held = JSON.stringify({ executionId: 'exec-1', nonce: 'first', expiresAt: T0 / 1000 + 100 });
    world.params.set(settings.lockParameterName, held);
    const result = await handler(tickEvent('exec-1'));
    expect(result.summary).to.include({ outcome: 'LOCK_BUSY' });
    expect(result.next).to.equal('WAIT');
    expect(world.writes()).to.deep.equal([]);
    expect(world.params.get(settings.lockParameterName)).to.equal(held);
  });

  it('REPORT_FAILURE with an invalid state alerts STATE_INVALID only in the first period of an hour', async () => {
    world.params.set(settings.stateParameterName, 'garbage');
    const report = (startMs: number): ExportTickEvent => ({
      mode: 'REPORT_FAILURE',
      executionId: `exec-${startMs}`,
      executionStartTime: new Date(startMs).toISOString(),
      error: { Error: 'ChainStateCorruptError', Cause: 'bad' },
    });
    await handler(report(T0 + 5_000));
    await handler(report(T0 + 900_000));
    await handler(report(T0 + 1_800_000));
    const events = world.calls
      .filter((c) => c.command === 'Publish')
      .map((c) => JSON.parse(c.input.Message).event);
    expect(events).to.deep.equal(['STATE_INVALID']);
    expect(world.params.get(settings.stateParameterName)).to.equal('garbage');
  });

  it('a deleted table: one alert, nothing requested, DONE', async () => {
    world.pitr = 'GONE';
    const first = await handler(tickEvent());
    clock.setSystemTime(T0 + 60_000);
    const second = await handler(tickEvent());
    expect([first.next, second.next]).to.deep.equal(['DONE', 'DONE']);
    expect(world.calls.filter((c) => c.command === 'ExportTableToPointInTime')).to.deep.equal([]);
    const events = world.calls
      .filter((c) => c.command === 'Publish')
      .map((c) => JSON.parse(c.input.Message).event);
    expect(events).to.deep.equal(['TABLE_DELETED']);
  });
});
