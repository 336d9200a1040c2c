/**
 * One table's data protection, as steps of `ContinuousExport`: the statements owners of a given topic
 * key and of the log bucket add to their policies, and the replication to the protected copy (`dr`).
 */
import * as pulumi from '@pulumi/pulumi';
import { exportBucket } from '../exportBucket';
import { notificationKeyStatements } from './notificationKey';
import { accessLogDeliveryStatement } from '../bucketPolicies';
import { drReplication, type DrReplication } from './drReplication';
import { type BuildContext, type Topics } from '../tableContext';

/** What the owners of a given topic key and of the log bucket add to their policies. */
export function protectionOutputs(
  ctx: BuildContext,
  bucketName: pulumi.Output<string>,
  alarmNames: string[],
): {
  notificationKeyPolicyStatements?: pulumi.Output<string>;
  accessLogBucketPolicyStatement?: pulumi.Output<string>;
} {
  const { config, identity, region, partition } = ctx;
  const { notificationKmsKeyArn, accessLogs } = config;
  const json = (value: unknown) => JSON.stringify(value, null, 2);
  return {
    notificationKeyPolicyStatements:
      notificationKmsKeyArn === undefined
        ? undefined
        : pulumi
            .all([partition.partition, region.region, identity.accountId])
            .apply(([p, r, a]) =>
              json(notificationKeyStatements({ partition: p, region: r, accountId: a, alarmNames })),
            ),
    accessLogBucketPolicyStatement:
      accessLogs === undefined
        ? undefined
        : pulumi
            .all([partition.partition, bucketName, identity.accountId])
            .apply(([p, b, a]) =>
              json(accessLogDeliveryStatement(p, accessLogs.bucket, accessLogs.prefix, b, a)),
            ),
  };
}

/** With `dr`: S3 replication of the chain to the protected copy (the config requires a created bucket). */
export function replication(
  parent: pulumi.Resource,
  ctx: BuildContext,
  bucket: ReturnType<typeof exportBucket>,
  topics: Topics,
  retainOnDelete: boolean,
): DrReplication | undefined {
  const { name, config, tags, identity, region, partition } = ctx;
  if (!config.dr || !bucket.created) return undefined;
  return drReplication(
    name,
    {
      dr: config.dr,
      facts: pulumi
        .all([partition.partition, region.region, identity.accountId, bucket.name])
        .apply(([p, r, a, b]) => ({
          partition: p,
          region: r,
          accountId: a,
          sourceBucket: b,
          prefix: config.bucket.prefix,
          sourceKmsKeyArn: config.kmsKeyArn,
        })),
      sourceBucketId: bucket.created.bucket.id,
      sourceVersioning: bucket.created.versioning,
      alarmTopicArn: topics.alarmTopic.arn,
      retainOnDelete,
      tags,
    },
    parent,
  );
}
