/**
 * One dashboard and three alarms per table, built with awsx's classic CloudWatch helpers (plain
 * TypeScript over @pulumi/aws, so every resource is an ordinary aws resource).
 *
 * The workflow's metrics come from the export tick as embedded metric format log lines, with the
 * table's alias as the `Table` dimension (functions/shared/metrics.ts).
 */
import * as pulumi from '@pulumi/pulumi';
import type * as aws from '@pulumi/aws';
import * as cloudwatch from '@pulumi/awsx/classic/cloudwatch';
import { METRIC_DIMENSION, METRICS } from '../functions/shared/metrics';

/** Inputs of `monitoring`. */
export interface MonitoringArgs {
  alias: string;
  metricNamespace: string;
  dashboardName: string;
  executionsFailedAlarmName: string;
  chainLagAlarmName: string;
  notificationsAlarmName: string;
  stateMachineArn: pulumi.Input<string>;
  /** Minutes between scheduled executions; the tick reports lag at least once per period. */
  schedulePeriodMinutes: number;
  lagAlarmMinutes: number;
  alarmTopicArn: pulumi.Input<string>;
  /** Resources the alarms need before they can notify (the alarm topic's policy). */
  dependsOn?: pulumi.Resource[];
  tags: Record<string, string>;
}

export interface Monitoring {
  dashboard: cloudwatch.Dashboard;
  executionsFailedAlarm: aws.cloudwatch.MetricAlarm;
  chainLagAlarm: aws.cloudwatch.MetricAlarm;
  notificationsAlarm: aws.cloudwatch.MetricAlarm;
}

/**
 * Undelivered notifications: the outbox still holds messages after the tick tried to publish them, in
 * two scheduler periods in a row. Publishing is retried every tick, so one failed period is noise; two
 * mean the topic, its key or the publish permission is broken. The chain is not held back by it, but
 * nobody would hear about its problems. No data (nothing to publish) is good news.
 */
export function notificationsAlarmSettings(schedulePeriodMinutes: number) {
  return {
    periodSeconds: schedulePeriodMinutes * 60,
    threshold: 0,
    comparisonOperator: 'GreaterThanThreshold' as const,
    evaluationPeriods: 2,
    datapointsToAlarm: 2,
    treatMissingData: 'notBreaching' as const,
  };
}

/** Alarm settings as pure data, so the choice of thresholds can be tested without Pulumi. */
export function chainLagAlarmSettings(schedulePeriodMinutes: number, lagAlarmMinutes: number) {
  return {
    // One period per scheduled execution: a healthy chain reports lag in every one of them.
    periodSeconds: schedulePeriodMinutes * 60,
    threshold: lagAlarmMinutes * 60,
    comparisonOperator: 'GreaterThanThreshold' as const,
    // Two periods in a row, so one late execution or a period boundary between two ticks does not
    // page anyone.
    evaluationPeriods: 2,
    datapointsToAlarm: 2,
    // No lag data means no tick is running (schedule disabled, function broken, state machine
    // failing before the tick reports): that is exactly when the chain falls behind unseen. Every
    // tick reports lag, including while the first full export runs (then counted from the epoch
    // start, see chainLagSeconds in functions/chain/planner.ts), so a long first full export shows up as
    // real, growing lag rather than as missing data: on a large table the alarm fires during the
    // bootstrap and clears once the chain has caught up (documented in docs/deploy.md).
    // EMF metrics reach CloudWatch only after the log line is processed; two periods in a row keep
    // one late datapoint from counting as missing (CloudWatch recommends M-of-N alarms for EMF).
    treatMissingData: 'breaching' as const,
  };
}

export function monitoring(name: string, args: MonitoringArgs, parent: pulumi.Resource): Monitoring {
  const table = { [METRIC_DIMENSION]: args.alias };
  const workflowMetric = (metricName: string, statistic: cloudwatch.MetricStatistic, period = 300) =>
    new cloudwatch.Metric(
      { namespace: args.metricNamespace, name: metricName, dimensions: table, statistic, period },
      parent,
    );

  const lagSettings = chainLagAlarmSettings(args.schedulePeriodMinutes, args.lagAlarmMinutes);
  const chainLag = workflowMetric(METRICS.chainLagSeconds, 'Maximum', lagSettings.periodSeconds);
  const executionsFailed = new cloudwatch.Metric(
    {
      namespace: 'AWS/States',
      name: 'ExecutionsFailed',
      dimensions: { StateMachineArn: args.stateMachineArn },
      statistic: 'Sum',
      period: 900,
    },
    parent,
  );

  const executionsFailedAlarm = executionsFailed.createAlarm(
    `${name}-executions-failed`,
    {
      name: args.executionsFailedAlarmName,
      alarmDescription: `A continuous export execution for ${args.alias} failed. The next execution resumes from the saved state; check the failed execution's history.`,
      threshold: 1,
      comparisonOperator: 'GreaterThanOrEqualToThreshold',
      evaluationPeriods: 1,
      // AWS/States publishes ExecutionsFailed per StateMachineArn only for periods with executions,
      // so no data is good news. A failed tick ends in the definition's Fail state, which counts.
      // Alarms on the base metric are single-dimension: StateMachineArn is the only one needed.
      treatMissingData: 'notBreaching',
      alarmActions: [args.alarmTopicArn],
      okActions: [args.alarmTopicArn],
    },
    { parent, dependsOn: args.dependsOn },
  );
  /** An alarm from one of the pure settings objects above, to the alarm topic (and back to OK). */
  const alarmFrom = (
    metric: cloudwatch.Metric,
    suffix: string,
    alarmName: string,
    description: string,
    settings: ReturnType<typeof notificationsAlarmSettings> | ReturnType<typeof chainLagAlarmSettings>,
  ) =>
    metric.createAlarm(
      `${name}-${suffix}`,
      {
        name: alarmName,
        alarmDescription: description,
        threshold: settings.threshold,
        comparisonOperator: settings.comparisonOperator,
        evaluationPeriods: settings.evaluationPeriods,
        datapointsToAlarm: settings.datapointsToAlarm,
        treatMissingData: settings.treatMissingData,
        alarmActions: [args.alarmTopicArn],
        okActions: [args.alarmTopicArn],
      },
      { parent, dependsOn: args.dependsOn },
    );
  const chainLagAlarm = alarmFrom(
    chainLag,
    'chain-lag',
    args.chainLagAlarmName,
    `The export chain of ${args.alias} is more than ${args.lagAlarmMinutes} minutes behind, or reports no lag at all.`,
    lagSettings,
  );
  const notify = notificationsAlarmSettings(args.schedulePeriodMinutes);
  const notificationsAlarm = alarmFrom(
    workflowMetric(METRICS.notificationsPending, 'Minimum', notify.periodSeconds),
    'notifications-undelivered',
    args.notificationsAlarmName,
    `Notifications of ${args.alias} cannot be delivered to its topic (check the topic, its KMS key and sns:Publish). Exports go on; the messages wait in the chain state's outbox.`,
    notify,
  );

  const dashboard = workflowDashboard(name, args.dashboardName, parent, {
    chainLag,
    lagThreshold: lagSettings.threshold,
    executionsFailed,
    workflowMetric,
  });
  return { dashboard, executionsFailedAlarm, chainLagAlarm, notificationsAlarm };
}

/** The table's dashboard: chain lag against its alarm, exports, exports in flight, failed executions. */
function workflowDashboard(
  name: string,
  dashboardName: string,
  parent: pulumi.Resource,
  metrics: {
    chainLag: cloudwatch.Metric;
    lagThreshold: number;
    executionsFailed: cloudwatch.Metric;
    workflowMetric: (metricName: string, statistic: cloudwatch.MetricStatistic) => cloudwatch.Metric;
  },
): cloudwatch.Dashboard {
  const { chainLag, executionsFailed, workflowMetric } = metrics;
  return new cloudwatch.Dashboard(
    `${name}-dashboard`,
    {
      name: dashboardName,
      widgets: [
        new cloudwatch.LineGraphMetricWidget({
          title: 'Chain lag (seconds behind now)',
          metrics: [chainLag],
          annotations: new cloudwatch.HorizontalAnnotation({
            aboveEdge: { value: metrics.lagThreshold, label: 'alarm' },
          }),
          width: 12,
        }),
        new cloudwatch.LineGraphMetricWidget({
          title: 'Exports started / completed / failed',
          metrics: [
            workflowMetric(METRICS.exportsStarted, 'Sum'),
            workflowMetric(METRICS.exportsCompleted, 'Sum'),
            workflowMetric(METRICS.exportsFailed, 'Sum'),
          ],
          width: 12,
        }),
        new cloudwatch.LineGraphMetricWidget({
          title: 'Exports in flight',
          metrics: [workflowMetric(METRICS.inFlightExports, 'Maximum')],
          width: 12,
        }),
        new cloudwatch.LineGraphMetricWidget({
          title: 'State machine executions failed',
          metrics: [executionsFailed],
          width: 12,
        }),
      ],
    },
    { parent },
  );
}
