/**
 * The export chain's own resources for one table, as steps of `ContinuousExport`: the facts its IAM and
 * settings derive from, the settings, the Lambda functions, the schedule and the monitoring.
 */
import * as pulumi from '@pulumi/pulumi';
import { LAMBDA_HANDLERS } from '../functions/shared/lambdaHandlers';
import { DEFAULT_METRIC_NAMESPACE } from '../functions/shared/metrics';
import {
  schedulePeriodMinutes,
  toEnvironment,
  workflowSettings,
  WorkflowSettings,
} from '../functions/chain/settings';
import { bundleHandler, HandlerBundle } from './bundle';
import { exportBucket } from './exportBucket';
import { lambdaFunction, LambdaFunction } from './lambdaFunction';
import { monitoring } from './monitoring';
import { notifications } from './notifications';
import { parameters } from './parameters';
import { lambdaPolicy, TableResourceFacts, tableArn } from './permissions';
import { schedule } from './schedule';
import { TICK_HANDLER_NAME, type BuildContext } from './tableContext';

/** What the IAM statements and the workflow's settings are derived from, once the account is known. */
export function resourceFacts(
  ctx: BuildContext,
  bucketName: pulumi.Output<string>,
  notificationTopicArn: pulumi.Output<string>,
  notificationKmsKeyArn: pulumi.Output<string>,
): pulumi.Output<TableResourceFacts> {
  const { config, names, identity, region, partition } = ctx;
  const tickFunctionName = names.functions[TICK_HANDLER_NAME];
  if (!tickFunctionName) throw new Error(`LAMBDA_HANDLERS has no "${TICK_HANDLER_NAME}" entry`);
  const facts: pulumi.Output<TableResourceFacts> = pulumi
    .all([
      partition.partition,
      region.region,
      identity.accountId,
      bucketName,
      notificationTopicArn,
      notificationKmsKeyArn,
    ])
    .apply(([p, r, a, b, topicArn, topicKeyArn]) => ({
      partition: p,
      region: r,
      accountId: a,
      tableName: config.tableName,
      bucket: b,
      prefix: config.bucket.prefix,
      stateParameterName: names.stateParameter,
      actionParameterName: names.actionParameter,
      lockParameterName: names.lockParameter,
      notificationTopicArn: topicArn,
      notificationKmsKeyArn: topicKeyArn,
      kmsKeyArn: config.kmsKeyArn,
      tickFunctionArn: `arn:${p}:lambda:${r}:${a}:function:${tickFunctionName}`,
    }));
  return facts;
}

/** The export tick's settings, deployed in its environment. */
export function tableWorkflowSettings(
  ctx: BuildContext,
  facts: pulumi.Output<TableResourceFacts>,
): pulumi.Output<WorkflowSettings> {
  const { config, names } = ctx;
  return facts.apply((f): WorkflowSettings =>
    workflowSettings({
      alias: config.alias,
      tableName: config.tableName,
      tableArn: tableArn(f.partition, f.region, f.accountId, config.tableName),
      bucket: f.bucket,
      prefix: config.bucket.prefix,
      bucketOwnerAccountId: config.bucket.ownerAccountId,
      exportFormat: config.exportFormat,
      exportViewType: config.exportViewType,
      kmsKeyArn: config.kmsKeyArn,
      windowMinutes: config.windowMinutes,
      maxCatchUpWindowMinutes: config.maxCatchUpWindowMinutes,
      windowMode: config.windowMode,
      maxStalenessMinutes: config.maxStalenessMinutes,
      restorableMarginSeconds: config.restorableMarginSeconds,
      maxInFlight: config.maxInFlight,
      lagAlarmMinutes: config.lagAlarmMinutes,
      onPitrGap: config.onPitrGap,
      notifyOnSuccess: config.notifyOnSuccess,
      notificationTopicArn: f.notificationTopicArn,
      stateParameterName: names.stateParameter,
      actionParameterName: names.actionParameter,
      lockParameterName: names.lockParameter,
      metricNamespace: DEFAULT_METRIC_NAMESPACE,
    }),
  );
}

/** One Lambda function per handler, each with its own role, log group and policy. */
export function lambdaFunctions(
  parent: pulumi.Resource,
  ctx: BuildContext,
  facts: pulumi.Output<TableResourceFacts>,
  settings: pulumi.Output<WorkflowSettings>,
  bundles: Record<string, HandlerBundle> | undefined,
): Record<string, LambdaFunction> {
  const { name, config, names, tags } = ctx;
  const functions: Record<string, LambdaFunction> = {};
  for (const spec of LAMBDA_HANDLERS) {
    functions[spec.name] = lambdaFunction(
      name,
      {
        spec,
        bundle: bundles?.[spec.name] ?? bundleHandler(spec.entry),
        functionName: names.functions[spec.name],
        roleName: names.functionRoles[spec.name],
        logGroupName: names.functionLogGroups[spec.name],
        logRetentionDays: config.logRetentionDays,
        environment: settings.apply(toEnvironment),
        policy: (logGroupArn) => pulumi.all([facts, logGroupArn]).apply(([f, lg]) => lambdaPolicy(f, lg)),
        tags,
      },
      parent,
    );
  }
  return functions;
}

/** The schedule, created once everything the first execution touches exists. */
export function tableSchedule(
  parent: pulumi.Resource,
  ctx: BuildContext,
  stateMachineArn: pulumi.Output<string>,
  params: ReturnType<typeof parameters>,
  bucket: ReturnType<typeof exportBucket>,
) {
  const { name, config, names, tags, identity } = ctx;
  return schedule(
    name,
    {
      scheduleName: names.schedule,
      roleName: names.schedulerRole,
      periodMinutes: schedulePeriodMinutes(config.windowMinutes),
      stateMachineArn,
      accountId: identity.accountId,
      tags,
      // The first execution reads the parameters, and its first export and chain objects must land
      // in a bucket that already has its encryption (SSE-KMS when configured), public access block
      // and TLS-only policy: all of them exist before the schedule can fire.
      dependsOn: [
        params.action,
        params.state,
        ...(bucket.created
          ? [
              bucket.created.encryption,
              bucket.created.publicAccessBlock,
              bucket.created.policy,
              ...(bucket.created.versioning ? [bucket.created.versioning] : []),
            ]
          : []),
      ],
    },
    parent,
  );
}

/** The dashboard and the alarms. */
export function tableMonitoring(
  parent: pulumi.Resource,
  ctx: BuildContext,
  stateMachineArn: pulumi.Output<string>,
  topics: ReturnType<typeof notifications>,
) {
  const { name, config, names, tags } = ctx;
  return monitoring(
    name,
    {
      alias: config.alias,
      metricNamespace: DEFAULT_METRIC_NAMESPACE,
      dashboardName: names.dashboard,
      executionsFailedAlarmName: names.executionsFailedAlarm,
      chainLagAlarmName: names.chainLagAlarm,
      notificationsAlarmName: names.notificationsAlarm,
      stateMachineArn,
      schedulePeriodMinutes: schedulePeriodMinutes(config.windowMinutes),
      lagAlarmMinutes: config.lagAlarmMinutes,
      alarmTopicArn: topics.alarmTopic.arn,
      // An alarm that fires before its topic's policy exists could not deliver.
      dependsOn: [topics.alarmTopicPolicy],
      tags,
    },
    parent,
  );
}
