/** Tables on the local DynamoDB server (dynalite) for tests that apply a chain into one. */
import { ScanCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Item } from '../../format';
import { createReplayTable } from '../../sim/simulation/chainChecks';

/** A new empty table with the workload's keys (pk S, sk N), ACTIVE when this returns. */
export async function newWorkloadTable(client: DynamoDBClient, name: string): Promise<string> {
  await createReplayTable(client, name);
  return name;
}

/** Every item of a table, following Scan pagination. */
export async function scanTable(client: DynamoDBClient, tableName: string): Promise<Item[]> {
  const items: Item[] = [];
  let start: Record<string, Item[string]> | undefined;
  do {
    const out = await client.send(new ScanCommand({ TableName: tableName, ExclusiveStartKey: start }));
    items.push(...((out.Items ?? []) as Item[]));
    start = out.LastEvaluatedKey;
  } while (start);
  return items;
}
