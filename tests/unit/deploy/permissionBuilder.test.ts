/**
 * The permission builder on its own, against ARNs written out by hand: a table at the bucket's root,
 * parameter names without a leading '/', no topic key, a replica reading an SSE-KMS export; and the
 * statements' order, ids and resources, which keep the rendered policies stable (no diff churn).
 */
import { expect } from 'chai';
import {
  lambdaLoggingStatement,
  replicaLambdaPolicy,
  replicaResourceArns,
  resourceArns,
  statementsFor,
  underPrefix,
  type ReplicaResourceFacts,
  type TableResourceFacts,
} from '../../../components/permissions';

const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';
const TOPIC = `arn:aws:sns:${REGION}:${ACCOUNT}:dce-orders`;
const KEY = `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const ssm = (path: string) => `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/${path}`;

describe('permission builder', () => {
  it('a table exported to the bucket root, its parameters named without a path, and no topic key', () => {
    const facts: TableResourceFacts = {
      partition: 'aws',
      region: REGION,
      accountId: ACCOUNT,
      tableName: 'orders',
      bucket: 'exports',
      prefix: '',
      stateParameterName: 'orders-state',
      actionParameterName: 'orders-action',
      lockParameterName: '/dce/orders/lock',
      notificationTopicArn: TOPIC,
      tickFunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:dce-orders-tick`,
    };
    const lock = ssm('dce/orders/lock');
    expect(resourceArns(facts)).to.deep.equal({
      table: [`arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/orders`],
      tableExports: [`arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/orders/export/*`],
      exportObjects: ['arn:aws:s3:::exports/AWSDynamoDB/*'],
      chainObjects: ['arn:aws:s3:::exports/chain/*'],
      runFailureListing: ['arn:aws:s3:::exports'],
      readParameters: [ssm('orders-state'), ssm('orders-action'), lock, `${lock}-takeover-*`],
      writeParameters: [ssm('orders-state'), lock, `${lock}-takeover-*`],
      lockParameter: [lock, `${lock}-takeover-*`],
      notificationTopic: [TOPIC],
      notificationKmsKey: [],
      exportKmsKey: [],
      tickFunction: [`arn:aws:lambda:${REGION}:${ACCOUNT}:function:dce-orders-tick`],
    });
    expect([underPrefix('', 'chain/*'), underPrefix('tables/orders', 'chain/*')]).to.deep.equal([
      'chain/*',
      'tables/orders/chain/*',
    ]);
  });

  it('a replica reading an SSE-KMS export may decrypt with its key, and lists the chain bucket', () => {
    const facts: ReplicaResourceFacts = {
      partition: 'aws',
      region: REGION,
      accountId: ACCOUNT,
      bucket: 'exports',
      prefix: 'orders',
      kmsKeyArn: KEY,
      stateParameterName: 'orders-copy-state',
      actionParameterName: 'orders-copy-action',
      notificationTopicArn: TOPIC,
      functionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:dce-orders-copy`,
      stateMachineName: 'dce-orders-copy',
      targetTableName: 'orders-copy',
    };
    const state = ssm('orders-copy-state');
    const states = `arn:aws:states:${REGION}:${ACCOUNT}`;
    expect(replicaResourceArns(facts)).to.deep.equal({
      sourceExportObjects: ['arn:aws:s3:::exports/orders/AWSDynamoDB/*'],
      sourceChainObjects: ['arn:aws:s3:::exports/orders/chain/*'],
      sourceChainListing: ['arn:aws:s3:::exports'],
      exportKmsKey: [KEY],
      replicaStateParameter: [state],
      replicaActionParameter: [ssm('orders-copy-action')],
      replicaLockParameter: [`${state}-lock`, `${state}-lock-takeover-*`],
      notificationTopic: [TOPIC],
      notificationKmsKey: [],
      targetTable: [`arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/orders-copy`],
      targetRole: [],
      replicaFunction: [`arn:aws:lambda:${REGION}:${ACCOUNT}:function:dce-orders-copy`],
      replicaStateMachine: [`${states}:stateMachine:dce-orders-copy`],
      replicaExecutions: [`${states}:execution:dce-orders-copy/*`],
      replicaParentExecutions: [`${states}:execution:dce-orders-copy:*`],
      sourceTable: [],
    });
    const statements = replicaLambdaPolicy(facts, 'arn:log-group').Statement;
    expect(statements.filter((s) => s.Resource?.includes(KEY))).to.deep.equal([
      { Sid: 'ExportKmsKey', Effect: 'Allow', Action: ['kms:Decrypt'], Resource: [KEY] },
    ]);
    expect(statements.filter((s) => s.Action.includes('s3:ListBucket'))).to.deep.equal([
      {
        Sid: 'SourceChainListing',
        Effect: 'Allow',
        Action: ['s3:ListBucket'],
        Resource: ['arn:aws:s3:::exports'],
        Condition: { StringLike: { 's3:prefix': ['orders/chain/*', 'orders/AWSDynamoDB/*'] } },
      },
    ]);
    // An export without a key: no key to reach, and no KMS statement at all.
    const { kmsKeyArn: _key, ...plain } = facts;
    expect(replicaResourceArns(plain).exportKmsKey).to.deep.equal([]);
    expect(replicaLambdaPolicy(plain, 'arn:log-group').Statement.flatMap((s) => s.Action)).to.not.include(
      'kms:Decrypt',
    );
  });

  it('statements come sorted by kind, with alphanumeric ids, sorted actions and sorted, distinct resources', () => {
    const statements = statementsFor(
      [
        { actions: ['s3:PutObject', 's3:GetObject'], resource: 'source export-objects' },
        { actions: ['sns:Publish'], resource: 'alpha kind' },
        { actions: ['s3:GetObject'], resource: 'source export-objects' },
        { actions: ['logs:PutLogEvents'], resource: 'log group-2' },
      ],
      {
        'source export-objects': ['arn:z', 'arn:a', 'arn:z'],
        'alpha kind': ['arn:k'],
        'log group-2': ['arn:l'],
      },
    );
    expect(statements).to.deep.equal([
      { Sid: 'AlphaKind', Effect: 'Allow', Action: ['sns:Publish'], Resource: ['arn:k'] },
      { Sid: 'LogGroup2', Effect: 'Allow', Action: ['logs:PutLogEvents'], Resource: ['arn:l'] },
      {
        Sid: 'SourceExportObjects',
        Effect: 'Allow',
        Action: ['s3:GetObject', 's3:PutObject'],
        Resource: ['arn:a', 'arn:z'],
      },
    ]);
    expect(
      lambdaLoggingStatement('arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/x'),
    ).to.deep.equal({
      Sid: 'OwnLogGroup',
      Effect: 'Allow',
      Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      Resource: ['arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/x:*'],
    });
  });
});
