import { expect } from 'chai';
import * as path from 'node:path';
import { bundleHandler, REPOSITORY_ROOT } from '../../../../components/bundle';
import { REPLICA_APPLY_HANDLER } from '../../../../functions/shared/lambdaHandlers';
import { targetClient } from '../../../../functions/replica/handler';
import { renderReplicaDefinitionString } from '../../../../statemachine/render';
import {
  ACCOUNT_ID,
  REGION,
  ofType,
  policyOf,
  runProgram,
  type ProgramRun,
} from '../../../helpers/pulumiMocks';
import { allows } from '../../../helpers/iamDecisions';

const STACK = 'dev';
const ROLE = 'arn:aws:iam::210987654321:role/dce-replica-writer';
const CONFIG = {
  'aws:region': REGION,
  tables: [
    {
      tableName: 'orders',
      replicas: [
        { tableName: 'orders-copy' },
        {
          tableName: 'orders',
          region: 'us-east-1',
          roleArn: ROLE,
          alias: 'dr',
          concurrency: 20,
          maxWritesPerSecond: 500,
        },
        { tableName: 'orders-restored', alias: 'restore', schedule: false },
      ],
    },
    { tableName: 'invoices' },
  ],
};

describe('TableReplica under Pulumi mocks (a stack config with replicas)', () => {
  let run: ProgramRun;
  const named = (type: string, name: string) => {
    const found = ofType(run.resources, type).find((r) => r.physicalName === name || r.inputs.name === name);
    expect(found, `${type} ${name}`).to.not.equal(undefined);
    return found!;
  };
  const rolePolicy = (roleName: string) => {
    const role = named('aws:iam/role:Role', roleName);
    const policy = ofType(run.resources, 'aws:iam/rolePolicy:RolePolicy').find(
      (p) =>
        p.inputs.role === role.inputs.name ||
        p.inputs.role === `${role.inputs.name}-id` ||
        p.name === `${role.name.replace(/-role$/, '')}-policy`,
    );
    expect(policy, `policy of ${roleName}`).to.not.equal(undefined);
    return policyOf(policy!.inputs.policy);
  };
  before(async () => {
    run = await runProgram(CONFIG, STACK);
  });

  it('deploys one TableReplica per replica, as children of the table, and none for a table without replicas', () => {
    const components = ofType(run.resources, 'dynamodb-continuous-exports:index:TableReplica');
    expect(components.map((c) => c.name).sort()).to.deep.equal([
      'dev-orders-dr',
      'dev-orders-orders-copy',
      'dev-orders-restore',
    ]);
    for (const c of components) expect(c.options.parentUrn).to.match(/ContinuousExport::dev-orders$/);
  });

  for (const alias of ['orders-copy', 'dr']) {
    it(`replica ${alias}: state machine from the template, apply Lambda, state parameter, schedule and lag alarm`, async () => {
      const base = `dev-orders-${alias}`;
      const fn = named('aws:lambda/function:Function', `${base}-apply`);
      expect(fn.inputs.timeout).to.equal(900);
      const settings = JSON.parse(fn.inputs.environment.variables.DCE_REPLICA_SETTINGS);
      expect(settings).to.include({
        alias: 'orders',
        replicaAlias: alias,
        stateParameterName: `/dynamodb-continuous-exports/dev/orders/replicas/${alias}/state`,
        targetTableName: alias === 'dr' ? 'orders' : 'orders-copy',
        onNewEpoch: 'halt',
        bootstrap: 'write',
      });
      const machine = named('aws:sfn/stateMachine:StateMachine', `${base}-replica`);
      expect(machine.inputs.type).to.equal('STANDARD');
      expect(machine.inputs.definition).to.equal(
        renderReplicaDefinitionString({
          ReplicaFunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT_ID}:function:${base}-apply`,
        }),
      );
      const parameter = named('aws:ssm/parameter:Parameter', settings.stateParameterName);
      expect(JSON.parse(parameter.inputs.value)).to.include({
        status: 'ACTIVE',
        lastAppliedSequence: -1,
        epoch: null,
      });
      expect(parameter.options.ignoreChanges).to.include('value');
      // The operator's action parameter beside it: RUN, its value left to the operator afterwards.
      const actionName = `/dynamodb-continuous-exports/dev/orders/replicas/${alias}/action`;
      expect(settings.actionParameterName).to.equal(actionName);
      const action = named('aws:ssm/parameter:Parameter', actionName);
      expect(action.inputs).to.include({ value: 'RUN', type: 'String' });
      expect(action.options.ignoreChanges).to.include('value');
      const applyPolicy = rolePolicy(`${base}-apply-role`);
      const actionArn = `arn:aws:ssm:${REGION}:${ACCOUNT_ID}:parameter${actionName}`;
      expect(await allows(applyPolicy, 'ssm:GetParameters', actionArn)).to.equal(true);
      expect(await allows(applyPolicy, 'ssm:PutParameter', actionArn)).to.equal(false);
      const schedule = named('aws:scheduler/schedule:Schedule', `${base}-replica`);
      expect(schedule.inputs.target.arn).to.equal(
        `arn:aws:states:${REGION}:${ACCOUNT_ID}:stateMachine:${base}-replica`,
      );
      expect(schedule.inputs.scheduleExpression).to.equal('rate(15 minutes)');
      const alarm = named('aws:cloudwatch/metricAlarm:MetricAlarm', `${base}-replica-lag`);
      expect(alarm.inputs).to.include({
        metricName: 'ReplicaLagSeconds',
        treatMissingData: 'breaching',
        threshold: 75 * 60,
      });
      expect(alarm.inputs.dimensions).to.deep.equal({ Table: 'orders', Replica: alias });
      expect(alarm.inputs.alarmActions).to.deep.equal([
        `arn:aws:sns:${REGION}:${ACCOUNT_ID}:dev-orders-alarms`,
      ]);
    });
  }

  it('lets the replica lag alarms publish to the table alarm topic', () => {
    const topicPolicy = ofType(run.resources, 'aws:sns/topicPolicy:TopicPolicy').find(
      (p) => p.name === 'dev-orders-alarms-policy',
    )!;
    const arns = policyOf(topicPolicy.inputs.policy).Statement[1].Condition.ArnLike['aws:SourceArn'];
    expect(arns).to.include(
      `arn:aws:cloudwatch:${REGION}:${ACCOUNT_ID}:alarm:dev-orders-orders-copy-replica-lag`,
    );
    expect(arns).to.include(`arn:aws:cloudwatch:${REGION}:${ACCOUNT_ID}:alarm:dev-orders-dr-replica-lag`);
  });

  it('apply role: the target table in the same account without a role; only sts:AssumeRole on the role with one; DescribeTable of the source for both', async () => {
    const same = rolePolicy('dev-orders-orders-copy-apply-role');
    const copy = `arn:aws:dynamodb:${REGION}:${ACCOUNT_ID}:table/orders-copy`;
    const orders = `arn:aws:dynamodb:${REGION}:${ACCOUNT_ID}:table/orders`;
    expect(await allows(same, 'dynamodb:BatchWriteItem', copy)).to.equal(true);
    expect(await allows(same, 'dynamodb:DescribeTable', copy)).to.equal(true);
    expect(same.Statement.some((s: any) => s.Action.includes('sts:AssumeRole'))).to.equal(false);
    const other = rolePolicy('dev-orders-dr-apply-role');
    expect(await allows(other, 'sts:AssumeRole', ROLE)).to.equal(true);
    // With a role, the Lambda's own DynamoDB grant is the source's description (its key schema).
    expect(
      other.Statement.filter((s: any) => s.Action.some((a: string) => a.startsWith('dynamodb:'))).map(
        (s: any) => [s.Action, s.Resource],
      ),
    ).to.deep.equal([[['dynamodb:DescribeTable'], [orders]]]);
    for (const policy of [same, other]) {
      expect(await allows(policy, 'dynamodb:DescribeTable', orders)).to.equal(true);
      expect(await allows(policy, 'dynamodb:BatchWriteItem', orders)).to.equal(false);
    }
    for (const policy of [same, other]) {
      expect(
        await allows(
          policy,
          's3:GetObject',
          'arn:aws:s3:::dev-orders-exports-123456789012/orders/AWSDynamoDB/x/data/y.json.gz',
        ),
      ).to.equal(true);
      expect(
        await allows(
          policy,
          's3:GetObject',
          'arn:aws:s3:::dev-orders-exports-123456789012/orders/chain/CURRENT.json',
        ),
      ).to.equal(true);
      expect(
        await allows(
          policy,
          's3:PutObject',
          'arn:aws:s3:::dev-orders-exports-123456789012/orders/chain/CURRENT.json',
        ),
      ).to.equal(false);
      const listing = policy.Statement.find((s: any) => s.Action.includes('s3:ListBucket'));
      expect(listing.Resource).to.deep.equal(['arn:aws:s3:::dev-orders-exports-123456789012']);
      // The chain, and the export files: S3 tells a missing file (404) from a denied one (403) only
      // to a caller that may list its key.
      expect(listing.Condition).to.deep.equal({
        StringLike: { 's3:prefix': ['orders/chain/*', 'orders/AWSDynamoDB/*'] },
      });
      // Its own state parameter and the lock beside it only: not the export's state, not another replica's.
      const writes = policy.Statement.filter((s: any) => s.Action.includes('ssm:PutParameter'));
      const resources = writes.flatMap((s: any) => s.Resource).sort();
      expect(resources).to.have.length(3);
      const own =
        /parameter\/dynamodb-continuous-exports\/dev\/orders\/replicas\/(orders-copy|dr)\/state(-lock(-takeover-\*)?)?$/;
      for (const r of resources) expect(r).to.match(own);
      expect(resources.filter((r: string) => r.endsWith('/state'))).to.have.length(1);
      const deletes = policy.Statement.filter((s: any) => s.Action.includes('ssm:DeleteParameter'));
      expect(deletes.flatMap((s: any) => s.Resource).every((r: string) => /\/state-lock/.test(r))).to.equal(
        true,
      );
    }
  });

  it('state machine role: invoke its own apply function, read the manifests, run its Distributed Map children', async () => {
    for (const alias of ['orders-copy', 'dr']) {
      const base = `dev-orders-${alias}`;
      const policy = rolePolicy(`${base}-replica-role`);
      expect(
        await allows(
          policy,
          'lambda:InvokeFunction',
          `arn:aws:lambda:${REGION}:${ACCOUNT_ID}:function:${base}-apply`,
        ),
      ).to.equal(true);
      expect(
        await allows(
          policy,
          'lambda:InvokeFunction',
          `arn:aws:lambda:${REGION}:${ACCOUNT_ID}:function:dev-orders-export-tick`,
        ),
      ).to.equal(false);
      expect(
        await allows(
          policy,
          's3:GetObject',
          'arn:aws:s3:::dev-orders-exports-123456789012/orders/AWSDynamoDB/01/manifest-files.json',
        ),
      ).to.equal(true);
      expect(
        await allows(
          policy,
          'states:StartExecution',
          `arn:aws:states:${REGION}:${ACCOUNT_ID}:stateMachine:${base}-replica`,
        ),
      ).to.equal(true);
      for (const action of ['states:DescribeExecution', 'states:StopExecution'])
        expect(
          await allows(
            policy,
            action,
            `arn:aws:states:${REGION}:${ACCOUNT_ID}:execution:${base}-replica/map:1`,
          ),
        ).to.equal(true);
    }
  });

  it('the apply handler bundles (the AWS SDK clients external, as on Lambda) and loads with a handler function', () => {
    const bundle = bundleHandler(REPLICA_APPLY_HANDLER.entry);
    // The credential provider is bundled: whether the runtime ships it is not documented.
    expect(bundle.code).not.to.include('require("@aws-sdk/credential-providers")');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const Module = require('node:module');
    const filename = path.join(REPOSITORY_ROOT, 'replica-apply.bundle.js');
    const loaded = new Module(filename);
    loaded.filename = filename;
    loaded.paths = Module._nodeModulePaths(REPOSITORY_ROOT);
    loaded._compile(bundle.code, filename);
    expect(loaded.exports.handler).to.be.a('function');
    expect(loaded.exports.targetClient).to.be.a('function');
  });

  it("the target client writes in the target's Region, without SDK retries (the engine retries)", async () => {
    const settings = {
      alias: 'orders',
      replicaAlias: 'dr',
      sourceTableName: 'orders',
      bucket: 'b',
      prefix: 'p',
      stateParameterName: '/s',
      targetTableName: 'orders',
      targetRegion: 'us-east-1',
      roleArn: ROLE,
      bootstrap: 'write' as const,
      onNewEpoch: 'halt' as const,
      maxWritesPerSecond: 500,
      concurrency: 20,
      notificationTopicArn: 't',
      leaseSeconds: 1800,
    };
    const client = targetClient(settings);
    expect(await client.config.region()).to.equal('us-east-1');
    expect(await client.config.maxAttempts()).to.equal(1);
  });

  it('schedule: false deploys the state machine and apply Lambda but no schedule; its lag alarm does not count missing data', () => {
    const machines = ofType(run.resources, 'aws:sfn/stateMachine:StateMachine').map((m) => m.inputs.name);
    expect(machines).to.include('dev-orders-restore-replica');
    const schedules = ofType(run.resources, 'aws:scheduler/schedule:Schedule').map((x) => x.inputs.name);
    expect(schedules).to.include('dev-orders-orders-copy-replica');
    expect(schedules).not.to.include('dev-orders-restore-replica');
    const alarms = ofType(run.resources, 'aws:cloudwatch/metricAlarm:MetricAlarm');
    const alarmOf = (alias: string) =>
      alarms.find((a) => a.inputs.name === `dev-orders-${alias}-replica-lag`)!;
    expect(alarmOf('restore').inputs.treatMissingData).to.equal('notBreaching');
    expect(alarmOf('orders-copy').inputs.treatMissingData).to.equal('breaching');
    expect(run.outputs.tables.orders.replicas.map((r: any) => [r.alias, r.scheduled])).to.deep.equal([
      ['orders-copy', true],
      ['dr', true],
      ['restore', false],
    ]);
  });

  it('outputs each replica in the stack output dce reads, with the target role documents when a role is set', () => {
    const replicas = run.outputs.tables.orders.replicas;
    expect(replicas.map((r: any) => r.alias)).to.deep.equal(['orders-copy', 'dr', 'restore']);
    expect(replicas[0]).to.include({
      targetTableName: 'orders-copy',
      targetRegion: REGION,
      targetTableArn: `arn:aws:dynamodb:${REGION}:${ACCOUNT_ID}:table/orders-copy`,
      stateParameterName: '/dynamodb-continuous-exports/dev/orders/replicas/orders-copy/state',
      actionParameterName: '/dynamodb-continuous-exports/dev/orders/replicas/orders-copy/action',
      stateMachineArn: `arn:aws:states:${REGION}:${ACCOUNT_ID}:stateMachine:dev-orders-orders-copy-replica`,
    });
    expect(replicas[0]).to.not.have.property('targetRoleTrustPolicy');
    expect(replicas[1]).to.include({
      targetRegion: 'us-east-1',
      targetTableArn: 'arn:aws:dynamodb:us-east-1:210987654321:table/orders',
      roleArn: ROLE,
    });
    const trust = JSON.parse(replicas[1].targetRoleTrustPolicy);
    expect(trust.Statement[0].Principal.AWS).to.equal(replicas[1].applyRoleArn);
    expect(trust.Statement[0].Action).to.deep.equal(['sts:AssumeRole']);
    const permissions = JSON.parse(replicas[1].targetRolePermissions);
    expect(permissions.Statement).to.deep.equal([
      {
        Sid: 'WriteTheReplica',
        Effect: 'Allow',
        Action: ['dynamodb:BatchWriteItem', 'dynamodb:DescribeTable', 'dynamodb:Scan'],
        Resource: ['arn:aws:dynamodb:us-east-1:210987654321:table/orders'],
      },
    ]);
    expect(run.outputs.tables.invoices).to.not.have.property('replicas');
  });
});
