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
