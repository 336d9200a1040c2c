/**
 * The figures the README and docs give about a deployment (resources per table, alarms, custom
 * metrics, their monthly cost, a replica's share) read out of the documents and compared with what
 * the program deploys under Pulumi mocks and what the export tick emits, so that they cannot drift.
 * A figure reworded so that it is no longer found fails the test too: update the pattern with it.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { expect } from 'chai';
import { CONTINUOUS_EXPORT_TYPE } from '../../../components/continuousExport';
import { emfRecord } from '../../../functions/shared/emf';
import { DEFAULT_METRIC_NAMESPACE } from '../../../functions/shared/metrics';
import { ofType, runProgram, type ProgramRun, type RecordedResource } from '../../helpers/pulumiMocks';
import { REPO_ROOT } from '../../helpers/repoRoot';

const ALARM = 'aws:cloudwatch/metricAlarm:MetricAlarm';
const DASHBOARD = 'aws:cloudwatch/dashboard:Dashboard';
const REPLICA_TYPE = 'dynamodb-continuous-exports:index:TableReplica';
/** CloudWatch list prices per month (us-east-1), as the docs state them: standard alarm, custom metric. */
const ALARM_PRICE = 0.1;
const METRIC_PRICE = 0.3;

/** The configuration `npm run bench:tables` measures: a created bucket and one failure address. */
const CONFIG = {
  'aws:region': 'eu-west-1',
  'dynamodb-continuous-exports:defaults': { failureEmails: ['oncall@example.com'] },
  'dynamodb-continuous-exports:tables': [
    { tableName: 'orders' },
    { tableName: 'invoices', replicas: [{ tableName: 'invoices-copy', alias: 'copy' }] },
  ],
};

function one(resources: RecordedResource[], type: string): RecordedResource {
  const found = ofType(resources, type);
  expect(found, type).to.have.length(1);
  return found[0];
}

function doc(file: string): string {
  return readFileSync(path.join(REPO_ROOT, file), 'utf8').replace(/\s+/g, ' ');
}

/** The numbers a pattern captures in a document; fails naming the document when it is not found. */
function figures(file: string, pattern: RegExp): number[] {
  const m = pattern.exec(doc(file));
  expect(m, `${file}: no figure matching ${pattern}`).to.not.equal(null);
  return m!.slice(1).map(Number);
}

/** Every row of the README's stack-size table: tables, resources, resources per table. */
function stackSizeRows(): number[][] {
  const text = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const start = text.indexOf('| tables | resources |');
  expect(start, 'README.md: the stack-size table').to.be.greaterThan(-1);
  const rows: number[][] = [];
  for (const line of text.slice(start).split('\n').slice(2)) {
    const m = /^\|\s*(\d+)\s*\|\s*(\d+)\s*\|\s*([\d.]+)\s*\|/.exec(line);
    if (!m) break;
    rows.push(m.slice(1, 4).map(Number));
  }
  return rows;
}

describe('figures in the README and docs match the deployment (Pulumi mocks)', () => {
  let run: ProgramRun;
  let table: RecordedResource[];
  let replica: RecordedResource[];
  const aws = (resources: RecordedResource[]) =>
    resources.filter((r) => r.type !== CONTINUOUS_EXPORT_TYPE && r.type !== REPLICA_TYPE);

  before(async () => {
    run = await runProgram(CONFIG, 'dev');
    table = run.resources.filter((r) => r.name === 'dev-orders' || r.name.startsWith('dev-orders-'));
    replica = run.resources.filter(
      (r) => r.name === 'dev-invoices-copy' || r.name.startsWith('dev-invoices-copy-'),
    );
  });

  /** The custom metrics a table's tick emits: one per metric name, under its one dimension set. */
  const tickMetrics = () => {
    const record = emfRecord(undefined, 'orders', {} as never, 0) as {
      _aws: { CloudWatchMetrics: { Dimensions: string[][]; Metrics: { Name: string }[] }[] };
    };
    return record._aws.CloudWatchMetrics.flatMap((d) => d.Dimensions.flatMap(() => d.Metrics)).length;
  };

  it('resources per table: README (component + AWS resources, stack-size table) and deploy.md', () => {
    expect(ofType(table, CONTINUOUS_EXPORT_TYPE)).to.have.length(1);
    const [total, awsCount] = figures(
      'README.md',
      /\((\d+) = the `ContinuousExport` component and its (\d+) AWS resources/,
    );
    expect(awsCount).to.equal(aws(table).length);
    expect(total).to.equal(table.length);
    const rows = stackSizeRows();
    expect(rows.length).to.be.greaterThan(0);
    for (const [tables, resources, perTable] of rows) {
      expect(resources, `README stack-size row for ${tables} tables`).to.equal(tables * table.length);
      expect(perTable).to.equal(table.length);
    }
    expect(
      figures('docs/deploy.md', /Each table brings its own resources \((\d+) with a created bucket/),
    ).to.deep.equal([aws(table).length]);
  });

  it("a replica's resources and alarm: README, deploy.md and replica.md", () => {
    expect(ofType(replica, REPLICA_TYPE)).to.have.length(1);
    const alarms = ofType(replica, ALARM).length;
    const [total, awsCount, readmeAlarms] = figures(
      'README.md',
      /a replica adds (\d+): its `TableReplica` component and (\d+) AWS resources, (\d+) alarm/,
    );
    expect([total, awsCount, readmeAlarms]).to.deep.equal([replica.length, aws(replica).length, alarms]);
    expect(figures('docs/deploy.md', /each replica (\d+) more/)).to.deep.equal([aws(replica).length]);
    const [replicaDocAlarms, alarmCost, metrics, metricCost, resources] = figures(
      'docs/replica.md',
      /Monitoring: (\d+) alarm \(`…-replica-lag`, \$([\d.]+) a month\) and (\d+) custom metric \(`ReplicaLagSeconds`, \$([\d.]+) a month\); (\d+) AWS resources per replica/,
    );
    expect(replicaDocAlarms).to.equal(alarms);
    expect(alarmCost).to.be.closeTo(alarms * ALARM_PRICE, 1e-9);
    // The replica's one metric is the one its alarm watches.
    const watched = new Set(ofType(replica, ALARM).map((a) => a.inputs.metricName));
    expect(metrics).to.equal(watched.size);
    expect(metricCost).to.be.closeTo(metrics * METRIC_PRICE, 1e-9);
    expect(resources).to.equal(aws(replica).length);
    const [costMetrics, costAlarms, cost] = figures(
      'docs/deploy.md',
      /\| per replica: CloudWatch custom metrics \((\d+)\) and alarms \((\d+)\) \| \$([\d.]+) \|/,
    );
    expect([costMetrics, costAlarms]).to.deep.equal([metrics, alarms]);
    expect(cost).to.be.closeTo(metrics * METRIC_PRICE + alarms * ALARM_PRICE, 1e-9);
    const [readmeMetrics, readmeMetricCost, readmeReplicaAlarms, readmeAlarmCost] = figures(
      'README.md',
      /a replica adds (\d+) custom metric \(\$([\d.]+)\) and (\d+) alarm \(\$([\d.]+)\)/,
    );
    expect([readmeMetrics, readmeReplicaAlarms]).to.deep.equal([metrics, alarms]);
    expect(readmeMetricCost).to.be.closeTo(metrics * METRIC_PRICE, 1e-9);
    expect(readmeAlarmCost).to.be.closeTo(alarms * ALARM_PRICE, 1e-9);
  });

  it('alarms, dashboard and custom metrics per table, and their monthly cost: README and deploy.md', () => {
    const alarms = ofType(table, ALARM).length;
    const metrics = tickMetrics();
    expect(ofType(table, DASHBOARD)).to.have.length(1);
    // The alarms on the product's own namespace watch metrics the tick emits.
    const emitted = new Set(
      (
        emfRecord(undefined, 'orders', {} as never, 0) as {
          _aws: { CloudWatchMetrics: { Metrics: { Name: string }[] }[] };
        }
      )._aws.CloudWatchMetrics.flatMap((d) => d.Metrics.map((m) => m.Name)),
    );
    const own = ofType(table, ALARM).filter((a) => a.inputs.namespace === DEFAULT_METRIC_NAMESPACE);
    expect(own.length).to.be.greaterThan(0);
    for (const alarm of own) expect(emitted, alarm.name).to.include(alarm.inputs.metricName);
    const [readmeMetrics, readmeMetricCost, readmeAlarms, readmeAlarmCost] = figures(
      'README.md',
      /each table's CloudWatch dashboard \(\$3 a month beyond an account's first three\), (\d+) custom metrics \(about \$([\d.]+)\) and (\d+) alarms \(\$([\d.]+)\)/,
    );
    expect([readmeMetrics, readmeAlarms]).to.deep.equal([metrics, alarms]);
    expect(readmeMetricCost).to.be.closeTo(metrics * METRIC_PRICE, 1e-9);
    expect(readmeAlarmCost).to.be.closeTo(alarms * ALARM_PRICE, 1e-9);
    const [deployMetrics, metricPrice, deployMetricCost] = figures(
      'docs/deploy.md',
      /\| CloudWatch custom metrics \((\d+) per table, from the log lines; \$([\d.]+) each\) \| about \$([\d.]+) \|/,
    );
    expect(deployMetrics).to.equal(metrics);
    expect(metricPrice).to.equal(METRIC_PRICE);
    expect(deployMetricCost).to.be.closeTo(metrics * METRIC_PRICE, 1e-9);
    const [deployAlarms, alarmPrice, deployAlarmCost] = figures(
      'docs/deploy.md',
      /\| CloudWatch alarms \((\d+) per table; \$([\d.]+) each\) \| \$([\d.]+) \|/,
    );
    expect(deployAlarms).to.equal(alarms);
    expect(alarmPrice).to.equal(ALARM_PRICE);
    expect(deployAlarmCost).to.be.closeTo(alarms * ALARM_PRICE, 1e-9);
  });

  it("deploy.md's resource table names the dashboard and every alarm of the table", () => {
    const deployed = ofType(table, ALARM).map((a) => a.physicalName ?? a.inputs.name);
    const dashboard = one(table, DASHBOARD);
    const [count] = figures('docs/deploy.md', /\| CloudWatch dashboard and (\d+) alarms \|/);
    expect(count).to.equal(deployed.length);
    const row = /\| CloudWatch dashboard and \d+ alarms \|([^|]*)\|/.exec(doc('docs/deploy.md'))![1];
    for (const name of [...deployed, dashboard.physicalName ?? dashboard.inputs.dashboardName])
      expect(row, name).to.contain(`\`${name}\``);
  });
});
