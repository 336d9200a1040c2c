/**
 * The Iceberg feed's deployed definition under the local interpreter: its Lambda steps run in process
 * against in-memory S3 and SSM, and `athena:startQueryExecution.sync` runs the exact SQL on DuckDB
 * (sim/machines/athenaSyncTask.ts). The lake must equal the fold of the chain, through throttling, Iceberg
 * commit conflicts, a crash between MERGE and Commit, and a failed query (which halts with one alert);
 * through the operator's pause, resume and rebuild (written by `dce iceberg`'s own code) and SSM
 * errors, which the Lambda retries and then hands to the definition's retry as TransientAwsError.
 */
import { expect } from 'chai';
import { CallLog } from '../../../sim/fakeAws/service';
import { FakeSSM } from '../../../sim/fakeAws/ssm';
import {
  createIcebergHandler,
  type IcebergEvent,
  type IcebergSettings,
} from '../../../functions/iceberg/feed';
import { parseIcebergState } from '../../../functions/iceberg/state';
import { runIcebergCommand } from '../../../cli/consumers/icebergCommands';
import type { ConsumerCommand } from '../../../cli/consumers/consumerCommands';
import { readParameterVersion } from '../../../cli/status';
import { renderIcebergDefinition, renderIcebergDefinitionString } from '../../../statemachine/render';
import { AthenaSyncTask, type AthenaFault, type AthenaTaskInput } from '../../../sim/machines/athenaSyncTask';
import type { DuckAthena } from '../../../sim/athenaDuck';
import { SimpleTable } from '../../../sim/simpleTable';
import type { ChainEntry } from '../../../functions/shared/chainManifest';
import { MemoryS3, writeChain } from '../../helpers/exportChain';
import {
  LAKE_BUCKET,
  LAKE_PREFIX,
  foldChain,
  lakeRows,
  oracleAthena,
  oracleSpec,
  sorted,
} from '../../helpers/icebergOracle';

// asl-validator ships no type declarations.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const aslValidator = require('asl-validator') as (definition: unknown) => {
  isValid: boolean;
  errors: unknown[];
};

const T0 = Date.UTC(2026, 10, 3) / 1000;
const PARAMS = {
  IcebergFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:dev-orders-iceberg',
  WorkGroup: 'dev-orders-iceberg',
  Database: 'lake',
  Catalog: 'AwsDataCatalog',
};
const STATE = '/dce/dev/orders/iceberg/state';
const ACTION = '/dce/dev/orders/iceberg/action';

function history(): SimpleTable {
  const t = new SimpleTable();
  for (let i = 0; i < 6; i++) t.put(T0 - 100 + i, SimpleTable.item(`k${i}`, { v: { N: String(i) } }));
  t.put(T0 + 10, SimpleTable.item('k1', { v: { N: '10' } }));
  t.delete(T0 + 20, { pk: { S: 'k2' } });
  t.put(T0 + 950, SimpleTable.item('k2', { v: { N: '22' } }));
  t.delete(T0 + 960, { pk: { S: 'k3' } });
  t.put(T0 + 1900, SimpleTable.item('k9', { v: { N: '9' } }));
  return t;
}

interface Harness {
  s3: MemoryS3;
  ssm: FakeSSM;
  duck: DuckAthena;
  athena: AthenaSyncTask;
  alerts: unknown[];
  /** The Lambda's log lines (EMF metrics, the rebuild's record). */
  logs: string[];
  clock: { now: number };
  run: (
    name: string,
    overrides?: { commitThrows?: string },
  ) => Promise<{ status: string; entered: string[]; error?: string }>;
  entries: ChainEntry[];
  epoch: string;
}

async function harness(fault?: (input: AthenaTaskInput, call: number) => AthenaFault): Promise<Harness> {
  const s3 = new MemoryS3();
  const chain = await writeChain({
    s3,
    bucket: LAKE_BUCKET,
    prefix: LAKE_PREFIX,
    table: history(),
    start: T0,
    windows: [
      [T0, T0 + 900],
      [T0 + 900, T0 + 1800],
      [T0 + 1800, T0 + 2700],
    ],
  });
  const spec = oracleSpec();
  const duck = await oracleAthena(s3, spec);
  const athena = new AthenaSyncTask(duck, fault);
  const clock = { now: T0 + 3600 };
  const ssm = new FakeSSM(new CallLog(), () => clock.now * 1000, 'eu-west-1', '123456789012');
  // What `pulumi up` creates.
  ssm.set(STATE, '{}');
  ssm.set(ACTION, 'RUN');
  const alerts: unknown[] = [];
  const logs: string[] = [];
  const settings: IcebergSettings = {
    feedName: 'dev-orders-iceberg',
    spec,
    chainBucket: LAKE_BUCKET,
    chainPrefix: LAKE_PREFIX,
    stateParameterName: STATE,
    actionParameterName: ACTION,
    lockParameterName: '/dce/dev/orders/iceberg/lock',
    topicArn: 'arn:aws:sns:eu-west-1:123456789012:dev-orders',
    onNewEpoch: 'rebuild',
    mergeEveryMinutes: 15,
    maxExportsPerMerge: 96,
    leaseSeconds: 1800,
  };
  const lambda = createIcebergHandler(
    settings,
    { s3, ssm, sns: { send: async (command: { input: unknown }) => alerts.push(command.input) } as never },
    () => clock.now,
    { log: (line) => logs.push(line), retry: { sleep: async () => undefined } },
  );
  const definition = renderIcebergDefinition(PARAMS) as {
    States: Record<string, { Type: string; Resource?: string }>;
  };
  const run: Harness['run'] = async (name, overrides = {}) => {
    const { StateMachine } = await import('aws-local-stepfunctions');
    const machine = new StateMachine(definition as never);
    let commitThrows = overrides.commitThrows;
    const handlers: Record<string, (input: any) => Promise<any>> = {};
    for (const [state, body] of Object.entries(definition.States)) {
      if (body.Resource === 'arn:aws:states:::lambda:invoke')
        handlers[state] = async (input) => {
          if (state === 'Commit' && commitThrows && input.Payload.claim.kind === 'MERGE') {
            const error = Object.assign(new Error('the execution was stopped'), { name: commitThrows });
            commitThrows = undefined;
            throw error;
          }
          return { Payload: await lambda(input.Payload as IcebergEvent) };
        };
      if (body.Resource === 'arn:aws:states:::athena:startQueryExecution.sync')
        handlers[state] = (input) => athena.handle(input as AthenaTaskInput);
    }
    const execution = machine.run(
      {},
      {
        overrides: {
          taskResourceLocalHandlers: handlers,
          waitTimeOverrides: { 'Back off': 0 },
          retryIntervalOverrides: {
            Plan: 0,
            Commit: 0,
            Merge: 0,
            EnsureTable: 0,
            'Record the failed query': 0,
          },
        },
        context: {
          Execution: { Id: `arn:aws:states:eu-west-1:123456789012:execution:feed:${name}` },
        } as never,
      },
    );
    let status = 'SUCCEEDED';
    let error: string | undefined;
    try {
      await execution.result;
    } catch (err) {
      status = 'FAILED';
      error = ((err as Error).cause as Error | undefined)?.name ?? (err as Error).name;
    }
    const entered: string[] = [];
    for await (const event of execution.eventLogs as AsyncIterable<any>)
      if (event.type === 'StateEntered') entered.push(event.state.name);
    return { status, entered, error };
  };
  return {
    s3,
    ssm,
    duck,
    athena,
    alerts,
    logs,
    clock,
    run,
    entries: chain.entries.map((e) => e.entry),
    epoch: chain.epoch,
  };
}

/** The operator's command, as `dce iceberg` runs it. */
async function operator(h: Harness, command: ConsumerCommand): Promise<void> {
  const feed = { stateParameterName: STATE, actionParameterName: ACTION };
  await runIcebergCommand({ ssm: h.ssm, alias: 'orders', feed, command });
}

async function expectLakeEqualsChain(h: Harness, generation = 0) {
  const spec = oracleSpec();
  expect(sorted(await lakeRows(h.duck, spec, h.epoch, generation))).to.deep.equal(
    sorted(await foldChain(h.s3, spec, h.entries)),
  );
  // Readers query the view, which selects the epoch's table.
  const view = await h.duck.rows(`SELECT count(*) AS n FROM "lake"."orders"`);
  expect(Number(view[0].n)).to.equal((await foldChain(h.s3, spec, h.entries)).size);
}

describe('Iceberg feed workflow (statemachine/iceberg-feed.asl.json) on DuckDB', function () {
  this.timeout(60_000);

  it('renders, passes asl-validator, and uses athena:startQueryExecution.sync with a ClientRequestToken', () => {
    const text = renderIcebergDefinitionString(PARAMS);
    expect(text).not.to.match(/\$\{/);
    const result = aslValidator(JSON.parse(text));
    expect(result.errors).to.deep.equal([]);
    const states = (JSON.parse(text) as { States: Record<string, any> }).States;
    for (const name of ['EnsureTable', 'Merge']) {
      expect(states[name].Resource).to.equal('arn:aws:states:::athena:startQueryExecution.sync');
      expect(states[name].Parameters['ClientRequestToken.$']).to.equal('$.plan.claim.token');
      expect(states[name].Retry[0].ErrorEquals).to.include('Athena.TooManyRequestsException');
      expect(states[name].Catch[0].ErrorEquals).to.deep.equal(['States.ALL']);
    }
    expect(() => renderIcebergDefinition({ ...PARAMS, WorkGroup: '' })).to.throw(/WorkGroup/);
  });

  it('creates the table, bootstraps from the full export, swaps the view, merges the incrementals: the lake equals the chain', async () => {
    const h = await harness();
    try {
      const run = await h.run('1');
      expect(run.status).to.equal('SUCCEEDED');
      expect(run.entered.filter((s) => s === 'EnsureTable' || s === 'Merge')).to.deep.equal([
        'EnsureTable',
        'Merge',
        'EnsureTable',
        'Merge',
      ]);
      expect(h.athena.executed.map((q) => q.split(' ').slice(0, 3).join(' '))).to.deep.equal([
        'CREATE TABLE IF',
        'MERGE INTO "lake"."orders__e20261103t000000z"',
        'CREATE OR REPLACE',
        'MERGE INTO "lake"."orders__e20261103t000000z"',
      ]);
      await expectLakeEqualsChain(h);
      const state = parseIcebergState(h.ssm.get(STATE)!);
      expect(state).to.include({
        lastAppliedSequence: 3,
        watermark: new Date((T0 + 2700) * 1000).toISOString(),
      });
      expect(state.inProgress).to.equal(null);
      expect(state.lastQuery!.dataScannedInBytes).to.be.greaterThan(0);
      // Nothing new: the next execution plans, finds nothing, and ends.
      const again = await h.run('2');
      expect(again.entered).to.deep.equal(['Plan', 'What next?', 'Done']);
    } finally {
      h.duck.close();
    }
  });

  it('throttling is retried with the same token; ICEBERG_COMMIT_ERROR with a new one after a back-off', async () => {
    const h = await harness((input, call) => {
      if (!input.QueryString.startsWith('MERGE')) return undefined;
      if (call === 1) return { throws: 'Athena.TooManyRequestsException' };
      if (call === 2) return { queryFails: 'ICEBERG_COMMIT_ERROR: Failed to commit Iceberg update to table' };
      return undefined;
    });
    try {
      const run = await h.run('1');
      expect(run.status).to.equal('SUCCEEDED');
      expect(run.entered).to.include.members(['Record the failed query', 'Back off']);
      await expectLakeEqualsChain(h);
      expect(h.alerts).to.deep.equal([]);
      // The failed attempt and its retry are two queries with two tokens; the throttled call made none.
      expect(h.athena.tokens.size).to.equal(5);
    } finally {
      h.duck.close();
    }
  });

  it('a crash between MERGE and Commit: the next execution gets the same batch and token, and Athena does not run it again', async () => {
    const h = await harness();
    try {
      const first = await h.run('1', { commitThrows: 'States.Runtime' });
      expect(first.status).to.equal('FAILED');
      const claim = parseIcebergState(h.ssm.get(STATE)!).inProgress!;
      expect(claim).to.include({ kind: 'MERGE', fromSequence: 0, toSequence: 0 });
      h.clock.now += 3600; // the claim's lease has run out
      const second = await h.run('2');
      expect(second.status).to.equal('SUCCEEDED');
      const merges = h.athena.executed.filter((q) => q.startsWith('MERGE'));
      expect(merges).to.have.length(2); // the full export once, then the incrementals
      expect(merges[0]).to.include("'e20261103T000000Z-00000000'");
      expect(h.athena.tokens.has(claim.token)).to.equal(true);
      await expectLakeEqualsChain(h);
    } finally {
      h.duck.close();
    }
  });

  it('a query that fails for good halts the feed with one alert; later executions stay quiet', async () => {
    const h = await harness((input) =>
      input.QueryString.startsWith('MERGE')
        ? { queryFails: 'HIVE_BAD_DATA: Error parsing field value' }
        : undefined,
    );
    try {
      const first = await h.run('1');
      expect(first).to.include({ status: 'FAILED', error: 'IcebergFeedHalted' });
      expect(h.alerts).to.have.length(1);
      expect(JSON.stringify(h.alerts[0])).to.match(/HIVE_BAD_DATA/);
      const state = parseIcebergState(h.ssm.get(STATE)!);
      expect(state).to.include({ status: 'HALTED', lastAppliedSequence: -1 });
      expect(state.halt).to.include({ reason: 'QUERY_FAILED', alerted: true });
      const second = await h.run('2');
      expect(second.status).to.equal('SUCCEEDED');
      expect(h.alerts).to.have.length(1);
    } finally {
      h.duck.close();
    }
  });

  it('pause stops merges (the running MERGE is committed), and resume continues to the same lake', async () => {
    let merges = 0;
    // The callback runs during the executions below, once `h` is set.
    const h: Harness = await harness((input) => {
      // The operator pauses while the bootstrap MERGE runs.
      if (input.QueryString.startsWith('MERGE') && merges++ === 0) h.ssm.set(ACTION, 'PAUSE');
      return undefined;
    });
    try {
      const writesBefore = h.s3.writes.length;
      const first = await h.run('1');
      expect(first.status).to.equal('SUCCEEDED');
      let state = parseIcebergState(h.ssm.get(STATE)!);
      expect(state).to.include({ status: 'PAUSED', lastAppliedSequence: 0 });
      expect(state.inProgress).to.equal(null);
      expect(h.athena.executed.filter((q) => q.startsWith('MERGE'))).to.have.length(1);
      // Paused: executions plan, run nothing, and the lag metric still reports.
      const lagLines = () => h.logs.filter((l) => l.includes('"IcebergLagSeconds"')).length;
      const before = lagLines();
      const idle = await h.run('2');
      expect(idle.entered).to.deep.equal(['Plan', 'What next?', 'Done']);
      expect(lagLines()).to.equal(before + 1);
      // The feed writes nothing but its own folder: never the chain or the exports.
      expect(h.s3.writes.slice(writesBefore).filter((k) => !k.includes('/iceberg/'))).to.deep.equal([]);
      await operator(h, 'resume');
      const resumed = await h.run('3');
      expect(resumed.status).to.equal('SUCCEEDED');
      state = parseIcebergState(h.ssm.get(STATE)!);
      expect(state).to.include({ status: 'ACTIVE', lastAppliedSequence: 3 });
      await expectLakeEqualsChain(h);
    } finally {
      h.duck.close();
    }
  });

  it('rebuild fills a new table from the full export and catches up, then swaps the view: the same lake under a new name', async () => {
    const h = await harness();
    try {
      expect((await h.run('1')).status).to.equal('SUCCEEDED');
      const spec = oracleSpec();
      const original = sorted(await lakeRows(h.duck, spec, h.epoch));
      await operator(h, 'rebuild');
      const version = (await readParameterVersion(h.ssm, ACTION)).version!;
      const rebuilt = await h.run('2');
      expect(rebuilt.status).to.equal('SUCCEEDED');
      const table = `orders__e20261103t000000z_r${version}`;
      const statements = h.athena.executed.slice(4).map((q) => q.split('\n')[0]);
      expect(statements).to.have.length(4);
      expect(statements[0]).to.equal(`CREATE TABLE IF NOT EXISTS \`lake\`.\`${table}\` (`);
      expect(statements[1]).to.equal(`MERGE INTO "lake"."${table}" AS t`);
      expect(statements[2]).to.equal(`MERGE INTO "lake"."${table}" AS t`);
      // Only once the new table has merged as far as the old one: readers never go back in time.
      expect(statements[3]).to.match(
        new RegExp(`^CREATE OR REPLACE VIEW "lake"."orders" AS SELECT .* FROM "lake"."${table}"$`),
      );
      const state = parseIcebergState(h.ssm.get(STATE)!);
      expect(state).to.include({ generation: version, viewGeneration: version, rebuildVersion: version });
      await expectLakeEqualsChain(h, version);
      // The old table is left as it was; the rebuilt one holds the same rows.
      expect(sorted(await lakeRows(h.duck, spec, h.epoch))).to.deep.equal(original);
      expect(sorted(await lakeRows(h.duck, spec, h.epoch, version))).to.deep.equal(original);
      expect(h.logs.some((l) => l.includes('"ICEBERG_REBUILT"'))).to.equal(true);
      // Carried out once: the next execution finds nothing to do.
      const again = await h.run('3');
      expect(again.entered).to.deep.equal(['Plan', 'What next?', 'Done']);
    } finally {
      h.duck.close();
    }
  });

  it('SSM errors in Plan and Commit are retried, then handed to the definition as TransientAwsError: the run succeeds', async () => {
    const h = await harness();
    try {
      // More failures than the Lambda's own attempts (4): the definition's retry of TransientAwsError takes over.
      h.ssm.injectFault({ command: 'GetParameters', error: 'InternalServerError', times: 6 });
      h.ssm.injectFault({ command: 'PutParameter', error: 'ThrottlingException', times: 5 });
      const run = await h.run('1');
      expect(run.status).to.equal('SUCCEEDED');
      await expectLakeEqualsChain(h);
    } finally {
      h.duck.close();
    }
  });
});
