/**
 * The Iceberg feed's Glue table optimizers under Pulumi mocks: the optimizer role (trusted by Glue),
 * the state machine's right to create optimizers on the lake's epoch tables and to pass that role to
 * Glue only, the definition's optimizer states; and what each role can reach, against a table written
 * out by hand (as tests/unit/deploy/roleReach.test.ts does for the chain and the replica), not from the
 * action list.
 */
import { expect } from 'chai';
import { ConfigError } from '../../../../components/config';
import { ICEBERG_OPTIMIZER_STATES } from '../../../../statemachine/render';
import {
  ACCOUNT_ID as A,
  REGION as R,
  ofType,
  policyOf,
  runProgram,
  type ProgramRun,
} from '../../../helpers/pulumiMocks';
import { allows, type Policy } from '../../../helpers/iamDecisions';

const ICEBERG = {
  partitionKey: { attribute: 'pk', type: 'S' },
  optimizers: { snapshotRetentionDays: 10, orphanFileRetentionDays: 2 },
};
const config = (iceberg: Record<string, unknown>) => ({
  'aws:region': R,
  tables: [{ tableName: 'orders', iceberg: { ...ICEBERG, ...iceberg } }, { tableName: 'invoices' }],
});

const glue = (what: string) => `arn:aws:glue:${R}:${A}:${what}`;
const BUCKET = `arn:aws:s3:::dev-orders-exports-${A}`;
const object = (key: string) => `${BUCKET}/orders/${key}`;
const OPTIMIZER_ROLE = `arn:aws:iam::${A}:role/dev-orders-iceberg-optimizer-role`;
const logGroup = (g: string) => `arn:aws:logs:${R}:${A}:log-group:/aws-glue/${g}/logs:log-stream:run-1`;

/** The resources the two roles are tried on: the lake, what lies beside it, and other roles. */
const R_ = {
  catalog: glue('catalog'),
  lakeDb: glue('database/dev_lake'),
  epochTable: glue('table/dev_lake/orders__e20261103t000000z'),
  nextEpochTable: glue('table/dev_lake/orders__e20261201t000000z'),
  view: glue('table/dev_lake/orders'),
  stagingDb: glue('database/dev_lake_staging'),
  stagingTable: glue('table/dev_lake_staging/orders_changes'),
  otherTable: glue('table/dev_lake/invoices__e20261103t000000z'),
  otherDb: glue('database/finance'),
  lakeData: object('iceberg/orders/data/orders__e20261103t000000z/data/00000-0.parquet'),
  lakeMetadata: object('iceberg/orders/data/orders__e20261103t000000z/metadata/00001.metadata.json'),
  symlink: object('iceberg/orders/staging/export=e1-00000001/symlink.txt'),
  chainCurrent: object('chain/CURRENT.json'),
  exportData: object('AWSDynamoDB/data/abcdef.json.gz'),
  bucket: BUCKET,
  optimizerRole: OPTIMIZER_ROLE,
  statesRole: `arn:aws:iam::${A}:role/dev-orders-iceberg-states-role`,
  compactionLogs: logGroup('iceberg-compaction'),
  retentionLogs: logGroup('iceberg-retention'),
  orphanLogs: logGroup('iceberg-orphan-file-deletion'),
  otherLogs: `arn:aws:logs:${R}:${A}:log-group:/aws/lambda/dev-orders-export-tick:log-stream:s`,
};
const CATALOG = Object.values(R_);

interface Reach {
  action: string;
  resource: string;
  context?: Record<string, string>;
}
const each = (actions: string[], resources: string[], context?: Record<string, string>): Reach[] =>
  actions.flatMap((action) =>
    resources.map((resource) => ({ action, resource, ...(context ? { context } : {}) })),
  );
const TO_GLUE = { 'iam:PassedToService': 'glue.amazonaws.com' };

/** The optimizer role: rewrites and expires the epochs' table files, commits their metadata, logs its runs. */
const OPTIMIZER_MUST: Reach[] = [
  ...each(['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], [R_.lakeData, R_.lakeMetadata]),
  ...each(['s3:ListBucket'], [R_.bucket]),
  ...each(['glue:GetTable', 'glue:UpdateTable'], [R_.catalog, R_.lakeDb, R_.epochTable, R_.nextEpochTable]),
  ...each(
    ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'],
    [R_.compactionLogs, R_.retentionLogs, R_.orphanLogs],
  ),
];
const OPTIMIZER_MUST_NOT: Reach[] = [
  // Never the chain, the exports, the staging symlinks, the view or another table's lake.
  ...each(['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], [R_.chainCurrent, R_.exportData, R_.symlink]),
  ...each(
    ['glue:UpdateTable', 'glue:DeleteTable', 'glue:CreateTable'],
    [R_.view, R_.stagingTable, R_.otherTable],
  ),
  ...each(['glue:DeleteTable', 'glue:DeleteDatabase'], [R_.epochTable, R_.lakeDb]),
  ...each(['iam:PassRole'], [R_.optimizerRole], TO_GLUE),
  ...each(['logs:PutLogEvents'], [R_.otherLogs]),
];

/** The state machine's new rights: optimizers on the epochs' tables, and the optimizer role to Glue only. */
const MACHINE_MUST: Reach[] = [
  ...each(['glue:CreateTableOptimizer'], [R_.catalog, R_.lakeDb, R_.epochTable, R_.nextEpochTable]),
  ...each(['iam:PassRole'], [R_.optimizerRole], TO_GLUE),
];
const MACHINE_MUST_NOT: Reach[] = [
  ...each(
    ['glue:CreateTableOptimizer', 'glue:UpdateTableOptimizer', 'glue:DeleteTableOptimizer'],
    [R_.stagingTable, R_.view, R_.otherTable, R_.otherDb],
  ),
  // Passed to any other service, or another role, it is refused.
  ...each(['iam:PassRole'], [R_.optimizerRole], { 'iam:PassedToService': 'lambda.amazonaws.com' }),
  ...each(['iam:PassRole'], [R_.statesRole], TO_GLUE),
];

const key = (r: Reach) => `${r.action} on ${r.resource}${r.context ? ` ${JSON.stringify(r.context)}` : ''}`;

async function refusedOf(policy: Policy, reaches: Reach[], expected: boolean): Promise<string[]> {
  const wrong: string[] = [];
  for (const r of reaches)
    if ((await allows(policy, r.action, r.resource, r.context)) !== expected) wrong.push(key(r));
  return wrong;
}

describe('Iceberg feed: Glue table optimizers under Pulumi mocks', function () {
  this.timeout(120_000);
  let on: ProgramRun;
  let off: ProgramRun;
  const role = (run: ProgramRun, name: string) =>
    ofType(run.resources, 'aws:iam/role:Role').find((r) => r.inputs.name === name);
  const policyOfRole = (run: ProgramRun, name: string): Policy => {
    const found = ofType(run.resources, 'aws:iam/rolePolicy:RolePolicy').filter(
      (p) => p.inputs.role === name || p.inputs.role === `${name}-id`,
    );
    expect(found, `one policy for ${name}`).to.have.length(1);
    return policyOf(found[0].inputs.policy);
  };
  const definitionOf = (run: ProgramRun) =>
    JSON.parse(
      ofType(run.resources, 'aws:sfn/stateMachine:StateMachine').find(
        (m) => m.name === 'dev-orders-iceberg-machine',
      )!.inputs.definition,
    );

  before(async () => {
    on = await runProgram(config({}), 'dev');
    off = await runProgram(config({ optimizers: { enabled: false } }), 'dev');
  });

  it('deploys the optimizer role, trusted by glue.amazonaws.com from this account only', () => {
    const r = role(on, 'dev-orders-iceberg-optimizer-role');
    expect(r, 'the optimizer role').not.to.equal(undefined);
    expect(JSON.parse(r!.inputs.assumeRolePolicy).Statement).to.deep.equal([
      {
        Effect: 'Allow',
        Principal: { Service: 'glue.amazonaws.com' },
        Action: ['sts:AssumeRole'],
        Condition: { StringEquals: { 'aws:SourceAccount': A } },
      },
    ]);
    // Only the table with the feed has one.
    expect(
      ofType(on.resources, 'aws:iam/role:Role').filter((x) => /optimizer/.test(x.inputs.name)),
    ).to.have.length(1);
  });

  it('the definition creates the three optimizers after a CREATE TABLE, with the role, the catalog and the configured days', () => {
    const states = definitionOf(on).States;
    expect(states.EnsureTable.Next).to.equal('New table?');
    expect(states['New table?'].Choices).to.deep.equal([
      { Variable: '$.plan.statement.kind', StringEquals: 'CREATE_TABLE', Next: 'Compaction optimizer' },
    ]);
    const tasks = ['Compaction optimizer', 'Snapshot retention optimizer', 'Orphan file optimizer'].map(
      (n) => states[n],
    );
    expect(tasks.map((t) => t.Parameters.Type)).to.deep.equal([
      'compaction',
      'retention',
      'orphan_file_deletion',
    ]);
    for (const t of tasks) {
      expect(t.Resource).to.equal('arn:aws:states:::aws-sdk:glue:createTableOptimizer');
      expect(t.Parameters).to.include({
        CatalogId: A,
        DatabaseName: 'dev_lake',
        'TableName.$': '$.plan.table',
      });
      expect(t.Parameters.TableOptimizerConfiguration).to.include({ RoleArn: OPTIMIZER_ROLE, Enabled: true });
      // Already there (a re-run) is success; throttling is retried; anything else is a failed statement.
      expect(t.Catch[0]).to.include({ ResultPath: null });
      expect(t.Catch[0].ErrorEquals).to.deep.equal(['Glue.AlreadyExistsException']);
      expect(t.Catch[1]).to.include({ Next: 'Record the failed query' });
      expect(t.Retry[0].ErrorEquals).to.include('Glue.ThrottlingException');
      expect(t.ResultPath).to.equal(null);
    }
    expect(
      tasks[1].Parameters.TableOptimizerConfiguration.RetentionConfiguration.IcebergConfiguration,
    ).to.deep.equal({
      'SnapshotRetentionPeriodInDays.$': "States.StringToJson('10')",
      'NumberOfSnapshotsToRetain.$': "States.StringToJson('1')",
      CleanExpiredFiles: true,
    });
    expect(
      tasks[2].Parameters.TableOptimizerConfiguration.OrphanFileDeletionConfiguration.IcebergConfiguration,
    ).to.deep.equal({ 'OrphanFileRetentionPeriodInDays.$': "States.StringToJson('2')" });
    expect(tasks[2].Next).to.equal('Commit');
  });

  it('a stack with target s3tables is refused at preview (S3 Tables has no views), before any resource', async () => {
    const recorded: Parameters<typeof runProgram>[2] = [];
    let error: unknown;
    try {
      await runProgram(config({ target: 's3tables', optimizers: undefined }), 'dev', recorded);
    } catch (err) {
      error = err;
    }
    expect(error).to.be.instanceOf(ConfigError);
    expect(String((error as Error).message)).to.match(/iceberg\.target .*s3tables is not supported yet/);
    expect(recorded).to.deep.equal([]);
  });

  for (const [label, run] of [['optimizers.enabled false', () => off]] as const)
    it(`with ${label}: no optimizer role, no optimizer states, neither CreateTableOptimizer nor PassRole granted`, () => {
      expect(role(run(), 'dev-orders-iceberg-optimizer-role')).to.equal(undefined);
      const states = definitionOf(run()).States;
      for (const name of ICEBERG_OPTIMIZER_STATES) expect(states).not.to.have.property(name);
      expect(states.EnsureTable.Next).to.equal('Commit');
      const actions = policyOfRole(run(), 'dev-orders-iceberg-states-role').Statement.flatMap(
        (s: any) => s.Action,
      );
      expect(actions).not.to.include('glue:CreateTableOptimizer');
      expect(actions).not.to.include('iam:PassRole');
    });

  describe('what each role reaches (a hand-written table)', () => {
    it('the optimizer role reaches everything it must', async () => {
      expect(
        await refusedOf(policyOfRole(on, 'dev-orders-iceberg-optimizer-role'), OPTIMIZER_MUST, true),
      ).to.deep.equal([]);
    });

    it('the optimizer role reaches nothing it must not', async () => {
      expect(
        await refusedOf(policyOfRole(on, 'dev-orders-iceberg-optimizer-role'), OPTIMIZER_MUST_NOT, false),
      ).to.deep.equal([]);
    });

    it('the optimizer role names no action the table does not give it, and each is allowed exactly where the table says', async () => {
      const policy = policyOfRole(on, 'dev-orders-iceberg-optimizer-role');
      const wanted = new Set(OPTIMIZER_MUST.map((r) => r.action));
      const named = policy.Statement.flatMap((s: any) => s.Action as string[]);
      // kms only appears with a KMS key on the bucket; this stack has none.
      expect(named.filter((a: string) => !wanted.has(a))).to.deep.equal([]);
      const expected = new Set(OPTIMIZER_MUST.filter((r) => !r.context).map(key));
      const wrong: string[] = [];
      for (const action of wanted)
        for (const resource of CATALOG) {
          const allowed = await allows(policy, action, resource);
          if (allowed !== expected.has(key({ action, resource })))
            wrong.push(`${allowed ? 'allowed' : 'denied'}: ${action} on ${resource}`);
        }
      expect(wrong).to.deep.equal([]);
    });

    it('the state machine may create optimizers on the epochs’ tables and pass the optimizer role to Glue, nothing more', async () => {
      const policy = policyOfRole(on, 'dev-orders-iceberg-states-role');
      expect(await refusedOf(policy, MACHINE_MUST, true)).to.deep.equal([]);
      expect(await refusedOf(policy, MACHINE_MUST_NOT, false)).to.deep.equal([]);
      const wrong: string[] = [];
      const expected = new Set(MACHINE_MUST.filter((r) => !r.context).map(key));
      for (const resource of CATALOG) {
        const r = { action: 'glue:CreateTableOptimizer', resource };
        if ((await allows(policy, r.action, resource)) !== expected.has(key(r))) wrong.push(key(r));
        // PassRole is allowed only with iam:PassedToService = glue, and only on the optimizer role.
        const pass = await allows(policy, 'iam:PassRole', resource, TO_GLUE);
        if (pass !== (resource === OPTIMIZER_ROLE)) wrong.push(`iam:PassRole on ${resource}`);
      }
      expect(wrong).to.deep.equal([]);
    });
  });
});
