/**
 * Encryption and access of a table's resources under Pulumi mocks: the SNS topics' KMS key and its
 * policy, S3 server access logging, the break-glass deny on chain deletes, the grants derived from
 * the action list, and IAM's decisions on them with the offline evaluator (sim/iam/).
 */
import { expect } from 'chai';
import { PublishCommand } from '@aws-sdk/client-sns';
import { HandlerBundle } from '../../../../components/bundle';
import { ContinuousExport } from '../../../../components/continuousExport';
import { KEY_ADMIN_ACTIONS } from '../../../../components/protection/notificationKey';
import { REPLICA_SDK_CALLS, SDK_CALLS } from '../../../../functions/shared/awsActions';
import { LAMBDA_HANDLERS } from '../../../../functions/shared/lambdaHandlers';
import { decide, type RoleAccess } from '../../../../sim/iam/evaluator';
import { iamRequestsOf } from '../../../../sim/iam/requests';
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
const GIVEN_KEY = 'arn:aws:kms:eu-west-1:111122223333:key/0000aaaa-12ab-34cd-56ef-1234567890ab';
const BREAK_GLASS = `arn:aws:iam::${ACCOUNT_ID}:role/chain-break-glass`;
const CREATED_KEY = `arn:aws:kms:${REGION}:${ACCOUNT_ID}:key/dev-orders-topics-key`;

describe('data protection of a table (components/protection/notificationKey.ts, bucketPolicies.ts)', () => {
  const resources: RecordedResource[] = [];
  let customers: ContinuousExport;
  const byName = (type: string, name: string) => ofType(resources, type).find((r) => r.name === name)!;

  before(() =>
    withPlainStacks(async () => {
      await installMocks(resources, 'dev');
      const orders = new ContinuousExport('dev-orders', {
        tableName: 'Orders',
        failureEmails: ['ops@example.com'],
        accessLogs: { bucket: 'acme-access-logs' },
        breakGlassRoleArn: BREAK_GLASS,
        bundles,
      });
      customers = new ContinuousExport('dev-customers', {
        tableName: 'customers',
        bucket: { existingName: 'acme-data-lake', prefix: 'dynamodb/customers' },
        notificationKmsKeyArn: GIVEN_KEY,
        bundles,
      });
      await settle(
        orders.urn,
        customers.urn,
        orders.stateMachineArn,
        customers.notificationKeyPolicyStatements,
      );
    }),
  );

  describe('SNS topics', () => {
    it('encrypts both topics of a table with the key the stack creates', () => {
      const keys = ofType(resources, 'aws:kms/key:Key');
      expect(keys.map((k) => k.name)).to.deep.equal(['dev-orders-topics-key']);
      expect(keys[0].inputs.enableKeyRotation).to.equal(true);
      for (const topic of ['dev-orders-notifications', 'dev-orders-alarms'])
        expect(byName('aws:sns/topic:Topic', topic).inputs.kmsMasterKeyId).to.equal(CREATED_KEY);
    });

    it('encrypts with a given key and creates none for that table', () => {
      for (const topic of ['dev-customers-notifications', 'dev-customers-alarms'])
        expect(byName('aws:sns/topic:Topic', topic).inputs.kmsMasterKeyId).to.equal(GIVEN_KEY);
    });

    it("key policy: the account administers it without kms:*, uses it only through SNS, and CloudWatch only for this table's alarms", () => {
      const policy = policyOf(ofType(resources, 'aws:kms/key:Key')[0].inputs.policy);
      const sids = policy.Statement.map((s: any) => s.Sid);
      expect(sids).to.deep.equal([
        'AccountAdministersTheKey',
        'PublishThroughSnsFromThisAccount',
        'CloudWatchAlarmsOfThisTable',
      ]);
      for (const s of policy.Statement) for (const a of s.Action) expect(a).to.not.include('*');
      const [admin, viaSns, cloudwatch] = policy.Statement;
      expect(admin.Principal).to.deep.equal({ AWS: `arn:aws:iam::${ACCOUNT_ID}:root` });
      expect(admin.Action).to.deep.equal(KEY_ADMIN_ACTIONS);
      // Administering is not using: no encrypt or decrypt outside SNS.
      expect(admin.Action.filter((a: string) => /Decrypt|Encrypt|GenerateDataKey/.test(a))).to.deep.equal([]);
      expect(viaSns.Action).to.deep.equal(['kms:Decrypt', 'kms:GenerateDataKey']);
      expect(viaSns.Condition.StringEquals).to.deep.equal({
        'kms:ViaService': `sns.${REGION}.amazonaws.com`,
        'kms:CallerAccount': ACCOUNT_ID,
      });
      expect(cloudwatch.Principal).to.deep.equal({ Service: 'cloudwatch.amazonaws.com' });
      expect(cloudwatch.Action).to.deep.equal(['kms:Decrypt', 'kms:GenerateDataKey']);
      expect(cloudwatch.Condition.StringEquals).to.deep.equal({ 'aws:SourceAccount': ACCOUNT_ID });
      // Exactly the alarms that publish to the alarm topic (its access policy names the same ones).
      const topicPolicy = policyOf(
        byName('aws:sns/topicPolicy:TopicPolicy', 'dev-orders-alarms-policy').inputs.policy,
      );
      const alarmStatement = topicPolicy.Statement.find((s: any) => s.Sid === 'CloudWatchAlarmsOfThisTable');
      expect(cloudwatch.Condition.ArnLike['aws:SourceArn']).to.deep.equal(
        alarmStatement.Condition.ArnLike['aws:SourceArn'],
      );
      const alarms = ofType(resources, 'aws:cloudwatch/metricAlarm:MetricAlarm')
        .filter((a) => a.name.startsWith('dev-orders'))
        .map((a) => `arn:aws:cloudwatch:${REGION}:${ACCOUNT_ID}:alarm:${a.physicalName}`)
        .sort();
      expect(cloudwatch.Condition.ArnLike['aws:SourceArn']).to.deep.equal(alarms);
    });

    it('outputs the statements a given key needs in its policy', async () => {
      const statements = JSON.parse(await resolve(customers.notificationKeyPolicyStatements!));
      expect(statements.map((s: any) => s.Sid)).to.deep.equal([
        'PublishThroughSnsFromThisAccount',
        'CloudWatchAlarmsOfThisTable',
      ]);
    });

    it('grants the tick and the replica the key with the publish, from the one action list', () => {
      for (const calls of [SDK_CALLS, REPLICA_SDK_CALLS])
        expect(calls.PublishCommand.find((g) => g.resource === 'notificationKmsKey')?.actions).to.deep.equal([
          'kms:GenerateDataKey',
          'kms:Decrypt',
        ]);
      const tick = policyOf(
        byName('aws:iam/rolePolicy:RolePolicy', 'dev-orders-export-tick-policy').inputs.policy,
      );
      const keyStatement = tick.Statement.find((s: any) => s.Resource.includes(CREATED_KEY));
      expect(keyStatement.Action).to.deep.equal(['kms:Decrypt', 'kms:GenerateDataKey']);
      const other = policyOf(
        byName('aws:iam/rolePolicy:RolePolicy', 'dev-customers-export-tick-policy').inputs.policy,
      );
      expect(other.Statement.find((s: any) => s.Resource.includes(GIVEN_KEY)).Action).to.deep.equal([
        'kms:Decrypt',
        'kms:GenerateDataKey',
      ]);
    });

    it('the offline IAM evaluation asks for the key on a publish to an encrypted topic, and refuses without it', async () => {
      const topic = `arn:aws:sns:${REGION}:${ACCOUNT_ID}:dev-orders-notifications`;
      const scope = {
        partition: 'aws',
        region: REGION,
        account: ACCOUNT_ID,
        topicKeys: { [topic]: CREATED_KEY },
      };
      const requests = iamRequestsOf('sns', new PublishCommand({ TopicArn: topic, Message: 'x' }), scope);
      expect(requests.map((r) => `${r.action} ${r.resource}`)).to.deep.equal([
        `sns:Publish ${topic}`,
        `kms:GenerateDataKey ${CREATED_KEY}`,
        `kms:Decrypt ${CREATED_KEY}`,
      ]);
      const deployed = policyOf(
        byName('aws:iam/rolePolicy:RolePolicy', 'dev-orders-export-tick-policy').inputs.policy,
      );
      const role = (document: any): RoleAccess => ({
        name: 'tick',
        arn: `arn:aws:iam::${ACCOUNT_ID}:role/tick`,
        policies: [{ name: 'p', document }],
      });
      for (const r of requests) expect((await decide(role(deployed), r)).allowed, r.action).to.equal(true);
      const withoutKey = {
        ...deployed,
        Statement: deployed.Statement.filter((s: any) => !s.Resource.includes(CREATED_KEY)),
      };
      expect((await decide(role(withoutKey), requests[1])).allowed).to.equal(false);
    });
  });

  describe('export bucket', () => {
    it('logs S3 server access into the log bucket under the alias', () => {
      const logging = ofType(resources, 'aws:s3/bucketLogging:BucketLogging');
      expect(logging).to.have.length(1);
      expect(logging[0].inputs.targetBucket).to.equal('acme-access-logs');
      expect(logging[0].inputs.targetPrefix).to.equal('s3-access-logs/orders/');
    });

    const bucketPolicy = () =>
      policyOf(byName('aws:s3/bucketPolicy:BucketPolicy', 'dev-orders-bucket-policy').inputs.policy);

    it('denies deletes of chain objects to everyone but the break-glass role', () => {
      const deny = bucketPolicy().Statement.find((s: any) => s.Sid === 'OnlyBreakGlassDeletesChainObjects');
      const bucket = `dev-orders-exports-${ACCOUNT_ID}`;
      expect(deny).to.deep.equal({
        Sid: 'OnlyBreakGlassDeletesChainObjects',
        Effect: 'Deny',
        Principal: '*',
        Action: ['s3:DeleteObject', 's3:DeleteObjectVersion'],
        Resource: [`arn:aws:s3:::${bucket}/orders/AWSDynamoDB/*`, `arn:aws:s3:::${bucket}/orders/chain/*`],
        Condition: { ArnNotEquals: { 'aws:PrincipalArn': BREAK_GLASS } },
      });
    });

    it('the deny refuses a delete by any other role, lets the break-glass role delete, and refuses no write of the tick', async () => {
      const bucket = `dev-orders-exports-${ACCOUNT_ID}`;
      const resource = { policy: bucketPolicy(), account: ACCOUNT_ID };
      const admin = (name: string): RoleAccess => ({
        name,
        arn: `arn:aws:iam::${ACCOUNT_ID}:role/${name}`,
        policies: [
          {
            name: 'admin',
            document: {
              Version: '2012-10-17',
              Statement: [
                {
                  Effect: 'Allow',
                  Action: ['s3:DeleteObject', 's3:PutObject'],
                  Resource: `arn:aws:s3:::${bucket}/*`,
                },
              ],
            },
          },
        ],
      });
      const del = { action: 's3:DeleteObject', resource: `arn:aws:s3:::${bucket}/orders/chain/HEAD.json` };
      const other = await decide(admin('admin'), del, resource);
      expect(other.result).to.equal('ExplicitlyDenied');
      expect((await decide(admin('chain-break-glass'), del, resource)).allowed).to.equal(true);
      const put = {
        action: 's3:PutObject',
        resource: del.resource,
        context: { 'aws:SecureTransport': 'true' },
      };
      expect((await decide(admin('admin'), put, resource)).allowed).to.equal(true);
    });

    it('nothing the stack runs deletes an S3 object, so the deny cannot stop the workflow', () => {
      for (const calls of [SDK_CALLS, REPLICA_SDK_CALLS])
        for (const grants of Object.values(calls))
          for (const g of grants) for (const a of g.actions) expect(a).to.not.match(/^s3:Delete/);
    });
  });
});
