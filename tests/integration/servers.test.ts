import { expect } from 'chai';
import { ListObjectsV2Command, paginateListObjectsV2 } from '@aws-sdk/client-s3';
import {
  CreateTableCommand,
  DescribeTableCommand,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { getBytes, getText, listAllKeys, objectExists, putObject } from '../../cli/s3io';
import { startLocalDynamoDb, startLocalS3, type LocalDynamoDb, type LocalS3 } from '../../sim/servers';

describe('local servers (sim/servers.ts)', () => {
  describe('S3 (s3rver)', () => {
    let s3: LocalS3;
    before(async function () {
      this.timeout(20000);
      s3 = await startLocalS3();
      await s3.createBucket('local-bucket');
    });
    after(async () => s3?.stop());

    it('listens on 127.0.0.1 on an ephemeral port', () => {
      expect(s3.endpoint).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(Number(s3.endpoint.split(':')[2])).to.be.greaterThan(1023);
    });

    it('stores and returns text, bytes and empty objects', async () => {
      await putObject(s3.client, 'local-bucket', 'a/text.json', '{"x":1}');
      const bytes = new Uint8Array([0, 1, 2, 255, 31, 139]);
      await putObject(s3.client, 'local-bucket', 'a/bytes.bin', bytes);
      await putObject(s3.client, 'local-bucket', 'a/empty', '');
      expect(await getText(s3.client, 'local-bucket', 'a/text.json')).to.equal('{"x":1}');
      expect(Buffer.from(await getBytes(s3.client, 'local-bucket', 'a/bytes.bin'))).to.deep.equal(
        Buffer.from(bytes),
      );
      expect((await getBytes(s3.client, 'local-bucket', 'a/empty')).byteLength).to.equal(0);
      expect(await objectExists(s3.client, 'local-bucket', 'a/empty')).to.equal(true);
      expect(await objectExists(s3.client, 'local-bucket', 'a/none')).to.equal(false);
      let missing: unknown;
      try {
        await getText(s3.client, 'local-bucket', 'a/none');
      } catch (err) {
        missing = err;
      }
      expect((missing as Error).message).to.equal('missing object s3://local-bucket/a/none');
    });

    it('paginates ListObjectsV2 across several pages in key order', async () => {
      const keys = Array.from({ length: 7 }, (_, i) => `paged/${String(6 - i).padStart(2, '0')}.json`);
      for (const key of keys) await putObject(s3.client, 'local-bucket', key, key);
      const first = await s3.client.send(
        new ListObjectsV2Command({ Bucket: 'local-bucket', Prefix: 'paged/', MaxKeys: 3 }),
      );
      expect(first.IsTruncated).to.equal(true);
      expect(first.NextContinuationToken).to.be.a('string');
      expect(await listAllKeys(s3.client, 'local-bucket', 'paged/', 3)).to.deep.equal([...keys].sort());
      // The SDK's paginator follows the server's continuation tokens the same way.
      const paged: string[] = [];
      for await (const page of paginateListObjectsV2(
        { client: s3.client, pageSize: 3 },
        { Bucket: 'local-bucket', Prefix: 'paged/' },
      )) {
        paged.push(...(page.Contents ?? []).map((o) => o.Key ?? ''));
      }
      expect(paged).to.deep.equal([...keys].sort());
    });
  });

  describe('DynamoDB (dynalite)', () => {
    let ddb: LocalDynamoDb;
    before(async () => {
      ddb = await startLocalDynamoDb();
    });
    after(async () => ddb?.stop());

    it('creates a table that is active within a second and round-trips an item', async () => {
      expect(ddb.endpoint).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
      await ddb.client.send(
        new CreateTableCommand({
          TableName: 'local-table',
          KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
          AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
      // dynalite activates a new table on a 0 ms timer: at once, unless the machine is busy.
      let status: string | undefined;
      for (let i = 0; i < 100 && status !== 'ACTIVE'; i++) {
        if (i > 0) await new Promise((resolve) => setTimeout(resolve, 10));
        status = (await ddb.client.send(new DescribeTableCommand({ TableName: 'local-table' }))).Table
          ?.TableStatus;
      }
      expect(status).to.equal('ACTIVE');
      const item = {
        pk: { S: 'k' },
        n: { N: '12345678901234567890123456789012345678' },
        b: { B: new Uint8Array([7, 8]) },
      };
      await ddb.client.send(new PutItemCommand({ TableName: 'local-table', Item: item }));
      const got = await ddb.client.send(
        new GetItemCommand({ TableName: 'local-table', Key: { pk: { S: 'k' } } }),
      );
      expect(got.Item?.n).to.deep.equal(item.n);
      expect(Buffer.from(got.Item!.b.B!)).to.deep.equal(Buffer.from([7, 8]));
    });
  });

  it('stop() frees the servers: later requests fail to connect', async function () {
    this.timeout(20000);
    const s3 = await startLocalS3();
    const ddb = await startLocalDynamoDb();
    const s3Port = s3.endpoint;
    const ddbPort = ddb.endpoint;
    await s3.stop();
    await ddb.stop();
    for (const endpoint of [s3Port, ddbPort]) {
      let failed = false;
      try {
        await fetch(endpoint, { signal: AbortSignal.timeout(2000) });
      } catch {
        failed = true;
      }
      expect(failed, endpoint).to.equal(true);
    }
  });
});
