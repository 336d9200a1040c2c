/**
 * The Iceberg feed beside a KMS-encrypted export bucket (`kmsKeyArn`, SSE-KMS by default,
 * components/exportBucket.ts), under Pulumi mocks: the plan Lambda writes symlink files into that
 * bucket and reads the exports' manifests; Athena, with the state machine's role, reads the exports and
 * writes the lake's data and metadata there. Both need the key; a stack without a key grants none.
 */
import { expect } from 'chai';
import {
  ACCOUNT_ID as A,
  REGION as R,
  ofType,
  policyOf,
  runProgram,
  type ProgramRun,
} from '../../../helpers/pulumiMocks';
import { allows, type Policy } from '../../../helpers/iamDecisions';

const KEY = `arn:aws:kms:${R}:${A}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const OTHER_KEY = `arn:aws:kms:${R}:${A}:key/ffffffff-12ab-34cd-56ef-1234567890ab`;
const config = (kms: Record<string, string>) => ({
  'aws:region': R,
  tables: [
    { tableName: 'orders', ...kms, iceberg: { partitionKey: { attribute: 'pk', type: 'S' } } },
    { tableName: 'invoices' },
  ],
});

const policyOfRole = (run: ProgramRun, role: string): Policy => {
  const found = ofType(run.resources, 'aws:iam/rolePolicy:RolePolicy').filter(
    (p) => p.inputs.role === role || p.inputs.role === `${role}-id`,
  );
  expect(found, `one policy for ${role}`).to.have.length(1);
  return policyOf(found[0].inputs.policy);
};

const PLAN = 'dev-orders-iceberg-plan-role';
const STATES = 'dev-orders-iceberg-states-role';
const ACTIONS = ['kms:GenerateDataKey', 'kms:Decrypt'];

async function reached(policy: Policy, key: string): Promise<string[]> {
  const out: string[] = [];
  for (const action of ACTIONS) if (await allows(policy, action, key)) out.push(action);
  return out;
}

describe('Iceberg feed with a KMS-encrypted export bucket, under Pulumi mocks', function () {
  this.timeout(120_000);
  let withKey: ProgramRun;
  let withoutKey: ProgramRun;

  before(async () => {
    withKey = await runProgram(config({ kmsKeyArn: KEY }), 'dev');
    withoutKey = await runProgram(config({}), 'dev');
  });

  it('the plan Lambda may encrypt (PutObject of symlink files) and decrypt (GetObject) with the key', async () => {
    expect(await reached(policyOfRole(withKey, PLAN), KEY)).to.deep.equal(ACTIONS);
  });

  it("the state machine's role, which Athena runs with, may encrypt the lake's files and decrypt the exports", async () => {
    expect(await reached(policyOfRole(withKey, STATES), KEY)).to.deep.equal(ACTIONS);
  });

  it('neither role reaches another key', async () => {
    for (const role of [PLAN, STATES])
      expect(await reached(policyOfRole(withKey, role), OTHER_KEY), role).to.deep.equal([]);
  });

  it('without kmsKeyArn, neither role is granted the export key', async () => {
    for (const role of [PLAN, STATES]) {
      const policy = policyOfRole(withoutKey, role);
      expect(await reached(policy, KEY), role).to.deep.equal([]);
      expect(
        policy.Statement.filter((s: any) => s.Sid === 'KmsKey'),
        role,
      ).to.deep.equal([]);
    }
  });
});
