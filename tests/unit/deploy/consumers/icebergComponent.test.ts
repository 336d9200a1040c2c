import { expect } from 'chai';
import { ICEBERG_SDK_CALLS, ICEBERG_STATE_MACHINE_TASKS } from '../../../../functions/shared/awsActions';
import { ofType, policyOf, runProgram, REGION, type ProgramRun } from '../../../helpers/pulumiMocks';

const CONFIG = {
  'aws:region': REGION,
  tables: [
    {
      tableName: 'orders',
      iceberg: {
        partitionKey: { attribute: 'pk', type: 'S' },
        columns: [{ column: 'amount', attribute: 'amount', type: 'decimal(38,9)' }],
        bucketPartitions: 16,
        mergeEveryMinutes: 60,
      },
    },
    { tableName: 'invoices' },
  ],
};

describe('IcebergFeed under Pulumi mocks (a stack config with iceberg)', () => {
  let run: ProgramRun;
  const one = (type: string, name: string) => {
    const found = ofType(run.resources, type).find((r) => r.name === name || r.inputs.name === name);
    expect(found, `${type} ${name}`).to.not.equal(undefined);
    return found!;
  };
  before(async () => {
    run = await runProgram(CONFIG, 'dev');
  });

  it('deploys one IcebergFeed, a child of the table that configures it', () => {
    const feeds = ofType(run.resources, 'dynamodb-continuous-exports:index:IcebergFeed');
    expect(feeds.map((f) => f.name)).to.deep.equal(['dev-orders-iceberg']);
    expect(feeds[0].options.parentUrn).to.match(/ContinuousExport::dev-orders$/);
  });

  it('an Athena workgroup on engine v3 with enforced settings, a bytes-scanned cutoff and SSE_S3 results in an expiring bucket', () => {
    const wg = one('aws:athena/workgroup:Workgroup', 'dev-orders-iceberg-workgroup');
    expect(wg.inputs.configuration.engineVersion.selectedEngineVersion).to.equal('Athena engine version 3');
    expect(wg.inputs.configuration.enforceWorkgroupConfiguration).to.equal(true);
    expect(wg.inputs.configuration.bytesScannedCutoffPerQuery).to.equal(102_400 * 1024 * 1024);
    expect(wg.inputs.configuration.resultConfiguration.encryptionConfiguration.encryptionOption).to.equal(
      'SSE_S3',
    );
    const lifecycle = one(
      'aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration',
      'dev-orders-iceberg-results-expiry',
    );
    expect(lifecycle.inputs.rules[0].expiration.days).to.equal(7);
  });

  it('Glue databases and a symlink staging table with an injected partition; no Glue Iceberg table (openTableFormatInput) anywhere', () => {
    const dbs = ofType(run.resources, 'aws:glue/catalogDatabase:CatalogDatabase').map((d) => d.inputs.name);
    expect(dbs.sort()).to.deep.equal(['dev_lake', 'dev_lake_staging']);
    const tables = ofType(run.resources, 'aws:glue/catalogTable:CatalogTable');
    expect(tables).to.have.length(1);
    const staging = tables[0];
    expect(staging.inputs.name).to.equal('orders_changes');
    expect(staging.inputs.storageDescriptor.inputFormat).to.equal(
      'org.apache.hadoop.hive.ql.io.SymlinkTextInputFormat',
    );
    expect(staging.inputs.storageDescriptor.columns).to.deep.equal([{ name: 'line', type: 'string' }]);
    expect(staging.inputs.parameters['projection.export.type']).to.equal('injected');
    expect(staging.inputs.parameters['storage.location.template']).to.match(
      /^s3:\/\/.+\/orders\/iceberg\/orders\/staging\/export=\$\{export\}\/$/,
    );
    for (const t of tables) expect(t.inputs.openTableFormatInput).to.equal(undefined);
  });

  it('a Standard state machine from the template with Athena .sync, a schedule every mergeEveryMinutes, and a halt alarm', () => {
    const machine = one('aws:sfn/stateMachine:StateMachine', 'dev-orders-iceberg-machine');
    expect(machine.inputs.type).to.equal('STANDARD');
    const definition = JSON.parse(machine.inputs.definition);
    expect(definition.States.Merge.Resource).to.equal('arn:aws:states:::athena:startQueryExecution.sync');
    expect(definition.States.Merge.Parameters.WorkGroup).to.equal('dev-orders-iceberg');
    expect(
      one('aws:scheduler/schedule:Schedule', 'dev-orders-iceberg-schedule').inputs.scheduleExpression,
    ).to.equal('rate(60 minutes)');
    expect(
      one('aws:cloudwatch/metricAlarm:MetricAlarm', 'dev-orders-iceberg-halted').inputs.metricName,
    ).to.equal('ExecutionsFailed');
    const fn = one('aws:lambda/function:Function', 'dev-orders-iceberg-plan');
    const settings = JSON.parse(fn.inputs.environment.variables.ICEBERG_SETTINGS);
    expect(settings.spec).to.include({ database: 'dev_lake', table: 'orders', bucketPartitions: 16 });
    expect(settings).to.include({ mergeEveryMinutes: 60, onNewEpoch: 'rebuild' });
  });

  it('IAM: exactly the actions of the one action list, never a wildcard action, scoped resources', () => {
    const policies = ofType(run.resources, 'aws:iam/rolePolicy:RolePolicy').filter((p) =>
      /iceberg/.test(p.name),
    );
    const lambda = policyOf(
      policies.find((p) => p.name === 'dev-orders-iceberg-plan-policy')?.inputs.policy ??
        policies.find((p) => /plan/.test(p.name))!.inputs.policy,
    );
    const machine = policyOf(
      policies.find((p) => p.name === 'dev-orders-iceberg-states-policy')!.inputs.policy,
    );
    const actions = (doc: any) => new Set<string>(doc.Statement.flatMap((s: any) => s.Action));
    const listed = (table: Record<string, { actions: string[]; resource: string }[]>) =>
      new Set(
        Object.values(table)
          .flat()
          .filter((g) => g.resource !== 'icebergKmsKey')
          .flatMap((g) => g.actions),
      );
    expect([...actions(machine)].sort()).to.deep.equal([...listed(ICEBERG_STATE_MACHINE_TASKS)].sort());
    const lambdaActions = [...actions(lambda)].filter((a) => !a.startsWith('logs:'));
    expect(lambdaActions.sort()).to.deep.equal([...listed(ICEBERG_SDK_CALLS)].sort());
    for (const doc of [lambda, machine])
      for (const s of doc.Statement) {
        for (const a of s.Action) expect(a).not.to.include('*');
        for (const r of s.Resource) expect(r).not.to.equal('*');
      }
  });
});
