/** What the apply engine needs to know about the target table. */
import { DescribeTableCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDbSender } from './batchWriter';

/** The target table's key attributes, partition key first. */
export async function targetKeyAttributes(dynamodb: DynamoDbSender, tableName: string): Promise<string[]> {
  const described = await dynamodb.send(new DescribeTableCommand({ TableName: tableName }));
  const keySchema: { AttributeName?: string; KeyType?: string }[] = described.Table?.KeySchema ?? [];
  const keyAttributes = [
    ...keySchema.filter((k) => k.KeyType === 'HASH'),
    ...keySchema.filter((k) => k.KeyType === 'RANGE'),
  ].map((k) => k.AttributeName as string);
  if (keyAttributes.length === 0) throw new Error(`table ${tableName} has no key schema`);
  return keyAttributes;
}

/** Whether the target holds no item (one Scan of at most one item). */
export async function targetIsEmpty(dynamodb: DynamoDbSender, tableName: string): Promise<boolean> {
  const scan = await dynamodb.send(new ScanCommand({ TableName: tableName, Limit: 1 }));
  return (scan.Items?.length ?? 0) === 0 && !scan.LastEvaluatedKey;
}
