/**
 * Bucket policies: the TLS-only rule of a bucket the stack creates, and the statements the owner of a
 * bucket in another account adds for the export tick. Derived, like the roles' policies, from the
 * one list of calls (`functions/shared/awsActions.ts`).
 */
import { SDK_CALLS, type ResourceKind } from '../functions/shared/awsActions';
import { runFailureMarkerKey } from '../functions/chain/runFailureMarker';
import { underPrefix, type PolicyDocument, type PolicyStatement } from './permissions';

/**
 * Bucket policy for a created bucket: refuse every request that does not use TLS. This Deny is the
 * only statement with a wildcard action (`s3:*`), which is what a deny-all-insecure rule needs; no
 * Allow statement anywhere has one.
 */
export function denyInsecureTransportPolicy(partition: string, bucket: string): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'DenyInsecureTransport',
        Effect: 'Deny',
        Principal: '*',
        Action: ['s3:*'],
        Resource: [`arn:${partition}:s3:::${bucket}`, `arn:${partition}:s3:::${bucket}/*`],
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      },
    ],
  };
}

/**
 * The statements the owner of a bucket in another account must add to its bucket policy so that the
 * export tick's role can write the exports and the chain manifest under the prefix, read back the
 * run-failure note it keeps beside the chain, and list that note's key (without the listing, S3
 * answers 403 instead of 404 for a note that was never written).
 */
export function crossAccountBucketStatements(
  partition: string,
  bucket: string,
  prefix: string,
  roleArn: string,
): PolicyStatement[] {
  const grants = [
    ...(SDK_CALLS.ExportTableToPointInTimeCommand ?? []),
    ...(SDK_CALLS.PutObjectCommand ?? []),
    ...(SDK_CALLS.GetObjectCommand ?? []),
  ];
  const objectActions = (kind: ResourceKind) =>
    grants.filter((g) => g.resource === kind).flatMap((g) => g.actions.filter((a) => a.startsWith('s3:')));
  const s3Actions = [
    ...new Set([...objectActions('exportObjects'), ...objectActions('chainObjects')]),
  ].sort();
  return [
    {
      Sid: 'DynamoDBContinuousExportsWrite',
      Effect: 'Allow',
      Principal: { AWS: roleArn },
      Action: s3Actions,
      Resource: [
        `arn:${partition}:s3:::${bucket}/${underPrefix(prefix, 'AWSDynamoDB/*')}`,
        `arn:${partition}:s3:::${bucket}/${underPrefix(prefix, 'chain/*')}`,
      ],
    },
    {
      Sid: 'DynamoDBContinuousExportsRunFailureListing',
      Effect: 'Allow',
      Principal: { AWS: roleArn },
      Action: [...new Set(objectActions('runFailureListing'))].sort(),
      Resource: [`arn:${partition}:s3:::${bucket}`],
      Condition: { StringEquals: { 's3:prefix': [runFailureMarkerKey(prefix)] } },
    },
  ];
}

/** The objects of a chain: the exports DynamoDB writes and the chain manifest beside them. */
export function chainObjectArns(partition: string, bucket: string, prefix: string): string[] {
  return [
    `arn:${partition}:s3:::${bucket}/${underPrefix(prefix, 'AWSDynamoDB/*')}`,
    `arn:${partition}:s3:::${bucket}/${underPrefix(prefix, 'chain/*')}`,
  ];
}

/**
 * Deletes of chain objects (and of their older versions) refused to every principal except the
 * break-glass role. Nothing the stack runs deletes an S3 object (no `s3:Delete*` in the action list,
 * which tests/unit/deploy/protection/dataProtection.test.ts checks), so the export tick and the replicas are not
 * affected. The account's administrators can still rewrite the bucket policy: this guards against
 * mistakes and against credentials that may delete objects, not against the bucket's owner; the
 * protected copy with Object Lock is what no one can delete (docs/disaster-recovery.md).
 */
export function breakGlassDeleteStatement(
  partition: string,
  bucket: string,
  prefix: string,
  breakGlassRoleArn: string,
): PolicyStatement {
  return {
    Sid: 'OnlyBreakGlassDeletesChainObjects',
    Effect: 'Deny',
    Principal: '*',
    Action: ['s3:DeleteObject', 's3:DeleteObjectVersion'],
    Resource: chainObjectArns(partition, bucket, prefix),
    // aws:PrincipalArn is the role's ARN for any session of it, so every session of the role may delete.
    Condition: { ArnNotEquals: { 'aws:PrincipalArn': breakGlassRoleArn } },
  };
}

/**
 * The statement the log bucket's policy needs so that S3 delivers the export bucket's server access
 * logs to it: the logging service principal writes under the prefix, for this source bucket and
 * account only. (A log bucket must use SSE-S3 and must not have an Object Lock default retention.)
 */
export function accessLogDeliveryStatement(
  partition: string,
  logBucket: string,
  logPrefix: string,
  sourceBucket: string,
  sourceAccountId: string,
): PolicyStatement {
  return {
    Sid: 'S3ServerAccessLogsOfTheExportBucket',
    Effect: 'Allow',
    Principal: { Service: 'logging.s3.amazonaws.com' },
    Action: ['s3:PutObject'],
    Resource: [`arn:${partition}:s3:::${logBucket}/${logPrefix}*`],
    Condition: {
      ArnLike: { 'aws:SourceArn': `arn:${partition}:s3:::${sourceBucket}` },
      StringEquals: { 'aws:SourceAccount': sourceAccountId },
    },
  };
}
