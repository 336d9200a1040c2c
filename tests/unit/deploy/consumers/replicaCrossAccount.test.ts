import { expect } from 'chai';
import { ImportTableCommand } from '@aws-sdk/client-dynamodb';
import { ConfigError } from '../../../../components/config';
import { replicaImportRequest } from '../../../../functions/replica/importBootstrap';
import { iamRequestsOf, type IamRequest } from '../../../../sim/iam/requests';
import { decide, type RoleAccess } from '../../../../sim/iam/evaluator';
import { WORKLOAD_ATTRIBUTE_DEFINITIONS, WORKLOAD_KEY_SCHEMA } from '../../../../sim/workload';
import { bucketAllows, roleWith, type Policy } from '../../../helpers/iamDecisions';
import {
  ACCOUNT_ID,
  REGION,
  ofType,
  policyOf,
  runProgram,
  type ProgramRun,
} from '../../../helpers/pulumiMocks';

const TARGET_ACCOUNT = '210987654321';
const ROLE = `arn:aws:iam::${TARGET_ACCOUNT}:role/dce-replica-writer`;
const KEY = `arn:aws:kms:${REGION}:${ACCOUNT_ID}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const CREATED_BUCKET = `dev-orders-exports-${ACCOUNT_ID}`;
const EXISTING_BUCKET = 'acme-data-lake-exports';
const CONFIG = {
  'aws:region': REGION,
  tables: [
    {
      // A created bucket with SSE-KMS: the stack writes its policy.
      tableName: 'orders',
      kmsKeyArn: KEY,
      replicas: [
        { tableName: 'orders', region: 'us-east-1', roleArn: ROLE, alias: 'dr', bootstrap: 'import' },
        { tableName: 'orders-copy', roleArn: ROLE, alias: 'copy' },
      ],
    },
    {
      // An existing bucket of the stack's account: its policy is its owner's.
      tableName: 'invoices',
      bucket: { existingName: EXISTING_BUCKET, prefix: 'dynamodb/invoices' },
      replicas: [
        { tableName: 'invoices', roleArn: ROLE, alias: 'dr', bootstrap: 'import', region: 'us-east-1' },
      ],
    },
  ],
};

/** The S3 reads ImportTable makes as the target role: the request the replica sends, as IAM sees it. */
function importReads(bucket: string, prefix: string): IamRequest[] {
  const { input } = replicaImportRequest(
    {
      type: 'FULL',
      exportArn: `arn:aws:dynamodb:${REGION}:${ACCOUNT_ID}:table/orders/export/01764000000000-abcd1234`,
      bucket,
      exportFormat: 'DYNAMODB_JSON',
    },
    prefix,
    { KeySchema: WORKLOAD_KEY_SCHEMA, AttributeDefinitions: WORKLOAD_ATTRIBUTE_DEFINITIONS },
    'orders',
  );
  const scope = { partition: 'aws', region: 'us-east-1', account: TARGET_ACCOUNT };
  const reads = iamRequestsOf('dynamodb', new ImportTableCommand(input), scope).filter((r) =>
    r.action.startsWith('s3:'),
  );
  expect(reads.map((r) => r.action)).to.deep.equal(['s3:GetObject', 's3:ListBucket']);
  return reads;
}

/** What the bucket's policy must not let the target role do: anything but the import's reads. */
function notTheImport(bucket: string, prefix: string): IamRequest[] {
  const object = (key: string) => `arn:aws:s3:::${bucket}/${prefix}/${key}`;
  const listing = (p: string): IamRequest => ({
    action: 's3:ListBucket',
    resource: `arn:aws:s3:::${bucket}`,
    context: { 's3:prefix': p },
  });
  return [
    { action: 's3:GetObject', resource: object('chain/CURRENT.json') },
    { action: 's3:GetObject', resource: object('chain/entries/000000000001.json') },
    { action: 's3:PutObject', resource: object('AWSDynamoDB/01/data/x.json.gz') },
    { action: 's3:DeleteObject', resource: object('AWSDynamoDB/01/data/x.json.gz') },
    { action: 's3:PutObject', resource: object('chain/HEAD.json') },
    { action: 's3:GetObject', resource: `arn:aws:s3:::${bucket}/other/AWSDynamoDB/01/data/x.json.gz` },
    listing(`${prefix}/chain/`),
    listing('other/AWSDynamoDB/'),
    listing(''),
  ];
}

/** A role of the target account that its own policy allows every S3 action: only the bucket's decides. */
function unrestricted(name = 'dce-replica-writer'): RoleAccess {
  return roleWith(
    { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }] },
    TARGET_ACCOUNT,
    name,
  );
}

async function decisions(role: RoleAccess, bucketPolicy: Policy, requests: IamRequest[]) {
  const out: string[] = [];
  for (const r of requests)
    out.push(
      `${(await bucketAllows(role, bucketPolicy, ACCOUNT_ID, r)) ? 'allowed' : 'denied'} ${r.action} ${r.resource}${r.context ? ` ${r.context['s3:prefix']}` : ''}`,
    );
  return out;
}

describe('replicas across accounts: the export bucket and KMS key under Pulumi mocks', () => {
  let run: ProgramRun;
  const replica = (table: string, alias: string) =>
    run.outputs.tables[table].replicas.find((r: any) => r.alias === alias);
  const targetRole = (table: string, alias: string) =>
    roleWith(JSON.parse(replica(table, alias).targetRolePermissions), TARGET_ACCOUNT, 'dce-replica-writer');
  const createdBucketPolicy = () => {
    const policy = ofType(run.resources, 'aws:s3/bucketPolicy:BucketPolicy');
    expect(policy).to.have.length(1);
    return policyOf(policy[0].inputs.policy);
  };

  before(async () => {
    run = await runProgram(CONFIG);
  });

  it("a created bucket's policy lets the import replica's target role read the full export, as ImportTable does", async () => {
    const policy = createdBucketPolicy();
    // The role as the target account's owner creates it, from the documents the stack outputs.
    const role = targetRole('orders', 'dr');
    for (const r of importReads(CREATED_BUCKET, 'orders'))
      expect(await bucketAllows(role, policy, ACCOUNT_ID, r), `${r.action} ${r.resource}`).to.equal(true);
    // The TLS-only rule stays.
    expect(policy.Statement.map((s: any) => s.Sid)).to.include('DenyInsecureTransport');
  });

  it("a created bucket's policy allows the target role nothing else: not the chain, not another prefix, no write", async () => {
    const policy = createdBucketPolicy();
    const role = unrestricted();
    expect(
      (await decisions(role, policy, importReads(CREATED_BUCKET, 'orders'))).every((d) =>
        d.startsWith('allowed'),
      ),
    ).to.equal(true);
    const others = await decisions(role, policy, notTheImport(CREATED_BUCKET, 'orders'));
    expect(others.filter((d) => !d.startsWith('denied'))).to.deep.equal([]);
    // Another role of the target account, allowed everything by its own policy, reads nothing.
    const stranger = await decisions(
      unrestricted('someone-else'),
      policy,
      importReads(CREATED_BUCKET, 'orders'),
    );
    expect(stranger.filter((d) => !d.startsWith('denied'))).to.deep.equal([]);
  });

  it('only an import replica with a role gets a bucket statement; the import replica of an existing bucket does not touch its policy', () => {
    const statements = createdBucketPolicy().Statement.filter((s: any) => s.Effect === 'Allow');
    // `copy` writes with BatchWriteItem: nothing outside the stack's account reads the bucket for it.
    expect(statements.map((s: any) => s.Sid).sort()).to.deep.equal([
      'ReplicaOrdersDrImportExportListing',
      'ReplicaOrdersDrImportExportObjects',
    ]);
    expect(replica('orders', 'dr')).to.not.have.property('importBucketPolicyStatements');
    expect(replica('orders', 'copy')).to.not.have.property('importBucketPolicyStatements');
  });

  it('an existing bucket: the stack outputs the statements its owner adds, and they allow exactly the import reads', async () => {
    const output = replica('invoices', 'dr').importBucketPolicyStatements;
    expect(output, 'importBucketPolicyStatements').to.be.a('string');
    const policy = { Version: '2012-10-17', Statement: JSON.parse(output) };
    const reads = importReads(EXISTING_BUCKET, 'dynamodb/invoices');
    for (const r of reads)
      expect(await bucketAllows(targetRole('invoices', 'dr'), policy, ACCOUNT_ID, r)).to.equal(true);
    const others = await decisions(
      unrestricted(),
      policy,
      notTheImport(EXISTING_BUCKET, 'dynamodb/invoices'),
    );
    expect(others.filter((d) => !d.startsWith('denied'))).to.deep.equal([]);
    // Without them (the bucket's policy as it is), the target role reads nothing.
    const none = { Version: '2012-10-17', Statement: [] };
    for (const r of reads)
      expect(await bucketAllows(targetRole('invoices', 'dr'), none, ACCOUNT_ID, r)).to.equal(false);
  });

  it('with SSE-KMS, the target role document of an import replica allows kms:Decrypt on the export key only', async () => {
    // The key policy is the key owner's; one that delegates to IAM stands in, so the role's document decides.
    const decrypts = async (role: RoleAccess, key: string) =>
      (await decide(role, { action: 'kms:Decrypt', resource: key })).allowed;
    expect(await decrypts(targetRole('orders', 'dr'), KEY)).to.equal(true);
    expect(
      await decrypts(targetRole('orders', 'dr'), `arn:aws:kms:${REGION}:${ACCOUNT_ID}:key/another`),
    ).to.equal(false);
    // A write replica's role never reads the export: no grant on the key.
    expect(await decrypts(targetRole('orders', 'copy'), KEY)).to.equal(false);
  });

  it('refuses a replica of a table whose bucket is in another account, naming the table, the replica and why', async () => {
    const config = {
      'aws:region': REGION,
      tables: [
        {
          tableName: 'orders',
          bucket: { existingName: EXISTING_BUCKET, ownerAccountId: '111122223333' },
          replicas: [{ tableName: 'orders-copy', alias: 'copy' }],
        },
      ],
    };
    const resources: ProgramRun['resources'] = [];
    const error = await runProgram(config, 'dev', resources).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).to.include('tables[0].replicas[0] (table 0 "orders")');
    expect(message).to.include('replica "copy" of table "orders" cannot read its exports');
    expect(message).to.include('account 111122223333');
    expect(ofType(resources, 'dynamodb-continuous-exports:index:TableReplica')).to.deep.equal([]);
  });
});
