/**
 * `dce iceberg pause | resume | rebuild | sql` and the feed's `dce status` row: the decisions (pure),
 * and the commands in process (runDce) against an in-memory SSM and S3 holding a real-format chain.
 */
import { expect } from 'chai';
import { runDce } from '../../../cli/dce';
import { decideIcebergCommand } from '../../../cli/consumers/icebergCommands';
import {
  deriveIcebergStatus,
  formatIcebergStatus,
  type IcebergRef,
} from '../../../cli/consumers/icebergStatus';
import type { IcebergSettings } from '../../../functions/iceberg/feed';
import { createTableSql, mergeSql } from '../../../functions/iceberg/sql';
import { initialIcebergState, type IcebergFeedState } from '../../../functions/iceberg/state';
import { CallLog } from '../../../sim/fakeAws/service';
import { FakeSSM } from '../../../sim/fakeAws/ssm';
import { SimpleTable } from '../../../sim/simpleTable';
import { MemoryS3, writeChain } from '../../helpers/exportChain';
import { LAKE_BUCKET, LAKE_PREFIX, oracleSpec } from '../../helpers/icebergOracle';
import { capturedIo } from '../../helpers/capturedIo';

const T0 = Date.UTC(2026, 10, 3) / 1000;
const NOW = T0 + 7200;
const STATE = '/dynamodb-continuous-exports/prod/orders/iceberg/state';
const ACTION = '/dynamodb-continuous-exports/prod/orders/iceberg/action';
const AT = new Date(T0 * 1000).toISOString();

const SETTINGS: IcebergSettings = {
  feedName: 'prod-orders-iceberg',
  sourceAlias: 'orders',
  spec: oracleSpec(),
  chainBucket: LAKE_BUCKET,
  chainPrefix: LAKE_PREFIX,
  stateParameterName: STATE,
  actionParameterName: ACTION,
  lockParameterName: '/dynamodb-continuous-exports/prod/orders/iceberg/lock',
  onNewEpoch: 'rebuild',
  mergeEveryMinutes: 60,
  maxExportsPerMerge: 96,
  leaseSeconds: 1800,
};

const REF: IcebergRef = {
  stateParameterName: STATE,
  actionParameterName: ACTION,
  view: 'lake.orders',
  settings: SETTINGS,
};

function state(fields: Partial<IcebergFeedState>): IcebergFeedState {
  return { ...initialIcebergState(), ...fields };
}

const halted = state({
  status: 'HALTED',
  epoch: '20261103T000000Z',
  halt: { reason: 'QUERY_FAILED', detail: 'MERGE failed', at: AT, alerted: true },
});

describe('dce iceberg: what a command writes (cli/consumers/icebergCommands.ts)', () => {
  const read = (value: string | null, version = 1) => ({ value, version });

  it('pause and resume write their action, or nothing when it is already there', () => {
    expect(decideIcebergCommand('pause', read('RUN'), state({}), { force: false })).to.deep.equal({
      kind: 'write',
      action: 'PAUSE',
      cancelsRebuild: false,
    });
    expect(decideIcebergCommand('pause', read('PAUSE'), state({}), { force: false })).to.deep.equal({
      kind: 'unchanged',
    });
    expect(
      decideIcebergCommand('resume', read('PAUSE'), state({ status: 'PAUSED' }), { force: false }),
    ).to.deep.include({
      kind: 'write',
      action: 'RUN',
    });
  });

  it('refuses to cancel a pending rebuild without --force, and says so', () => {
    const pending = decideIcebergCommand('resume', read('REBUILD', 3), state({ rebuildVersion: 2 }), {
      force: false,
    });
    expect(pending.kind).to.equal('refuse');
    expect((pending as { message: string }).message).to.match(/rebuild .* is pending .*--force/);
    expect(
      decideIcebergCommand('resume', read('REBUILD', 3), state({ rebuildVersion: 2 }), { force: true }),
    ).to.deep.equal({
      kind: 'write',
      action: 'RUN',
      cancelsRebuild: true,
    });
    // Carried out already: REBUILD acts as RUN, nothing to cancel.
    expect(
      decideIcebergCommand('resume', read('REBUILD', 3), state({ rebuildVersion: 3 }), { force: false }).kind,
    ).to.equal('write');
  });

  it('a halted feed: pause and resume refuse, naming the halt and the rebuild; rebuild writes once', () => {
    const refused = decideIcebergCommand('resume', read('RUN'), halted, { force: false });
    expect((refused as { message: string }).message).to.match(
      /HALTED \(QUERY_FAILED: MERGE failed\).*dce iceberg rebuild/,
    );
    expect(decideIcebergCommand('rebuild', read('RUN'), halted, { force: false })).to.deep.include({
      action: 'REBUILD',
    });
    expect(decideIcebergCommand('rebuild', read('REBUILD', 4), halted, { force: false })).to.deep.equal({
      kind: 'unchanged',
    });
  });
});

describe("dce status: the Iceberg feed's row (cli/consumers/icebergStatus.ts)", () => {
  const derive = (stateText: string | null, action = { value: 'RUN', version: 1 }) =>
    deriveIcebergStatus({
      ref: REF,
      stateText,
      action,
      now: NOW,
      chainWatermark: new Date((T0 + 2700) * 1000).toISOString(),
    });

  it('running, with its table, cursor, lag behind the chain and the bytes of its last query', () => {
    const r = derive(
      JSON.stringify(
        state({
          epoch: '20261103T000000Z',
          generation: 2,
          lastAppliedSequence: 2,
          watermark: new Date((T0 + 1800) * 1000).toISOString(),
          lastQuery: { id: 'q-1', dataScannedInBytes: 2_500_000, at: AT },
        }),
      ),
    );
    expect(r).to.deep.include({
      status: 'running',
      table: 'orders__e20261103t000000z_r2',
      lastAppliedSequence: 2,
      lagSeconds: 900,
    });
    const text = formatIcebergStatus(r);
    expect(text).to.match(/status: +running/);
    expect(text).to.match(/lag: +15m behind the chain/);
    expect(text).to.match(/last query: +2\.5 MB scanned/);
  });

  it('paused as the plan reads the action (an invalid value pauses too), halted with its reason, {} before the first plan', () => {
    expect(derive(JSON.stringify(state({})), { value: 'PAUSE', version: 2 }).status).to.equal('paused');
    expect(derive(JSON.stringify(state({})), { value: 'nope', version: 2 }).status).to.equal('paused');
    const h = derive(JSON.stringify(halted), { value: 'PAUSE', version: 2 });
    expect(h.status).to.equal('halted');
    expect(formatIcebergStatus(h)).to.match(/halted \(QUERY_FAILED .*dce iceberg rebuild/);
    expect(derive('{}')).to.deep.include({ status: 'running', lastAppliedSequence: -1, lagSeconds: null });
    expect(
      derive(JSON.stringify(state({})), { value: 'REBUILD', version: 5 }).action.pendingRebuild,
    ).to.equal(true);
  });

  it('not deployed and state corrupt say so, naming the parameter', () => {
    expect(formatIcebergStatus(derive(null))).to.match(/not deployed \(no parameter .*iceberg\/state\)/);
    const corrupt = derive('{"schemaVersion": 9}');
    expect(corrupt.status).to.equal('state corrupt');
    expect(formatIcebergStatus(corrupt)).to.match(/state corrupt \(Iceberg feed state is not valid/);
  });
});

describe('dce iceberg in process (cli/dce.ts runDce)', () => {
  async function setup(options: { stateValue?: IcebergFeedState | '{}'; withFeed?: boolean } = {}) {
    const ssm = new FakeSSM(new CallLog(), () => NOW * 1000, 'eu-west-1', '123456789012');
    ssm.set(
      STATE,
      options.stateValue === undefined || options.stateValue === '{}'
        ? '{}'
        : JSON.stringify(options.stateValue),
    );
    ssm.set(ACTION, 'RUN');
    ssm.set('/dynamodb-continuous-exports/prod/orders/action', 'RUN');
    const s3 = new MemoryS3();
    const table = new SimpleTable();
    for (let i = 0; i < 4; i++) table.put(T0 - 100 + i, SimpleTable.item(`k${i}`, { v: { N: String(i) } }));
    table.put(T0 + 10, SimpleTable.item('k1', { v: { N: '10' } }));
    const chain = await writeChain({
      s3,
      bucket: LAKE_BUCKET,
      prefix: LAKE_PREFIX,
      table,
      start: T0,
      windows: [[T0, T0 + 900]],
    });
    const iceberg = {
      view: 'lake.orders',
      stateParameterName: STATE,
      actionParameterName: ACTION,
      lockParameterName: SETTINGS.lockParameterName,
      stateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:prod-orders-iceberg',
      workGroupName: 'prod-orders-iceberg',
      lagAlarmName: 'prod-orders-iceberg-lag',
      settings: JSON.stringify(SETTINGS),
    };
    const output = {
      tables: {
        value: {
          orders: {
            bucket: LAKE_BUCKET,
            prefix: LAKE_PREFIX,
            parameters: {
              action: '/dynamodb-continuous-exports/prod/orders/action',
              state: '/dynamodb-continuous-exports/prod/orders/state',
              lock: '/dynamodb-continuous-exports/prod/orders/lock',
            },
            ...(options.withFeed === false ? {} : { iceberg }),
          },
        },
      },
    };
    const { io, stdout, stderr } = capturedIo({ now: () => NOW });
    const run = (argv: string[]) =>
      runDce(argv, io, {
        clients: () => ({ s3, ssm, dynamodb: ssm }) as never,
        readInput: () => JSON.stringify(output),
      });
    return { ssm, s3, chain, run, out: stdout, err: stderr };
  }

  it('pause, resume and rebuild write the action parameter only; rebuild without a terminal needs --yes', async () => {
    const s = await setup();
    expect(await s.run(['iceberg', 'pause', '--stack-output', 'o.json', '--json'])).to.equal(0);
    expect(JSON.parse(s.out())).to.deep.include({ previousAction: 'RUN', action: 'PAUSE', changed: true });
    expect(s.ssm.get(ACTION)).to.equal('PAUSE');
    expect(s.ssm.get(STATE)).to.equal('{}');
    expect(await s.run(['iceberg', 'resume', '--stack-output', 'o.json'])).to.equal(0);
    expect(s.ssm.get(ACTION)).to.equal('RUN');
    expect(await s.run(['iceberg', 'rebuild', '--stack-output', 'o.json'])).to.equal(2);
    expect(s.err()).to.match(/rebuild needs confirmation.*--yes/);
    expect(await s.run(['iceberg', 'rebuild', '--stack-output', 'o.json', '--yes'])).to.equal(0);
    expect(s.ssm.get(ACTION)).to.equal('REBUILD');
  });

  it('with --stack and --alias alone, the parameters are derived from the stack; sql then asks for the stack output', async () => {
    const s = await setup();
    expect(await s.run(['iceberg', 'pause', '--stack', 'prod', '--alias', 'orders'])).to.equal(0);
    expect(s.ssm.get(ACTION)).to.equal('PAUSE');
    expect(await s.run(['iceberg', 'sql', '--stack', 'prod', '--alias', 'orders'])).to.equal(2);
    expect(s.err()).to.match(
      /only the stack output has \(tables\.orders\.iceberg\.settings\): pass --stack-output/,
    );
  });

  it('a table without a feed: every iceberg command says so and exits 2', async () => {
    const s = await setup({ withFeed: false });
    for (const command of ['pause', 'resume', 'sql']) {
      expect(await s.run(['iceberg', command, '--stack-output', 'o.json'])).to.equal(2);
    }
    expect(s.err()).to.match(/table orders has no Iceberg feed: its stack output has no 'iceberg' entry/);
    const missing = await setup();
    missing.ssm.remove(STATE);
    expect(await missing.run(['iceberg', 'pause', '--stack-output', 'o.json'])).to.equal(2);
    expect(missing.err()).to.match(/state parameter .*iceberg\/state does not exist/);
  });

  it("sql prints the feed's own statements up to the next MERGE, without running or writing anything", async () => {
    const s = await setup();
    const writes = s.s3.writes.length;
    expect(await s.run(['iceberg', 'sql', '--stack-output', 'o.json', '--json'])).to.equal(0);
    const result = JSON.parse(s.out());
    expect(result.pending).to.equal(true);
    expect(result.statements.map((x: { kind: string }) => x.kind)).to.deep.equal(['CREATE_TABLE', 'MERGE']);
    const epoch = s.chain.epoch;
    expect(result.statements[0].sql).to.equal(createTableSql(SETTINGS.spec, epoch));
    const full = s.chain.entries[0].entry;
    expect(result.statements[1].sql).to.equal(
      mergeSql(SETTINGS.spec, epoch, [
        {
          sequence: 0,
          type: 'FULL',
          exportId: full.exportArn.split('/').pop()!,
          exportTimeMicros: BigInt(Date.parse(full.to)) * 1000n,
        },
      ]),
    );
    expect(result.statements[1].staging[0].key).to.match(
      /^s3:\/\/lake-bucket\/exports\/orders\/iceberg\/orders\/staging\/export=e\d{8}T\d{6}Z-00000000\/symlink\.txt$/,
    );
    expect(s.s3.writes.length).to.equal(writes);
    expect(s.ssm.get(STATE)).to.equal('{}');
  });

  it('sql says when nothing is pending, and when the feed is halted', async () => {
    const upToDate = await setup();
    const epoch = upToDate.chain.epoch;
    upToDate.ssm.set(
      STATE,
      JSON.stringify(
        state({
          epoch,
          tableCreated: true,
          viewEpoch: epoch,
          viewGeneration: 0,
          viewColumns: [],
          lastAppliedSequence: 1,
          watermark: upToDate.chain.entries[1].entry.to,
        }),
      ),
    );
    expect(await upToDate.run(['iceberg', 'sql', '--stack-output', 'o.json'])).to.equal(0);
    expect(upToDate.out()).to.match(/^-- nothing pending: up to date at sequence 1/);
    const stopped = await setup({ stateValue: halted });
    expect(await stopped.run(['iceberg', 'sql', '--stack-output', 'o.json'])).to.equal(0);
    expect(stopped.out()).to.match(/nothing pending: the feed is HALTED \(QUERY_FAILED.*dce iceberg rebuild/);
  });

  it("dce status shows the feed's row from the stack output", async () => {
    const s = await setup();
    s.ssm.set('/dynamodb-continuous-exports/prod/orders/state', '');
    await s.run(['status', '--stack-output', 'o.json', '--json']);
    const report = JSON.parse(s.out());
    expect(report.iceberg).to.deep.include({
      view: 'lake.orders',
      status: 'running',
      stateParameterName: STATE,
    });
  });

  it('dce status with --stack alone shows the feed only where its state parameter exists', async () => {
    const s = await setup();
    s.ssm.set('/dynamodb-continuous-exports/prod/orders/state', '');
    const argv = ['status', '--stack', 'prod', '--alias', 'orders', '--json'];
    expect(await s.run(argv)).to.equal(0);
    expect(JSON.parse(s.out()).iceberg).to.deep.include({ status: 'running', view: null });
    const without = await setup();
    without.ssm.remove(STATE);
    without.ssm.set('/dynamodb-continuous-exports/prod/orders/state', '');
    expect(await without.run(argv)).to.equal(0);
    expect(JSON.parse(without.out())).to.not.have.property('iceberg');
  });
});
