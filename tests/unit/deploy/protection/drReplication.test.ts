/**
 * The protected copy under Pulumi mocks (components/protection/drReplication.ts): versioning at both ends, the
 * replication rule (prefix, delete markers off, SSE-KMS, metrics, RTC), the replication role derived
 * from the action list and what IAM decides with it, the created destination with Object Lock, the lag
 * alarm, and the statements output for a destination in another account.
 */
import { expect } from 'chai';
import { HandlerBundle } from '../../../../components/bundle';
import { ContinuousExport } from '../../../../components/continuousExport';
import {
  S3_REPLICATION_CROSS_ACCOUNT_GRANTS,
  S3_REPLICATION_GRANTS,
} from '../../../../functions/shared/awsActions';
import { LAMBDA_HANDLERS } from '../../../../functions/shared/lambdaHandlers';
import { decide, type RoleAccess } from '../../../../sim/iam/evaluator';
import {
  ACCOUNT_ID,
  installMocks,
  withPlainStacks,
  ofType,
  policyOf,
  RecordedResource,
  REGION,
  resolve,
  settle,
} from '../../../helpers/pulumiMocks';

const bundles: Record<string, HandlerBundle> = Object.fromEntries(
  LAMBDA_HANDLERS.map((h) => [h.name, { code: 'exports.handler = async () => ({});', sha256: h.name }]),
);
const SOURCE_KEY = `arn:aws:kms:${REGION}:${ACCOUNT_ID}:key/11111111-2222-3333-4444-555555555555`;
const REPLICA_KEY = `arn:aws:kms:us-west-2:${ACCOUNT_ID}:key/66666666-7777-8888-9999-000000000000`;
const ORDERS_BUCKET = `dev-orders-exports-${ACCOUNT_ID}`;

describe('protected copy of the chain (components/protection/drReplication.ts)', () => {
  const resources: RecordedResource[] = [];
  let customers: ContinuousExport;
  const one = (type: string, name: string) => {
    const found = ofType(resources, type).find((r) => r.name === name);
    if (!found) throw new Error(`no ${type} named ${name}`);
    return found;
  };
  const rule = (name: string) =>
    one('aws:s3/bucketReplicationConfig:BucketReplicationConfig', name).inputs.rules[0];
  const rolePolicy = (name: string) =>
    policyOf(one('aws:iam/rolePolicy:RolePolicy', `${name}-replication-role-policy`).inputs.policy);

  before(() =>
    withPlainStacks(async () => {
      await installMocks(resources, 'dev');
      const orders = new ContinuousExport('dev-orders', {
        tableName: 'Orders',
        kmsKeyArn: SOURCE_KEY,
        dr: {
          bucket: 'orders-dr-copy',
          region: 'us-west-2',
          create: true,
          kmsKeyArn: REPLICA_KEY,
          replicationTimeControl: true,
          objectLock: { mode: 'COMPLIANCE', days: 30 },
        },
        bundles,
      });
      customers = new ContinuousExport('dev-customers', {
        tableName: 'customers',
        dr: {
          bucket: 'arn:aws:s3:::vault-of-another-account',
          accountId: '999999999999',
          region: 'eu-central-1',
        },
        bundles,
      });
      await settle(orders.urn, customers.urn, customers.protectedCopy!.destinationPolicyStatements);
    }),
  );

  it('turns versioning on at both ends', () => {
    for (const name of [
      'dev-orders-bucket-versioning',
      'dev-customers-bucket-versioning',
      'dev-orders-dr-bucket-versioning',
    ])
      expect(
        one('aws:s3/bucketVersioning:BucketVersioning', name).inputs.versioningConfiguration.status,
      ).to.equal('Enabled');
    // Replication waits for both.
    const replication = one(
      'aws:s3/bucketReplicationConfig:BucketReplicationConfig',
      'dev-orders-replication',
    );
    expect(replication.options.dependencies.join(' '))
      .to.include('dev-orders-bucket-versioning')
      .and.include('dev-orders-dr-bucket-versioning');
  });

  it('replicates the prefix, never delete markers, SSE-KMS objects re-encrypted with the replica key, with RTC and its metrics', () => {
    expect(rule('dev-orders-replication')).to.deep.equal({
      id: 'dce-chain',
      status: 'Enabled',
      priority: 1,
      filter: { prefix: 'orders/' },
      deleteMarkerReplication: { status: 'Disabled' },
      sourceSelectionCriteria: { sseKmsEncryptedObjects: { status: 'Enabled' } },
      destination: {
        bucket: 'arn:aws:s3:::orders-dr-copy',
        encryptionConfiguration: { replicaKmsKeyId: REPLICA_KEY },
        metrics: { status: 'Enabled', eventThreshold: { minutes: 15 } },
        replicationTime: { status: 'Enabled', time: { minutes: 15 } },
      },
    });
  });

  it('to another account: the replicas are owned by it; no KMS without keys; metrics without RTC', () => {
    expect(rule('dev-customers-replication')).to.deep.equal({
      id: 'dce-chain',
      status: 'Enabled',
      priority: 1,
      filter: { prefix: 'customers/' },
      deleteMarkerReplication: { status: 'Disabled' },
      destination: {
        bucket: 'arn:aws:s3:::vault-of-another-account',
        account: '999999999999',
        accessControlTranslation: { owner: 'Destination' },
        metrics: { status: 'Enabled' },
      },
    });
  });

  it('the role: trusted by S3 of this account only, allowed exactly the grants of the action list', () => {
    const trust = policyOf(one('aws:iam/role:Role', 'dev-orders-replication-role').inputs.assumeRolePolicy);
    expect(trust.Statement[0].Principal).to.deep.equal({ Service: 's3.amazonaws.com' });
    expect(trust.Statement[0].Condition).to.deep.equal({ StringEquals: { 'aws:SourceAccount': ACCOUNT_ID } });
    const policy = rolePolicy('dev-orders');
    const granted = policy.Statement.flatMap((s: any) => s.Action).sort();
    expect(granted).to.deep.equal([...new Set(S3_REPLICATION_GRANTS.flatMap((g) => g.actions))].sort());
    expect(granted).to.not.include('s3:ReplicateDelete');
    const kms = policy.Statement.filter((s: any) => s.Action[0].startsWith('kms:'));
    expect(kms.map((s: any) => [s.Action, s.Resource, s.Condition])).to.deep.equal([
      [['kms:Encrypt'], [REPLICA_KEY], { StringEquals: { 'kms:ViaService': 's3.us-west-2.amazonaws.com' } }],
      [['kms:Decrypt'], [SOURCE_KEY], { StringEquals: { 'kms:ViaService': `s3.${REGION}.amazonaws.com` } }],
    ]);
    const cross = rolePolicy('dev-customers').Statement.flatMap((s: any) => s.Action);
    expect(cross).to.include.members(S3_REPLICATION_CROSS_ACCOUNT_GRANTS.flatMap((g) => g.actions));
    expect(cross.some((a: string) => a.startsWith('kms:'))).to.equal(false);
  });

  it('IAM decides with the role: replicate into the prefix only, and no delete', async () => {
    const role: RoleAccess = {
      name: 'dev-orders-replication',
      arn: `arn:aws:iam::${ACCOUNT_ID}:role/dev-orders-replication`,
      policies: [{ name: 'p', document: rolePolicy('dev-orders') }],
    };
    const allowed = async (action: string, resource: string) =>
      (await decide(role, { action, resource })).allowed;
    expect(
      await allowed('s3:ReplicateObject', 'arn:aws:s3:::orders-dr-copy/orders/chain/HEAD.json'),
    ).to.equal(true);
    expect(await allowed('s3:ReplicateObject', 'arn:aws:s3:::orders-dr-copy/other/x')).to.equal(false);
    expect(
      await allowed('s3:ReplicateDelete', 'arn:aws:s3:::orders-dr-copy/orders/chain/HEAD.json'),
    ).to.equal(false);
    expect(
      await allowed(
        's3:GetObjectVersionForReplication',
        `arn:aws:s3:::${ORDERS_BUCKET}/orders/AWSDynamoDB/x`,
      ),
    ).to.equal(true);
    expect(
      await allowed('s3:GetObjectVersionForReplication', `arn:aws:s3:::${ORDERS_BUCKET}/secrets/x`),
    ).to.equal(false);
  });

  it('creates the destination in its Region with Object Lock, encryption and a policy for the role', () => {
    const provider = one('pulumi:providers:aws', 'dev-orders-dr-region');
    expect(provider.inputs.region).to.equal('us-west-2');
    const bucket = one('aws:s3/bucket:Bucket', 'dev-orders-dr-bucket');
    expect(bucket.inputs).to.include({
      bucket: 'orders-dr-copy',
      objectLockEnabled: true,
      forceDestroy: false,
    });
    expect(bucket.options.retainOnDelete).to.equal(true);
    expect(
      one(
        'aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration',
        'dev-orders-dr-bucket-object-lock',
      ).inputs.rule,
    ).to.deep.equal({
      defaultRetention: { mode: 'COMPLIANCE', days: 30 },
    });
    const encryption = one(
      'aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration',
      'dev-orders-dr-bucket-encryption',
    );
    expect(encryption.inputs.rules[0].applyServerSideEncryptionByDefault).to.deep.equal({
      sseAlgorithm: 'aws:kms',
      kmsMasterKeyId: REPLICA_KEY,
    });
    const policy = policyOf(
      one('aws:s3/bucketPolicy:BucketPolicy', 'dev-orders-dr-bucket-policy').inputs.policy,
    );
    expect(policy.Statement.map((s: any) => s.Sid)).to.deep.equal([
      'DenyInsecureTransport',
      'ReplicateTheChain',
      'ReadVersioningForReplication',
    ]);
    expect(policy.Statement[1].Action).to.deep.equal(['s3:ReplicateObject', 's3:ReplicateTags']);
    // Nothing is created for the other account's bucket.
    expect(ofType(resources, 'aws:s3/bucket:Bucket').map((b) => b.inputs.bucket)).to.not.include(
      'vault-of-another-account',
    );
  });

  it('alarms on the replication lag, to the alarm topic, whose policy and key policy name the alarm', () => {
    const alarm = one('aws:cloudwatch/metricAlarm:MetricAlarm', 'dev-orders-replication-lag');
    expect(alarm.inputs).to.include({
      namespace: 'AWS/S3',
      metricName: 'ReplicationLatency',
      statistic: 'Maximum',
      threshold: 900,
      comparisonOperator: 'GreaterThanThreshold',
    });
    expect(alarm.inputs.dimensions).to.deep.equal({
      SourceBucket: ORDERS_BUCKET,
      DestinationBucket: 'orders-dr-copy',
      RuleId: 'dce-chain',
    });
    expect(alarm.inputs.alarmActions).to.deep.equal([
      `arn:aws:sns:${REGION}:${ACCOUNT_ID}:dev-orders-alarms`,
    ]);
    expect(
      one('aws:cloudwatch/metricAlarm:MetricAlarm', 'dev-customers-replication-lag').inputs.threshold,
    ).to.equal(3600);
    const arn = `arn:aws:cloudwatch:${REGION}:${ACCOUNT_ID}:alarm:dev-orders-replication-lag`;
    const topicPolicy = policyOf(
      one('aws:sns/topicPolicy:TopicPolicy', 'dev-orders-alarms-policy').inputs.policy,
    );
    expect(JSON.stringify(topicPolicy)).to.contain(arn);
    expect(
      JSON.stringify(policyOf(one('aws:kms/key:Key', 'dev-orders-topics-key').inputs.policy)),
    ).to.contain(arn);
  });

  it('alarms on objects that failed to replicate, which report no latency, to the same topic', () => {
    const alarm = one('aws:cloudwatch/metricAlarm:MetricAlarm', 'dev-orders-replication-failed');
    expect(alarm.inputs).to.include({
      name: 'dev-orders-replication-failed',
      namespace: 'AWS/S3',
      metricName: 'OperationsFailedReplication',
      statistic: 'Sum',
      threshold: 0,
      comparisonOperator: 'GreaterThanThreshold',
      treatMissingData: 'notBreaching',
    });
    expect(alarm.inputs.dimensions).to.deep.equal({
      SourceBucket: ORDERS_BUCKET,
      DestinationBucket: 'orders-dr-copy',
      RuleId: 'dce-chain',
    });
    expect(alarm.inputs.alarmActions).to.deep.equal([
      `arn:aws:sns:${REGION}:${ACCOUNT_ID}:dev-orders-alarms`,
    ]);
    const arn = `arn:aws:cloudwatch:${REGION}:${ACCOUNT_ID}:alarm:dev-orders-replication-failed`;
    expect(
      JSON.stringify(
        policyOf(one('aws:sns/topicPolicy:TopicPolicy', 'dev-orders-alarms-policy').inputs.policy),
      ),
    ).to.contain(arn);
    expect(
      JSON.stringify(policyOf(one('aws:kms/key:Key', 'dev-orders-topics-key').inputs.policy)),
    ).to.contain(arn);
  });

  it("outputs the statements the other account's bucket policy needs", async () => {
    const statements = JSON.parse(await resolve(customers.protectedCopy!.destinationPolicyStatements));
    expect(statements[0]).to.deep.include({
      Sid: 'ReplicateTheChain',
      Principal: { AWS: `arn:aws:iam::${ACCOUNT_ID}:role/dev-customers-replication` },
      Action: ['s3:ObjectOwnerOverrideToBucketOwner', 's3:ReplicateObject', 's3:ReplicateTags'],
      Resource: ['arn:aws:s3:::vault-of-another-account/customers/*'],
    });
  });
});
