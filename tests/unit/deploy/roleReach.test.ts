/**
 * What each deployed role can reach, against a table written out by hand from what each part of the
 * system is for (docs/ARCHITECTURE.md, docs/replica.md), NOT from functions/shared/awsActions.ts: a
 * grant added to the action list or to components/permissions.ts that no row below asks for fails
 * here, even when the role still matches the action list.
 *
 * The program runs under Pulumi mocks with two tables (orders with one replica and an Iceberg feed,
 * invoices); each role's
 * rendered policy is evaluated by the IAM evaluator (sim/iam/evaluator.ts) on every action it names,
 * or that a row names, against every resource of the stack (CATALOG). A pair is allowed exactly when
 * the role's MUST rows list it; the MUST NOT rows name the dangerous pairs once more, readably, with
 * actions no role should ever have (deleting the state, the chain, the table).
 */
import { expect } from 'chai';
import {
  ACCOUNT_ID as A,
  REGION as R,
  ofType,
  policyOf,
  runProgram,
  type ProgramRun,
} from '../../helpers/pulumiMocks';
import { allows, type Policy } from '../../helpers/iamDecisions';

/** One request: an action on a resource, with the request's condition keys. */
interface Reach {
  action: string;
  resource: string;
  context?: Record<string, string>;
}

const CONFIG = {
  'aws:region': R,
  tables: [
    {
      tableName: 'orders',
      // The export bucket of orders is SSE-KMS with this key (components/exportBucket.ts).
      kmsKeyArn: `arn:aws:kms:${R}:${A}:key/1234abcd-12ab-34cd-56ef-1234567890ab`,
      replicas: [{ tableName: 'orders-copy' }],
      iceberg: { partitionKey: { attribute: 'pk', type: 'S' } },
    },
    { tableName: 'invoices' },
  ],
};

// ---- the stack's resources, spelled out ----------------------------------------------------------

const ssm = (name: string) => `arn:aws:ssm:${R}:${A}:parameter/dynamodb-continuous-exports/dev/${name}`;
const dynamodb = (name: string) => `arn:aws:dynamodb:${R}:${A}:table/${name}`;

/** One table's chain side: its table, bucket prefix, parameters, topic, function and state machine. */
function tableResources(alias: string) {
  const bucket = `dev-${alias}-exports-${A}`;
  const object = (key: string) => `arn:aws:s3:::${bucket}/${alias}/${key}`;
  return {
    alias,
    table: dynamodb(alias),
    anExport: `${dynamodb(alias)}/export/01700000000000-abcdef12`,
    bucket: `arn:aws:s3:::${bucket}`,
    bucketName: bucket,
    exportSummary: object('AWSDynamoDB/01700000000000-abcdef12/manifest-summary.json'),
    exportData: object('AWSDynamoDB/data/abcdef.json.gz'),
    chainCurrent: object('chain/CURRENT.json'),
    chainEntry: object('chain/20261124T000000Z/00000001.json'),
    runFailures: object('chain/run-failures.json'),
    beside: object('notes.txt'),
    state: ssm(`${alias}/state`),
    action: ssm(`${alias}/action`),
    lock: ssm(`${alias}/lock`),
    lockMarker: ssm(`${alias}/lock-takeover-0123456789abcdef-0`),
    topic: `arn:aws:sns:${R}:${A}:dev-${alias}-notifications`,
    // The key the stack creates for the table's topics: publishing to an encrypted topic needs it.
    topicKey: `arn:aws:kms:${R}:${A}:key/dev-${alias}-topics-key`,
    tick: `arn:aws:lambda:${R}:${A}:function:dev-${alias}-export-tick`,
    tickLogs: `arn:aws:logs:${R}:${A}:log-group:/aws/lambda/dev-${alias}-export-tick:log-stream:s`,
    machine: `arn:aws:states:${R}:${A}:stateMachine:dev-${alias}-export-chain`,
    execution: `arn:aws:states:${R}:${A}:execution:dev-${alias}-export-chain:run-1`,
  };
}

const ORDERS = tableResources('orders');
const INVOICES = tableResources('invoices');
const COPY = {
  target: dynamodb('orders-copy'),
  state: ssm('orders/replicas/orders-copy/state'),
  action: ssm('orders/replicas/orders-copy/action'),
  lock: ssm('orders/replicas/orders-copy/state-lock'),
  lockMarker: ssm('orders/replicas/orders-copy/state-lock-takeover-0123456789abcdef-0'),
  apply: `arn:aws:lambda:${R}:${A}:function:dev-orders-orders-copy-apply`,
  applyLogs: `arn:aws:logs:${R}:${A}:log-group:/aws/lambda/dev-orders-orders-copy-apply:log-stream:s`,
  machine: `arn:aws:states:${R}:${A}:stateMachine:dev-orders-orders-copy-replica`,
  execution: `arn:aws:states:${R}:${A}:execution:dev-orders-orders-copy-replica:run-1`,
  child: `arn:aws:states:${R}:${A}:execution:dev-orders-orders-copy-replica/map-1:child-1`,
};
/** The Iceberg feed of orders: its parameters, its folder in the export bucket, Athena, Glue, its results. */
const ICEBERG = (() => {
  const lake = (key: string) => `arn:aws:s3:::dev-orders-exports-${A}/orders/iceberg/orders/${key}`;
  const glue = (what: string) => `arn:aws:glue:${R}:${A}:${what}`;
  // The results bucket is named by AWS from its prefix (the mocks add `mock0000`).
  const results = 'arn:aws:s3:::dev-orders-iceberg-mock0000';
  return {
    state: ssm('orders/iceberg/state'),
    action: ssm('orders/iceberg/action'),
    lock: ssm('orders/iceberg/lock'),
    lockMarker: ssm('orders/iceberg/lock-takeover-0123456789abcdef-0'),
    symlink: lake('staging/export=e20261124T000000Z-00000001/symlink.txt'),
    lakeData: lake('data/orders__e20261124t000000z/data/00000-0.parquet'),
    plan: `arn:aws:lambda:${R}:${A}:function:dev-orders-iceberg-plan`,
    planLogs: `arn:aws:logs:${R}:${A}:log-group:/aws/lambda/dev-orders-iceberg-plan:log-stream:s`,
    machine: `arn:aws:states:${R}:${A}:stateMachine:dev-orders-iceberg`,
    workGroup: `arn:aws:athena:${R}:${A}:workgroup/dev-orders-iceberg`,
    catalog: glue('catalog'),
    lakeDatabase: glue('database/dev_lake'),
    stagingDatabase: glue('database/dev_lake_staging'),
    lakeTable: glue('table/dev_lake/orders__e20261124t000000z'),
    stagingTable: glue('table/dev_lake_staging/orders_changes'),
    otherTable: glue('table/finance/ledger'),
    resultsBucket: results,
    result: `${results}/results/0123-query.csv`,
    optimizerRole: `arn:aws:iam::${A}:role/dev-orders-iceberg-optimizer-role`,
    optimizerLogs: ['iceberg-compaction', 'iceberg-retention', 'iceberg-orphan-file-deletion'].map(
      (g) => `arn:aws:logs:${R}:${A}:log-group:/aws-glue/${g}/logs:log-stream:run-1`,
    ),
  };
})();

/** The customer managed key of orders' export bucket (the table's kmsKeyArn). */
const ORDERS_KEY = CONFIG.tables[0].kmsKeyArn!;

const ELSEWHERE = {
  otherKey: `arn:aws:kms:${R}:${A}:key/ffffffff-12ab-34cd-56ef-1234567890ab`,
  otherTable: dynamodb('payments'),
  otherParameter: ssm('payments/state'),
  otherBucketObject: `arn:aws:s3:::acme-data-lake/orders/chain/CURRENT.json`,
};

/**
 * Every resource of the stack (and a few beside it), each pair of role and action is tried on. Not `*`:
 * the evaluator reads a request for `*` as one for every resource, which no call of these actions is.
 */
const CATALOG: string[] = [
  ...Object.entries(ORDERS)
    .filter(([k]) => k !== 'bucketName' && k !== 'alias')
    .map(([, v]) => v),
  ...Object.entries(INVOICES)
    .filter(([k]) => k !== 'bucketName' && k !== 'alias')
    .map(([, v]) => v),
  ...Object.values(COPY),
  ...Object.values(ICEBERG).flat(),
  ORDERS_KEY,
  ...Object.values(ELSEWHERE),
];

// ---- what each role is for -----------------------------------------------------------------------

const each = (actions: string[], resources: string[], context?: Record<string, string>): Reach[] =>
  actions.flatMap((action) =>
    resources.map((resource) => ({ action, resource, ...(context ? { context } : {}) })),
  );

/** Step Functions' log deliveries accept only `*` (see stateMachineLogDeliveryStatement). */
const LOG_DELIVERY = each(
  [
    'logs:CreateLogDelivery',
    'logs:DeleteLogDelivery',
    'logs:DescribeLogGroups',
    'logs:DescribeResourcePolicies',
    'logs:GetLogDelivery',
    'logs:ListLogDeliveries',
    'logs:PutResourcePolicy',
    'logs:UpdateLogDelivery',
  ],
  ['*'],
);

/** The export tick of one table: reads PITR, starts and follows exports, writes the chain and its state. */
function tickMust(t: ReturnType<typeof tableResources>): Reach[] {
  return [
    ...each(['dynamodb:DescribeContinuousBackups', 'dynamodb:ExportTableToPointInTime'], [t.table]),
    ...each(['dynamodb:DescribeExport'], [t.anExport]),
    // ExportTableToPointInTime writes the export's files with the caller's permissions.
    ...each(['s3:PutObject', 's3:AbortMultipartUpload', 's3:PutObjectAcl'], [t.exportSummary, t.exportData]),
    ...each(['s3:GetObject', 's3:PutObject'], [t.chainCurrent, t.chainEntry, t.runFailures]),
    // Listing only to tell a missing run-failure note (404) from a denied one.
    ...each(['s3:ListBucket'], [t.bucket], { 's3:prefix': `${t.alias}/chain/run-failures.json` }),
    ...each(['ssm:GetParameters'], [t.state, t.action, t.lock, t.lockMarker]),
    ...each(['ssm:PutParameter'], [t.state, t.lock, t.lockMarker]),
    ...each(['ssm:DeleteParameter'], [t.lock, t.lockMarker]),
    ...each(['sns:Publish'], [t.topic]),
    ...each(['kms:GenerateDataKey', 'kms:Decrypt'], [t.topicKey]),
    ...each(['logs:CreateLogStream', 'logs:PutLogEvents'], [t.tickLogs]),
  ];
}

function tickMustNot(
  t: ReturnType<typeof tableResources>,
  other: ReturnType<typeof tableResources>,
): Reach[] {
  return [
    // The action parameter is the operator's: a RESET is consumed by its version, never overwritten.
    ...each(['ssm:PutParameter', 'ssm:DeleteParameter'], [t.action]),
    ...each(['ssm:DeleteParameter'], [t.state]),
    ...each(['s3:DeleteObject'], [t.chainCurrent, t.chainEntry, t.exportSummary, t.exportData]),
    ...each(['s3:GetObject'], [t.exportData, t.beside]),
    ...each(['s3:PutObject'], [t.beside, ELSEWHERE.otherBucketObject]),
    ...each(['s3:ListBucket'], [t.bucket], { 's3:prefix': `${t.alias}/chain/` }),
    ...each(['s3:ListBucket'], [t.bucket], { 's3:prefix': `${t.alias}/AWSDynamoDB/` }),
    ...each(
      ['dynamodb:DeleteTable', 'dynamodb:PutItem', 'dynamodb:Scan', 'dynamodb:RestoreTableToPointInTime'],
      [t.table],
    ),
    ...each(['dynamodb:UpdateContinuousBackups'], [t.table]),
    // Another table's chain and everything of the replica.
    ...each(
      ['dynamodb:ExportTableToPointInTime', 'dynamodb:DescribeContinuousBackups'],
      [other.table, ELSEWHERE.otherTable],
    ),
    ...each(
      ['ssm:GetParameters', 'ssm:PutParameter'],
      [other.state, other.lock, COPY.state, COPY.action, ELSEWHERE.otherParameter],
    ),
    ...each(['s3:PutObject', 's3:GetObject'], [other.chainCurrent]),
    ...each(['sns:Publish'], [other.topic]),
    ...each(['kms:GenerateDataKey', 'kms:Decrypt'], [other.topicKey]),
    ...each(['kms:ScheduleKeyDeletion', 'kms:PutKeyPolicy', 'kms:DisableKey'], [t.topicKey]),
    ...each(['dynamodb:BatchWriteItem'], [COPY.target]),
    ...each(['lambda:InvokeFunction'], [t.tick]),
  ];
}

interface RoleReach {
  must: Reach[];
  mustNot: Reach[];
}

/** Deployed role name -> what it must and must not reach. */
const ROLES: Record<string, RoleReach> = {
  'dev-orders-export-tick': {
    // ExportTableToPointInTime writes SSE-KMS export files with the caller's permissions.
    must: [...tickMust(ORDERS), ...each(['kms:GenerateDataKey', 'kms:Decrypt'], [ORDERS_KEY])],
    mustNot: [
      ...tickMustNot(ORDERS, INVOICES),
      ...each(['kms:GenerateDataKey', 'kms:Decrypt'], [ELSEWHERE.otherKey]),
    ],
  },
  'dev-invoices-export-tick': {
    must: tickMust(INVOICES),
    // invoices has no key: orders' key is not its.
    mustNot: [
      ...tickMustNot(INVOICES, ORDERS),
      ...each(['kms:GenerateDataKey', 'kms:Decrypt'], [ORDERS_KEY]),
    ],
  },
  'dev-orders-states': {
    must: [...each(['lambda:InvokeFunction'], [ORDERS.tick]), ...LOG_DELIVERY],
    mustNot: [
      ...each(['lambda:InvokeFunction'], [INVOICES.tick, COPY.apply]),
      ...each(['states:StartExecution'], [ORDERS.machine]),
      ...each(['ssm:PutParameter'], [ORDERS.state]),
    ],
  },
  'dev-invoices-states': {
    must: [...each(['lambda:InvokeFunction'], [INVOICES.tick]), ...LOG_DELIVERY],
    mustNot: each(['lambda:InvokeFunction'], [ORDERS.tick]),
  },
  'dev-orders-scheduler': {
    must: each(['states:StartExecution'], [ORDERS.machine]),
    mustNot: each(['states:StartExecution'], [INVOICES.machine, COPY.machine]),
  },
  'dev-invoices-scheduler': {
    must: each(['states:StartExecution'], [INVOICES.machine]),
    mustNot: each(['states:StartExecution'], [ORDERS.machine]),
  },
  // The replica's apply Lambda: reads the chain, writes its own target and its own parameters.
  'dev-orders-orders-copy-apply-role': {
    must: [
      ...each(['s3:GetObject'], [ORDERS.chainCurrent, ORDERS.chainEntry, ORDERS.runFailures]),
      ...each(['s3:GetObject'], [ORDERS.exportSummary, ORDERS.exportData]),
      ...each(['s3:ListBucket'], [ORDERS.bucket], { 's3:prefix': 'orders/chain/' }),
      ...each(['s3:ListBucket'], [ORDERS.bucket], { 's3:prefix': 'orders/AWSDynamoDB/data/abcdef.json.gz' }),
      ...each(['ssm:GetParameters'], [COPY.state, COPY.action, COPY.lock, COPY.lockMarker]),
      ...each(['ssm:PutParameter'], [COPY.state, COPY.lock, COPY.lockMarker]),
      ...each(['ssm:DeleteParameter'], [COPY.lock, COPY.lockMarker]),
      ...each(['sns:Publish'], [ORDERS.topic]),
      ...each(['kms:GenerateDataKey', 'kms:Decrypt'], [ORDERS.topicKey]),
      ...each(['dynamodb:DescribeTable', 'dynamodb:Scan', 'dynamodb:BatchWriteItem'], [COPY.target]),
      // It reads the SSE-KMS export files.
      ...each(['kms:Decrypt'], [ORDERS_KEY]),
      // The source's key schema is compared with the target's.
      ...each(['dynamodb:DescribeTable'], [ORDERS.table]),
      // Whether the execution that left a claim has ended.
      ...each(['states:DescribeExecution'], [COPY.execution]),
      ...each(['logs:CreateLogStream', 'logs:PutLogEvents'], [COPY.applyLogs]),
    ],
    mustNot: [
      // The chain is the export tick's: the replica never writes it, nor the export files.
      ...each(
        ['s3:PutObject', 's3:DeleteObject'],
        [ORDERS.chainCurrent, ORDERS.chainEntry, ORDERS.exportData],
      ),
      ...each(['s3:GetObject'], [ORDERS.beside, INVOICES.chainCurrent]),
      ...each(['s3:ListBucket'], [ORDERS.bucket], { 's3:prefix': '' }),
      ...each(['s3:ListBucket'], [ORDERS.bucket], { 's3:prefix': 'invoices/chain/' }),
      // The operator's action parameter is read, never written; the state is never deleted.
      ...each(['ssm:PutParameter', 'ssm:DeleteParameter'], [COPY.action]),
      ...each(['ssm:DeleteParameter'], [COPY.state]),
      // The chain's own parameters.
      ...each(
        ['ssm:GetParameters', 'ssm:PutParameter', 'ssm:DeleteParameter'],
        [ORDERS.state, ORDERS.lock, ORDERS.action],
      ),
      // Never the source table, nor any table but its target.
      ...each(
        ['dynamodb:BatchWriteItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:Scan'],
        [ORDERS.table],
      ),
      ...each(['dynamodb:BatchWriteItem', 'dynamodb:DescribeTable'], [INVOICES.table, ELSEWHERE.otherTable]),
      ...each(['dynamodb:DeleteTable', 'dynamodb:ImportTable', 'dynamodb:CreateTable'], [COPY.target]),
      ...each(['dynamodb:ExportTableToPointInTime'], [ORDERS.table]),
      ...each(['states:StartExecution', 'states:StopExecution'], [COPY.machine, COPY.execution, COPY.child]),
      ...each(['sns:Publish'], [INVOICES.topic]),
      ...each(['kms:GenerateDataKey', 'kms:Decrypt'], [INVOICES.topicKey]),
      // It reads the exports, never writes them.
      ...each(['kms:GenerateDataKey'], [ORDERS_KEY]),
      ...each(['kms:Decrypt'], [ELSEWHERE.otherKey]),
      ...each(['sts:AssumeRole'], ['arn:aws:iam::210987654321:role/dce-replica-writer']),
    ],
  },
  // The replica's state machine: invokes its apply function, reads manifests, runs its Map children.
  'dev-orders-orders-copy-replica-role': {
    must: [
      ...each(['lambda:InvokeFunction'], [COPY.apply]),
      ...each(['s3:GetObject'], [ORDERS.exportSummary, ORDERS.exportData]),
      // The manifests it reads (and ImportTable's reads, with its permissions) are SSE-KMS.
      ...each(['kms:Decrypt'], [ORDERS_KEY]),
      ...each(['states:StartExecution'], [COPY.machine]),
      ...each(['states:DescribeExecution', 'states:StopExecution'], [COPY.child]),
      ...LOG_DELIVERY,
    ],
    mustNot: [
      ...each(['lambda:InvokeFunction'], [ORDERS.tick]),
      ...each(['s3:GetObject', 's3:PutObject'], [ORDERS.chainCurrent, ORDERS.beside]),
      ...each(['states:StartExecution'], [ORDERS.machine]),
      ...each(['states:StopExecution'], [COPY.execution]),
      ...each(['dynamodb:BatchWriteItem'], [COPY.target]),
    ],
  },
  'dev-orders-orders-copy-sched-role': {
    must: each(['states:StartExecution'], [COPY.machine]),
    mustNot: each(['states:StartExecution'], [ORDERS.machine]),
  },
  // The Iceberg feed's plan Lambda: reads the chain, writes symlink files and its own cursor and lease,
  // reads the operator's action; it runs no query.
  'dev-orders-iceberg-plan-role': {
    must: [
      ...each(['s3:GetObject'], [ORDERS.chainCurrent, ORDERS.chainEntry, ORDERS.runFailures]),
      ...each(['s3:GetObject'], [ORDERS.exportSummary, ORDERS.exportData]),
      ...each(['s3:ListBucket'], [ORDERS.bucket], { 's3:prefix': 'orders/chain/' }),
      ...each(['s3:PutObject'], [ICEBERG.symlink, ICEBERG.lakeData]),
      ...each(['ssm:GetParameters'], [ICEBERG.state, ICEBERG.action, ICEBERG.lock, ICEBERG.lockMarker]),
      ...each(['ssm:PutParameter'], [ICEBERG.state, ICEBERG.lock, ICEBERG.lockMarker]),
      ...each(['ssm:DeleteParameter'], [ICEBERG.lock, ICEBERG.lockMarker]),
      ...each(['sns:Publish'], [ORDERS.topic]),
      ...each(['kms:GenerateDataKey', 'kms:Decrypt'], [ORDERS.topicKey]),
      // The export bucket is SSE-KMS: the symlink files it writes are encrypted, the manifests it reads decrypted.
      ...each(['kms:GenerateDataKey', 'kms:Decrypt'], [ORDERS_KEY]),
      ...each(['logs:CreateLogStream', 'logs:PutLogEvents'], [ICEBERG.planLogs]),
    ],
    mustNot: [
      // The operator's action parameter is read, never written; the cursor is never deleted.
      ...each(['ssm:PutParameter', 'ssm:DeleteParameter'], [ICEBERG.action]),
      ...each(['ssm:DeleteParameter'], [ICEBERG.state]),
      // The chain, its parameters and the replica's are not the feed's.
      ...each(
        ['s3:PutObject', 's3:DeleteObject'],
        [ORDERS.chainCurrent, ORDERS.chainEntry, ORDERS.exportData],
      ),
      ...each(
        ['ssm:GetParameters', 'ssm:PutParameter'],
        [ORDERS.state, ORDERS.action, COPY.state, COPY.action],
      ),
      ...each(['s3:ListBucket'], [ORDERS.bucket], { 's3:prefix': '' }),
      ...each(['sns:Publish'], [INVOICES.topic]),
      // Athena runs with the state machine's role, never the Lambda's.
      ...each(['athena:StartQueryExecution'], [ICEBERG.workGroup]),
      ...each(['glue:CreateTable', 'glue:DeleteTable'], [ICEBERG.lakeTable]),
      ...each(['states:StartExecution'], [ICEBERG.machine]),
      ...each(['kms:GenerateDataKey', 'kms:Decrypt'], [ELSEWHERE.otherKey]),
    ],
  },
  // The feed's state machine: invokes its Lambda and runs Athena, which reads the exports through the
  // symlinks and writes the lake and its results with this role.
  'dev-orders-iceberg-states-role': {
    must: [
      ...each(['lambda:InvokeFunction'], [ICEBERG.plan]),
      ...each(
        [
          'athena:StartQueryExecution',
          'athena:GetQueryExecution',
          'athena:StopQueryExecution',
          'athena:GetWorkGroup',
        ],
        [ICEBERG.workGroup],
      ),
      // GetDatabase acts on the catalog and databases; the table calls on the catalog, the database and the table.
      ...each(['glue:GetDatabase'], [ICEBERG.catalog, ICEBERG.lakeDatabase, ICEBERG.stagingDatabase]),
      ...each(
        ['glue:GetTable', 'glue:GetPartitions', 'glue:CreateTable', 'glue:UpdateTable', 'glue:DeleteTable'],
        [
          ICEBERG.catalog,
          ICEBERG.lakeDatabase,
          ICEBERG.stagingDatabase,
          ICEBERG.lakeTable,
          ICEBERG.stagingTable,
        ],
      ),
      ...each(['s3:GetObject'], [ORDERS.exportSummary, ORDERS.exportData]),
      ...each(['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], [ICEBERG.symlink, ICEBERG.lakeData]),
      ...each(['s3:ListBucket', 's3:GetBucketLocation'], [ORDERS.bucket]),
      ...each(['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload'], [ICEBERG.result]),
      ...each(['s3:ListBucket', 's3:GetBucketLocation'], [ICEBERG.resultsBucket]),
      // It creates the Glue table optimizers of each table it creates, run as the optimizer role.
      ...each(['glue:CreateTableOptimizer'], [ICEBERG.catalog, ICEBERG.lakeDatabase, ICEBERG.lakeTable]),
      ...each(['iam:PassRole'], [ICEBERG.optimizerRole], { 'iam:PassedToService': 'glue.amazonaws.com' }),
      // Athena runs with this role: it decrypts the SSE-KMS exports and lake files, and encrypts the
      // lake's new data and metadata files in that bucket.
      ...each(['kms:Decrypt', 'kms:GenerateDataKey'], [ORDERS_KEY]),
    ],
    mustNot: [
      ...each(['kms:Decrypt', 'kms:GenerateDataKey'], [ELSEWHERE.otherKey]),
      ...each(['kms:ScheduleKeyDeletion', 'kms:PutKeyPolicy'], [ORDERS_KEY]),
      ...each(['glue:CreateTableOptimizer'], [ICEBERG.stagingTable, ICEBERG.otherTable]),
      ...each(['iam:PassRole'], [ICEBERG.optimizerRole], { 'iam:PassedToService': 'lambda.amazonaws.com' }),
      ...each(['lambda:InvokeFunction'], [ORDERS.tick, COPY.apply]),
      ...each(
        ['s3:PutObject', 's3:DeleteObject'],
        [ORDERS.chainCurrent, ORDERS.chainEntry, ORDERS.exportData],
      ),
      ...each(['ssm:PutParameter', 'ssm:GetParameters'], [ICEBERG.state, ICEBERG.action]),
      ...each(['glue:DeleteTable', 'glue:CreateTable'], [ICEBERG.otherTable]),
      ...each(['dynamodb:ExportTableToPointInTime'], [ORDERS.table]),
    ],
  },
  // The role Glue runs the lake tables' optimizers as: rewrites and expires the lake's files, commits
  // the tables' metadata, logs its runs; nothing of the chain, the staging side or another table.
  'dev-orders-iceberg-optimizer-role': {
    must: [
      ...each(['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], [ICEBERG.lakeData]),
      ...each(['s3:ListBucket'], [ORDERS.bucket]),
      ...each(
        ['glue:GetTable', 'glue:UpdateTable'],
        [ICEBERG.catalog, ICEBERG.lakeDatabase, ICEBERG.lakeTable],
      ),
      ...each(['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'], ICEBERG.optimizerLogs),
      // The lake's files it rewrites are SSE-KMS in the export bucket.
      ...each(['kms:Decrypt', 'kms:GenerateDataKey'], [ORDERS_KEY]),
    ],
    mustNot: [
      ...each(['kms:Decrypt', 'kms:GenerateDataKey'], [ELSEWHERE.otherKey]),
      ...each(
        ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
        [ORDERS.chainCurrent, ORDERS.exportData, ICEBERG.symlink],
      ),
      ...each(['glue:UpdateTable', 'glue:DeleteTable'], [ICEBERG.stagingTable, ICEBERG.otherTable]),
      ...each(['iam:PassRole'], [ICEBERG.optimizerRole], { 'iam:PassedToService': 'glue.amazonaws.com' }),
      ...each(['logs:PutLogEvents'], [ORDERS.tickLogs]),
    ],
  },
  'dev-orders-iceberg-scheduler-role': {
    must: each(['states:StartExecution'], [ICEBERG.machine]),
    mustNot: each(['states:StartExecution'], [ORDERS.machine, COPY.machine]),
  },
};

const key = (r: Reach) => `${r.action} on ${r.resource}${r.context ? ` ${JSON.stringify(r.context)}` : ''}`;

describe('deployed roles reach exactly what they are for (a hand-written table, not the action list)', function () {
  this.timeout(120_000);
  let run: ProgramRun;
  const policyOfRole = (role: string): Policy => {
    // A RolePolicy names its role by name, or by id (the name and `-id` under the mocks).
    const found = ofType(run.resources, 'aws:iam/rolePolicy:RolePolicy').filter(
      (p) => p.inputs.role === role || p.inputs.role === `${role}-id`,
    );
    expect(found, `one policy for ${role}`).to.have.length(1);
    return policyOf(found[0].inputs.policy);
  };

  before(async () => {
    run = await runProgram(CONFIG, 'dev');
  });

  it('every deployed role is in the table', () => {
    const roles = ofType(run.resources, 'aws:iam/role:Role').map((r) => r.inputs.name);
    expect(roles.sort()).to.deep.equal(Object.keys(ROLES).sort());
  });

  for (const [role, reach] of Object.entries(ROLES)) {
    describe(role, () => {
      it('reaches everything it must', async () => {
        const policy = policyOfRole(role);
        const denied: string[] = [];
        for (const r of reach.must)
          if (!(await allows(policy, r.action, r.resource, r.context))) denied.push(key(r));
        expect(denied).to.deep.equal([]);
      });

      it('reaches nothing it must not', async () => {
        const policy = policyOfRole(role);
        const allowed: string[] = [];
        for (const r of reach.mustNot)
          if (await allows(policy, r.action, r.resource, r.context)) allowed.push(key(r));
        expect(allowed).to.deep.equal([]);
      });

      it('names no action the table does not give it', () => {
        const wanted = new Set(reach.must.map((r) => r.action));
        const named = policyOfRole(role).Statement.flatMap((s: any) => s.Action as string[]);
        expect(named.filter((a: string) => !wanted.has(a))).to.deep.equal([]);
      });

      it('on every resource of the stack, each of its actions is allowed exactly where the table says', async () => {
        const policy = policyOfRole(role);
        const actions = new Set([
          ...reach.must.map((r) => r.action),
          ...reach.mustNot.map((r) => r.action),
          ...policy.Statement.flatMap((s: any) => s.Action as string[]),
        ]);
        const expected = new Set(reach.must.filter((r) => !r.context).map(key));
        const wrong: string[] = [];
        for (const action of actions) {
          for (const resource of CATALOG) {
            const r = { action, resource };
            const allowed = await allows(policy, action, resource);
            if (allowed !== expected.has(key(r))) wrong.push(`${allowed ? 'allowed' : 'denied'}: ${key(r)}`);
          }
        }
        expect(wrong).to.deep.equal([]);
      });
    });
  }
});
