/**
 * The Glue table optimizers of the Iceberg feed's tables: the deployed definition (rendered with
 * optimizers) under the local interpreter, its Lambda steps in process, Athena on DuckDB, and
 * `aws-sdk:glue:createTableOptimizer` served by the fake Glue (sim/machines/glueOptimizerTask.ts) after IAM
 * evaluates the state machine's role as the component renders it (the call on the lake table, and
 * iam:PassRole of the optimizer role to Glue).
 */
import { expect } from 'chai';
import { CallLog } from '../../../sim/fakeAws/service';
import { FakeSSM } from '../../../sim/fakeAws/ssm';
import { createIcebergHandler, type IcebergEvent } from '../../../functions/iceberg/feed';
import { parseIcebergState } from '../../../functions/iceberg/state';
import { renderIcebergDefinition, type IcebergOptimizerParameters } from '../../../statemachine/render';
import { AthenaSyncTask, type AthenaTaskInput } from '../../../sim/machines/athenaSyncTask';
import type { DuckAthena } from '../../../sim/athenaDuck';
import {
  GLUE_CREATE_TABLE_OPTIMIZER,
  GlueOptimizers,
  type CreateTableOptimizerInput,
  type GlueFault,
} from '../../../sim/machines/glueOptimizerTask';
import { AccessEvaluator } from '../../../sim/iam/evaluator';
import { glueOptimizerRequests } from '../../../sim/iam/requests';
import { runServiceTask, type ServiceTask } from '../../../sim/machines/serviceTasks';
import type { JsonValue } from '../../../sim/machines/localMachine';
import { SimpleTable } from '../../../sim/simpleTable';
import {
  icebergStateMachinePolicy,
  type IcebergResourceFacts,
} from '../../../components/consumers/icebergPermissions';
import { MemoryS3, writeChain } from '../../helpers/exportChain';
import { LAKE_BUCKET, LAKE_PREFIX, oracleAthena, oracleSpec } from '../../helpers/icebergOracle';

const T0 = Date.UTC(2026, 10, 3) / 1000;
const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';
const PARAMS = {
  IcebergFunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:dev-orders-iceberg-plan`,
  WorkGroup: 'dev-orders-iceberg',
  Database: 'lake',
  Catalog: 'AwsDataCatalog',
};
const OPTIMIZER_ROLE = `arn:aws:iam::${ACCOUNT}:role/dev-orders-iceberg-optimizer-role`;
const OPTIMIZERS: IcebergOptimizerParameters = {
  roleArn: OPTIMIZER_ROLE,
  catalogId: ACCOUNT,
  snapshotRetentionDays: 7,
  snapshotsToRetain: 2,
  orphanFileRetentionDays: 4,
};
const STATE = '/dce/dev/orders/iceberg/state';
const TABLE = 'orders__e20261103t000000z';
const MACHINE_ROLE = 'dev-orders-iceberg-states-role';

/** The state machine role's facts, as the component derives them for this feed. */
function facts(withOptimizers: boolean): IcebergResourceFacts {
  return {
    partition: 'aws',
    region: REGION,
    accountId: ACCOUNT,
    bucket: LAKE_BUCKET,
    prefix: LAKE_PREFIX,
    icebergRoot: `${LAKE_PREFIX}/iceberg/orders/`,
    parameterArns: [],
    lockParameterArn: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/dce/dev/orders/iceberg/lock`,
    topicArn: `arn:aws:sns:${REGION}:${ACCOUNT}:dev-orders`,
    functionArn: PARAMS.IcebergFunctionArn,
    workGroupName: PARAMS.WorkGroup,
    databases: ['lake', 'lake_staging'],
    resultsBucket: 'results',
    ...(withOptimizers
      ? { optimizerRoleArn: OPTIMIZER_ROLE, lake: { database: 'lake', table: 'orders' } }
      : {}),
  };
}

/** The deployed policy, with its PassRole statement taken out when `withoutPassRole`. */
function machinePolicy(withoutPassRole: boolean) {
  const policy = icebergStateMachinePolicy(facts(true));
  if (!withoutPassRole) return policy;
  return { ...policy, Statement: policy.Statement.filter((s) => !s.Action.includes('iam:PassRole')) };
}

interface Run {
  status: string;
  entered: string[];
  error?: string;
}

async function harness(options: { withoutPassRole?: boolean; glueFault?: (call: number) => GlueFault } = {}) {
  const s3 = new MemoryS3();
  const t = new SimpleTable();
  for (let i = 0; i < 4; i++) t.put(T0 - 100 + i, SimpleTable.item(`k${i}`, { v: { N: String(i) } }));
  t.put(T0 + 10, SimpleTable.item('k1', { v: { N: '10' } }));
  await writeChain({
    s3,
    bucket: LAKE_BUCKET,
    prefix: LAKE_PREFIX,
    table: t,
    start: T0,
    windows: [[T0, T0 + 900]],
  });
  const spec = oracleSpec();
  const duck: DuckAthena = await oracleAthena(s3, spec);
  const athena = new AthenaSyncTask(duck);
  const glue = new GlueOptimizers(
    async (db, table) =>
      (
        await duck.rows(
          `SELECT 1 FROM information_schema.tables WHERE table_schema = '${db}' AND table_name = '${table}' AND table_type = 'BASE TABLE'`,
        )
      ).length > 0,
    (_input, call) => options.glueFault?.(call),
  );
  const clock = { now: T0 + 3600 };
  const ssm = new FakeSSM(new CallLog(), () => clock.now * 1000, REGION, ACCOUNT);
  const alerts: unknown[] = [];
  const lambda = createIcebergHandler(
    {
      feedName: 'dev-orders-iceberg',
      spec,
      chainBucket: LAKE_BUCKET,
      chainPrefix: LAKE_PREFIX,
      stateParameterName: STATE,
      lockParameterName: '/dce/dev/orders/iceberg/lock',
      topicArn: `arn:aws:sns:${REGION}:${ACCOUNT}:dev-orders`,
      onNewEpoch: 'rebuild',
      mergeEveryMinutes: 15,
      maxExportsPerMerge: 96,
      leaseSeconds: 1800,
    },
    { s3, ssm, sns: { send: async (command: { input: unknown }) => alerts.push(command.input) } as never },
    () => clock.now,
  );
  const evaluator = new AccessEvaluator([
    {
      name: MACHINE_ROLE,
      arn: `arn:aws:iam::${ACCOUNT}:role/${MACHINE_ROLE}`,
      policies: [{ name: 'states', document: machinePolicy(Boolean(options.withoutPassRole)) as never }],
    },
  ]);
  const access = { evaluator, stateMachineRole: MACHINE_ROLE, schedulerRole: MACHINE_ROLE };
  const glueTask: ServiceTask = {
    command: 'glue:CreateTableOptimizer',
    deniedError: 'Glue.AccessDeniedException',
    requests: (params) =>
      glueOptimizerRequests(params as CreateTableOptimizerInput, {
        partition: 'aws',
        region: REGION,
        account: ACCOUNT,
      }),
    handle: async (params) => (await glue.handle(params as CreateTableOptimizerInput)) as JsonValue,
  };
  const host = { ioStarted: () => undefined, ioEnded: () => undefined };
  const definition = renderIcebergDefinition(PARAMS, OPTIMIZERS) as {
    States: Record<string, { Type: string; Resource?: string }>;
  };
  const run = async (name: string): Promise<Run> => {
    const { StateMachine } = await import('aws-local-stepfunctions');
    const machine = new StateMachine(definition as never);
    const handlers: Record<string, (input: any) => Promise<any>> = {};
    const retries: Record<string, number> = {};
    for (const [state, body] of Object.entries(definition.States)) {
      retries[state] = 0;
      if (body.Resource === 'arn:aws:states:::lambda:invoke')
        handlers[state] = async (input) => ({ Payload: await lambda(input.Payload as IcebergEvent) });
      if (body.Resource === 'arn:aws:states:::athena:startQueryExecution.sync')
        handlers[state] = (input) => athena.handle(input as AthenaTaskInput);
      if (body.Resource === GLUE_CREATE_TABLE_OPTIMIZER)
        handlers[state] = (input) => runServiceTask(host, access, state, glueTask, input);
    }
    const execution = machine.run(
      {},
      {
        overrides: {
          taskResourceLocalHandlers: handlers,
          waitTimeOverrides: { 'Back off': 0 },
          retryIntervalOverrides: retries,
        },
        context: { Execution: { Id: `arn:aws:states:${REGION}:${ACCOUNT}:execution:feed:${name}` } } as never,
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
  return { run, glue, athena, duck, ssm, alerts, evaluator };
}

const OPTIMIZER_STATES = ['Compaction optimizer', 'Snapshot retention optimizer', 'Orphan file optimizer'];

// asl-validator ships no type declarations.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const aslValidator = require('asl-validator') as (definition: unknown) => {
  isValid: boolean;
  errors: unknown[];
};

describe('Iceberg feed workflow: Glue table optimizers on the tables EnsureTable creates', function () {
  this.timeout(60_000);

  it('renders with every placeholder filled and passes asl-validator; bad days are refused at render', () => {
    const definition = renderIcebergDefinition(PARAMS, OPTIMIZERS);
    expect(JSON.stringify(definition)).not.to.match(/\$\{/);
    expect(aslValidator(definition).errors).to.deep.equal([]);
    for (const key of ['snapshotRetentionDays', 'snapshotsToRetain', 'orphanFileRetentionDays'] as const)
      for (const bad of [0, 1.5, Number.NaN])
        expect(
          () => renderIcebergDefinition(PARAMS, { ...OPTIMIZERS, [key]: bad }),
          `${key} ${bad}`,
        ).to.throw(new RegExp(`optimizers\\.${key} must be a whole number`));
    expect(() => renderIcebergDefinition(PARAMS, { ...OPTIMIZERS, roleArn: '' })).to.throw(
      /OptimizerRoleArn/,
    );
  });

  it('creates the three optimizers once, right after CREATE TABLE, with the role and the configured days', async () => {
    const h = await harness();
    try {
      const run = await h.run('1');
      expect(run.status).to.equal('SUCCEEDED');
      // Only the CREATE TABLE leads to the optimizers; the view's DDL goes straight to Commit.
      const afterDdl = run.entered.filter((s) => s === 'EnsureTable' || OPTIMIZER_STATES.includes(s));
      expect(afterDdl).to.deep.equal(['EnsureTable', ...OPTIMIZER_STATES, 'EnsureTable']);
      expect(h.glue.typesOf('lake', TABLE)).to.deep.equal([
        'compaction',
        'orphan_file_deletion',
        'retention',
      ]);
      expect(h.glue.created.map((o) => [o.catalogId, o.roleArn, o.enabled])).to.deep.equal([
        [ACCOUNT, OPTIMIZER_ROLE, true],
        [ACCOUNT, OPTIMIZER_ROLE, true],
        [ACCOUNT, OPTIMIZER_ROLE, true],
      ]);
      const settings = Object.fromEntries(h.glue.created.map((o) => [o.type, o.settings]));
      // The days reach Glue as JSON numbers, as its API takes them.
      expect(settings.retention).to.deep.equal({
        SnapshotRetentionPeriodInDays: 7,
        NumberOfSnapshotsToRetain: 2,
        CleanExpiredFiles: true,
      });
      expect(settings.orphan_file_deletion).to.deep.equal({ OrphanFileRetentionPeriodInDays: 4 });
      expect(parseIcebergState(h.ssm.get(STATE)!).inProgress).to.equal(null);
    } finally {
      h.duck.close();
    }
  });

  it('is idempotent: a CREATE TABLE run again finds the optimizers there (AlreadyExists) and goes on to Commit', async () => {
    const h = await harness();
    try {
      await h.run('1');
      // The cursor forgets the table (as after a crash before Commit): the plan asks for it again.
      const state = parseIcebergState(h.ssm.get(STATE)!);
      h.ssm.set(STATE, JSON.stringify({ ...state, tableCreated: false }));
      const again = await h.run('2');
      expect(again.status).to.equal('SUCCEEDED');
      expect(again.entered).to.include.members([...OPTIMIZER_STATES, 'Commit']);
      expect(h.glue.created).to.have.length(3);
      expect(h.glue.alreadyExisted).to.equal(3);
      expect(h.alerts).to.deep.equal([]);
    } finally {
      h.duck.close();
    }
  });

  it('retries a throttled creation and creates the optimizer once', async () => {
    const h = await harness({
      glueFault: (call) => (call === 1 ? { throws: 'ThrottlingException' } : undefined),
    });
    try {
      const run = await h.run('1');
      expect(run.status).to.equal('SUCCEEDED');
      expect(h.glue.calls).to.equal(4);
      expect(h.glue.typesOf('lake', TABLE)).to.have.length(3);
      expect(h.glue.alreadyExisted).to.equal(0);
    } finally {
      h.duck.close();
    }
  });

  it('without iam:PassRole of the optimizer role the creation is refused: no optimizer, the feed halts with one alert', async () => {
    const h = await harness({ withoutPassRole: true });
    try {
      const run = await h.run('1');
      expect(run).to.include({ status: 'FAILED', error: 'IcebergFeedHalted' });
      expect(run.entered).to.include('Record the failed query');
      expect(h.glue.calls).to.equal(0);
      expect(h.glue.created).to.deep.equal([]);
      expect(h.evaluator.denials.map((d) => [d.action, d.resource])).to.deep.include([
        'iam:PassRole',
        OPTIMIZER_ROLE,
      ]);
      expect(h.alerts).to.have.length(1);
      expect(JSON.stringify(h.alerts[0])).to.match(/Glue\.AccessDeniedException|iam:PassRole/);
    } finally {
      h.duck.close();
    }
  });

  it('Glue refuses an optimizer on a table that does not exist (EntityNotFound) and a second of a type (AlreadyExists)', async () => {
    const h = await harness();
    try {
      const input: CreateTableOptimizerInput = {
        CatalogId: ACCOUNT,
        DatabaseName: 'lake',
        TableName: 'orders__e20990101t000000z',
        Type: 'compaction',
        TableOptimizerConfiguration: { RoleArn: OPTIMIZER_ROLE, Enabled: true },
      };
      await expectError(h.glue.handle(input), 'Glue.EntityNotFoundException');
      await h.duck.connection.run(`CREATE SCHEMA IF NOT EXISTS lake`);
      await h.duck.connection.run(`CREATE TABLE lake.${TABLE} (pk VARCHAR)`);
      await h.glue.handle({ ...input, TableName: TABLE });
      await expectError(h.glue.handle({ ...input, TableName: TABLE }), 'Glue.AlreadyExistsException');
      await expectError(
        h.glue.handle({ ...input, TableName: TABLE, Type: 'compact' }),
        'Glue.InvalidInputException',
      );
      await expectError(
        h.glue.handle({
          ...input,
          TableName: TABLE,
          Type: 'retention',
          TableOptimizerConfiguration: {
            RoleArn: OPTIMIZER_ROLE,
            RetentionConfiguration: { IcebergConfiguration: { SnapshotRetentionPeriodInDays: '5' } },
          },
        }),
        'Glue.InvalidInputException',
      );
      expect(h.glue.typesOf('lake', TABLE)).to.deep.equal(['compaction']);
    } finally {
      h.duck.close();
    }
  });
});

async function expectError(promise: Promise<unknown>, name: string): Promise<void> {
  try {
    await promise;
  } catch (error) {
    expect((error as Error).name).to.equal(name);
    return;
  }
  expect.fail(`expected ${name}`);
}
