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
import { schedulePeriodMinutes, WorkflowSettings } from '../functions/chain/settings';
import { HandlerBundle } from './bundle';
import { TableConfig, TableInput, validateTable } from './config';
import { exportBucket } from './exportBucket';
import { icebergPhysicalNames, physicalNames, replicaPhysicalNames } from './names';
import { renderDefinitionString } from '../statemachine/render';
import { notifications } from './notifications';
import { notificationKey } from './protection/notificationKey';
import { parameters } from './parameters';
import { breakGlassDeleteStatement, crossAccountBucketStatements } from './bucketPolicies';
import { resourceArns, stateMachinePolicy, tableArn, underPrefix } from './permissions';
import { stateMachine } from './stateMachine';
import { replicaImportBucketStatements } from './consumers/replicaBucketAccess';
import { drPhysicalNames, type DrReplication } from './protection/drReplication';
import { TableReplica } from './consumers/tableReplica';
import { IcebergFeed } from './consumers/icebergFeed';
import { TICK_HANDLER_NAME, type BuildContext, type Topics } from './tableContext';
import { icebergFeed, tableReplicas } from './consumers/tableConsumers';
import { protectionOutputs, replication } from './protection/tableProtection';
import {
  lambdaFunctions,
  resourceFacts,
  tableMonitoring,
  tableSchedule,
  tableWorkflowSettings,
} from './tableWorkflow';

export const CONTINUOUS_EXPORT_TYPE = 'dynamodb-continuous-exports:index:ContinuousExport';

export { TICK_HANDLER_NAME } from './tableContext';

/**
 * Arguments of one table's continuous export: the per-table settings of the stack config
 * (`TableInput`, documented with their defaults in components/config/table.ts) plus what only a program
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
  /** One per configured replica (components/consumers/tableReplica.ts). */
  public readonly replicas: TableReplica[];
  /** The KMS key that encrypts both topics (created, or `notificationKmsKeyArn`). */
  public readonly notificationKmsKeyArn: pulumi.Output<string>;
  /** For a given topic key: the statements its key policy must hold (JSON). */
  public readonly notificationKeyPolicyStatements?: pulumi.Output<string>;
  /** With `accessLogs`: the statement the log bucket's policy must hold (JSON). */
  public readonly accessLogBucketPolicyStatement?: pulumi.Output<string>;
  /** With `dr`: the replication to the protected copy (components/protection/drReplication.ts). */
  public readonly protectedCopy?: DrReplication;
  /** The Iceberg feed, when the table configures `iceberg` (components/consumers/icebergFeed.ts). */
  public readonly iceberg?: IcebergFeed;

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
    this.notificationKmsKeyArn = topics.key.arn;
    Object.assign(this, protectionOutputs(ctx, bucket.name, topics.alarmNames));

    this.actionParameterName = names.actionParameter;
    this.stateParameterName = names.stateParameter;
    this.lockParameterName = names.lockParameter;
    const params = parameters(
      name,
      { actionParameterName: names.actionParameter, stateParameterName: names.stateParameter, tags },
      this,
    );

    const facts = resourceFacts(ctx, bucket.name, topics.notificationTopic.arn, topics.key.arn);
    this.settings = tableWorkflowSettings(ctx, facts);
    const functions = lambdaFunctions(this, ctx, facts, this.settings, bundles);
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
        definition: tick.fn.arn.apply((arn) => renderDefinitionString({ TickFunctionArn: arn })),
        policy: pulumi
          .all([facts, tick.fn.arn])
          .apply(([f, fnArn]) => stateMachinePolicy(resourceArns({ ...f, tickFunctionArn: fnArn }))),
        accountId: identity.accountId,
        tags,
      },
      this,
    );
    this.stateMachineArn = machine.stateMachine.arn;
    this.scheduleName = tableSchedule(this, ctx, machine.stateMachine.arn, params, bucket).schedule.name;
    this.dashboardName = tableMonitoring(this, ctx, machine.stateMachine.arn, topics).dashboard.dashboardName;

    if (config.bucket.ownerAccountId !== undefined) {
      this.crossAccountBucketPolicyStatements = pulumi
        .all([partition.partition, bucket.name, tick.role.arn])
        .apply(([p, b, roleArn]) =>
          JSON.stringify(crossAccountBucketStatements(p, b, config.bucket.prefix, roleArn), null, 2),
        );
    }
    this.replicas = tableReplicas(this, ctx, bucket.name, topics, bundles);
    this.protectedCopy = replication(this, ctx, bucket, topics, retainBucketOnDelete ?? true);
    this.iceberg = icebergFeed(this, ctx, bucket.name, topics);
    this.registerOutputs({
      ...(this.iceberg ? { icebergStateMachineArn: this.iceberg.stateMachineArn } : {}),
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
      ...this.dataProtectionOutputs(),
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
        // S3 replicates only from a versioned bucket.
        versioning: config.bucket.versioning || config.dr !== undefined,
        kmsKeyArn: config.kmsKeyArn,
        retainOnDelete: retainBucketOnDelete ?? true,
        partition: partition.partition,
        tags,
        accessLogs: config.accessLogs,
        // A cross-account import replica's target role reads the full export with ImportTable; only
        // the break-glass role deletes chain objects.
        statements: (p, b) => [
          ...(config.breakGlassRoleArn
            ? [breakGlassDeleteStatement(p, b, config.bucket.prefix, config.breakGlassRoleArn)]
            : []),
          ...config.replicas.flatMap((replica) =>
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
        ],
      },
      this,
    );
  }

  /** The notification topic (mail by status) and the alarms topic, both encrypted with one KMS key. */
  private topics(ctx: BuildContext): Topics {
    const { name, config, names, tags, identity, region, partition } = ctx;
    const alarmNames = [
      names.executionsFailedAlarm,
      names.chainLagAlarm,
      names.notificationsAlarm,
      ...config.replicas.map((r) => replicaPhysicalNames(name, r.alias).lagAlarm),
      ...(config.dr ? [drPhysicalNames(name).lagAlarm, drPhysicalNames(name).failedAlarm] : []),
      ...(config.iceberg
        ? [icebergPhysicalNames(name).haltedAlarm, icebergPhysicalNames(name).lagAlarm]
        : []),
    ];
    const where = { partition: partition.partition, region: region.region, accountId: identity.accountId };
    const key = notificationKey(
      name,
      {
        existingKeyArn: config.notificationKmsKeyArn,
        description: `SNS topics of ${name} (dynamodb-continuous-exports)`,
        alarmNames,
        ...where,
        tags,
      },
      this,
    );
    const topics = notifications(
      name,
      {
        notificationTopicName: names.notificationTopic,
        alarmTopicName: names.alarmTopic,
        successEmails: config.successEmails,
        failureEmails: config.failureEmails,
        notifyOnSuccess: config.notifyOnSuccess,
        alarmNames,
        ...where,
        tags,
        kmsKeyArn: key.arn,
      },
      this,
    );
    return { ...topics, key, alarmNames };
  }

  /** The outputs of the data-protection settings (components/drConfig.ts). */
  private dataProtectionOutputs() {
    return {
      notificationKmsKeyArn: this.notificationKmsKeyArn,
      notificationKeyPolicyStatements: this.notificationKeyPolicyStatements,
      accessLogBucketPolicyStatement: this.accessLogBucketPolicyStatement,
      drReplicationRoleArn: this.protectedCopy?.role.arn,
      drDestinationBucketPolicyStatements: this.protectedCopy?.destinationPolicyStatements,
    };
  }
}

/** Kept exported here too: the schedule period is part of what this component deploys. */
export { schedulePeriodMinutes };
