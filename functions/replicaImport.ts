/**
 * The request of an `import` bootstrap: DynamoDB ImportTable creating the replica table from the
 * epoch's full export, with the source's key schema and global secondary indexes. The table it
 * creates is not managed by Pulumi afterwards (docs/replica.md).
 *
 * This release builds and checks the request; the planner halts an `import` replica with
 * IMPORT_NOT_RUN instead of sending it (docs/replica.md, "What is not built yet").
 */
import { createHash } from 'node:crypto';
import type { ImportTableInput, TableDescription } from '@aws-sdk/client-dynamodb';
import { exportDataPrefix, type ChainEntry } from './chainManifest';

export interface ReplicaImportRequest {
  input: ImportTableInput;
  /** What the source has that ImportTable cannot create; the operator adds these after the import. */
  notCarried: string[];
}

/**
 * The ImportTable input for `entry` (the epoch's full export) into a new table `targetTableName`,
 * shaped after `source` (DescribeTable of the source table). The ClientToken derives from the export
 * and the target, so a retried request within ImportTable's 8-hour idempotency window starts no
 * second import.
 */
export function replicaImportRequest(
  entry: Pick<ChainEntry, 'type' | 'exportArn' | 'bucket' | 'exportFormat' | 'bucketOwnerAccountId'>,
  prefix: string,
  source: TableDescription,
  targetTableName: string,
): ReplicaImportRequest {
  if (entry.type !== 'FULL') throw new Error(`an import starts from a full export, not ${entry.type}`);
  if (!source.KeySchema?.length || !source.AttributeDefinitions?.length) {
    throw new Error('the source description has no key schema');
  }
  const onDemand = source.BillingModeSummary?.BillingMode !== 'PROVISIONED';
  const notCarried: string[] = [];
  if (source.LocalSecondaryIndexes?.length) notCarried.push('local secondary indexes');
  if (source.StreamSpecification?.StreamEnabled) notCarried.push('stream');
  if (source.TableClassSummary?.TableClass === 'STANDARD_INFREQUENT_ACCESS') notCarried.push('table class');
  if (source.DeletionProtectionEnabled) notCarried.push('deletion protection');
  notCarried.push('point-in-time recovery', 'time to live', 'tags');
  const input: ImportTableInput = {
    ClientToken: createHash('sha256')
      .update(`${entry.exportArn}\n${targetTableName}`)
      .digest('hex')
      .slice(0, 32),
    S3BucketSource: {
      S3Bucket: entry.bucket,
      ...(entry.bucketOwnerAccountId ? { S3BucketOwner: entry.bucketOwnerAccountId } : {}),
      // The full export's own data folder: only its data files, not the manifests beside them. [U]
      // whether AWS accepts the export folder itself; the data folder works either way.
      S3KeyPrefix: `${exportDataPrefix(prefix, entry.exportArn)}data/`,
    },
    InputFormat: entry.exportFormat === 'ION' ? 'ION' : 'DYNAMODB_JSON',
    InputCompressionType: 'GZIP',
    TableCreationParameters: {
      TableName: targetTableName,
      AttributeDefinitions: source.AttributeDefinitions,
      KeySchema: source.KeySchema,
      BillingMode: onDemand ? 'PAY_PER_REQUEST' : 'PROVISIONED',
      ...(onDemand
        ? {}
        : {
            ProvisionedThroughput: {
              ReadCapacityUnits: source.ProvisionedThroughput?.ReadCapacityUnits ?? 5,
              WriteCapacityUnits: source.ProvisionedThroughput?.WriteCapacityUnits ?? 5,
            },
          }),
      ...(source.SSEDescription?.KMSMasterKeyArn
        ? {
            SSESpecification: {
              Enabled: true,
              SSEType: 'KMS',
              KMSMasterKeyId: source.SSEDescription.KMSMasterKeyArn,
            },
          }
        : {}),
      ...(source.GlobalSecondaryIndexes?.length
        ? {
            GlobalSecondaryIndexes: source.GlobalSecondaryIndexes.map((g) => ({
              IndexName: g.IndexName!,
              KeySchema: g.KeySchema!,
              Projection: g.Projection!,
              ...(onDemand
                ? {}
                : {
                    ProvisionedThroughput: {
                      ReadCapacityUnits: g.ProvisionedThroughput?.ReadCapacityUnits ?? 5,
                      WriteCapacityUnits: g.ProvisionedThroughput?.WriteCapacityUnits ?? 5,
                    },
                  }),
            })),
          }
        : {}),
    },
  };
  return { input, notCarried };
}
