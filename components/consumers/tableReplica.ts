/**
 * `TableReplica`: one replica of a continuously exported table, a child of the table's
 * `ContinuousExport`. It keeps another DynamoDB table (in this or another account and Region) equal
 * to the source as of its applied watermark, by applying the chain the export already produces:
 *
 * - a Standard state machine (statemachine/replica-apply.asl.json, rendered by the one render
 *   function) that plans, applies small entries together in one Lambda and large ones with a
 *   Distributed Map over the export's data files, and loops until nothing is left;
 * - the apply Lambda (functions/replica/handler.ts), with least-privilege IAM derived from
 *   `REPLICA_SDK_CALLS` (sts:AssumeRole only when a target role is set, else the target table; an
 *   `import` bootstrap adds DescribeTable of the source and the ImportTable grants, those on the target
 *   side in the target role's document when a role is set);
 * - an SSM parameter holding the replica state (epoch, last applied sequence, watermark, claim, halt),
 *   written by the Lambda only, and one holding the operator's action (RUN, PAUSE, REBUILD), written by
 *   the operator only (`dce replica pause|resume|rebuild`; functions/replica/action.ts);
 * - a schedule that starts the state machine once per schedule period of the table: the replica
 *   follows the chain manifest on its own, without a change to the export workflow, and a missed
 *   start is made good by the next one;
 * - the replica lag alarm on the `ReplicaLagSeconds` metric, to the table's alarm topic; halts are
 *   published once to the table's notification topic.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { REPLICA_APPLY_HANDLER, REPLICA_GROUP_LEASE_SECONDS } from '../../functions/shared/lambdaHandlers';
import {
  DEFAULT_METRIC_NAMESPACE,
  METRIC_DIMENSION,
  REPLICA_METRIC_DIMENSION,
  REPLICA_METRICS,
} from '../../functions/shared/metrics';
import { initialReplicaParameterValues } from '../../functions/replica/action';
import { toReplicaEnvironment } from '../../functions/replica/settings';
import { renderReplicaDefinitionString } from '../../statemachine/render';
import { bundleHandler, type HandlerBundle } from '../bundle';
import type { ReplicaConfig } from '../config';
import { lambdaFunction } from '../lambdaFunction';
import { replicaParameterNames, replicaPhysicalNames } from '../names';
import type { Deployed, ReplicaOutput as ReplicaStackOutput } from '../stackOutput';
import {
  replicaLambdaPolicy,
  replicaStateMachinePolicy,
  replicaTargetRoleDocuments,
  replicaTargetTableArn,
  type ReplicaResourceFacts,
} from '../permissions';
import { importsAsTargetRole, replicaImportBucketStatements } from './replicaBucketAccess';
import { schedule } from '../schedule';
import { stateMachine } from '../stateMachine';

export const TABLE_REPLICA_TYPE = 'dynamodb-continuous-exports:index:TableReplica';

/** Arguments of one replica: its validated settings and what it needs of its source table. */
export interface TableReplicaArgs {
  /** The replica's settings with defaults applied (`ReplicaConfig`, documented on `ReplicaInput`). */
  replica: ReplicaConfig;
  /** Component name of the source table's `ContinuousExport`; physical names derive from it. */
  exportName: string;
  /** Stack name, used in the state parameter path. */
  stackName: string;
  sourceAlias: string;
  sourceTableName: string;
  bucket: pulumi.Input<string>;
  /** Key prefix of the source chain, without leading or trailing '/'. */
  prefix: string;
  /**
   * Whether the stack writes the bucket's policy (a created bucket): then it holds the statements a
   * cross-account import needs; otherwise they are output for the bucket's owner.
   * @default false
   */
  bucketPolicyManaged?: boolean;
  /** KMS key of export objects, when configured. */
  kmsKeyArn?: string;
  notificationTopicArn: pulumi.Input<string>;
  /** KMS key of the notification topic, when it is encrypted: the apply Lambda publishes with it. */
  notificationKmsKeyArn?: pulumi.Input<string>;
  alarmTopicArn: pulumi.Input<string>;
  partition: pulumi.Input<string>;
  region: pulumi.Input<string>;
  accountId: pulumi.Input<string>;
  /** How often the replica's state machine starts, in minutes (the table's schedule period). */
  schedulePeriodMinutes: number;
  /** Replica lag (minutes) above which the lag alarm fires (the table's chain lag threshold). */
  lagAlarmMinutes: number;
  logRetentionDays: number;
  tags: Record<string, string>;
  /**
   * Bundled apply handler, so many replicas bundle once.
   * @default bundled with esbuild when the component is constructed
   */
  bundle?: HandlerBundle;
}

/** The replica's entry in the stack output that `dce` reads (components/stackOutput.ts). */
export type ReplicaOutput = Deployed<ReplicaStackOutput>;

export class TableReplica extends pulumi.ComponentResource {
  public readonly stateParameterName: string;
  public readonly actionParameterName: string;
  public readonly stateMachineArn: pulumi.Output<string>;
  public readonly applyFunctionName: pulumi.Output<string>;
  public readonly output: ReplicaOutput;

  constructor(name: string, args: TableReplicaArgs, opts?: pulumi.ComponentResourceOptions) {
    super(TABLE_REPLICA_TYPE, name, {}, opts);
    const { replica, tags } = args;
    const names = replicaPhysicalNames(args.exportName, replica.alias);
    const parameters = replicaParameterNames(args.stackName, args.sourceAlias, replica.alias);
    this.stateParameterName = parameters.state;
    this.actionParameterName = parameters.action;
    const { state, action } = this.parameters(name, args);
    const facts = this.resourceFacts(args);

    const apply = lambdaFunction(
      `${args.exportName}-${replica.alias}`,
      {
        spec: REPLICA_APPLY_HANDLER,
        bundle: args.bundle ?? bundleHandler(REPLICA_APPLY_HANDLER.entry),
        functionName: names.applyFunction,
        roleName: names.applyFunctionRole,
        logGroupName: `/aws/lambda/${names.applyFunction}`,
        logRetentionDays: args.logRetentionDays,
        environment: facts.apply((f) =>
          toReplicaEnvironment({
            alias: args.sourceAlias,
            replicaAlias: replica.alias,
            sourceTableName: args.sourceTableName,
            bucket: f.bucket,
            prefix: args.prefix,
            stateParameterName: this.stateParameterName,
            actionParameterName: this.actionParameterName,
            targetTableName: replica.tableName,
            targetRegion: replica.region,
            roleArn: replica.roleArn,
            bootstrap: replica.bootstrap,
            onNewEpoch: replica.onNewEpoch,
            maxWritesPerSecond: replica.maxWritesPerSecond,
            concurrency: replica.concurrency,
            notificationTopicArn: f.notificationTopicArn,
            metricNamespace: DEFAULT_METRIC_NAMESPACE,
            // A claim outlives the longest apply: the Lambda timeout, twice.
            leaseSeconds: REPLICA_GROUP_LEASE_SECONDS,
          }),
        ),
        policy: (logGroupArn) =>
          pulumi.all([facts, logGroupArn]).apply(([f, lg]) => replicaLambdaPolicy(f, lg)),
        tags,
      },
      this,
    );

    const machine = this.stateMachine(name, args, facts, apply.fn.arn);
    this.stateMachineArn = machine.arn;
    this.applyFunctionName = apply.fn.name;

    this.schedule(name, args, machine.arn, [state, action]);

    const alarm = this.lagAlarm(name, args);

    const targetRole = replica.roleArn
      ? pulumi.all([facts, apply.role.arn]).apply(([f, roleArn]) => replicaTargetRoleDocuments(f, roleArn))
      : undefined;
    const importBucketStatements =
      !args.bucketPolicyManaged && importsAsTargetRole(replica)
        ? facts.apply((f) =>
            replicaImportBucketStatements({
              partition: f.partition,
              bucket: f.bucket,
              prefix: args.prefix,
              tableAlias: args.sourceAlias,
              replicaAlias: replica.alias,
              roleArn: replica.roleArn,
              bootstrap: replica.bootstrap,
            }),
          )
        : undefined;
    this.output = {
      alias: replica.alias,
      targetTableName: replica.tableName,
      targetRegion: pulumi.output(args.region).apply((r) => replica.region ?? r),
      targetTableArn: facts.apply(replicaTargetTableArn),
      ...(replica.roleArn ? { roleArn: replica.roleArn } : {}),
      bootstrap: replica.bootstrap,
      onNewEpoch: replica.onNewEpoch,
      scheduled: replica.schedule,
      stateParameterName: this.stateParameterName,
      actionParameterName: this.actionParameterName,
      stateMachineArn: machine.arn,
      applyFunctionName: apply.fn.name,
      applyRoleArn: apply.role.arn,
      lagAlarmName: alarm.name,
      ...(targetRole
        ? {
            targetRoleTrustPolicy: targetRole.apply((d) => JSON.stringify(d.trustPolicy, null, 2)),
            targetRolePermissions: targetRole.apply((d) => JSON.stringify(d.permissionsPolicy, null, 2)),
          }
        : {}),
      ...(importBucketStatements
        ? { importBucketPolicyStatements: importBucketStatements.apply((s) => JSON.stringify(s, null, 2)) }
        : {}),
    };
    this.registerOutputs({ ...this.output });
  }

  /** What the IAM statements and the Lambda's settings are derived from, once the account is known. */
  private resourceFacts(args: TableReplicaArgs): pulumi.Output<ReplicaResourceFacts> {
    const { replica } = args;
    const names = replicaPhysicalNames(args.exportName, replica.alias);
    return pulumi
      .all([
        args.partition,
        args.region,
        args.accountId,
        args.bucket,
        args.notificationTopicArn,
        args.notificationKmsKeyArn,
      ])
      .apply(([p, r, a, b, topic, topicKey]) => ({
        partition: p,
        region: r,
        accountId: a,
        bucket: b,
        prefix: args.prefix,
        kmsKeyArn: args.kmsKeyArn,
        stateParameterName: this.stateParameterName,
        actionParameterName: this.actionParameterName,
        notificationTopicArn: topic,
        notificationKmsKeyArn: topicKey,
        functionArn: `arn:${p}:lambda:${r}:${a}:function:${names.applyFunction}`,
        stateMachineName: names.stateMachine,
        targetTableName: replica.tableName,
        targetRegion: replica.region,
        roleArn: replica.roleArn,
        bootstrap: replica.bootstrap,
        sourceTableName: args.sourceTableName,
      }));
  }

  /** The replica's state parameter (the Lambda's) and action parameter (the operator's). */
  private parameters(name: string, args: TableReplicaArgs) {
    const { replica, tags } = args;
    const parent = { parent: this };
    const initialValues = initialReplicaParameterValues();
    const state = new aws.ssm.Parameter(
      `${name}-state`,
      {
        name: this.stateParameterName,
        type: 'String',
        tier: 'Standard',
        value: initialValues.state,
        description: `State of replica ${replica.alias} of ${args.sourceTableName}. Written by its apply Lambda only.`,
        tags,
      },
      // The Lambda owns the value; a replaced parameter would restart the replica from scratch.
      { ...parent, ignoreChanges: ['value'], retainOnDelete: true },
    );
    const action = new aws.ssm.Parameter(
      `${name}-action`,
      {
        name: this.actionParameterName,
        type: 'String',
        tier: 'Standard',
        value: initialValues.action,
        description: `Operator action for replica ${replica.alias} of ${args.sourceTableName}: RUN, PAUSE or REBUILD. Written by the operator only; the apply Lambda reads it.`,
        tags,
      },
      // The operator owns the value; the Lambda never writes it (a REBUILD is carried out once per version).
      { ...parent, ignoreChanges: ['value'] },
    );
    return { state, action };
  }

  /** The apply workflow: the shared state machine shape with the replica's definition and policy. */
  private stateMachine(
    name: string,
    args: TableReplicaArgs,
    facts: pulumi.Output<ReplicaResourceFacts>,
    functionArn: pulumi.Output<string>,
  ): aws.sfn.StateMachine {
    const names = replicaPhysicalNames(args.exportName, args.replica.alias);
    return stateMachine(
      name,
      {
        stateMachineName: names.stateMachine,
        roleName: names.stateMachineRole,
        logGroupName: `/aws/vendedlogs/states/${names.stateMachine}`,
        logRetentionDays: args.logRetentionDays,
        definition: functionArn.apply((arn) => renderReplicaDefinitionString({ ReplicaFunctionArn: arn })),
        policy: facts.apply(replicaStateMachinePolicy),
        policyName: 'replica',
        machineSuffix: 'replica',
        accountId: args.accountId,
        tags: args.tags,
      },
      this,
    ).stateMachine;
  }

  /** The schedule that starts the workflow once per period, with a role that may start only it (none with `schedule: false`). */
  private schedule(
    name: string,
    args: TableReplicaArgs,
    stateMachineArn: pulumi.Output<string>,
    after: pulumi.Resource[],
  ): void {
    // Without a schedule the workflow runs only as one-shot restores (cli/restore/restoreDistributed.ts).
    if (!args.replica.schedule) return;
    const names = replicaPhysicalNames(args.exportName, args.replica.alias);
    schedule(
      name,
      {
        scheduleName: names.schedule,
        roleName: names.schedulerRole,
        periodMinutes: args.schedulePeriodMinutes,
        stateMachineArn,
        description: `Starts the apply workflow of replica ${args.replica.alias} of ${args.sourceTableName}.`,
        input: '{}',
        accountId: args.accountId,
        tags: args.tags,
        dependsOn: after,
      },
      this,
    );
  }

  /** The lag alarm: behind the source, halted, or not reporting. */
  private lagAlarm(name: string, args: TableReplicaArgs): aws.cloudwatch.MetricAlarm {
    const { replica, tags } = args;
    const parent = { parent: this };
    const names = replicaPhysicalNames(args.exportName, replica.alias);
    return new aws.cloudwatch.MetricAlarm(
      `${name}-lag`,
      {
        name: names.lagAlarm,
        alarmDescription: `Replica ${replica.alias} (${replica.tableName}) of ${args.sourceTableName} is more than ${args.lagAlarmMinutes} minutes behind the source, halted, or not reporting.`,
        namespace: DEFAULT_METRIC_NAMESPACE,
        metricName: REPLICA_METRICS.replicaLagSeconds,
        dimensions: { [METRIC_DIMENSION]: args.sourceAlias, [REPLICA_METRIC_DIMENSION]: replica.alias },
        statistic: 'Maximum',
        period: 60 * Math.max(5, args.schedulePeriodMinutes),
        evaluationPeriods: 1,
        threshold: args.lagAlarmMinutes * 60,
        comparisonOperator: 'GreaterThanThreshold',
        // No data point means the apply workflow is not running (or never started): alarm. A replica
        // without a schedule runs only for a restore: no data point is its normal state.
        treatMissingData: replica.schedule ? 'breaching' : 'notBreaching',
        alarmActions: [args.alarmTopicArn],
        okActions: [args.alarmTopicArn],
        tags,
      },
      parent,
    );
  }
}
