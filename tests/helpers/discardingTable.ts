/**
 * A DynamoDB endpoint on 127.0.0.1 that takes BatchWriteItem over HTTP, as the real client sends it,
 * and keeps of each put only its key and a short digest of the item, never the item: a target for
 * applies of hundreds of megabytes that a test must check without holding them (the local DynamoDB
 * server keeps every item, and takes a while to).
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

interface WireRequest {
  PutRequest?: { Item: Record<string, { S?: string; N?: string }> };
  DeleteRequest?: { Key: Record<string, { S?: string; N?: string }> };
}

export interface DiscardingTable {
  endpoint: string;
  /** Per `pk`: how many puts reached it and the digest of the last item put. */
  readonly puts: Map<string, { count: number; digest: string }>;
  batches: number;
  stop(): Promise<void>;
}

/** SHA-1 of an item's JSON: what a test compares with the item it expects. */
export function itemDigest(item: unknown): string {
  return createHash('sha1').update(JSON.stringify(item)).digest('hex');
}

export async function startDiscardingTable(): Promise<DiscardingTable> {
  const puts = new Map<string, { count: number; digest: string }>();
  const table: DiscardingTable = { endpoint: '', puts, batches: 0, stop: async () => undefined };
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const answer = (status: number, body: unknown) => {
        response.writeHead(status, { 'content-type': 'application/x-amz-json-1.0' });
        response.end(JSON.stringify(body));
      };
      if (request.headers['x-amz-target'] !== 'DynamoDB_20120810.BatchWriteItem') {
        answer(400, {
          __type: 'com.amazon.coral.validate#ValidationException',
          message: 'BatchWriteItem only',
        });
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        RequestItems: Record<string, WireRequest[]>;
      };
      table.batches += 1;
      for (const requests of Object.values(body.RequestItems)) {
        for (const r of requests) {
          if (!r.PutRequest) continue;
          const pk = r.PutRequest.Item.pk.S!;
          const seen = puts.get(pk);
          puts.set(pk, { count: (seen?.count ?? 0) + 1, digest: itemDigest(r.PutRequest.Item) });
        }
      }
      answer(200, { UnprocessedItems: {} });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  table.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  table.stop = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections(); // the client keeps its connections alive
    });
  return table;
}
