/**
 * What an operator needs of an Iceberg feed, beside the feed itself (components/consumers/icebergFeed.ts):
 *
 * - the action parameter (RUN, PAUSE, REBUILD), written by `dce iceberg` only; the plan Lambda reads it
 *   and never writes it (functions/iceberg/action.ts; its grant is read-only in the action list);
 * - the lag alarm on the `IcebergLagSeconds` metric the plan step emits (functions/iceberg/lag.ts): the
 *   lake behind the chain by more than the threshold, halted, or not reporting, to the table's alarm topic.
 */
import * as aws from '@pulumi/aws';
import type * as pulumi from '@pulumi/pulumi';
import { initialIcebergParameterValues } from '../../functions/iceberg/action';
import {
  DEFAULT_METRIC_NAMESPACE,
  ICEBERG_METRIC_DIMENSION,
  ICEBERG_METRICS,
  METRIC_DIMENSION,
} from '../../functions/shared/metrics';
import type { IcebergConfig } from '../config/iceberg';
import { icebergPhysicalNames } from '../names';

/** The operator's action parameter, created as RUN; its value is the operator's from then on. */
export function icebergActionParameter(
  name: string,
  args: {
    parameterName: string;
    /** The source table, as the description names it. */
    source: string;
    tags: Record<string, string>;
  },
  parent: pulumi.Resource,
): aws.ssm.Parameter {
  return new aws.ssm.Parameter(
    name,
    {
      name: args.parameterName,
      type: 'String',
      value: initialIcebergParameterValues().action,
      description: `Operator action for the Iceberg feed of ${args.source}: RUN, PAUSE or REBUILD. Written by the operator only (dce iceberg); the plan Lambda reads it.`,
      tags: args.tags,
    },
    // The operator owns the value; the Lambda never writes it (a REBUILD is carried out once per version).
    { parent, ignoreChanges: ['value'] },
  );
}

/** What the lag alarm needs of the feed's arguments. */
export interface IcebergLagAlarmArgs {
  iceberg: IcebergConfig;
  exportName: string;
  sourceAlias: string;
  sourceTableName?: string;
  alarmTopicArn: pulumi.Input<string>;
  /** @default iceberg.lagAlarmMinutes, else 60 plus mergeEveryMinutes */
  lagAlarmMinutes?: number;
  tags: Record<string, string>;
}

/** The lag alarm: the lake behind the chain by more than the threshold, halted, or not reporting. */
export function icebergLagAlarm(
  name: string,
  args: IcebergLagAlarmArgs,
  parent: pulumi.Resource,
): aws.cloudwatch.MetricAlarm {
  const { iceberg } = args;
  const minutes = args.lagAlarmMinutes ?? iceberg.lagAlarmMinutes ?? 60 + iceberg.mergeEveryMinutes;
  // Every execution's plan emits the metric, at least once per mergeEveryMinutes (the schedule): two
  // periods of it, so one late execution is no alarm; a halted or stopped feed is (missing data). An
  // alarm evaluates at most a day: periods of at most 12 hours.
  const periodMinutes = Math.min(720, Math.max(5, iceberg.mergeEveryMinutes));
  const view = `${iceberg.database}.${iceberg.table}`;
  return new aws.cloudwatch.MetricAlarm(
    name,
    {
      name: icebergPhysicalNames(args.exportName).lagAlarm,
      alarmDescription: `The Iceberg table ${view} is more than ${minutes} minutes behind the export chain of ${args.sourceTableName ?? args.sourceAlias}, halted, or not reporting. The chain is not affected. See docs/iceberg.md.`,
      namespace: DEFAULT_METRIC_NAMESPACE,
      metricName: ICEBERG_METRICS.icebergLagSeconds,
      dimensions: { [METRIC_DIMENSION]: args.sourceAlias, [ICEBERG_METRIC_DIMENSION]: view },
      statistic: 'Maximum',
      period: 60 * periodMinutes,
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      threshold: minutes * 60,
      comparisonOperator: 'GreaterThanThreshold',
      treatMissingData: 'breaching',
      alarmActions: [args.alarmTopicArn],
      okActions: [args.alarmTopicArn],
      tags: args.tags,
    },
    { parent },
  );
}
