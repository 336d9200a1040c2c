import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect } from 'chai';
import fc from 'fast-check';
import { HandlerBundle } from '../../../components/bundle';
import { ContinuousExport } from '../../../components/continuousExport';
import { alarmTopicPolicy, statementsFor, taskResources } from '../../../components/permissions';
import { SDK_CALLS, STATE_MACHINE_TASKS } from '../../../functions/shared/awsActions';
import { LAMBDA_HANDLERS } from '../../../functions/shared/lambdaHandlers';
import {
  ACCOUNT_ID,
  installMocks,
  withPlainStacks,
  ofType,
  policyOf,
  RecordedResource,
  REGION,
  settle,
} from '../../helpers/pulumiMocks';
import { allows } from '../../helpers/iamDecisions';
import { REPO_ROOT } from '../../helpers/repoRoot';

const ROOT = REPO_ROOT;

/**
 * Every `new XxxCommand(` in the export tick's Lambda code under functions/. The replica's files
 * (`functions/replica/`) have their own list, REPLICA_SDK_CALLS, checked from recorded calls by
 * tests/unit/deploy/consumers/replicaIam.test.ts.
 */
function commandsUsedInFunctions(): Set<string> {
  const used = new Set<string>();
  const visit = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'replica') visit(full);
      }
      // The replica's apply Lambda (functions/replica/) has its own action list, checked by
      // tests/unit/deploy/consumers/replicaIam.test.ts.
      else if (entry.name.endsWith('.ts')) {
        for (const m of fs.readFileSync(full, 'utf8').matchAll(/new (\w+Command)\(/g)) used.add(m[1]);
      }
    }
  };
  visit(path.join(ROOT, 'functions'));
  return used;
}

const bundles: Record<string, HandlerBundle> = Object.fromEntries(
  LAMBDA_HANDLERS.map((h) => [h.name, { code: 'exports.handler = async () => ({});', sha256: h.name }]),
);

interface Table {
  component: string;
  tableName: string;
  alias: string;
  bucket: string;
  prefix: string;
  kmsKeyArn?: string;
}

const KEY = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const ORDERS: Table = {
  component: 'dev-orders',
  tableName: 'Orders',
  alias: 'orders',
  bucket: `dev-orders-exports-${ACCOUNT_ID}`,
  prefix: 'orders',
};
const CUSTOMERS: Table = {
  component: 'dev-customers',
  tableName: 'customer_profiles',
  alias: 'customers',
  bucket: 'acme-data-lake',
  prefix: 'dynamodb/customers',
  kmsKeyArn: KEY,
};

/** The ARNs each resource kind must mean for a table, written out independently of components/. */
/** The key of the run-failure note beside the chain. */
function runFailureNote(t: Table): string {
  return `${t.prefix}/chain/run-failures.json`;
}

function expectedArns(t: Table): Record<string, string[]> {
  const table = `arn:aws:dynamodb:${REGION}:${ACCOUNT_ID}:table/${t.tableName}`;
  const param = (n: string) =>
    `arn:aws:ssm:${REGION}:${ACCOUNT_ID}:parameter/dynamodb-continuous-exports/dev/${t.alias}/${n}`;
  return {
    table: [table],
    tableExports: [`${table}/export/01700000000000-abcdef12`],
    exportObjects: [
      `arn:aws:s3:::${t.bucket}/${t.prefix}/AWSDynamoDB/01700000000000-abcdef12/manifest-summary.json`,
    ],
    chainObjects: [`arn:aws:s3:::${t.bucket}/${t.prefix}/chain/CURRENT.json`],
    runFailureListing: [`arn:aws:s3:::${t.bucket}`],
    readParameters: [
      param('state'),
      param('action'),
      param('lock'),
      param('lock-takeover-0123456789abcdef-0'),
    ],
    writeParameters: [param('state'), param('lock'), param('lock-takeover-0123456789abcdef-0')],
    lockParameter: [param('lock'), param('lock-takeover-0123456789abcdef-0')],
    notificationTopic: [`arn:aws:sns:${REGION}:${ACCOUNT_ID}:${t.component}-notifications`],
    // The key the stack creates for the table's topics (its ARN under the mocks: the logical name).
    notificationKmsKey: [`arn:aws:kms:${REGION}:${ACCOUNT_ID}:key/${t.component}-topics-key`],
    exportKmsKey: t.kmsKeyArn ? [t.kmsKeyArn] : [],
    tickFunction: [`arn:aws:lambda:${REGION}:${ACCOUNT_ID}:function:${t.component}-export-tick`],
  };
}

describe('IAM policies derived from functions/shared/awsActions.ts', () => {
  const resources: RecordedResource[] = [];
  const policies = (name: string) =>
    ofType(resources, 'aws:iam/rolePolicy:RolePolicy').filter((r) => r.name.startsWith(`${name}-`));
  const rolePolicy = (t: Table, kind: 'export-tick' | 'states' | 'scheduler') =>
    policyOf(policies(t.component).find((r) => r.name === `${t.component}-${kind}-policy`)!.inputs.policy);
  const definitionOf = (t: Table) =>
    JSON.parse(
      ofType(resources, 'aws:sfn/stateMachine:StateMachine').find((r) =>
        r.name.startsWith(`${t.component}-`),
      )!.inputs.definition,
    );

  before(() =>
    withPlainStacks(async () => {
      await installMocks(resources, 'dev');
      const orders = new ContinuousExport(ORDERS.component, { tableName: ORDERS.tableName, bundles });
      const customers = new ContinuousExport(CUSTOMERS.component, {
        tableName: CUSTOMERS.tableName,
        alias: CUSTOMERS.alias,
        kmsKeyArn: KEY,
        bucket: { existingName: CUSTOMERS.bucket, prefix: CUSTOMERS.prefix },
        bundles,
      });
      await settle(orders.urn, customers.urn, orders.stateMachineArn, customers.stateMachineArn);
    }),
  );

  it('lists every SDK command the Lambda code sends', () => {
    const used = commandsUsedInFunctions();
    expect(used.size).to.be.greaterThan(0);
    for (const command of used)
      expect(SDK_CALLS, `${command} is sent but not in SDK_CALLS`).to.have.property(command);
    for (const command of Object.keys(SDK_CALLS)) {
      expect([...used], `${command} is granted but no code sends it`).to.include(command);
    }
  });

  for (const t of [ORDERS, CUSTOMERS]) {
    describe(`export tick role of ${t.alias}`, () => {
      it("allows each action of each command the code sends, on exactly this table's resources", async () => {
        const policy = rolePolicy(t, 'export-tick');
        const arns = expectedArns(t);
        for (const command of commandsUsedInFunctions()) {
          // A KMS key also needs its key policy to allow it: the evaluator stands in a key policy that
          // delegates to IAM (sim/iam/evaluator.ts), so the role's own statement decides.
          for (const grant of SDK_CALLS[command]) {
            for (const action of grant.actions) {
              for (const arn of arns[grant.resource]) {
                // The listing is allowed for the run-failure note's key only.
                const context =
                  grant.resource === 'runFailureListing' ? { 's3:prefix': runFailureNote(t) } : undefined;
                expect(
                  await allows(policy, action, arn, context),
                  `${command}: ${action} on ${arn}`,
                ).to.equal(true);
              }
            }
          }
        }
      });

      it('allows nothing that no command needs, besides writing its own logs', () => {
        const policy = rolePolicy(t, 'export-tick');
        const needed = new Set(
          [...commandsUsedInFunctions()].flatMap((c) =>
            SDK_CALLS[c].filter((g) => expectedArns(t)[g.resource].length > 0).flatMap((g) => g.actions),
          ),
        );
        const ownLogs = `arn:aws:logs:${REGION}:${ACCOUNT_ID}:log-group:/aws/lambda/${t.component}-export-tick:*`;
        for (const s of policy.Statement) {
          expect(s.Effect).to.equal('Allow');
          for (const action of s.Action) {
            if (action.startsWith('logs:')) {
              expect(['logs:CreateLogStream', 'logs:PutLogEvents']).to.include(action);
              expect(s.Resource).to.deep.equal([ownLogs]);
            } else {
              expect(needed, action).to.include(action);
            }
          }
        }
      });

      it(t.kmsKeyArn ? 'may use the configured KMS key' : 'has no export KMS statement without a key', () => {
        const policy = rolePolicy(t, 'export-tick');
        const topicKey = expectedArns(t).notificationKmsKey;
        const kms = policy.Statement.filter(
          (s: any) =>
            s.Action.some((a: string) => a.startsWith('kms:')) &&
            JSON.stringify(s.Resource) !== JSON.stringify(topicKey),
        );
        if (t.kmsKeyArn) {
          expect(kms).to.have.length(1);
          expect(kms[0].Resource).to.deep.equal([t.kmsKeyArn]);
          // Every KMS action a command the code sends needs, and no other.
          const needed = [...commandsUsedInFunctions()].flatMap((c) =>
            SDK_CALLS[c].filter((g) => g.resource === 'exportKmsKey').flatMap((g) => g.actions),
          );
          expect(needed).to.not.have.length(0);
          expect([...kms[0].Action].sort()).to.deep.equal([...new Set(needed)].sort());
        } else {
          expect(kms).to.have.length(0);
        }
      });
    });
  }

  it("uses the topics' key only to publish (GenerateDataKey and Decrypt), on that key alone", () => {
    for (const t of [ORDERS, CUSTOMERS]) {
      const policy = rolePolicy(t, 'export-tick');
      const topicKey = expectedArns(t).notificationKmsKey;
      const statements = policy.Statement.filter((s: any) => s.Resource.includes(topicKey[0]));
      expect(statements).to.have.length(1);
      expect(statements[0].Resource).to.deep.equal(topicKey);
      expect(statements[0].Action).to.deep.equal(['kms:Decrypt', 'kms:GenerateDataKey']);
    }
  });

  it("gives no Lambda role access to another table, another prefix or another table's parameters", async () => {
    const policy = rolePolicy(ORDERS, 'export-tick');
    // Every resource of the other table, its KMS key included.
    for (const [kind, arns] of Object.entries(expectedArns(CUSTOMERS))) {
      for (const arn of arns) {
        for (const s of policy.Statement) {
          for (const action of s.Action) {
            expect(await allows(policy, action, arn), `${kind}: ${action} on ${arn}`).to.equal(false);
          }
        }
      }
    }
    // Nothing outside the prefix in the same bucket, nor the bucket itself.
    const customers = rolePolicy(CUSTOMERS, 'export-tick');
    await fc.assert(
      fc.asyncProperty(fc.stringMatching(/^[a-z0-9/._-]{1,40}$/), async (key) => {
        fc.pre(!key.startsWith('customers/'));
        const arn = `arn:aws:s3:::${CUSTOMERS.bucket}/dynamodb/${key}`;
        expect(await allows(customers, 's3:PutObject', arn), arn).to.equal(false);
      }),
    );
    expect(
      await allows(customers, 's3:PutObject', `arn:aws:s3:::${CUSTOMERS.bucket}/other/AWSDynamoDB/x`),
    ).to.equal(false);
    expect(
      await allows(
        customers,
        's3:PutObject',
        `arn:aws:s3:::${CUSTOMERS.bucket}/dynamodb/customers/elsewhere`,
      ),
    ).to.equal(false);
  });

  it("scopes the existing bucket's permissions to its prefix", async () => {
    const policy = rolePolicy(CUSTOMERS, 'export-tick');
    const s3 = policy.Statement.filter((s: any) => s.Action.some((a: string) => a.startsWith('s3:')));
    expect(s3.flatMap((s: any) => s.Resource)).to.have.members([
      `arn:aws:s3:::${CUSTOMERS.bucket}/${CUSTOMERS.prefix}/AWSDynamoDB/*`,
      `arn:aws:s3:::${CUSTOMERS.bucket}/${CUSTOMERS.prefix}/chain/*`,
      `arn:aws:s3:::${CUSTOMERS.bucket}`,
    ]);
    // The bucket itself only to list the run-failure note's key: nothing else of the prefix, nor
    // another prefix.
    const bucket = `arn:aws:s3:::${CUSTOMERS.bucket}`;
    expect(
      await allows(policy, 's3:ListBucket', bucket, { 's3:prefix': runFailureNote(CUSTOMERS) }),
    ).to.equal(true);
    for (const prefix of [
      `${CUSTOMERS.prefix}/chain/`,
      `${CUSTOMERS.prefix}/`,
      '',
      'other/chain/run-failures.json',
    ])
      expect(await allows(policy, 's3:ListBucket', bucket, { 's3:prefix': prefix }), prefix).to.equal(false);
  });

  for (const t of [ORDERS, CUSTOMERS]) {
    it(`state machine role of ${t.alias}: every Task of the deployed definition, on this table's function only`, async () => {
      const policy = rolePolicy(t, 'states');
      const fnArn = expectedArns(t).tickFunction[0];
      const resourcesUsed = taskResources(definitionOf(t));
      expect(resourcesUsed.length).to.be.greaterThan(0);
      for (const resource of resourcesUsed) {
        expect(STATE_MACHINE_TASKS, resource).to.have.property(resource);
        for (const grant of STATE_MACHINE_TASKS[resource]) {
          for (const action of grant.actions)
            expect(await allows(policy, action, fnArn), action).to.equal(true);
        }
      }
      const other = expectedArns(t === ORDERS ? CUSTOMERS : ORDERS).tickFunction[0];
      expect(await allows(policy, 'lambda:InvokeFunction', other)).to.equal(false);
      const needed = new Set(resourcesUsed.flatMap((r) => STATE_MACHINE_TASKS[r].flatMap((g) => g.actions)));
      for (const s of policy.Statement) {
        if (s.Resource.includes('*')) continue;
        for (const action of s.Action) expect(needed).to.include(action);
      }
    });
  }

  it('has no wildcard action anywhere, and a wildcard resource only for log delivery', () => {
    const all = ofType(resources, 'aws:iam/rolePolicy:RolePolicy');
    expect(all).to.have.length(2 * (LAMBDA_HANDLERS.length + 2));
    for (const r of all) {
      for (const s of policyOf(r.inputs.policy).Statement) {
        for (const action of s.Action) expect(action, r.name).not.to.include('*');
        if (s.Resource.includes('*')) {
          expect(r.name).to.match(/-states-policy$/);
          expect(s.Resource).to.deep.equal(['*']);
          expect([...s.Action].sort()).to.deep.equal(
            [
              'logs:CreateLogDelivery',
              'logs:GetLogDelivery',
              'logs:UpdateLogDelivery',
              'logs:DeleteLogDelivery',
              'logs:ListLogDeliveries',
              'logs:PutResourcePolicy',
              'logs:DescribeResourcePolicies',
              'logs:DescribeLogGroups',
            ].sort(),
          );
        }
      }
    }
  });

  for (const t of [ORDERS, CUSTOMERS]) {
    it(`scheduler role of ${t.alias} may only start this state machine`, async () => {
      const policy = rolePolicy(t, 'scheduler');
      const arn = `arn:aws:states:${REGION}:${ACCOUNT_ID}:stateMachine:${t.component}-export-chain`;
      expect(policy.Statement).to.have.length(1);
      expect(policy.Statement[0].Action).to.deep.equal(['states:StartExecution']);
      expect(policy.Statement[0].Resource).to.deep.equal([arn]);
      const other = `arn:aws:states:${REGION}:${ACCOUNT_ID}:stateMachine:${(t === ORDERS ? CUSTOMERS : ORDERS).component}-export-chain`;
      expect(await allows(policy, 'states:StartExecution', arn)).to.equal(true);
      expect(await allows(policy, 'states:StartExecution', other)).to.equal(false);
    });
  }

  it('lets each service assume only its own role; Step Functions and Scheduler only from this account', () => {
    const roles = ofType(resources, 'aws:iam/role:Role');
    const services = roles.map((r) => {
      const trust = policyOf(r.inputs.assumeRolePolicy);
      expect(trust.Statement).to.have.length(1);
      const s = trust.Statement[0];
      expect(s.Action).to.deep.equal(['sts:AssumeRole']);
      if (s.Principal.Service === 'lambda.amazonaws.com') expect(s.Condition).to.equal(undefined);
      else expect(s.Condition).to.deep.equal({ StringEquals: { 'aws:SourceAccount': ACCOUNT_ID } });
      return `${r.physicalName!.split('-').slice(2).join('-')}:${s.Principal.Service}`;
    });
    expect(new Set(services)).to.deep.equal(
      new Set([
        'export-tick:lambda.amazonaws.com',
        'states:states.amazonaws.com',
        'scheduler:scheduler.amazonaws.com',
      ]),
    );
  });

  it('drops grants whose resource does not exist and never merges actions across resources', () => {
    const statements = statementsFor(
      [
        { actions: ['kms:Decrypt'], resource: 'exportKmsKey' },
        { actions: ['sns:Publish'], resource: 'notificationTopic' },
        { actions: ['dynamodb:DescribeExport'], resource: 'tableExports' },
      ],
      { exportKmsKey: [], notificationTopic: ['arn:topic'], tableExports: ['arn:table/export/*'] },
    );
    expect(statements.map((s) => [s.Action, s.Resource])).to.deep.equal([
      [['sns:Publish'], ['arn:topic']],
      [['dynamodb:DescribeExport'], ['arn:table/export/*']],
    ]);
    expect(() =>
      statementsFor([{ actions: ['s3:*'], resource: 'chainObjects' }], { chainObjects: ['x'] }),
    ).to.throw(/wildcard/);
  });

  it('alarm topic policy: CloudWatch may publish only for the given alarms of this account; the account keeps its access', () => {
    const name = fc.stringMatching(/^[A-Za-z0-9._-]{1,40}$/);
    fc.assert(
      fc.property(
        fc.constantFrom('aws', 'aws-cn', 'aws-us-gov'),
        fc.stringMatching(/^\d{12}$/),
        fc.uniqueArray(name, { minLength: 1, maxLength: 4 }),
        (partition, account, alarms) => {
          const topic = `arn:${partition}:sns:${REGION}:${account}:t`;
          const doc = alarmTopicPolicy(partition, REGION, account, topic, alarms);
          for (const s of doc.Statement) {
            expect(s.Effect).to.equal('Allow');
            expect(s.Resource).to.deep.equal([topic]);
          }
          const cw = doc.Statement.filter((s) => s.Principal !== '*' && s.Principal?.Service);
          expect(cw).to.have.length(1);
          expect(cw[0].Principal).to.deep.equal({ Service: 'cloudwatch.amazonaws.com' });
          expect(cw[0].Action).to.deep.equal(['sns:Publish']);
          expect(cw[0].Condition!.StringEquals).to.deep.equal({ 'aws:SourceAccount': account });
          expect(cw[0].Condition!.ArnLike['aws:SourceArn']).to.have.members(
            alarms.map((a) => `arn:${partition}:cloudwatch:${REGION}:${account}:alarm:${a}`),
          );
          const owner = doc.Statement.filter((s) => s.Principal !== '*' && s.Principal?.AWS);
          expect(owner).to.have.length(1);
          expect(owner[0].Principal).to.deep.equal({ AWS: `arn:${partition}:iam::${account}:root` });
          expect(owner[0].Condition).to.equal(undefined);
          expect(owner[0].Action).to.include.members([
            'sns:Subscribe',
            'sns:SetTopicAttributes',
            'sns:DeleteTopic',
          ]);
          expect(doc.Statement.every((s) => s.Action.every((a) => !a.includes('*')))).to.equal(true);
        },
      ),
      { numRuns: 50 },
    );
  });
});
