/**
 * `ContinuousExport`: everything that keeps one DynamoDB table continuously exported to S3.
 *
 * A schedule starts a Step Functions state machine every period; the state machine runs the export
 * tick Lambda in a loop with precise waits; the tick keeps the chain state in SSM, writes the chain
 * manifest to S3, publishes notifications and emits metrics. Every physical name derives from the
 * component's name, so two components never collide and nothing depends on global state.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { LAMBDA_HANDLERS, REPLICA_APPLY_HANDLER } from '../functions/shared/lambdaHandlers';
import { DEFAULT_METRIC_NAMESPACE } from '../functions/shared/metrics';
import {
  schedulePeriodMinutes,
  toEnvironment,
  workflowSettings,
  WorkflowSettings,
} from '../functions/chain/settings';
import { bundleHandler, HandlerBundle } from './bundle';
import { TableConfig, TableInput, validateTable } from './config';
import { exportBucket } from './exportBucket';
import { lambdaFunction, LambdaFunction } from './lambdaFunction';
import { monitoring } from './monitoring';
import { physicalNames } from './names';
import { notifications } from './notifications';
import { parameters } from './parameters';
import { crossAccountBucketStatements } from './bucketPolicies';
import {
  lambdaPolicy,
  resourceArns,
  stateMachinePolicy,
  TableResourceFacts,
  tableArn,
  underPrefix,
} from './permissions';
import { schedule } from './schedule';
import { stateMachine } from './stateMachine';
import { replicaPhysicalNames } from './configChecks';
import { replicaImportBucketStatements } from './replicaBucketAccess';
import { TableReplica } from './tableReplica';

export const CONTINUOUS_EXPORT_TYPE = 'dynamodb-continuous-exports:index:ContinuousExport';

/** The handler the state machine's Tasks invoke. */
export const TICK_HANDLER_NAME = 'export-tick';

/**
 * Arguments of one table's continuous export: the per-table settings of the stack config
 * (`TableInput`, documented with their defaults in components/config.ts) plus what only a program
 * that constructs the component directly can choose.
 */
export interface ContinuousExportArgs extends TableInput {
  /**
   * Stack name used in the SSM parameter paths (`/dynamodb-continuous-exports/<stack>/<alias>/...`).
   * @default pulumi.getStack()
   */
  stackName?: string;
  /**
   * Keep a created bucket and its settings on `pulumi destroy`.
   * @default true
   */
  retainBucketOnDelete?: boolean;
  /**
   * Bundled handler code per LAMBDA_HANDLERS name, so a program with many tables bundles once.
   * @default each handler bundled with esbuild when the component is constructed
   */
  bundles?: Record<string, HandlerBundle>;
}

/** What every step of building one table's resources reads. */
interface BuildContext {
  name: string;
  stack: string;
  config: TableConfig;
  names: ReturnType<typeof physicalNames>;
  tags: TableConfig['tags'];
  identity: ReturnType<typeof aws.getCallerIdentityOutput>;
  region: ReturnType<typeof aws.getRegionOutput>;
  partition: ReturnType<typeof aws.getPartitionOutput>;
}

export class ContinuousExport extends pulumi.ComponentResource {
  /** The validated settings with defaults applied. */
  public readonly config: TableConfig;
  public readonly tableArn: pulumi.Output<string>;
  public readonly bucketName: pulumi.Output<string>;
  public readonly prefix: string;
  /** `s3://<bucket>/<prefix>/AWSDynamoDB/` */
  public readonly exportsUri: pulumi.Output<string>;
  /** `s3://<bucket>/<prefix>/chain/` */
  public readonly chainManifestUri: pulumi.Output<string>;
  public readonly stateMachineArn: pulumi.Output<string>;
  public readonly notificationTopicArn: pulumi.Output<string>;
  public readonly alarmTopicArn: pulumi.Output<string>;
  public readonly actionParameterName: string;
  public readonly stateParameterName: string;
  public readonly lockParameterName: string;
  public readonly scheduleName: pulumi.Output<string>;
  public readonly dashboardName: pulumi.Output<string>;
  public readonly tickFunctionName: pulumi.Output<string>;
  public readonly tickFunctionRoleArn: pulumi.Output<string>;
  /** The settings the export tick runs with (its environment). */
  public readonly settings: pulumi.Output<WorkflowSettings>;
  /** For a bucket in another account: the statement its owner must add to the bucket policy (JSON). */
  public readonly crossAccountBucketPolicyStatements?: pulumi.Output<string>;
  /** One per configured replica (components/tableReplica.ts). */
  public readonly replicas: TableReplica[];

  constructor(name: string, args: ContinuousExportArgs, opts?: pulumi.ComponentResourceOptions) {
    super(CONTINUOUS_EXPORT_TYPE, name, {}, opts);
    const stack = args.stackName ?? pulumi.getStack();
    const { retainBucketOnDelete, bundles, stackName: _stackName, ...tableInput } = args;
    // Throws a ConfigError naming every problem before any child resource exists.
    const config = validateTable(tableInput, stack, name);
    this.config = config;
    const names = physicalNames(name, stack, config.alias);
    const tags = config.tags;

    // Built from region, account and names rather than looked up, so a preview needs no table read.
    const identity = aws.getCallerIdentityOutput({}, { parent: this });
    const region = aws.getRegionOutput({}, { parent: this });
    const partition = aws.getPartitionOutput({}, { parent: this });
    const ctx: BuildContext = { name, stack, config, names, tags, identity, region, partition };
    this.tableArn = pulumi
      .all([partition.partition, region.region, identity.accountId])
      .apply(([p, r, a]) => tableArn(p, r, a, config.tableName));

    const bucket = this.bucket(ctx, retainBucketOnDelete);
    this.bucketName = bucket.name;
    this.prefix = config.bucket.prefix;
    this.exportsUri = pulumi.interpolate`s3://${bucket.name}/${underPrefix(config.bucket.prefix, 'AWSDynamoDB/')}`;
    this.chainManifestUri = pulumi.interpolate`s3://${bucket.name}/${underPrefix(config.bucket.prefix, 'chain/')}`;

    const topics = this.topics(ctx);
    this.notificationTopicArn = topics.notificationTopic.arn;
    this.alarmTopicArn = topics.alarmTopic.arn;

    this.actionParameterName = names.actionParameter;
    this.stateParameterName = names.stateParameter;
    this.lockParameterName = names.lockParameter;
    const params = parameters(
      name,
      { actionParameterName: names.actionParameter, stateParameterName: names.stateParameter, tags },
      this,
    );

    const facts = this.resourceFacts(ctx, bucket.name, topics.notificationTopic.arn);
    this.settings = this.workflowSettings(ctx, facts);
    const functions = this.lambdaFunctions(ctx, facts, this.settings, bundles);
    const tick = functions[TICK_HANDLER_NAME];
    this.tickFunctionName = tick.fn.name;
    this.tickFunctionRoleArn = tick.role.arn;

    const machine = stateMachine(
      name,
      {
        stateMachineName: names.stateMachine,
        roleName: names.stateMachineRole,
        logGroupName: names.stateMachineLogGroup,
        logRetentionDays: config.logRetentionDays,
        tickFunctionArn: tick.fn.arn,
        policy: pulumi
          .all([facts, tick.fn.arn])
          .apply(([f, fnArn]) => stateMachinePolicy(resourceArns({ ...f, tickFunctionArn: fnArn }))),
        accountId: identity.accountId,
        tags,
      },
      this,
    );
    this.stateMachineArn = machine.stateMachine.arn;
    this.scheduleName = this.schedule(ctx, machine.stateMachine.arn, params, bucket).schedule.name;
    this.dashboardName = this.monitoring(ctx, machine.stateMachine.arn, topics).dashboard.dashboardName;

    if (config.bucket.ownerAccountId !== undefined) {
      this.crossAccountBucketPolicyStatements = pulumi
        .all([partition.partition, bucket.name, tick.role.arn])
        .apply(([p, b, roleArn]) =>
          JSON.stringify(crossAccountBucketStatements(p, b, config.bucket.prefix, roleArn), null, 2),
        );
    }
    this.replicas = this.tableReplicas(ctx, bucket.name, topics, bundles);
    this.registerOutputs({
      ...(this.replicas.length > 0 ? { replicas: this.replicas.map((r) => r.output) } : {}),
      tableArn: this.tableArn,
      bucketName: this.bucketName,
      prefix: this.prefix,
      exportsUri: this.exportsUri,
      chainManifestUri: this.chainManifestUri,
      stateMachineArn: this.stateMachineArn,
      notificationTopicArn: this.notificationTopicArn,
      alarmTopicArn: this.alarmTopicArn,
      actionParameterName: this.actionParameterName,
      stateParameterName: this.stateParameterName,
      lockParameterName: this.lockParameterName,
      scheduleName: this.scheduleName,
      dashboardName: this.dashboardName,
      tickFunctionName: this.tickFunctionName,
      crossAccountBucketPolicyStatements: this.crossAccountBucketPolicyStatements,
    });
  }

  /** The export bucket: an existing one, or one created with SSE, a public access block and TLS only. */
  private bucket(ctx: BuildContext, retainBucketOnDelete: boolean | undefined) {
    const { name, config, names, tags, identity, partition } = ctx;
    return exportBucket(
      name,
      {
        existingName: config.bucket.existingName,
        createName: identity.accountId.apply((account) => names.bucket(account)),
        versioning: config.bucket.versioning,
        kmsKeyArn: config.kmsKeyArn,
        retainOnDelete: retainBucketOnDelete ?? true,
        partition: partition.partition,
        tags,
        // A cross-account import replica's target role reads the full export with ImportTable.
        statements: (p, b) =>
          config.replicas.flatMap((replica) =>
            replicaImportBucketStatements({
              partition: p,
              bucket: b,
              prefix: config.bucket.prefix,
              tableAlias: config.alias,
              replicaAlias: replica.alias,
              roleArn: replica.roleArn,
              bootstrap: replica.bootstrap,
            }),
          ),
      },
      this,
    );
  }

  /** The notification topic (mail by status) and the alarms topic. */
  private topics(ctx: BuildContext) {
    const { name, config, names, tags, identity, region, partition } = ctx;
    return notifications(
      name,
      {
        notificationTopicName: names.notificationTopic,
        alarmTopicName: names.alarmTopic,
        successEmails: config.successEmails,
        failureEmails: config.failureEmails,
        notifyOnSuccess: config.notifyOnSuccess,
        alarmNames: [
          names.executionsFailedAlarm,
          names.chainLagAlarm,
          names.notificationsAlarm,
          ...config.replicas.map((r) => replicaPhysicalNames(name, r.alias).lagAlarm),
        ],
        partition: partition.partition,
        region: region.region,
        accountId: identity.accountId,
        tags,
      },
      this,
    );
  }

  /** What the IAM statements and the workflow's settings are derived from, once the account is known. */
  private resourceFacts(
    ctx: BuildContext,
    bucketName: pulumi.Output<string>,
    notificationTopicArn: pulumi.Output<string>,
  ): pulumi.Output<TableResourceFacts> {
    const { config, names, identity, region, partition } = ctx;
    const tickFunctionName = names.functions[TICK_HANDLER_NAME];
    if (!tickFunctionName) throw new Error(`LAMBDA_HANDLERS has no "${TICK_HANDLER_NAME}" entry`);
    const facts: pulumi.Output<TableResourceFacts> = pulumi
      .all([partition.partition, region.region, identity.accountId, bucketName, notificationTopicArn])
      .apply(([p, r, a, b, topicArn]) => ({
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
        kmsKeyArn: config.kmsKeyArn,
        tickFunctionArn: `arn:${p}:lambda:${r}:${a}:function:${tickFunctionName}`,
      }));
    return facts;
  }

  /** The export tick's settings, deployed in its environment. */
  private workflowSettings(
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
        lagAlertMinutes: config.lagAlarmMinutes,
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
  private lambdaFunctions(
    ctx: BuildContext,
    facts: pulumi.Output<TableResourceFacts>,
    settings: pulumi.Output<WorkflowSettings>,
    bundles: ContinuousExportArgs['bundles'],
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
        this,
      );
    }
    return functions;
  }

  /** The schedule, created once everything the first execution touches exists. */
  private schedule(
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
      this,
    );
  }

  /** The dashboard and the alarms. */
  private monitoring(
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
      this,
    );
  }

  /** One TableReplica per configured replica, beside this table's resources. */
  private tableReplicas(
    ctx: BuildContext,
    bucketName: pulumi.Output<string>,
    topics: ReturnType<typeof notifications>,
    bundles: ContinuousExportArgs['bundles'],
  ): TableReplica[] {
    const { name, stack, config, tags, identity, region, partition } = ctx;
    return config.replicas.map(
      (replica) =>
        new TableReplica(
          `${name}-${replica.alias}`,
          {
            replica,
            exportName: name,
            stackName: stack,
            sourceAlias: config.alias,
            sourceTableName: config.tableName,
            bucket: bucketName,
            prefix: config.bucket.prefix,
            // A created bucket's policy already holds what the replica needs of it (bucket() above).
            bucketPolicyManaged: config.bucket.existingName === undefined,
            kmsKeyArn: config.kmsKeyArn,
            notificationTopicArn: topics.notificationTopic.arn,
            alarmTopicArn: topics.alarmTopic.arn,
            partition: partition.partition,
            region: region.region,
            accountId: identity.accountId,
            schedulePeriodMinutes: schedulePeriodMinutes(config.windowMinutes),
            lagAlarmMinutes: config.lagAlarmMinutes,
            logRetentionDays: config.logRetentionDays,
            tags,
            bundle: bundles?.[REPLICA_APPLY_HANDLER.name],
          },
          { parent: this },
        ),
    );
  }
}

/** Kept exported here too: the schedule period is part of what this component deploys. */
export { schedulePeriodMinutes };
