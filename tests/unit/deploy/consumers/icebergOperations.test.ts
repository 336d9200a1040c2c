/**
 * The Iceberg feed's operator surface under Pulumi mocks: its action parameter (the operator's, read
 * and never written by the feed), its lag alarm on the metric the plan step emits, their place in the
 * table's topic policies, and the stack output `dce iceberg` reads.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { expect } from 'chai';
import { REPO_ROOT } from '../../../helpers/repoRoot';
import {
  ICEBERG_METRIC_DIMENSION,
  ICEBERG_METRICS,
  METRIC_DIMENSION,
} from '../../../../functions/shared/metrics';
import { icebergMetricRecord } from '../../../../functions/shared/emf';
import { tableOutputSchema } from '../../../../components/stackOutput';
import { allows } from '../../../helpers/iamDecisions';
import {
  ACCOUNT_ID,
  ofType,
  policyOf,
  REGION,
  runProgram,
  type ProgramRun,
} from '../../../helpers/pulumiMocks';

const ICEBERG = { partitionKey: { attribute: 'pk', type: 'S' }, mergeEveryMinutes: 60 };
const CONFIG = {
  'aws:region': REGION,
  tables: [
    { tableName: 'orders', iceberg: ICEBERG },
    { tableName: 'invoices', lagAlarmMinutes: 120, iceberg: { ...ICEBERG, lagAlarmMinutes: 500 } },
  ],
};
const ssm = (name: string) =>
  `arn:aws:ssm:${REGION}:${ACCOUNT_ID}:parameter/dynamodb-continuous-exports/dev/${name}`;

describe("IcebergFeed's operator surface under Pulumi mocks", () => {
  let run: ProgramRun;
  const one = (type: string, name: string) => {
    const found = ofType(run.resources, type).filter((r) => r.name === name);
    expect(found, `${type} ${name}`).to.have.length(1);
    return found[0];
  };
  const chainLagAlarm = () => one('aws:cloudwatch/metricAlarm:MetricAlarm', 'dev-orders-chain-lag');
  before(async () => {
    run = await runProgram(CONFIG, 'dev');
  });

  it('creates the action parameter as RUN, its value left to the operator', () => {
    const action = one('aws:ssm/parameter:Parameter', 'dev-orders-iceberg-action');
    expect(action.inputs).to.include({
      name: '/dynamodb-continuous-exports/dev/orders/iceberg/action',
      value: 'RUN',
    });
    expect(action.options.ignoreChanges).to.deep.equal(['value']);
    const settings = JSON.parse(
      one('aws:lambda/function:Function', 'dev-orders-iceberg-plan-iceberg-feed').inputs.environment.variables
        .ICEBERG_SETTINGS,
    );
    expect(settings).to.include({
      actionParameterName: '/dynamodb-continuous-exports/dev/orders/iceberg/action',
      metricNamespace: 'DynamoDBContinuousExports',
    });
  });

  it('the plan role reads the action parameter and can never write or delete it', async () => {
    const policy = policyOf(
      one('aws:iam/rolePolicy:RolePolicy', 'dev-orders-iceberg-plan-iceberg-feed-policy').inputs.policy,
    );
    const action = ssm('orders/iceberg/action');
    expect(await allows(policy, 'ssm:GetParameters', action)).to.equal(true);
    expect(await allows(policy, 'ssm:PutParameter', action)).to.equal(false);
    expect(await allows(policy, 'ssm:DeleteParameter', action)).to.equal(false);
    expect(await allows(policy, 'ssm:PutParameter', ssm('orders/iceberg/state'))).to.equal(true);
    // Not another table's feed, nor the chain's own action.
    expect(await allows(policy, 'ssm:GetParameters', ssm('invoices/iceberg/action'))).to.equal(false);
    expect(await allows(policy, 'ssm:GetParameters', ssm('orders/action'))).to.equal(false);
  });

  it('the lag alarm watches the metric the plan step emits, to the alarm topic; threshold from config or the table', () => {
    const alarm = one('aws:cloudwatch/metricAlarm:MetricAlarm', 'dev-orders-iceberg-lag');
    const record = icebergMetricRecord(
      undefined,
      { table: 'orders', view: 'dev_lake.orders' },
      { lagSeconds: 1 },
      0,
    );
    const cw = (record._aws as { CloudWatchMetrics: { Namespace: string; Dimensions: string[][] }[] })
      .CloudWatchMetrics[0];
    expect(alarm.inputs).to.deep.include({
      name: 'dev-orders-iceberg-lag',
      namespace: cw.Namespace,
      metricName: ICEBERG_METRICS.icebergLagSeconds,
      dimensions: { [METRIC_DIMENSION]: 'orders', [ICEBERG_METRIC_DIMENSION]: 'dev_lake.orders' },
      comparisonOperator: 'GreaterThanThreshold',
      treatMissingData: 'breaching',
      period: 3600,
    });
    expect(Object.keys(alarm.inputs.dimensions).sort()).to.deep.equal([...cw.Dimensions[0]].sort());
    // The same topic as the chain's own alarms.
    expect(alarm.inputs.alarmActions).to.deep.equal(chainLagAlarm().inputs.alarmActions);
    // The table's lag threshold (its default) plus one merge period: the lake trails by that by design.
    expect(alarm.inputs.threshold).to.equal(chainLagAlarm().inputs.threshold + 60 * 60);
    expect(
      one('aws:cloudwatch/metricAlarm:MetricAlarm', 'dev-invoices-iceberg-lag').inputs.threshold,
    ).to.equal(500 * 60);
  });

  it("the table's alarm topic and its key let both feed alarms publish", () => {
    const topicPolicy = policyOf(
      one('aws:sns/topicPolicy:TopicPolicy', 'dev-orders-alarms-policy').inputs.policy,
    );
    const statement = topicPolicy.Statement.find((s: any) => s.Sid === 'CloudWatchAlarmsOfThisTable');
    const arn = (n: string) => `arn:aws:cloudwatch:${REGION}:${ACCOUNT_ID}:alarm:${n}`;
    expect(statement.Condition.ArnLike['aws:SourceArn']).to.include.members([
      arn('dev-orders-iceberg-lag'),
      arn('dev-orders-iceberg-halted'),
    ]);
  });

  it("the stack output's iceberg entry names the parameters, the alarm and the Lambda's own settings", () => {
    const orders = tableOutputSchema.parse(run.outputs.tables.orders);
    expect(orders.iceberg).to.deep.include({
      view: 'dev_lake.orders',
      stateParameterName: '/dynamodb-continuous-exports/dev/orders/iceberg/state',
      actionParameterName: '/dynamodb-continuous-exports/dev/orders/iceberg/action',
      lagAlarmName: 'dev-orders-iceberg-lag',
    });
    const fn = one('aws:lambda/function:Function', 'dev-orders-iceberg-plan-iceberg-feed');
    expect(orders.iceberg!.settings).to.equal(fn.inputs.environment.variables.ICEBERG_SETTINGS);
  });

  it("README and deploy.md: an Iceberg feed's custom metrics and alarms, and what they cost a month", () => {
    const doc = (file: string) => readFileSync(path.join(REPO_ROOT, file), 'utf8').replace(/\s+/g, ' ');
    const alarms = ofType(run.resources, 'aws:cloudwatch/metricAlarm:MetricAlarm').filter((a) =>
      a.name.startsWith('dev-orders-iceberg-'),
    ).length;
    const metrics = Object.keys(ICEBERG_METRICS).length;
    const readme = /an Iceberg feed (\d+) custom metrics \(\$([\d.]+)\) and (\d+) alarms \(\$([\d.]+)\)/.exec(
      doc('README.md'),
    );
    expect(readme, 'README.md: the Iceberg feed figure').to.not.equal(null);
    expect(readme!.slice(1).map(Number)).to.deep.equal([metrics, metrics * 0.3, alarms, alarms * 0.1]);
    const deploy =
      /\| per Iceberg feed: CloudWatch custom metrics \((\d+)\) and alarms \((\d+)\) \| \$([\d.]+) \|/.exec(
        doc('docs/deploy.md'),
      );
    expect(deploy, 'docs/deploy.md: the Iceberg feed row').to.not.equal(null);
    expect(deploy!.slice(1).map(Number)).to.deep.equal([metrics, alarms, metrics * 0.3 + alarms * 0.1]);
  });
});
