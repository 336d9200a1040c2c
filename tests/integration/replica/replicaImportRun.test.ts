import { expect } from 'chai';
import { mockClient } from 'aws-sdk-client-mock';
import {
  DescribeImportCommand,
  DynamoDBClient,
  ImportTableCommand,
  type TableDescription,
} from '@aws-sdk/client-dynamodb';
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import { chainHeadKey, chainObjectBody, CHAIN_SCHEMA_VERSION } from '../../../functions/shared/chainManifest';
import { seedReplicaParameters } from '../../helpers/replicaSettings';
import { createReplicaHandler, type PlanOutput, type ReplicaEvent } from '../../../functions/replica/apply';
import type { ReplicaSettings } from '../../../functions/replica/settings';
import { parseReplicaState, type ReplicaState } from '../../../functions/replica/state';
import { putObject } from '../../../format/s3io';
import { CallLog } from '../../../sim/fakeAws/service';
import { FakeSSM } from '../../../sim/fakeAws/ssm';
import { startLocalDynamoDb, type LocalDynamoDb } from '../../../sim/servers';
import {
  canonicalTable,
  generateWorkload,
  WORKLOAD_KEY_SCHEMA,
  WORKLOAD_ATTRIBUTE_DEFINITIONS,
} from '../../../sim/workload';
import { deriveReplicaStatus, formatReplicaStatuses } from '../../../cli/consumers/replicaStatus';
import { LocalTableImport } from '../../../sim/fakeAws/tableImport';
import { MemoryS3, contiguousWindows, writeChain } from '../../helpers/exportChain';
import { newWorkloadTable, scanTable } from '../../helpers/localTables';

const REGION = 'eu-west-1';
const ACCOUNT = '123456789012';
const BUCKET = 'replica-bucket';
const PREFIX = 'exports/orders';
const T0 = Date.UTC(2026, 10, 3, 0, 0, 0) / 1000;
const START = T0 + 3600;
const WINDOWS = contiguousWindows(START, 900, 8);
const END = WINDOWS[WINDOWS.length - 1][1];
const source = generateWorkload({ from: T0, to: END + 3600, writesPerMinute: 6, seed: 21, keySpace: 80 });
const windowEnd = (sequence: number) => (sequence === 0 ? START : WINDOWS[sequence - 1][1]);
const STATE = '/dce/dev/orders/replicas/copy/state';

/** The source table as DescribeTable answers it: the workload's keys, one GSI, an LSI, a stream. */
const SOURCE_TABLE: TableDescription = {
  TableName: 'orders',
  KeySchema: WORKLOAD_KEY_SCHEMA,
  AttributeDefinitions: WORKLOAD_ATTRIBUTE_DEFINITIONS,
  BillingModeSummary: { BillingMode: 'PAY_PER_REQUEST' },
  GlobalSecondaryIndexes: [
    {
      IndexName: 'by-sk',
      KeySchema: [{ AttributeName: 'sk', KeyType: 'HASH' }],
      Projection: { ProjectionType: 'KEYS_ONLY' },
    },
  ],
  StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_IMAGE' },
};

class FakeSns {
  readonly published: any[] = [];
  async send(command: any): Promise<any> {
    this.published.push(command.input);
    return { MessageId: String(this.published.length) };
  }
}

describe('import bootstrap of a replica, run (functions/replica/importBootstrap.ts)', () => {
  let ddb: LocalDynamoDb;
  let pristine: MemoryS3;
  let chain: Awaited<ReturnType<typeof writeChain>>;
  let counter = 0;

  before(async () => {
    ddb = await startLocalDynamoDb();
    pristine = new MemoryS3();
    chain = await writeChain({
      s3: pristine,
      bucket: BUCKET,
      prefix: PREFIX,
      table: source,
      start: START,
      windows: WINDOWS,
      sink: { itemsPerFile: 20 },
    });
  });
  after(async () => ddb?.stop());

  async function commitUpTo(s3: MemoryS3, sequence: number) {
    const e = chain.entries[sequence];
    await putObject(
      s3,
      BUCKET,
      chainHeadKey(PREFIX, chain.epoch),
      chainObjectBody({
        schemaVersion: CHAIN_SCHEMA_VERSION,
        epoch: chain.epoch,
        chainStart: new Date(START * 1000).toISOString(),
        watermark: e.entry.to,
        lastSequence: sequence,
        lastEntryKey: e.key,
      }),
    );
  }

  function replica(options: { target?: (s3: MemoryS3) => any; failStateSaveWithImport?: boolean } = {}) {
    const s3 = new MemoryS3();
    for (const [k, v] of pristine.objects) s3.objects.set(k, v);
    const memorySsm = new FakeSSM(new CallLog(), () => Date.now(), REGION, ACCOUNT);
    seedReplicaParameters(memorySsm, { stateParameterName: STATE });
    let failNext = options.failStateSaveWithImport ?? false;
    // A crash between ImportTable and the state save: the save of the recorded import fails once.
    const ssm = {
      send: async (c: any) => {
        if (
          failNext &&
          c instanceof PutParameterCommand &&
          c.input.Name === STATE &&
          c.input.Value!.includes('"importArn"')
        ) {
          failNext = false;
          throw Object.assign(new Error('Lambda ended'), { name: 'Crash' });
        }
        return memorySsm.send(c);
      },
    };
    const sns = new FakeSns();
    const targetTableName = `imported-${++counter}`;
    // ImportTable over dynalite, as the simulation runs it: one DescribeImport IN_PROGRESS, then COMPLETED.
    const double = new LocalTableImport(ddb.client, s3, {
      account: ACCOUNT,
      region: REGION,
      pollsInProgress: 1,
    });
    const target = options.target ? options.target(s3) : double;
    const sourceCalls: any[] = [];
    const settings: ReplicaSettings = {
      alias: 'orders',
      replicaAlias: 'copy',
      sourceTableName: 'orders',
      bucket: BUCKET,
      prefix: PREFIX,
      stateParameterName: STATE,
      targetTableName,
      bootstrap: 'import',
      onNewEpoch: 'halt',
      maxWritesPerSecond: 100_000,
      concurrency: 4,
      notificationTopicArn: `arn:aws:sns:${REGION}:${ACCOUNT}:dev-orders-notifications`,
      leaseSeconds: 1800,
    };
    const metrics: any[] = [];
    const clock = { now: (END + 600) * 1000 };
    const handler = createReplicaHandler(
      settings,
      {
        s3,
        ssm,
        sns,
        target,
        source: {
          send: async (c: any) => {
            sourceCalls.push(c);
            return { Table: SOURCE_TABLE };
          },
        } as any,
      },
      { now: () => clock.now, log: (line) => metrics.push(JSON.parse(line)), sleep: async () => undefined },
    );
    return {
      s3,
      sns,
      double,
      handler,
      targetTableName,
      sourceCalls,
      metrics,
      clock,
      state: (): ReplicaState => parseReplicaState(memorySsm.get(STATE)!),
      stateText: () => memorySsm.get(STATE)!,
    };
  }

  /** One execution as the definition runs it: plan, apply a group, plan ... until nothing to do. */
  async function execution(handler: (e: ReplicaEvent) => Promise<unknown>, executionId: string) {
    const steps: string[] = [];
    for (let i = 0; i < 100; i++) {
      const plan = (await handler({ step: 'plan', executionId })) as PlanOutput;
      steps.push(plan.action);
      if (plan.action === 'APPLY_GROUP') {
        await handler({ step: 'applyGroup', executionId, epoch: plan.epoch!, entries: plan.entries! });
        continue;
      }
      if (plan.action === 'CONTINUE') continue;
      return { steps, plan };
    }
    throw new Error('execution did not end');
  }

  it('imports the full export into a new table, waits for it, then applies the incrementals: the replica equals the source at its watermark', async () => {
    const r = replica();
    await commitUpTo(r.s3, 3);

    // 1. ImportTable, shaped after the source's description, from the full export's data folder.
    const first = await execution(r.handler, 'exec-1');
    expect(first.steps).to.deep.equal(['IDLE']);
    expect(first.plan.detail).to.match(/^importing .* into imported-\d+: import .* \(IN_PROGRESS\)/);
    expect(r.double.requests).to.have.length(1);
    const sent = r.double.requests[0];
    const exportId = chain.entries[0].entry.exportArn.split('/').pop();
    expect(sent).to.deep.equal({
      ClientToken: sent.ClientToken,
      S3BucketSource: { S3Bucket: BUCKET, S3KeyPrefix: `${PREFIX}/AWSDynamoDB/${exportId}/data/` },
      InputFormat: 'DYNAMODB_JSON',
      InputCompressionType: 'GZIP',
      TableCreationParameters: {
        TableName: r.targetTableName,
        AttributeDefinitions: SOURCE_TABLE.AttributeDefinitions,
        KeySchema: SOURCE_TABLE.KeySchema,
        BillingMode: 'PAY_PER_REQUEST',
        GlobalSecondaryIndexes: [
          {
            IndexName: 'by-sk',
            KeySchema: [{ AttributeName: 'sk', KeyType: 'HASH' }],
            Projection: { ProjectionType: 'KEYS_ONLY' },
          },
        ],
      },
    });
    expect(r.sourceCalls.map((c) => [c.constructor.name, c.input.TableName])).to.deep.equal([
      ['DescribeTableCommand', 'orders'],
    ]);
    const importing = r.state();
    expect(importing).to.include({ epoch: null, lastAppliedSequence: -1, watermark: null, status: 'ACTIVE' });
    expect(importing.import).to.include({
      clientToken: sent.ClientToken,
      epoch: chain.epoch,
      sequence: 0,
      watermark: Date.parse(chain.entries[0].entry.to) / 1000,
      itemCount: chain.entries[0].entry.itemCount,
    });
    // No watermark yet, so no lag data point (the alarm counts missing data as breaching).
    expect(r.metrics).to.have.length(0);

    // `dce status` says it is importing, with the import and how long it has run.
    const status = deriveReplicaStatus({
      ref: { alias: 'copy', stateParameterName: STATE, targetTableName: r.targetTableName },
      stateText: r.stateText(),
      now: importing.import!.startedAt + 5400,
      chain: { epoch: chain.epoch, watermark: null },
    });
    expect(status.importing).to.deep.equal({
      importArn: importing.import!.importArn,
      // The report says the state's epoch seconds in ISO 8601.
      startedAt: new Date(importing.import!.startedAt * 1000).toISOString(),
      elapsedSeconds: 5400,
    });
    expect(formatReplicaStatuses([status])).to.match(
      /importing: +import arn:aws:dynamodb:.*\/import\/[\w-]+ since .* \(1h 30m running\)/,
    );

    // 2. Still running: nothing is written.
    const second = await execution(r.handler, 'exec-2');
    expect(second.steps).to.deep.equal(['IDLE']);
    expect(r.state().epoch).to.equal(null);

    // 3. Completed: the replica holds the full export (sequence 0), and the same execution goes on
    //    with the committed incrementals by the ordinary grouped path.
    const third = await execution(r.handler, 'exec-3');
    expect(third.steps).to.deep.equal(['CONTINUE', 'APPLY_GROUP', 'IDLE']);
    expect(r.state()).to.include({
      epoch: chain.epoch,
      lastAppliedSequence: 3,
      watermark: windowEnd(3),
      import: null,
    });
    expect(canonicalTable(await scanTable(ddb.client, r.targetTableName))).to.deep.equal(
      canonicalTable(source.snapshotBefore(windowEnd(3))),
    );

    // 4. As the chain grows.
    const fourth = await execution(r.handler, 'exec-4');
    expect(fourth.steps).to.deep.equal(['IDLE']);
    await commitUpTo(r.s3, 8);
    await execution(r.handler, 'exec-5');
    expect(r.state()).to.include({
      lastAppliedSequence: 8,
      watermark: windowEnd(8),
    });
    expect(canonicalTable(await scanTable(ddb.client, r.targetTableName))).to.deep.equal(
      canonicalTable(source.snapshotBefore(windowEnd(8))),
    );
    expect(r.double.requests).to.have.length(1);
    expect(r.double.imports.size).to.equal(1);
    expect(r.sns.published).to.have.length(0);
    expect(r.metrics.length).to.be.greaterThan(0);
  });

  for (const repeatAnswer of ['same', 'conflict'] as const) {
    it(`a crash after ImportTable and before the state save starts no second import (repeat answered: ${repeatAnswer})`, async () => {
      const r = replica({ failStateSaveWithImport: true });
      r.double.repeatAnswer = repeatAnswer;
      await commitUpTo(r.s3, 2);
      let crashed = false;
      try {
        await execution(r.handler, 'exec-1');
      } catch (err) {
        crashed = (err as Error).name === 'Crash';
      }
      expect(crashed).to.equal(true);
      expect(r.state().import ?? null).to.equal(null);
      // The claim lock went with the crash's `finally`; the next execution sends the same request.
      await execution(r.handler, 'exec-2');
      expect(r.double.requests).to.have.length(2);
      expect(r.double.requests[1].ClientToken).to.equal(r.double.requests[0].ClientToken);
      expect(r.double.imports.size).to.equal(1);
      const [only] = r.double.imports.keys();
      expect(r.state().import?.importArn).to.equal(only);
      if (repeatAnswer === 'conflict') expect(r.double.calls).to.include('ListImportsCommand');
      for (const id of ['exec-3', 'exec-4', 'exec-5']) await execution(r.handler, id);
      expect(r.state()).to.include({ epoch: chain.epoch, lastAppliedSequence: 2 });
      expect(canonicalTable(await scanTable(ddb.client, r.targetTableName))).to.deep.equal(
        canonicalTable(source.snapshotBefore(windowEnd(2))),
      );
    });
  }

  it('concurrent executions start one import', async () => {
    const r = replica();
    await commitUpTo(r.s3, 1);
    const results = (await Promise.all(
      ['a', 'b', 'c'].map((id) => r.handler({ step: 'plan', executionId: `exec-${id}` })),
    )) as PlanOutput[];
    expect(r.double.requests).to.have.length(1);
    expect(r.double.imports.size).to.equal(1);
    expect(results.map((p) => p.action).sort()).to.deep.equal(['BUSY', 'BUSY', 'IDLE']);
    expect(r.state().import?.importArn).to.equal([...r.double.imports.keys()][0]);
  });

  it('a target table that already exists halts the replica with TARGET_EXISTS, alerted once', async () => {
    const r = replica();
    await newWorkloadTable(ddb.client, r.targetTableName);
    await commitUpTo(r.s3, 1);
    const first = await execution(r.handler, 'exec-1');
    expect(first.steps).to.deep.equal(['HALT']);
    expect(first.plan.detail).to.match(/already exists.*Delete imported-\d+.*bootstrap: write/);
    expect(r.double.calls).to.include('ListImportsCommand');
    expect(r.state().halt?.reason).to.equal('TARGET_EXISTS');
    expect(r.sns.published).to.have.length(1);
    expect(JSON.parse(r.sns.published[0].Message)).to.include({
      event: 'REPLICA_HALTED',
      reason: 'TARGET_EXISTS',
    });
    expect((await execution(r.handler, 'exec-2')).steps).to.deep.equal(['HALTED']);
    expect(r.sns.published).to.have.length(1);
    expect(r.double.imports.size).to.equal(0);
  });

  it('a FAILED import halts with IMPORT_FAILED and its failure code, alerted once (SDK mock for the target)', async () => {
    const mock = mockClient(DynamoDBClient);
    try {
      const importArn = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/t/import/01`;
      mock.on(ImportTableCommand).resolves({
        ImportTableDescription: { ImportArn: importArn, ImportStatus: 'IN_PROGRESS' },
      });
      mock
        .on(DescribeImportCommand)
        .resolvesOnce({ ImportTableDescription: { ImportArn: importArn, ImportStatus: 'IN_PROGRESS' } })
        .resolves({
          ImportTableDescription: {
            ImportArn: importArn,
            ImportStatus: 'FAILED',
            FailureCode: 'S3NoSuchBucket',
            FailureMessage: 'The specified bucket does not exist',
          },
        });
      const r = replica({ target: () => new DynamoDBClient({ region: REGION }) });
      await commitUpTo(r.s3, 1);
      expect((await execution(r.handler, 'exec-1')).steps).to.deep.equal(['IDLE']);
      expect(mock.commandCalls(ImportTableCommand)).to.have.length(1);
      expect(
        mock.commandCalls(ImportTableCommand)[0].args[0].input.TableCreationParameters!.TableName,
      ).to.equal(r.targetTableName);
      expect((await execution(r.handler, 'exec-2')).steps).to.deep.equal(['IDLE']);
      const failed = await execution(r.handler, 'exec-3');
      expect(failed.steps).to.deep.equal(['HALT']);
      expect(failed.plan.detail).to.match(
        /ended FAILED \(S3NoSuchBucket: The specified bucket does not exist\)/,
      );
      expect(r.state()).to.include({ status: 'HALTED', epoch: null, watermark: null });
      expect(r.state().halt?.reason).to.equal('IMPORT_FAILED');
      expect((await execution(r.handler, 'exec-4')).steps).to.deep.equal(['HALTED']);
      expect(r.sns.published).to.have.length(1);
      expect(mock.commandCalls(ImportTableCommand)).to.have.length(1);
      expect(mock.commandCalls(DescribeImportCommand)).to.have.length(2);
    } finally {
      mock.restore();
    }
  });
});
