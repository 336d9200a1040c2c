import { expect } from 'chai';
import { testReplicaSettings } from './helpers/replicaSettings';
import {
  BatchWriteItemCommand,
  DescribeImportCommand,
  DescribeTableCommand,
  ImportConflictException,
  ImportTableCommand,
  ListImportsCommand,
  type ImportTableInput,
} from '@aws-sdk/client-dynamodb';
import { GetParametersCommand } from '@aws-sdk/client-ssm';
import { CallLog } from '../sim/fakeAws/service';
import { FakeSSM } from '../sim/fakeAws/ssm';
import {
  replicaLambdaPolicy,
  replicaTargetRoleDocuments,
  type ReplicaResourceFacts,
} from '../components/permissions';
import { REPLICA_SDK_CALLS } from '../functions/awsActions';
import { createReplicaHandler, type DataFileItem, type PlanOutput } from '../functions/replicaApply';
import type { ReplicaSettings } from '../functions/replicaSettings';
import { initialReplicaParameterValues } from '../functions/replicaAction';
import { replicaActionParameterName } from '../functions/replicaSettings';
import { getText } from '../format/s3io';
import { generateWorkload, WORKLOAD_KEY_SCHEMA, WORKLOAD_ATTRIBUTE_DEFINITIONS } from '../sim/workload';
import { MemoryS3, contiguousWindows, writeChain } from './helpers/exportChain';

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

/** One AWS call as IAM sees it: the action's command and the ARN it touches. */
interface Call {
  command: string;
  arn: string;
  /** ListObjectsV2 only: the prefix listed (checked against the s3:prefix condition). */
  prefix?: string;
}

function iamMatch(pattern: string, value: string): boolean {
  return new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  ).test(value);
}

function allows(policy: any, action: string, call: Call): boolean {
  return policy.Statement.some((s: any) => {
    if (!s.Action.includes(action) || !s.Resource.some((r: string) => iamMatch(r, call.arn))) return false;
    const like = s.Condition?.StringLike?.['s3:prefix'];
    return !like || (call.prefix !== undefined && like.some((p: string) => iamMatch(p, call.prefix!)));
  });
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
      const name = c.constructor.name;
      if (name === 'ListObjectsV2Command')
        calls.push({ command: name, arn: `arn:aws:s3:::${c.input.Bucket}`, prefix: c.input.Prefix });
      else calls.push({ command: name, arn: `arn:aws:s3:::${c.input.Bucket}/${c.input.Key}` });
      return s3.send(c);
    },
  };
  const memorySsm = new FakeSSM(new CallLog(), () => Date.now(), REGION, ACCOUNT);
  const initial = initialReplicaParameterValues();
  memorySsm.set(PARAMETER, state ? JSON.stringify(state) : initial.state);
  memorySsm.set(ACTION_PARAMETER, initial.action);
  const ssm = {
    send: async (c: any) => {
      const names: string[] = c instanceof GetParametersCommand ? c.input.Names! : [c.input.Name];
      for (const n of names)
        calls.push({ command: c.constructor.name, arn: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter${n}` });
      return memorySsm.send(c);
    },
  };
  const sns = {
    send: async (c: any) => void calls.push({ command: c.constructor.name, arn: c.input.TopicArn }),
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
      const arn =
        c instanceof BatchWriteItemCommand
          ? `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${Object.keys(c.input.RequestItems!)[0]}`
          : c instanceof ImportTableCommand
            ? `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${c.input.TableCreationParameters!.TableName}`
            : c instanceof DescribeImportCommand
              ? c.input.ImportArn!
              : c instanceof ListImportsCommand
                ? c.input.TableArn!
                : `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${c.input.TableName}`;
      calls.push({ command: c.constructor.name, arn });
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
      calls.push({
        command: c.constructor.name,
        arn: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${c.input.TableName}`,
      });
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
        calls.push({ command: c.constructor.name, arn: c.input.executionArn });
        return { executionArn: c.input.executionArn, status: 'FAILED' };
      },
    };
    const target = {
      send: async (c: any) => {
        const table =
          c instanceof BatchWriteItemCommand ? Object.keys(c.input.RequestItems!)[0] : c.input.TableName;
        calls.push({
          command: c.constructor.name,
          arn: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${table}`,
        });
        if (c instanceof DescribeTableCommand)
          return {
            Table: {
              KeySchema: WORKLOAD_KEY_SCHEMA,
            },
          };
        return {};
      },
    };
    const settings: ReplicaSettings = { ...SETTINGS, targetTableName: targetTable };
    const handler = createReplicaHandler(
      settings,
      { s3: recordingS3, ssm, sns, target, states },
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
        const lines = (await getText(s3, plan.reader!.Bucket, plan.reader!.Key)).split('\n').filter(Boolean);
        const Items: DataFileItem[] = lines.map((l) => ({
          file: JSON.parse(l),
          entry: plan.entry!,
          format: plan.format!,
        }));
        await handler({ step: 'applyFiles', Items });
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

  it('the apply role allows each recorded call on exactly the resource it touched', () => {
    const policy = replicaLambdaPolicy(facts(), `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/aws/lambda/x`);
    for (const call of calls) {
      const grants = REPLICA_SDK_CALLS[call.command].filter((g) => g.resource !== 'exportKmsKey');
      const actions = [...new Set(grants.flatMap((g) => g.actions))];
      expect(
        actions.some((action) => allows(policy, action, call)),
        `${call.command} ${call.arn} ${call.prefix ?? ''}`,
      ).to.equal(true);
    }
  });

  it('the apply role allows nothing else: each action is one a recorded call needs, on no other table or prefix', () => {
    const policy = replicaLambdaPolicy(facts(), `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/aws/lambda/x`);
    const needed = new Set(calls.flatMap((c) => REPLICA_SDK_CALLS[c.command].flatMap((g) => g.actions)));
    for (const s of policy.Statement)
      for (const a of s.Action) if (!a.startsWith('logs:')) expect(needed, a).to.include(a);
    expect(
      allows(policy, 'dynamodb:BatchWriteItem', {
        command: '',
        arn: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/orders`,
      }),
    ).to.equal(false);
    expect(
      allows(policy, 's3:GetObject', {
        command: '',
        arn: `arn:aws:s3:::${BUCKET}/dynamodb/other/chain/CURRENT.json`,
      }),
    ).to.equal(false);
    expect(
      allows(policy, 's3:ListBucket', {
        command: '',
        arn: `arn:aws:s3:::${BUCKET}`,
        prefix: 'dynamodb/other/chain/',
      }),
    ).to.equal(false);
    expect(policy.Statement.some((s: any) => s.Action.includes('sts:AssumeRole'))).to.equal(false);
  });

  it('the apply role reads the action parameter and cannot write it; the run never tried to', () => {
    const policy = replicaLambdaPolicy(facts(), `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/aws/lambda/x`);
    const arn = `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter${ACTION_PARAMETER}`;
    expect(calls.some((c) => c.command === 'GetParametersCommand' && c.arn === arn)).to.equal(true);
    expect(calls.filter((c) => c.command !== 'GetParametersCommand' && c.arn === arn)).to.deep.equal([]);
    expect(allows(policy, 'ssm:GetParameters', { command: '', arn })).to.equal(true);
    for (const write of ['ssm:PutParameter', 'ssm:DeleteParameter'])
      expect(allows(policy, write, { command: '', arn }), write).to.equal(false);
    // and the state parameter stays writable, by the Lambda alone
    expect(
      allows(policy, 'ssm:PutParameter', {
        command: '',
        arn: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter${PARAMETER}`,
      }),
    ).to.equal(true);
  });

  it('with a target role: sts:AssumeRole on that role only, and the table grants move to the role', () => {
    const role = 'arn:aws:iam::210987654321:role/dce-replica-writer';
    const policy = replicaLambdaPolicy(
      facts(role),
      `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/aws/lambda/x`,
    );
    const assume = policy.Statement.filter((s: any) => s.Action.includes('sts:AssumeRole'));
    expect(assume).to.have.length(1);
    expect(assume[0].Resource).to.deep.equal([role]);
    expect(
      policy.Statement.some((s: any) => s.Action.some((a: string) => a.startsWith('dynamodb:'))),
    ).to.equal(false);
  });

  const logGroup = `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/aws/lambda/x`;
  /** What ImportTable itself reads, with its caller's permissions: the data file and the data folder listing. */
  const importReads = (): Call[] => [
    { command: 'ImportTableCommand', arn: `arn:aws:s3:::${BUCKET}/${importRun.dataFileKey}` },
    {
      command: 'ImportTableCommand',
      arn: `arn:aws:s3:::${BUCKET}`,
      prefix: importRun.request.S3BucketSource!.S3KeyPrefix,
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

  it('an import replica: its role allows each recorded call, and what ImportTable reads', () => {
    const policy = replicaLambdaPolicy(facts(undefined, 'import'), logGroup);
    for (const call of importRun.calls) {
      const actions = [
        ...new Set(
          REPLICA_SDK_CALLS[call.command]
            .filter((g) => g.resource !== 'exportKmsKey')
            .flatMap((g) => g.actions),
        ),
      ];
      expect(
        actions.some((a) => allows(policy, a, call)),
        `${call.command} ${call.arn}`,
      ).to.equal(true);
    }
    expect(allows(policy, 's3:GetObject', importReads()[0])).to.equal(true);
    expect(allows(policy, 's3:ListBucket', importReads()[1])).to.equal(true);
    expect(
      allows(policy, 'logs:CreateLogGroup', {
        command: '',
        arn: `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/aws-dynamodb/imports`,
      }),
    ).to.equal(true);
  });

  it('an import replica: nothing else, and no import grant for a write replica', () => {
    const policy = replicaLambdaPolicy(facts(undefined, 'import'), logGroup);
    // Both runs: the halt alert (Publish) and the file checks are recorded in the write run. Scan is
    // granted to every replica (the grants are per call), though only a write bootstrap makes it.
    const needed = new Set(
      [...importRun.calls, ...calls].flatMap((c) => REPLICA_SDK_CALLS[c.command].flatMap((g) => g.actions)),
    );
    for (const s of policy.Statement)
      for (const a of s.Action) if (!a.startsWith('logs:')) expect(needed, a).to.include(a);
    // DescribeTable of the source, ImportTable on the target only: not on other tables.
    expect(
      allows(policy, 'dynamodb:DescribeTable', {
        command: '',
        arn: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/orders`,
      }),
    ).to.equal(true);
    expect(
      allows(policy, 'dynamodb:ImportTable', {
        command: '',
        arn: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/orders`,
      }),
    ).to.equal(false);
    expect(
      allows(policy, 's3:ListBucket', {
        command: '',
        arn: `arn:aws:s3:::${BUCKET}`,
        prefix: 'dynamodb/other/AWSDynamoDB/',
      }),
    ).to.equal(false);
    const write = replicaLambdaPolicy(facts(), logGroup);
    const importOnly = [
      'dynamodb:ImportTable',
      'dynamodb:DescribeImport',
      'dynamodb:ListImports',
      'dynamodb:CreateTable',
    ];
    for (const s of write.Statement) for (const a of importOnly) expect(s.Action, s.Sid).to.not.include(a);
    expect(
      allows(write, 'dynamodb:DescribeTable', {
        command: '',
        arn: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/orders`,
      }),
    ).to.equal(false);
  });

  it('an import replica with a target role: the target side moves to the role, the source DescribeTable stays', () => {
    const role = 'arn:aws:iam::210987654321:role/dce-replica-writer';
    const f = { ...facts(role, 'import'), targetRegion: 'us-east-1' };
    const lambda = replicaLambdaPolicy(f, logGroup);
    const dynamodb = lambda.Statement.filter((s: any) =>
      s.Action.some((a: string) => a.startsWith('dynamodb:')),
    );
    expect(dynamodb.map((s: any) => [s.Action, s.Resource])).to.deep.equal([
      [['dynamodb:DescribeTable'], [`arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/orders`]],
    ]);
    const rolePolicy = replicaTargetRoleDocuments(
      f,
      'arn:aws:iam::123456789012:role/apply',
    ).permissionsPolicy;
    // The recorded target calls, as they are made in the role's account and the target Region.
    const targetSide = new Set([
      'ImportTableCommand',
      'DescribeImportCommand',
      'ListImportsCommand',
      'BatchWriteItemCommand',
    ]);
    const moved = importRun.calls
      .filter(
        (c) =>
          targetSide.has(c.command) ||
          (c.command === 'DescribeTableCommand' && c.arn.endsWith(`/${targetTable}`)),
      )
      .map((c) => ({ ...c, arn: c.arn.replace(`:${REGION}:${ACCOUNT}:`, ':us-east-1:210987654321:') }));
    expect(moved.length).to.be.greaterThan(4);
    for (const call of moved) {
      const actions = REPLICA_SDK_CALLS[call.command].flatMap((g) => g.actions);
      expect(
        actions.some((a) => allows(rolePolicy, a, call)),
        `${call.command} ${call.arn}`,
      ).to.equal(true);
    }
    expect(allows(rolePolicy, 's3:GetObject', importReads()[0])).to.equal(true);
    expect(allows(rolePolicy, 's3:ListBucket', importReads()[1])).to.equal(true);
    expect(
      allows(rolePolicy, 'logs:PutLogEvents', {
        command: '',
        arn: 'arn:aws:logs:us-east-1:210987654321:log-group:/aws-dynamodb/imports:log-stream:x',
      }),
    ).to.equal(true);
    // The write replica's role document is unchanged by the import grants.
    expect(
      replicaTargetRoleDocuments(facts(role), 'arn:aws:iam::123456789012:role/apply').permissionsPolicy
        .Statement,
    ).to.have.length(1);
  });
});
