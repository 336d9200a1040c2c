/**
 * A DynamoDB table in memory for the apply engine: it takes BatchWriteItem for one table, rejects a
 * batch that writes one key twice (as DynamoDB does), and counts the writes.
 */
import { BatchWriteItemCommand, type WriteRequest } from '@aws-sdk/client-dynamodb';
import type { DynamoDbSender } from '../../apply';
import { keyString, type Item } from '../../format';
import { canonicalTable } from '../../sim/workload';

export class MemoryTable implements DynamoDbSender {
  readonly items = new Map<string, Item>();
  writes = 0;

  constructor(
    private readonly table: string,
    private readonly keys: readonly string[],
  ) {}

  async send(command: unknown): Promise<never> {
    if (!(command instanceof BatchWriteItemCommand)) throw new Error('unexpected command');
    const requests: WriteRequest[] = command.input.RequestItems?.[this.table] ?? [];
    const seen = new Set<string>();
    for (const r of requests) {
      const key = keyString((r.PutRequest?.Item ?? r.DeleteRequest?.Key) as Item, this.keys);
      if (seen.has(key)) throw new Error(`batch writes ${key} twice`);
      seen.add(key);
      if (r.PutRequest) this.items.set(key, r.PutRequest.Item as Item);
      else this.items.delete(key);
      this.writes += 1;
    }
    return { UnprocessedItems: {} } as never;
  }

  canonical(): string[] {
    return canonicalTable([...this.items.values()]);
  }
}
