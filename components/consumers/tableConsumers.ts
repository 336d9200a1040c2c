/**
 * The consumers of one table's chain, children of its `ContinuousExport`: one `TableReplica` per
 * configured replica and the Iceberg feed. Each only reads the chain (docs/consumers.md).
 */
import * as pulumi from '@pulumi/pulumi';
import { REPLICA_APPLY_HANDLER } from '../../functions/shared/lambdaHandlers';
import { schedulePeriodMinutes } from '../../functions/chain/settings';
import { HandlerBundle } from '../bundle';
import { TableReplica } from './tableReplica';
import { IcebergFeed } from './icebergFeed';
import { type BuildContext, type Topics } from '../tableContext';

/** The table's Iceberg feed, when configured; it only reads the chain. */
export function icebergFeed(
  parent: pulumi.Resource,
  ctx: BuildContext,
  bucketName: pulumi.Output<string>,
  topics: Topics,
): IcebergFeed | undefined {
  const { name, stack, config, tags, identity, region, partition } = ctx;
  if (!config.iceberg) return undefined;
  return new IcebergFeed(
    `${name}-iceberg`,
    {
      iceberg: config.iceberg,
      exportName: name,
      stackName: stack,
      sourceAlias: config.alias,
      sourceTableName: config.tableName,
      bucket: bucketName,
      prefix: config.bucket.prefix,
      kmsKeyArn: config.kmsKeyArn,
      notificationTopicArn: topics.notificationTopic.arn,
      notificationKmsKeyArn: topics.key.arn,
      alarmTopicArn: topics.alarmTopic.arn,
      partition: partition.partition,
      region: region.region,
      accountId: identity.accountId,
      logRetentionDays: config.logRetentionDays,
      // The lake trails the chain by up to mergeEveryMinutes by design: the table's threshold on top.
      lagAlarmMinutes:
        config.iceberg.lagAlarmMinutes ?? config.lagAlarmMinutes + config.iceberg.mergeEveryMinutes,
      tags,
    },
    { parent: parent },
  );
}

/** One TableReplica per configured replica, beside parent table's resources. */
export function tableReplicas(
  parent: pulumi.Resource,
  ctx: BuildContext,
  bucketName: pulumi.Output<string>,
  topics: Topics,
  bundles: Record<string, HandlerBundle> | undefined,
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
          notificationKmsKeyArn: topics.key.arn,
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
        { parent: parent },
      ),
  );
}
