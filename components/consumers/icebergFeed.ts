/**
 * `IcebergFeed`: an Apache Iceberg table kept fresh from a table's chain by Athena MERGE
 * (docs/iceberg.md), a child of the table's `ContinuousExport`:
 *
 * - an Athena workgroup (engine v3, enforced settings, a bytes-scanned cutoff per query) and a result
 *   bucket whose objects expire;
 * - the Glue databases (lake and staging) and the staging table: one `line string` column read with
 *   `SymlinkTextInputFormat`, partition `export` injected by projection, each partition a folder holding
 *   the `symlink.txt` the plan step writes. The target tables are NOT Pulumi resources: their DDL runs in
 *   the workflow (EnsureTable), because a Glue `openTableFormatInput` is create-only and later schema
 *   changes would miss the Iceberg metadata;
 * - the plan/commit Lambda, its cursor parameter, the Standard state machine
 *   (statemachine/iceberg-feed.asl.json, the one render function), a schedule every mergeEveryMinutes,
 *   and an alarm on failed executions (a halt) to the table's alarm topic;
 * - the operator's action parameter (RUN, PAUSE, REBUILD; `dce iceberg pause|resume|rebuild`), which
 *   the Lambda reads and never writes (functions/iceberg/action.ts), and the lag alarm on the
 *   `IcebergLagSeconds` metric the plan step emits (the lake behind the chain, halted, or not reporting);
 * - least-privilege IAM from the one action list (components/consumers/icebergPermissions.ts).
 *
 * Glue table optimizers cannot be Pulumi resources: the target tables (one per epoch) do not exist
 * until the workflow creates them. So the component deploys the optimizers' role
 * (components/consumers/icebergOptimizerRole.ts) and the workflow creates the three optimizers right
 * after EnsureTable creates a table, passing that role (docs/iceberg.md, "Compaction").
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { ICEBERG_FEED_HANDLER } from '../../functions/shared/lambdaHandlers';
import { DEFAULT_METRIC_NAMESPACE } from '../../functions/shared/metrics';
import { icebergRoot, lakeLocation, stagingLocationTemplate } from '../../functions/iceberg/staging';
import type { IcebergSettings } from '../../functions/iceberg/feed';
import { renderIcebergDefinitionString } from '../../statemachine/render';
import { bundleHandler, type HandlerBundle } from '../bundle';
import type { IcebergConfig } from '../config/iceberg';
import {
  icebergLambdaPolicy,
  icebergStateMachinePolicy,
  type IcebergResourceFacts,
} from './icebergPermissions';
import { icebergOptimizerRole } from './icebergOptimizerRole';
import { lambdaFunction } from '../lambdaFunction';
import { icebergParameterNames } from '../names';
import { icebergActionParameter, icebergLagAlarm } from './icebergOperations';
import type { Deployed, IcebergOutput as IcebergStackOutput } from '../stackOutput';
import { schedulerPolicy, serviceTrustPolicy } from '../permissions';
import { SCHEDULE_RETRY_POLICY } from '../schedule';

export const ICEBERG_FEED_TYPE = 'dynamodb-continuous-exports:index:IcebergFeed';

export interface IcebergFeedArgs {
  /** The feed's settings with defaults applied (components/icebergConfig.ts). */
  iceberg: IcebergConfig;
  /** Component name of the source table's `ContinuousExport`; physical names derive from it. */
  exportName: string;
  stackName: string;
  sourceAlias: string;
  /** The source table's name, for the feed's alert. */
  sourceTableName?: string;
  bucket: pulumi.Input<string>;
  /** Key prefix of the chain, without leading or trailing '/'. */
  prefix: string;
  kmsKeyArn?: string;
  notificationTopicArn: pulumi.Input<string>;
  /** The notification topic's KMS key: publishing an alert needs a data key from it. @default none (an unencrypted topic) */
  notificationKmsKeyArn?: pulumi.Input<string>;
  alarmTopicArn: pulumi.Input<string>;
  partition: pulumi.Input<string>;
  region: pulumi.Input<string>;
  accountId: pulumi.Input<string>;
  logRetentionDays: number;
  /**
   * The lake's lag behind the chain (minutes) above which the lag alarm fires.
   * @default iceberg.lagAlarmMinutes, else 60 plus mergeEveryMinutes
   */
  lagAlarmMinutes?: number;
  tags: Record<string, string>;
  /** @default bundled from functions/iceberg/handler.ts */
  bundle?: HandlerBundle;
}

/** `<name>-iceberg`, lower case: Athena workgroup and S3 bucket names take it. */
function baseName(exportName: string): string {
  return `${exportName}-iceberg`.toLowerCase();
}

/** The names the feed's ARNs are made of. */
interface FeedNames {
  base: string;
  root: string;
  functionName: string;
  lockParameterName: string;
  actionParameterName: string;
  stagingDatabase: string;
}

/** The facts the feed's policies derive from, once the stack's values are known. */
function feedFacts(
  args: IcebergFeedArgs,
  names: FeedNames,
  stateParameterName: string,
  resultsBucket: pulumi.Output<string>,
): pulumi.Output<IcebergResourceFacts> {
  const { base, root, functionName, lockParameterName, actionParameterName, stagingDatabase } = names;
  return pulumi
    .all([
      args.partition,
      args.region,
      args.accountId,
      args.bucket,
      args.notificationTopicArn,
      resultsBucket,
      args.notificationKmsKeyArn,
    ])
    .apply(([partition, region, accountId, bucket, topicArn, results, topicKeyArn]): IcebergResourceFacts => {
      const ssm = (n: string) => `arn:${partition}:ssm:${region}:${accountId}:parameter${n}`;
      return {
        partition,
        region,
        accountId,
        bucket,
        prefix: args.prefix,
        icebergRoot: root,
        parameterArns: [
          ssm(stateParameterName),
          ssm(lockParameterName),
          `${ssm(lockParameterName)}-takeover-*`,
        ],
        lockParameterArn: ssm(lockParameterName),
        actionParameterArn: ssm(actionParameterName),
        topicArn,
        ...(topicKeyArn ? { topicKeyArn } : {}),
        functionArn: `arn:${partition}:lambda:${region}:${accountId}:function:${functionName}`,
        workGroupName: base,
        databases: [args.iceberg.database, stagingDatabase],
        resultsBucket: results,
        kmsKeyArn: args.kmsKeyArn,
      };
    });
}

export class IcebergFeed extends pulumi.ComponentResource {
  public readonly stateMachineArn: pulumi.Output<string>;
  public readonly workGroupName: pulumi.Output<string>;
  public readonly stateParameterName: string;
  public readonly actionParameterName: string;
  /** The feed's entry in the stack output (`tables.<alias>.iceberg`), which `dce iceberg` reads. */
  public readonly output: Deployed<IcebergStackOutput>;

  constructor(name: string, args: IcebergFeedArgs, opts?: pulumi.ComponentResourceOptions) {
    super(ICEBERG_FEED_TYPE, name, {}, opts);
    const { iceberg, tags } = args;
    const base = baseName(args.exportName);
    const stagingDatabase = `${iceberg.database}_staging`;
    const stagingTable = `${iceberg.table}_changes`;
    const root = icebergRoot(args.prefix, iceberg.table);
    const parameters = icebergParameterNames(args.stackName, args.sourceAlias);
    this.stateParameterName = parameters.state;
    this.actionParameterName = parameters.action;
    const { results, workGroup } = this.athenaAndGlue(name, base, args, root, stagingDatabase, stagingTable);
    const state = new aws.ssm.Parameter(
      `${name}-state`,
      { name: this.stateParameterName, type: 'String', value: '{}', tags },
      { parent: this, ignoreChanges: ['value'] },
    );
    const action = icebergActionParameter(
      `${name}-action`,
      { parameterName: this.actionParameterName, source: args.sourceTableName ?? args.sourceAlias, tags },
      this,
    );

    const functionName = `${base}-plan`;
    const facts = feedFacts(
      args,
      {
        base,
        root,
        functionName,
        lockParameterName: parameters.lock,
        actionParameterName: parameters.action,
        stagingDatabase,
      },
      this.stateParameterName,
      results.bucket,
    );
    const settings = facts.apply((f) =>
      feedSettings(args, f.bucket, f.topicArn, {
        base,
        stagingDatabase,
        stagingTable,
        state: this.stateParameterName,
        action: this.actionParameterName,
        lock: parameters.lock,
      }),
    );
    const fn = lambdaFunction(
      `${name}-plan`,
      {
        spec: ICEBERG_FEED_HANDLER,
        bundle: args.bundle ?? bundleHandler(ICEBERG_FEED_HANDLER.entry),
        functionName,
        roleName: `${base}-plan-role`,
        logGroupName: `/aws/lambda/${functionName}`,
        logRetentionDays: args.logRetentionDays,
        environment: settings.apply((s) => ({ ICEBERG_SETTINGS: JSON.stringify(s) })),
        policy: (logGroupArn) =>
          pulumi.all([facts, logGroupArn]).apply(([f, lg]) => icebergLambdaPolicy(f, lg)),
        tags,
      },
      this,
    );
    // The state machine creates the optimizers of each table it creates: its facts carry their role.
    const optimizers = icebergOptimizerRole(this, { name, base }, args, facts);
    this.stateMachineArn = this.workflow(name, base, args, optimizers.facts, fn.fn.arn, workGroup.name, [
      state,
      action,
      ...optimizers.dependsOn,
    ]);
    this.workGroupName = workGroup.name;
    const lagAlarm = icebergLagAlarm(`${name}-lag`, args, this);
    this.output = {
      view: `${iceberg.database}.${iceberg.table}`,
      stateParameterName: this.stateParameterName,
      actionParameterName: this.actionParameterName,
      lockParameterName: parameters.lock,
      stateMachineArn: this.stateMachineArn,
      workGroupName: this.workGroupName,
      lagAlarmName: lagAlarm.name,
      // What the Lambda runs with: `dce iceberg sql` builds the feed's next statement from it.
      settings: settings.apply((s) => JSON.stringify(s)),
    };
    this.registerOutputs({ ...this.output });
  }

  /** The workgroup, its result bucket, the Glue databases and the staging table. */
  private athenaAndGlue(
    name: string,
    base: string,
    args: IcebergFeedArgs,
    root: string,
    stagingDatabase: string,
    stagingTable: string,
  ): { results: aws.s3.Bucket; workGroup: aws.athena.Workgroup } {
    const { iceberg, tags } = args;
    const results = new aws.s3.Bucket(
      `${name}-results`,
      { bucketPrefix: `${base}-`.slice(0, 37), forceDestroy: true, tags },
      { parent: this },
    );
    new aws.s3.BucketLifecycleConfiguration(
      `${name}-results-expiry`,
      {
        bucket: results.id,
        rules: [{ id: 'expire-query-results', status: 'Enabled', filter: {}, expiration: { days: 7 } }],
      },
      { parent: this },
    );
    new aws.s3.BucketPublicAccessBlock(
      `${name}-results-private`,
      {
        bucket: results.id,
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      },
      { parent: this },
    );
    const workGroup = new aws.athena.Workgroup(
      `${name}-workgroup`,
      {
        name: base,
        forceDestroy: true,
        configuration: {
          enforceWorkgroupConfiguration: true,
          publishCloudwatchMetricsEnabled: true,
          bytesScannedCutoffPerQuery: iceberg.bytesScannedCutoffMb * 1024 * 1024,
          engineVersion: { selectedEngineVersion: 'Athena engine version 3' },
          resultConfiguration: {
            outputLocation: pulumi.interpolate`s3://${results.bucket}/results/`,
            encryptionConfiguration: { encryptionOption: 'SSE_S3' },
          },
        },
        tags,
      },
      { parent: this },
    );
    const databases = [iceberg.database, stagingDatabase].map(
      (db) => new aws.glue.CatalogDatabase(`${name}-${db}`, { name: db }, { parent: this }),
    );
    new aws.glue.CatalogTable(
      `${name}-staging`,
      {
        name: stagingTable,
        databaseName: databases[1].name,
        tableType: 'EXTERNAL_TABLE',
        parameters: {
          EXTERNAL: 'TRUE',
          'projection.enabled': 'true',
          'projection.export.type': 'injected',
          'storage.location.template': pulumi
            .output(args.bucket)
            .apply((b) => stagingLocationTemplate(b, args.prefix, iceberg.table)),
        },
        partitionKeys: [{ name: 'export', type: 'string' }],
        storageDescriptor: {
          location: pulumi.interpolate`s3://${args.bucket}/${root}staging/`,
          inputFormat: 'org.apache.hadoop.hive.ql.io.SymlinkTextInputFormat',
          outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
          // LazySimpleSerDe with its default \u0001 field delimiter, which never occurs raw in JSON: one line, one column.
          serDeInfo: { serializationLibrary: 'org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe' },
          columns: [{ name: 'line', type: 'string' }],
        },
      },
      { parent: this },
    );
    return { results, workGroup };
  }

  /** The state machine, its schedule and its halt alarm. */
  private workflow(
    name: string,
    base: string,
    args: IcebergFeedArgs,
    facts: pulumi.Output<IcebergResourceFacts>,
    functionArn: pulumi.Output<string>,
    workGroupName: pulumi.Output<string>,
    after: pulumi.Resource[],
  ): pulumi.Output<string> {
    const { iceberg, tags } = args;
    const account = pulumi.output(args.accountId);
    const role = new aws.iam.Role(
      `${name}-states-role`,
      {
        name: `${base}-states-role`,
        assumeRolePolicy: account.apply((a) => JSON.stringify(serviceTrustPolicy('states.amazonaws.com', a))),
        tags,
      },
      { parent: this },
    );
    const rolePolicy = new aws.iam.RolePolicy(
      `${name}-states-policy`,
      { role: role.id, policy: facts.apply((f) => JSON.stringify(icebergStateMachinePolicy(f))) },
      { parent: this },
    );
    const machine = new aws.sfn.StateMachine(
      `${name}-machine`,
      {
        name: base,
        type: 'STANDARD',
        roleArn: role.arn,
        definition: pulumi.all([functionArn, workGroupName, facts]).apply(([arn, wg, f]) =>
          renderIcebergDefinitionString(
            {
              IcebergFunctionArn: arn,
              WorkGroup: wg,
              Database: iceberg.database,
              Catalog: 'AwsDataCatalog',
            },
            iceberg.optimizers.enabled && f.optimizerRoleArn
              ? { ...iceberg.optimizers, roleArn: f.optimizerRoleArn, catalogId: f.accountId }
              : undefined,
          ),
        ),
        tags,
      },
      { parent: this, dependsOn: [rolePolicy, ...after] },
    );
    const schedulerRole = new aws.iam.Role(
      `${name}-scheduler-role`,
      {
        name: `${base}-scheduler-role`,
        assumeRolePolicy: account.apply((a) =>
          JSON.stringify(serviceTrustPolicy('scheduler.amazonaws.com', a)),
        ),
        tags,
      },
      { parent: this },
    );
    const schedulerRolePolicy = new aws.iam.RolePolicy(
      `${name}-scheduler-policy`,
      { role: schedulerRole.id, policy: machine.arn.apply((arn) => JSON.stringify(schedulerPolicy(arn))) },
      { parent: this },
    );
    new aws.scheduler.Schedule(
      `${name}-schedule`,
      {
        name: base,
        flexibleTimeWindow: { mode: 'OFF' },
        scheduleExpression: `rate(${iceberg.mergeEveryMinutes} minutes)`,
        target: {
          arn: machine.arn,
          roleArn: schedulerRole.arn,
          input: '{}',
          retryPolicy: SCHEDULE_RETRY_POLICY,
        },
      },
      { parent: this, dependsOn: [schedulerRolePolicy] },
    );
    new aws.cloudwatch.MetricAlarm(
      `${name}-halted`,
      {
        name: `${base}-halted`,
        alarmDescription:
          'The Iceberg feed halted (one alert was published); the export chain is not affected. See docs/iceberg.md.',
        namespace: 'AWS/States',
        metricName: 'ExecutionsFailed',
        dimensions: { StateMachineArn: machine.arn },
        statistic: 'Sum',
        period: 300,
        evaluationPeriods: 1,
        threshold: 1,
        comparisonOperator: 'GreaterThanOrEqualToThreshold',
        treatMissingData: 'notBreaching',
        alarmActions: [args.alarmTopicArn],
        tags,
      },
      { parent: this },
    );
    return machine.arn;
  }
}

/** What the plan Lambda runs with (`ICEBERG_SETTINGS`), also in the stack output for `dce iceberg sql`. */
function feedSettings(
  args: IcebergFeedArgs,
  bucket: string,
  topicArn: string,
  names: {
    base: string;
    stagingDatabase: string;
    stagingTable: string;
    state: string;
    action: string;
    lock: string;
  },
): IcebergSettings {
  const { iceberg } = args;
  return {
    feedName: names.base,
    sourceAlias: args.sourceAlias,
    ...(args.sourceTableName ? { sourceTableName: args.sourceTableName } : {}),
    spec: {
      database: iceberg.database,
      table: iceberg.table,
      partitionKey: iceberg.partitionKey,
      ...(iceberg.sortKey ? { sortKey: iceberg.sortKey } : {}),
      columns: iceberg.columns,
      ...(iceberg.bucketPartitions !== undefined ? { bucketPartitions: iceberg.bucketPartitions } : {}),
      stagingDatabase: names.stagingDatabase,
      stagingTable: names.stagingTable,
      lakeLocation: lakeLocation(bucket, args.prefix, iceberg.table),
    },
    chainBucket: bucket,
    chainPrefix: args.prefix,
    stateParameterName: names.state,
    actionParameterName: names.action,
    lockParameterName: names.lock,
    topicArn,
    metricNamespace: DEFAULT_METRIC_NAMESPACE,
    onNewEpoch: iceberg.onNewEpoch,
    mergeEveryMinutes: iceberg.mergeEveryMinutes,
    maxExportsPerMerge: iceberg.maxExportsPerMerge,
    leaseSeconds: 2 * ICEBERG_FEED_HANDLER.timeoutSeconds,
  };
}
