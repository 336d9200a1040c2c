import { expect } from 'chai';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoDBClient, ImportTableCommand, type TableDescription } from '@aws-sdk/client-dynamodb';
import { replicaImportRequest } from '../../../functions/replica/importBootstrap';

const EXPORT_ARN = 'arn:aws:dynamodb:eu-west-1:123456789012:table/orders/export/01764000000000-abcd1234';
const SOURCE: TableDescription = {
  TableName: 'orders',
  KeySchema: [
    { AttributeName: 'pk', KeyType: 'HASH' },
    { AttributeName: 'sk', KeyType: 'RANGE' },
  ],
  AttributeDefinitions: [
    { AttributeName: 'pk', AttributeType: 'S' },
    { AttributeName: 'sk', AttributeType: 'N' },
    { AttributeName: 'status', AttributeType: 'S' },
  ],
  BillingModeSummary: { BillingMode: 'PAY_PER_REQUEST' },
  GlobalSecondaryIndexes: [
    {
      IndexName: 'by-status',
      KeySchema: [{ AttributeName: 'status', KeyType: 'HASH' }],
      Projection: { ProjectionType: 'KEYS_ONLY' },
      IndexStatus: 'ACTIVE',
      ItemCount: 10,
    },
  ],
  LocalSecondaryIndexes: [
    {
      IndexName: 'local',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'placedAt', KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'ALL' },
    },
  ],
};
/** The source defines the local index's sort key too; ImportTable does not create that index. */
SOURCE.AttributeDefinitions!.push({ AttributeName: 'placedAt', AttributeType: 'N' });
const USED_DEFINITIONS = SOURCE.AttributeDefinitions!.filter((d) => d.AttributeName !== 'placedAt');

describe('import bootstrap request (functions/replica/importBootstrap.ts)', () => {
  it('asks ImportTable for a new table shaped like the source, from the full export data folder (SDK mock)', async () => {
    const ddb = mockClient(DynamoDBClient);
    ddb.on(ImportTableCommand).resolves({ ImportTableDescription: { ImportStatus: 'IN_PROGRESS' } });
    const { input, notCarried } = replicaImportRequest(
      { type: 'FULL', exportArn: EXPORT_ARN, bucket: 'exports', exportFormat: 'DYNAMODB_JSON' },
      'dynamodb/orders',
      SOURCE,
      'orders-replica',
    );
    await new DynamoDBClient({ region: 'us-east-1' }).send(new ImportTableCommand(input));
    const sent = ddb.commandCalls(ImportTableCommand)[0].args[0].input;
    expect(sent).to.deep.equal({
      ClientToken: input.ClientToken,
      S3BucketSource: {
        S3Bucket: 'exports',
        S3KeyPrefix: 'dynamodb/orders/AWSDynamoDB/01764000000000-abcd1234/data/',
      },
      InputFormat: 'DYNAMODB_JSON',
      InputCompressionType: 'GZIP',
      TableCreationParameters: {
        TableName: 'orders-replica',
        // Only what a carried key uses: CreateTable refuses an unused definition (the LSI's sort key).
        AttributeDefinitions: USED_DEFINITIONS,
        KeySchema: SOURCE.KeySchema,
        BillingMode: 'PAY_PER_REQUEST',
        GlobalSecondaryIndexes: [
          {
            IndexName: 'by-status',
            KeySchema: [{ AttributeName: 'status', KeyType: 'HASH' }],
            Projection: { ProjectionType: 'KEYS_ONLY' },
          },
        ],
      },
    });
    expect(input.ClientToken).to.match(/^[0-9a-f]{32}$/);
    expect(notCarried).to.include('local secondary indexes');
    ddb.restore();
  });

  it("carries the source's KMS key only into its own Region and account", () => {
    const key = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    const encrypted: TableDescription = {
      ...SOURCE,
      SSEDescription: { Status: 'ENABLED', SSEType: 'KMS', KMSMasterKeyArn: key },
    };
    const request = (target?: { region?: string; accountId?: string }) =>
      replicaImportRequest(
        { type: 'FULL', exportArn: EXPORT_ARN, bucket: 'b', exportFormat: 'DYNAMODB_JSON' },
        'p',
        encrypted,
        't',
        target,
      );
    const kept = { Enabled: true, SSEType: 'KMS', KMSMasterKeyId: key };
    expect(request().input.TableCreationParameters!.SSESpecification).to.deep.equal(kept);
    expect(
      request({ region: 'eu-west-1', accountId: '123456789012' }).input.TableCreationParameters!
        .SSESpecification,
    ).to.deep.equal(kept);
    for (const elsewhere of [{ region: 'eu-central-1' }, { accountId: '210987654321' }]) {
      const { input, notCarried } = request(elsewhere);
      expect(input.TableCreationParameters!.SSESpecification, JSON.stringify(elsewhere)).to.equal(undefined);
      expect(notCarried.join('; ')).to.include(`the KMS key ${key}`);
    }
  });

  it('keeps one ClientToken per export and target, so a retry starts no second import', () => {
    const make = (arn: string, target: string) =>
      replicaImportRequest(
        { type: 'FULL', exportArn: arn, bucket: 'b', exportFormat: 'ION' },
        '',
        SOURCE,
        target,
      ).input;
    expect(make(EXPORT_ARN, 't').ClientToken).to.equal(make(EXPORT_ARN, 't').ClientToken);
    expect(make(EXPORT_ARN, 't').ClientToken).to.not.equal(make(EXPORT_ARN, 'u').ClientToken);
    expect(make(EXPORT_ARN, 't')).to.include({ InputFormat: 'ION' });
    expect(make(EXPORT_ARN, 't').S3BucketSource!.S3KeyPrefix).to.equal(
      'AWSDynamoDB/01764000000000-abcd1234/data/',
    );
  });

  it('carries provisioned capacity and the bucket owner, and refuses an incremental export', () => {
    const provisioned: TableDescription = {
      ...SOURCE,
      BillingModeSummary: { BillingMode: 'PROVISIONED' },
      ProvisionedThroughput: { ReadCapacityUnits: 20, WriteCapacityUnits: 30 },
    };
    const { input } = replicaImportRequest(
      {
        type: 'FULL',
        exportArn: EXPORT_ARN,
        bucket: 'b',
        exportFormat: 'DYNAMODB_JSON',
        bucketOwnerAccountId: '111122223333',
      },
      'p',
      provisioned,
      't',
    );
    expect(input.S3BucketSource!.S3BucketOwner).to.equal('111122223333');
    expect(input.TableCreationParameters!.ProvisionedThroughput).to.deep.equal({
      ReadCapacityUnits: 20,
      WriteCapacityUnits: 30,
    });
    expect(input.TableCreationParameters!.GlobalSecondaryIndexes![0].ProvisionedThroughput).to.deep.equal({
      ReadCapacityUnits: 5,
      WriteCapacityUnits: 5,
    });
    expect(() =>
      replicaImportRequest(
        { type: 'INCREMENTAL', exportArn: EXPORT_ARN, bucket: 'b', exportFormat: 'DYNAMODB_JSON' },
        'p',
        SOURCE,
        't',
      ),
    ).to.throw(/full export/);
  });
});
