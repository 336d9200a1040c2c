/**
 * The protected copy of a table's chain (`dr:`): S3 replication of `<prefix>/` from the export bucket
 * to a bucket in another Region or account, a replication role derived from the one action list, a
 * lag alarm on S3's replication metrics, and, when the stack creates the destination, that bucket with
 * versioning, encryption, a public access block, a TLS-only policy and Object Lock.
 *
 * - Versioning on both ends: S3 replicates only from and to versioned buckets (the export bucket gets
 *   versioning whenever `dr` is set).
 * - Delete markers are not replicated, so a deletion in the primary never reaches the copy; with Object
 *   Lock on the copy, no one can delete its versions before their retention ends (COMPLIANCE: not even
 *   the root user; GOVERNANCE: only with `s3:BypassGovernanceRetention`).
 * - SSE-KMS exports are replicated (`sseKmsEncryptedObjects`) and re-encrypted with the destination's
 *   key (`replicaKmsKeyId`): the role decrypts with the source key and encrypts with the replica key,
 *   each only through S3 in its Region.
 * - Metrics are always on, so `ReplicationLatency` exists for the alarm; with replication time control
 *   S3 also promises 15 minutes and emits `OperationMissedThreshold` events.
 * - Only objects written after the rule are replicated; those written before need S3 Batch Replication
 *   (docs/disaster-recovery.md gives the command).
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import {
  S3_REPLICATION_CROSS_ACCOUNT_GRANTS,
  S3_REPLICATION_GRANTS,
  type ReplicationResourceKind,
} from '../../functions/shared/awsActions';
import { denyInsecureTransportPolicy } from '../bucketPolicies';
import type { DrConfig } from '../config/protection';
import {
  serviceTrustPolicy,
  statementsFor,
  underPrefix,
  type PolicyDocument,
  type PolicyStatement,
} from '../permissions';

/** The one rule's id: a dimension of the replication metrics. */
export const REPLICATION_RULE_ID = 'dce-chain';

/** Physical names of a table's replication resources (the role's is as long as the export tick's). */
export function drPhysicalNames(component: string) {
  return {
    role: `${component}-replication`,
    lagAlarm: `${component}-replication-lag`,
    failedAlarm: `${component}-replication-failed`,
  };
}

/** Everything the replication role's ARNs are built from. */
export interface ReplicationFacts {
  partition: string;
  /** Region of the export bucket. */
  region: string;
  accountId: string;
  sourceBucket: string;
  prefix: string;
  sourceKmsKeyArn?: string;
  dr: DrConfig;
}

function replicationArns(f: ReplicationFacts): Partial<Record<ReplicationResourceKind, string[]>> {
  const objects = (bucket: string) => `arn:${f.partition}:s3:::${bucket}/${underPrefix(f.prefix, '*')}`;
  return {
    replicationSourceBucket: [`arn:${f.partition}:s3:::${f.sourceBucket}`],
    replicationSourceObjects: [objects(f.sourceBucket)],
    replicationDestinationObjects: [objects(f.dr.bucket)],
    replicationSourceKey: f.sourceKmsKeyArn ? [f.sourceKmsKeyArn] : [],
    replicationDestinationKey: f.dr.kmsKeyArn ? [f.dr.kmsKeyArn] : [],
  };
}

/** The replication role's policy: the grants of the action list, the keys used only through S3. */
export function replicationRolePolicy(f: ReplicationFacts): PolicyDocument {
  const otherAccount = f.dr.accountId !== undefined && f.dr.accountId !== f.accountId;
  const grants = [...S3_REPLICATION_GRANTS, ...(otherAccount ? S3_REPLICATION_CROSS_ACCOUNT_GRANTS : [])];
  const via = (region: string) => ({ StringEquals: { 'kms:ViaService': `s3.${region}.amazonaws.com` } });
  return {
    Version: '2012-10-17',
    Statement: statementsFor(grants, replicationArns(f), (kind) =>
      kind === 'replicationSourceKey'
        ? via(f.region)
        : kind === 'replicationDestinationKey'
          ? via(f.dr.region ?? f.region)
          : undefined,
    ),
  };
}

/**
 * What the destination bucket's policy must allow the replication role (created here for a bucket the
 * stack creates; output for its owner otherwise): replicate into the prefix, and read the versioning
 * S3 checks before it replicates.
 */
export function destinationBucketStatements(f: ReplicationFacts, roleArn: string): PolicyStatement[] {
  const otherAccount = f.dr.accountId !== undefined && f.dr.accountId !== f.accountId;
  const objectActions = [
    ...S3_REPLICATION_GRANTS,
    ...(otherAccount ? S3_REPLICATION_CROSS_ACCOUNT_GRANTS : []),
  ]
    .filter((g) => g.resource === 'replicationDestinationObjects')
    .flatMap((g) => g.actions)
    .sort();
  return [
    {
      Sid: 'ReplicateTheChain',
      Effect: 'Allow',
      Principal: { AWS: roleArn },
      Action: objectActions,
      Resource: replicationArns(f).replicationDestinationObjects,
    },
    {
      Sid: 'ReadVersioningForReplication',
      Effect: 'Allow',
      Principal: { AWS: roleArn },
      Action: ['s3:GetBucketVersioning'],
      Resource: [`arn:${f.partition}:s3:::${f.dr.bucket}`],
    },
  ];
}

/** The replication rule: the prefix, delete markers off, SSE-KMS handled, metrics and RTC. */
export function replicationRule(f: ReplicationFacts): aws.types.input.s3.BucketReplicationConfigRule {
  const { dr } = f;
  const otherAccount = dr.accountId !== undefined && dr.accountId !== f.accountId;
  return {
    id: REPLICATION_RULE_ID,
    status: 'Enabled',
    priority: 1,
    filter: { prefix: underPrefix(f.prefix, '') },
    deleteMarkerReplication: { status: 'Disabled' },
    ...(f.sourceKmsKeyArn
      ? { sourceSelectionCriteria: { sseKmsEncryptedObjects: { status: 'Enabled' } } }
      : {}),
    destination: {
      bucket: `arn:${f.partition}:s3:::${dr.bucket}`,
      ...(otherAccount ? { account: dr.accountId, accessControlTranslation: { owner: 'Destination' } } : {}),
      ...(dr.kmsKeyArn ? { encryptionConfiguration: { replicaKmsKeyId: dr.kmsKeyArn } } : {}),
      // Replication time control requires the metrics with a 15-minute event threshold.
      metrics: {
        status: 'Enabled',
        ...(dr.replicationTimeControl ? { eventThreshold: { minutes: 15 } } : {}),
      },
      ...(dr.replicationTimeControl ? { replicationTime: { status: 'Enabled', time: { minutes: 15 } } } : {}),
    },
  };
}

/** Inputs of `drReplication`. */
export interface DrReplicationArgs {
  dr: DrConfig;
  facts: pulumi.Output<Omit<ReplicationFacts, 'dr'>>;
  /** The export bucket's resource and its versioning, which replication needs first. */
  sourceBucketId: pulumi.Input<string>;
  sourceVersioning?: pulumi.Resource;
  alarmTopicArn: pulumi.Input<string>;
  /** Keep a created destination bucket on `pulumi destroy`. */
  retainOnDelete: boolean;
  tags: Record<string, string>;
}

/** The protected copy's resources. */
export interface DrReplication {
  role: aws.iam.Role;
  replication: aws.s3.BucketReplicationConfig;
  lagAlarm: aws.cloudwatch.MetricAlarm;
  /** Objects that failed to replicate: they report no latency, so the lag alarm alone stays OK. */
  failedAlarm: aws.cloudwatch.MetricAlarm;
  /** The statements the destination bucket's owner adds (JSON), when the stack does not create it. */
  destinationPolicyStatements: pulumi.Output<string>;
  destination?: { bucket: aws.s3.Bucket; objectLock?: aws.s3.BucketObjectLockConfiguration };
}

/** The destination bucket, when `dr.create`: in its Region, versioned, encrypted, locked if configured. */
function destinationBucket(
  name: string,
  args: DrReplicationArgs,
  roleArn: pulumi.Output<string>,
  parent: pulumi.Resource,
) {
  const { dr } = args;
  const provider = dr.region
    ? new aws.Provider(`${name}-dr-region`, { region: dr.region as aws.Region }, { parent })
    : undefined;
  const opts: pulumi.CustomResourceOptions = {
    parent,
    retainOnDelete: args.retainOnDelete,
    ...(provider ? { provider } : {}),
  };
  // Object Lock can only be turned on, never off, and keeps versioning from being suspended.
  const bucket = new aws.s3.Bucket(
    `${name}-dr-bucket`,
    {
      bucket: dr.bucket,
      forceDestroy: false,
      objectLockEnabled: dr.objectLock !== undefined,
      tags: args.tags,
    },
    opts,
  );
  const versioning = new aws.s3.BucketVersioning(
    `${name}-dr-bucket-versioning`,
    { bucket: bucket.id, versioningConfiguration: { status: 'Enabled' } },
    opts,
  );
  new aws.s3.BucketServerSideEncryptionConfiguration(
    `${name}-dr-bucket-encryption`,
    {
      bucket: bucket.id,
      rules: [
        {
          applyServerSideEncryptionByDefault: dr.kmsKeyArn
            ? { sseAlgorithm: 'aws:kms', kmsMasterKeyId: dr.kmsKeyArn }
            : { sseAlgorithm: 'AES256' },
          bucketKeyEnabled: dr.kmsKeyArn !== undefined,
        },
      ],
    },
    opts,
  );
  const publicAccess = new aws.s3.BucketPublicAccessBlock(
    `${name}-dr-bucket-public-access`,
    {
      bucket: bucket.id,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    },
    opts,
  );
  const policy = new aws.s3.BucketPolicy(
    `${name}-dr-bucket-policy`,
    {
      bucket: bucket.id,
      policy: pulumi.all([args.facts, roleArn]).apply(([f, role]) => {
        const doc = denyInsecureTransportPolicy(f.partition, dr.bucket);
        doc.Statement.push(...destinationBucketStatements({ ...f, dr }, role));
        return JSON.stringify(doc);
      }),
    },
    { ...opts, dependsOn: [publicAccess] },
  );
  const objectLock = dr.objectLock
    ? new aws.s3.BucketObjectLockConfiguration(
        `${name}-dr-bucket-object-lock`,
        {
          bucket: bucket.id,
          rule: { defaultRetention: { mode: dr.objectLock.mode, days: dr.objectLock.days } },
        },
        { ...opts, dependsOn: [versioning] },
      )
    : undefined;
  return { bucket, ready: [versioning, policy, ...(objectLock ? [objectLock] : [])], objectLock };
}

/**
 * The copy's two alarms, to the table's alarm topic: objects slow to replicate (ReplicationLatency),
 * and objects that failed to (OperationsFailedReplication), which report no latency at all.
 */
function replicationAlarms(
  name: string,
  args: DrReplicationArgs,
  parent: pulumi.Resource,
): { lagAlarm: aws.cloudwatch.MetricAlarm; failedAlarm: aws.cloudwatch.MetricAlarm } {
  const { dr } = args;
  const names = drPhysicalNames(name);
  // One S3 replication metric of this rule above `threshold` over 5 minutes. S3 reports replication
  // metrics only while there is something to replicate: no data is not a breach.
  const alarm = (
    physicalName: string,
    metricName: string,
    statistic: 'Maximum' | 'Sum',
    threshold: number,
    alarmDescription: string,
  ) =>
    new aws.cloudwatch.MetricAlarm(
      physicalName,
      {
        name: physicalName,
        alarmDescription,
        namespace: 'AWS/S3',
        metricName,
        dimensions: {
          SourceBucket: args.facts.apply((f) => f.sourceBucket),
          DestinationBucket: dr.bucket,
          RuleId: REPLICATION_RULE_ID,
        },
        statistic,
        period: 300,
        evaluationPeriods: 1,
        threshold,
        comparisonOperator: 'GreaterThanThreshold',
        treatMissingData: 'notBreaching',
        alarmActions: [args.alarmTopicArn],
        okActions: [args.alarmTopicArn],
        tags: args.tags,
      },
      { parent },
    );
  return {
    lagAlarm: alarm(
      names.lagAlarm,
      'ReplicationLatency',
      'Maximum',
      dr.lagAlarmSeconds,
      `Objects of the chain take more than ${dr.lagAlarmSeconds} s to reach the protected copy s3://${dr.bucket} (S3 ReplicationLatency).`,
    ),
    // A failed object reports no ReplicationLatency: without this alarm a copy missing objects stays OK.
    failedAlarm: alarm(
      names.failedAlarm,
      'OperationsFailedReplication',
      'Sum',
      0,
      `Objects of the chain failed to replicate to the protected copy s3://${dr.bucket} (S3 OperationsFailedReplication): they are not in the copy until replicated again (S3 Batch Replication, docs/disaster-recovery.md).`,
    ),
  };
}

/** The replication of `<prefix>/` to the protected copy; see the module comment. */
export function drReplication(name: string, args: DrReplicationArgs, parent: pulumi.Resource): DrReplication {
  const { dr } = args;
  const names = drPhysicalNames(name);
  const role = new aws.iam.Role(
    `${name}-replication-role`,
    {
      name: names.role,
      assumeRolePolicy: args.facts.apply((f) =>
        JSON.stringify(serviceTrustPolicy('s3.amazonaws.com', f.accountId)),
      ),
      tags: args.tags,
    },
    { parent },
  );
  const rolePolicy = new aws.iam.RolePolicy(
    `${name}-replication-role-policy`,
    {
      role: role.id,
      name: 'replicate-the-chain',
      policy: args.facts.apply((f) => JSON.stringify(replicationRolePolicy({ ...f, dr }))),
    },
    { parent },
  );
  const destination = dr.create ? destinationBucket(name, args, role.arn, parent) : undefined;
  const replication = new aws.s3.BucketReplicationConfig(
    `${name}-replication`,
    {
      bucket: args.sourceBucketId,
      role: role.arn,
      rules: [args.facts.apply((f) => replicationRule({ ...f, dr }))],
    },
    {
      parent,
      dependsOn: [
        rolePolicy,
        ...(args.sourceVersioning ? [args.sourceVersioning] : []),
        ...(destination?.ready ?? []),
      ],
    },
  );
  const { lagAlarm, failedAlarm } = replicationAlarms(name, args, parent);
  return {
    role,
    replication,
    lagAlarm,
    failedAlarm,
    destinationPolicyStatements: pulumi
      .all([args.facts, role.arn])
      .apply(([f, arn]) => JSON.stringify(destinationBucketStatements({ ...f, dr }, arn), null, 2)),
    ...(destination
      ? { destination: { bucket: destination.bucket, objectLock: destination.objectLock } }
      : {}),
  };
}
