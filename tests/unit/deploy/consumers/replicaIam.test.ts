import { expect } from 'chai';
import { testReplicaSettings } from '../../../helpers/replicaSettings';
import {
  BatchWriteItemCommand,
  DescribeImportCommand,
  DescribeTableCommand,
  ImportConflictException,
  ImportTableCommand,
  ListImportsCommand,
  ScanCommand,
  type ImportTableInput,
} from '@aws-sdk/client-dynamodb';
import { CallLog } from '../../../../sim/fakeAws/service';
import { FakeSSM } from '../../../../sim/fakeAws/ssm';
import {
  replicaLambdaPolicy,
  replicaTargetRoleDocuments,
  type ReplicaResourceFacts,
} from '../../../../components/permissions';
import { REPLICA_SDK_CALLS } from '../../../../functions/shared/awsActions';
import { createReplicaHandler, type PlanOutput } from '../../../../functions/replica/apply';
import type { ReplicaSettings } from '../../../../functions/replica/settings';
import { initialReplicaParameterValues } from '../../../../functions/replica/action';
import { replicaActionParameterName } from '../../../../functions/shared/names';
import { getText } from '../../../../format/s3io';
import {
  generateWorkload,
  WORKLOAD_KEY_SCHEMA,
  WORKLOAD_ATTRIBUTE_DEFINITIONS,
} from '../../../../sim/workload';
import { MemoryS3, contiguousWindows, writeChain } from '../../../helpers/exportChain';
import { planItems, runChild } from '../../../helpers/replicaChildren';
import { iamRequestsOf, type CallScope, type IamRequest } from '../../../../sim/iam/requests';
import { allows, deniedRequests, roleWith, type Policy } from '../../../helpers/iamDecisions';

const REGION = 'eu-west-1';
const ACCOUNT = '123456789012';
const BUCKET = 'exports';
const PREFIX = 'dynamodb/orders';
const PARAMETER = '/dynamodb-continuous-exports/dev/orders/replicas/copy/state';
const ACTION_PARAMETER = replicaActionParameterName(PARAMETER);
const TOPIC = `arn:aws:sns:${REGION}:${ACCOUNT}:dev-orders-notifications`;
const SETTINGS = testReplicaSettings({
  bucket: BUCKET,
  prefix: PREFIX,
  stateParameterName: PARAMETER,
  notificationTopicArn: TOPIC,
});

const SCOPE: CallScope = { partition: 'aws', region: REGION, account: ACCOUNT };

/** One AWS call as IAM sees it: the SDK command and the requests IAM evaluates for it. */
interface Call {
  command: string;
  requests: IamRequest[];
}

/** `command`, sent to `service` by a client in this account and Region, as IAM evaluates it. */
function call(service: string, command: object): Call {
  return { command: command.constructor.name, requests: iamRequestsOf(service, command, SCOPE) };
}

/** The requests of `calls` that `policy` refuses, each named with its command; empty when all are allowed. */
async function deniedCalls(policy: Policy, calls: Call[], account = ACCOUNT): Promise<string[]> {
  const role = roleWith(policy, account);
  const denied: string[] = [];
  for (const c of calls)
    for (const d of await deniedRequests(role, c.requests)) denied.push(`${c.command}: ${d}`);
  return denied;
}

/**
 * A chain of three windows in memory (`seed` picks the workload), the replica's parameters (`state`
 * or the initial state), and S3, SSM and SNS clients that record each call as IAM sees it.
 */
async function recordingAccount(calls: Call[], seed: number, state?: object) {
  const s3 = new MemoryS3();
  const start = Date.UTC(2026, 10, 3, 1) / 1000;
  const source = generateWorkload({
    from: start - 3600,
    to: start + 3 * 900,
    writesPerMinute: 6,
    seed,
    keySpace: 40,
  });
  const chain = await writeChain({
    s3,
    bucket: BUCKET,
    prefix: PREFIX,
    table: source,
    start,
    windows: contiguousWindows(start, 900, 3),
    sink: { itemsPerFile: 10 },
  });
  const recordingS3 = {
    send: async (c: any) => {
      calls.push(call('s3', c));
      return s3.send(c);
    },
  };
  const memorySsm = new FakeSSM(new CallLog(), () => Date.now(), REGION, ACCOUNT);
  const initial = initialReplicaParameterValues();
  memorySsm.set(PARAMETER, state ? JSON.stringify(state) : initial.state);
  memorySsm.set(ACTION_PARAMETER, initial.action);
  const ssm = {
    send: async (c: any) => {
      calls.push(call('ssm', c));
      return memorySsm.send(c);
    },
  };
  const sns = {
    send: async (c: any) => void calls.push(call('sns', c)),
  };
  return { s3, chain, recordingS3, memorySsm, ssm, sns };
}

interface ImportRun {
  calls: Call[];
  /** The ImportTable request: DynamoDB reads its S3 source with the caller's permissions. */
  request: ImportTableInput;
  /** A data file of the full export, as ImportTable reads it. */
  dataFileKey: string;
}

/**
 * An `import` replica from its first plan until it has applied the chain, every AWS call recorded.
 * ImportTable is answered ImportConflictException (as to a retry after a crash), so the run also
 * looks the import up (DescribeTable, ListImports); DescribeImport answers IN_PROGRESS, then COMPLETED.
 */
async function recordImportRun(targetTable: string): Promise<ImportRun> {
  const calls: Call[] = [];
  const { s3, chain, recordingS3, ssm, sns } = await recordingAccount(calls, 4);
  const tableArn = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${targetTable}`;
  const importArn = `${tableArn}/import/01764000000000-abcd1234`;
  const keys = {
    KeySchema: WORKLOAD_KEY_SCHEMA,
  };
  let request: ImportTableInput | undefined;
  let described = 0;
  const target = {
    send: async (c: any) => {
      calls.push(call('dynamodb', c));
      if (c instanceof ImportTableCommand) {
        request = c.input;
        throw new ImportConflictException({ message: 'token in use', $metadata: {} });
      }
      if (c instanceof DescribeTableCommand) return { Table: { ...keys, TableArn: tableArn } };
      if (c instanceof ListImportsCommand)
        return { ImportSummaryList: [{ ImportArn: importArn, S3BucketSource: request!.S3BucketSource }] };
      if (c instanceof DescribeImportCommand)
        return {
          ImportTableDescription: {
            ImportArn: importArn,
            ImportStatus: ++described < 2 ? 'IN_PROGRESS' : 'COMPLETED',
            ImportedItemCount: chain.entries[0].entry.itemCount,
          },
        };
      return {};
    },
  };
  const sourceDynamoDb = {
    send: async (c: any) => {
      calls.push(call('dynamodb', c));
      return {
        Table: {
          ...keys,
          AttributeDefinitions: WORKLOAD_ATTRIBUTE_DEFINITIONS,
        },
      };
    },
  };
  const handler = createReplicaHandler(
    { ...SETTINGS, targetTableName: targetTable, bootstrap: 'import' },
    { s3: recordingS3, ssm, sns, target, source: sourceDynamoDb as any },
    { log: () => undefined, info: () => undefined },
  );
  for (let i = 0; i < 10; i++) {
    const plan = (await handler({ step: 'plan', executionId: `e${i}` })) as PlanOutput;
    if (plan.action === 'APPLY_GROUP')
      await handler({ step: 'applyGroup', executionId: `e${i}`, epoch: plan.epoch!, entries: plan.entries! });
  }
  const full = await getText(
    s3,
    BUCKET,
    chain.entries[0].entry.manifestSummaryKey.replace('manifest-summary.json', 'manifest-files.json'),
  );
  return { calls, request: request!, dataFileKey: JSON.parse(full.split('\n')[0]).dataFileS3Key };
}

describe('replica IAM covers exactly the calls its code makes (recorded from a run)', () => {
  const calls: Call[] = [];
  const targetTable = 'orders-copy';
  let importRun: ImportRun;
  before(async () => {
    importRun = await recordImportRun(targetTable);
  });

  before(async () => {
    // A claim left by an execution that failed: the first plan asks Step Functions about it.
    const failedExecution = `arn:aws:states:${REGION}:${ACCOUNT}:execution:dev-orders-copy-replica:failed-one`;
    const { s3, chain, recordingS3, memorySsm, ssm, sns } = await recordingAccount(calls, 3, {
      ...JSON.parse(initialReplicaParameterValues().state),
      inProgress: {
        executionId: failedExecution,
        sequences: [0],
        mode: 'distributed',
        startedAt: new Date().toISOString(),
      },
    });
    const states = {
      send: async (c: any) => {
        calls.push(call('states', c));
        return { executionArn: c.input.executionArn, status: 'FAILED' };
      },
    };
    const target = {
      send: async (c: any) => {
        calls.push(call('dynamodb', c));
        if (c instanceof DescribeTableCommand)
          return {
            Table: {
              KeySchema: WORKLOAD_KEY_SCHEMA,
            },
          };
        return {};
      },
    };
    // DescribeTable of the source, whose key schema the target's is checked against before a write.
    const source = {
      send: async (c: any) => {
        calls.push(call('dynamodb', c));
        return {
          Table: { KeySchema: WORKLOAD_KEY_SCHEMA, AttributeDefinitions: WORKLOAD_ATTRIBUTE_DEFINITIONS },
        };
      },
    };
    const settings: ReplicaSettings = { ...SETTINGS, targetTableName: targetTable };
    const handler = createReplicaHandler(
      settings,
      { s3: recordingS3, ssm, sns, target, states, source },
      { log: () => undefined, info: () => undefined, limits: { distributedMinItems: 30 } },
    );
    // Every step: plans, grouped applies, Distributed Map children and commits, then a failed entry
    // whose data file is gone (checked with HeadObject) and the halt alert.
    const dataFileOf = async (entry: any) =>
      JSON.parse(
        (
          await getText(
            s3,
            BUCKET,
            entry.manifestSummaryKey.replace('manifest-summary.json', 'manifest-files.json'),
          )
        ).split('\n')[0],
      ).dataFileS3Key as string;
    const gone = await dataFileOf(chain.entries[3].entry);
    for (let i = 0; i < 20; i++) {
      const plan = (await handler({ step: 'plan', executionId: 'e' })) as PlanOutput;
      if (plan.action === 'APPLY_GROUP')
        await handler({ step: 'applyGroup', executionId: 'e', epoch: plan.epoch!, entries: plan.entries! });
      else if (plan.action === 'APPLY_DISTRIBUTED') {
        if (plan.entry!.sequence === 3) {
          s3.objects.delete(`${BUCKET}/${gone}`);
          await handler({
            step: 'checkFailedEntry',
            executionId: 'e',
            epoch: plan.epoch!,
            entry: plan.entry!,
          });
          // The operator rebuilds the halted replica: the next plan carries it out and bootstraps.
          memorySsm.set(ACTION_PARAMETER, 'REBUILD');
          expect(((await handler({ step: 'plan', executionId: 'e' })) as PlanOutput).action).to.match(
            /^APPLY_/,
          );
          break;
        }
        await runChild(handler, await planItems(s3, plan));
        await handler({ step: 'commit', executionId: 'e', epoch: plan.epoch!, entry: plan.entry! });
      } else break;
    }
  });

  const facts = (roleArn?: string, bootstrap?: 'write' | 'import'): ReplicaResourceFacts => ({
    partition: 'aws',
    region: REGION,
    accountId: ACCOUNT,
    bucket: BUCKET,
    prefix: PREFIX,
    stateParameterName: PARAMETER,
    notificationTopicArn: TOPIC,
    functionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:dev-orders-copy-apply`,
    stateMachineName: 'dev-orders-copy-replica',
    targetTableName: targetTable,
    roleArn,
    bootstrap,
    sourceTableName: 'orders',
  });

  it('the runs made every kind of call the action list names (AssumeRole is made by the credential provider, with a role)', () => {
    const made = new Set([...calls, ...importRun.calls].map((c) => c.command));
    expect([...made, 'AssumeRoleCommand'].sort()).to.deep.equal(Object.keys(REPLICA_SDK_CALLS).sort());
  });

  const logGroup = `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/aws/lambda/x`;
  const tableIn = (region: string, account: string, name: string) =>
    `arn:aws:dynamodb:${region}:${account}:table/${name}`;

  it('the apply role allows each recorded call on exactly the resource it touched', async () => {
    const policy = replicaLambdaPolicy(facts(), logGroup);
    expect(calls.length).to.be.greaterThan(0);
    expect(await deniedCalls(policy, calls)).to.deep.equal([]);
  });

  it('the apply role allows nothing else: each action is one a recorded call needs, on no other table or prefix', async () => {
    const policy = replicaLambdaPolicy(facts(), logGroup);
    const needed = new Set(calls.flatMap((c) => REPLICA_SDK_CALLS[c.command].flatMap((g) => g.actions)));
    for (const s of policy.Statement)
      for (const a of s.Action) if (!a.startsWith('logs:')) expect(needed, a).to.include(a);
    const orders = tableIn(REGION, ACCOUNT, 'orders');
    expect(await allows(policy, 'dynamodb:BatchWriteItem', orders)).to.equal(false);
    const otherChain = `arn:aws:s3:::${BUCKET}/dynamodb/other/chain/CURRENT.json`;
    expect(await allows(policy, 's3:GetObject', otherChain)).to.equal(false);
    const listing = (prefix: string) =>
      allows(policy, 's3:ListBucket', `arn:aws:s3:::${BUCKET}`, { 's3:prefix': prefix });
    expect(await listing(`${PREFIX}/chain/`)).to.equal(true);
    expect(await listing('dynamodb/other/chain/')).to.equal(false);
    expect(policy.Statement.some((s: any) => s.Action.includes('sts:AssumeRole'))).to.equal(false);
  });

  it('the apply role reads the action parameter and cannot write it; the run never tried to', async () => {
    const policy = replicaLambdaPolicy(facts(), logGroup);
    const arn = `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter${ACTION_PARAMETER}`;
    const touches = (c: Call) => c.requests.some((r) => r.resource === arn);
    expect(calls.some((c) => c.command === 'GetParametersCommand' && touches(c))).to.equal(true);
    expect(calls.filter((c) => c.command !== 'GetParametersCommand' && touches(c))).to.deep.equal([]);
    expect(await allows(policy, 'ssm:GetParameters', arn)).to.equal(true);
    for (const write of ['ssm:PutParameter', 'ssm:DeleteParameter'])
      expect(await allows(policy, write, arn), write).to.equal(false);
    // and the state parameter stays writable, by the Lambda alone
    const state = `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter${PARAMETER}`;
    expect(await allows(policy, 'ssm:PutParameter', state)).to.equal(true);
  });

  it('with a target role: sts:AssumeRole on that role only, and the table grants move to the role (the source DescribeTable stays)', () => {
    const role = 'arn:aws:iam::210987654321:role/dce-replica-writer';
    const policy = replicaLambdaPolicy(facts(role), logGroup);
    const assume = policy.Statement.filter((s: any) => s.Action.includes('sts:AssumeRole'));
    expect(assume).to.have.length(1);
    expect(assume[0].Resource).to.deep.equal([role]);
    expect(
      policy.Statement.filter((s: any) => s.Action.some((a: string) => a.startsWith('dynamodb:'))).map(
        (s: any) => [s.Action, s.Resource],
      ),
    ).to.deep.equal([[['dynamodb:DescribeTable'], [tableIn(REGION, ACCOUNT, 'orders')]]]);
  });

  /** What ImportTable itself reads, with its caller's permissions: a data file and the data folder listing. */
  const importReads = (): IamRequest[] => [
    { action: 's3:GetObject', resource: `arn:aws:s3:::${BUCKET}/${importRun.dataFileKey}` },
    {
      action: 's3:ListBucket',
      resource: `arn:aws:s3:::${BUCKET}`,
      context: { 's3:prefix': importRun.request.S3BucketSource!.S3KeyPrefix! },
    },
  ];

  it('the import run made the import calls, and ImportTable read the full export data folder', () => {
    const made = new Set(importRun.calls.map((c) => c.command));
    for (const c of [
      'ImportTableCommand',
      'DescribeImportCommand',
      'ListImportsCommand',
      'BatchWriteItemCommand',
    ])
      expect(made, c).to.include(c);
    expect(importRun.calls.filter((c) => c.command === 'ImportTableCommand')).to.have.length(1);
    expect(importRun.dataFileKey.startsWith(importRun.request.S3BucketSource!.S3KeyPrefix!)).to.equal(true);
  });

  it('an import replica: its role allows each recorded call, and what ImportTable reads', async () => {
    const policy = replicaLambdaPolicy(facts(undefined, 'import'), logGroup);
    // ImportTable's requests include its S3 reads and its log group (sim/iam/requests.ts).
    expect(await deniedCalls(policy, importRun.calls)).to.deep.equal([]);
    expect(await deniedRequests(roleWith(policy), importReads())).to.deep.equal([]);
    const importLogs = `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/aws-dynamodb/imports`;
    expect(await allows(policy, 'logs:CreateLogGroup', importLogs)).to.equal(true);
  });

  it('an import replica: nothing else, and no import grant for a write replica (both describe the source)', async () => {
    const policy = replicaLambdaPolicy(facts(undefined, 'import'), logGroup);
    // Both runs: the halt alert (Publish) and the file checks are recorded in the write run. Scan is
    // granted to every replica (the grants are per call), though only a write bootstrap makes it.
    const needed = new Set(
      [...importRun.calls, ...calls].flatMap((c) => REPLICA_SDK_CALLS[c.command].flatMap((g) => g.actions)),
    );
    for (const s of policy.Statement)
      for (const a of s.Action) if (!a.startsWith('logs:')) expect(needed, a).to.include(a);
    // DescribeTable of the source, ImportTable on the target only: not on other tables.
    const orders = tableIn(REGION, ACCOUNT, 'orders');
    expect(await allows(policy, 'dynamodb:DescribeTable', orders)).to.equal(true);
    expect(await allows(policy, 'dynamodb:ImportTable', orders)).to.equal(false);
    const otherExports = { 's3:prefix': 'dynamodb/other/AWSDynamoDB/' };
    expect(await allows(policy, 's3:ListBucket', `arn:aws:s3:::${BUCKET}`, otherExports)).to.equal(false);
    const write = replicaLambdaPolicy(facts(), logGroup);
    const importOnly = [
      'dynamodb:ImportTable',
      'dynamodb:DescribeImport',
      'dynamodb:ListImports',
      'dynamodb:CreateTable',
    ];
    for (const s of write.Statement) for (const a of importOnly) expect(s.Action, s.Sid).to.not.include(a);
    // Every replica describes the source before it writes: the target's key schema must be the source's.
    expect(await allows(write, 'dynamodb:DescribeTable', orders)).to.equal(true);
    expect(await allows(write, 'dynamodb:DescribeTable', tableIn(REGION, ACCOUNT, 'other'))).to.equal(false);
  });

  const TARGET_ROLE = 'arn:aws:iam::210987654321:role/dce-replica-writer';
  const TARGET: CallScope = { partition: 'aws', region: 'us-east-1', account: '210987654321' };

  it('an import replica with a target role: the target side moves to the role, the source DescribeTable stays', async () => {
    const f = { ...facts(TARGET_ROLE, 'import'), targetRegion: TARGET.region };
    const lambda = replicaLambdaPolicy(f, logGroup);
    const dynamodb = lambda.Statement.filter((s: any) =>
      s.Action.some((a: string) => a.startsWith('dynamodb:')),
    );
    expect(dynamodb.map((s: any) => [s.Action, s.Resource])).to.deep.equal([
      [['dynamodb:DescribeTable'], [tableIn(REGION, ACCOUNT, 'orders')]],
    ]);
    const rolePolicy = replicaTargetRoleDocuments(f, `arn:aws:iam::${ACCOUNT}:role/apply`).permissionsPolicy;
    // The recorded target calls, as they are made in the role's account and the target Region.
    const targetSide = new Set([
      'ImportTableCommand',
      'DescribeImportCommand',
      'ListImportsCommand',
      'BatchWriteItemCommand',
    ]);
    const here = `:${REGION}:${ACCOUNT}:`;
    const there = `:${TARGET.region}:${TARGET.account}:`;
    const moved = importRun.calls
      .filter(
        (c) =>
          targetSide.has(c.command) ||
          (c.command === 'DescribeTableCommand' && c.requests[0].resource.endsWith(`/${targetTable}`)),
      )
      .map((c) => ({
        ...c,
        requests: c.requests.map((r) => ({ ...r, resource: r.resource.replace(here, there) })),
      }));
    expect(moved.length).to.be.greaterThan(4);
    expect(await deniedCalls(rolePolicy, moved, TARGET.account)).to.deep.equal([]);
    expect(await deniedRequests(roleWith(rolePolicy, TARGET.account), importReads())).to.deep.equal([]);
    const stream = `arn:aws:logs:${TARGET.region}:${TARGET.account}:log-group:/aws-dynamodb/imports:log-stream:x`;
    expect(await allows(rolePolicy, 'logs:PutLogEvents', stream)).to.equal(true);
    // The write replica's role document is unchanged by the import grants.
    expect(
      replicaTargetRoleDocuments(facts(TARGET_ROLE), `arn:aws:iam::${ACCOUNT}:role/apply`).permissionsPolicy
        .Statement,
    ).to.have.length(1);
  });

  for (const bootstrap of ['write', 'import'] as const) {
    it(`cross-account, bootstrap ${bootstrap}: the target role the stack outputs may use its table only`, async () => {
      const f = { ...facts(TARGET_ROLE, bootstrap), targetRegion: TARGET.region };
      const { permissionsPolicy } = replicaTargetRoleDocuments(f, `arn:aws:iam::${ACCOUNT}:role/apply`);
      const role = roleWith(permissionsPolicy, TARGET.account, 'dce-replica-writer');
      const denied = (command: object, scope = TARGET) =>
        deniedRequests(role, iamRequestsOf('dynamodb', command, scope));
      const put = { PutRequest: { Item: { pk: { S: 'k' }, sk: { S: 's' } } } };
      const tableCalls = (name: string) => [
        new DescribeTableCommand({ TableName: name }),
        new ScanCommand({ TableName: name, Limit: 1 }),
        new BatchWriteItemCommand({ RequestItems: { [name]: [put] } }),
      ];
      const importOf = (name: string) =>
        new ImportTableCommand({
          ...importRun.request,
          TableCreationParameters: { ...importRun.request.TableCreationParameters!, TableName: name },
        });
      for (const c of tableCalls(targetTable)) expect(await denied(c), c.constructor.name).to.deep.equal([]);
      // The recorded ImportTable request, made by the target role: allowed only to an import replica.
      const imported = await denied(importOf(targetTable));
      if (bootstrap === 'import') expect(imported).to.deep.equal([]);
      else
        expect(imported).to.include(
          `dynamodb:ImportTable on ${tableIn(TARGET.region, TARGET.account, targetTable)}: ImplicitlyDenied`,
        );
      // Another table of the target account, and the same table name in another Region.
      const elsewhere = { ...TARGET, region: 'us-west-2' };
      for (const [name, scope] of [
        ['orders', TARGET],
        [targetTable, elsewhere],
      ] as const) {
        for (const c of tableCalls(name))
          expect(await denied(c, scope), `${c.constructor.name} ${scope.region} ${name}`).to.have.length(1);
        const table = tableIn(scope.region, TARGET.account, name);
        expect(await denied(importOf(name), scope)).to.include(
          `dynamodb:ImportTable on ${table}: ImplicitlyDenied`,
        );
      }
    });
  }
});
