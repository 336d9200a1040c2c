import { CallLog } from '../../../sim/fakeAws/service';
import { FakeSSM } from '../../../sim/fakeAws/ssm';
import { expect } from 'chai';
import { testReplicaSettings } from '../../helpers/replicaSettings';
import {
  BatchWriteItemCommand,
  CreateTableCommand,
  waitUntilTableExists,
  type CreateTableCommandInput,
  type TableDescription,
} from '@aws-sdk/client-dynamodb';
import { chainHeadKey, chainObjectBody, CHAIN_SCHEMA_VERSION } from '../../../functions/shared/chainManifest';
import {
  createReplicaHandler,
  type DataFileItem,
  type PlanOutput,
  type ReplicaEvent,
} from '../../../functions/replica/apply';
import { replicaActionParameterName } from '../../../functions/shared/names';
import type { ReplicaSettings } from '../../../functions/replica/settings';
import { initialReplicaState, parseReplicaState, type ReplicaState } from '../../../functions/replica/state';
import type { Item } from '../../../format';
import { getText, putObject } from '../../../format/s3io';
import { startLocalDynamoDb, type LocalDynamoDb } from '../../../sim/servers';
import {
  canonicalTable,
  generateWorkload,
  WORKLOAD_ATTRIBUTE_DEFINITIONS,
  WORKLOAD_KEY_SCHEMA,
} from '../../../sim/workload';
import { MemoryS3, contiguousWindows, writeChain } from '../../helpers/exportChain';
import { planItems, runChild } from '../../helpers/replicaChildren';
import { newWorkloadTable, scanTable } from '../../helpers/localTables';

const BUCKET = 'replica-bucket';
const PREFIX = 'exports/orders';
const T0 = Date.UTC(2026, 10, 3, 0, 0, 0) / 1000;
const START = T0 + 3600;
const WINDOW = 15 * 60;
/** 96 windows of 15 minutes: a day of chain after the full export. */
const WINDOWS = contiguousWindows(START, WINDOW, 96);
const END = WINDOWS[WINDOWS.length - 1][1];
const source = generateWorkload({ from: T0, to: END + 7200, writesPerMinute: 6, seed: 12, keySpace: 90 });
const windowEnd = (sequence: number) => (sequence === 0 ? START : WINDOWS[sequence - 1][1]);

/** SSM with one String parameter per name: the calls the replica makes. */
/** The in-memory SSM of the offline system: create-only puts and deletes, as the lease needs. */
class FakeSsm extends FakeSSM {
  constructor() {
    super(new CallLog(), () => Date.now(), 'eu-west-1', '123456789012');
  }
  readonly values = {
    set: (name: string, value: string) => this.set(name, value),
    get: (name: string) => this.get(name),
  };
}

class FakeSns {
  readonly published: any[] = [];
  async send(command: any): Promise<any> {
    this.published.push(command.input);
    return { MessageId: String(this.published.length) };
  }
}

describe('replica apply Lambda (functions/replica/apply.ts) against dynalite', () => {
  let ddb: LocalDynamoDb;
  let counter = 0;
  let pristine: MemoryS3;
  let chain: Awaited<ReturnType<typeof writeChain>>;

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
      sink: { itemsPerFile: 25 },
    });
  });
  after(async () => ddb?.stop());

  const newTable = (): Promise<string> => newWorkloadTable(ddb.client, `replica-${++counter}`);

  const scanAll = (tableName: string): Promise<Item[]> => scanTable(ddb.client, tableName);

  /** Rewrites HEAD.json so the chain is committed up to `sequence` (the chain grows over time). */
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

  interface Replica {
    s3: MemoryS3;
    ssm: FakeSsm;
    sns: FakeSns;
    target: string;
    handler: (event: ReplicaEvent) => Promise<unknown>;
    state: () => ReplicaState;
    writes: () => number;
    metrics: any[];
    clock: { now: number };
    plans: PlanOutput[];
  }

  /** A target table created with `input` (its name is made up here). */
  const tableWith = async (input: Omit<CreateTableCommandInput, 'TableName'>): Promise<string> => {
    const name = `replica-${++counter}`;
    await ddb.client.send(
      new CreateTableCommand({ ...input, TableName: name, BillingMode: 'PAY_PER_REQUEST' }),
    );
    await waitUntilTableExists({ client: ddb.client, maxWaitTime: 30, minDelay: 1 }, { TableName: name });
    return name;
  };

  /** DescribeTable of the source: the workload's keys (pk S, sk N). */
  const WORKLOAD_SOURCE: TableDescription = {
    TableName: 'orders',
    KeySchema: WORKLOAD_KEY_SCHEMA,
    AttributeDefinitions: WORKLOAD_ATTRIBUTE_DEFINITIONS,
  };

  async function replica(
    over: Partial<ReplicaSettings> & {
      limits?: any;
      targetSender?: (send: (c: any) => Promise<any>) => any;
      sleep?: (ms: number) => Promise<void>;
      /** The target table; a new one with the workload's keys by default. */
      table?: () => Promise<string>;
      /** What DescribeTable of the source answers. */
      source?: TableDescription;
    } = {},
  ): Promise<Replica> {
    const s3 = new MemoryS3();
    for (const [k, v] of pristine.objects) s3.objects.set(k, v);
    const ssm = new FakeSsm();
    const sns = new FakeSns();
    const target = await (over.table ?? newTable)();
    const settings = testReplicaSettings({
      bucket: BUCKET,
      prefix: PREFIX,
      stateParameterName: '/dce/dev/orders/replica/copy/state',
      targetTableName: target,
      concurrency: 4,
      ...over,
    });
    ssm.values.set(settings.stateParameterName, JSON.stringify(initialReplicaState()));
    ssm.values.set(replicaActionParameterName(settings.stateParameterName), 'RUN');
    let writes = 0;
    const base = { send: (c: any) => ddb.client.send(c) };
    const counting = {
      send: (c: any) => {
        if (c instanceof BatchWriteItemCommand) writes += Object.values(c.input.RequestItems!)[0].length;
        return (over.targetSender ? over.targetSender(base.send) : base).send(c);
      },
    };
    const metrics: any[] = [];
    const clock = { now: (END + 600) * 1000 };
    const source = { send: async () => ({ Table: over.source ?? WORKLOAD_SOURCE }) };
    const handler = createReplicaHandler(
      settings,
      { s3, ssm, sns, target: counting, source: source as any },
      {
        now: () => clock.now,
        log: (line) => metrics.push(JSON.parse(line)),
        limits: over.limits,
        sleep: over.sleep ?? (async () => undefined),
      },
    );
    return {
      s3,
      ssm,
      sns,
      target,
      handler,
      state: () => parseReplicaState(ssm.values.get(settings.stateParameterName)!),
      writes: () => writes,
      metrics,
      clock,
      plans: [],
    };
  }

  /**
   * One execution of the replica state machine, step for step as statemachine/replica-apply.asl.json
   * runs it. The Distributed Map's ItemReader (JSONL over manifest-files.json) and ItemBatcher are
   * emulated here, because the local interpreter does not run Distributed Map: one item per line,
   * with the entry and format added as the definition's ItemSelector does, two items per batch.
   */
  async function execution(
    r: Replica,
    executionId: string,
    onChildren?: (batches: DataFileItem[][]) => void,
  ) {
    const steps: string[] = [];
    for (let i = 0; i < 1000; i++) {
      const plan = (await r.handler({ step: 'plan', executionId })) as PlanOutput;
      steps.push(plan.action);
      r.plans.push(plan);
      if (plan.action === 'APPLY_GROUP') {
        const out = (await r.handler({
          step: 'applyGroup',
          executionId,
          epoch: plan.epoch!,
          entries: plan.entries!,
        })) as any;
        if (out.halted) return steps;
        continue;
      }
      if (plan.action === 'APPLY_DISTRIBUTED') {
        const items = await planItems(r.s3, plan);
        const batches: DataFileItem[][] = [];
        for (let b = 0; b < items.length; b += 2) batches.push(items.slice(b, b + 2));
        onChildren?.(batches);
        const settled = await Promise.allSettled(batches.map((Items) => runChild(r.handler, Items)));
        if (settled.some((s) => s.status === 'rejected')) {
          steps.push('checkFailedEntry');
          await r.handler({ step: 'checkFailedEntry', executionId, epoch: plan.epoch!, entry: plan.entry! });
          return steps;
        }
        await r.handler({ step: 'commit', executionId, epoch: plan.epoch!, entry: plan.entry! });
        continue;
      }
      if (plan.action === 'REBASELINE' || plan.action === 'CONTINUE') continue;
      return steps;
    }
    throw new Error('execution did not end');
  }

  const expectIdentical = async (r: Replica, sequence: number) => {
    expect(r.state()).to.include({
      lastAppliedSequence: sequence,
      watermark: windowEnd(sequence),
    });
    expect(canonicalTable(await scanAll(r.target))).to.deep.equal(
      canonicalTable(source.snapshotBefore(windowEnd(sequence))),
    );
  };

  it('steady day: each execution applies the newly committed entry; the replica equals the source at its watermark', async () => {
    const r = await replica();
    for (let sequence = 0; sequence <= 96; sequence++) {
      await commitUpTo(r.s3, sequence);
      const steps = await execution(r, `exec-${sequence}`);
      expect(steps).to.deep.equal(['APPLY_GROUP', 'IDLE']);
      await expectIdentical(r, sequence);
      expect(r.state().inProgress).to.equal(null);
    }
    expect(r.sns.published).to.have.length(0);
    // Lag is reported on every plan once a watermark exists.
    const lags = r.metrics.map((m) => m.ReplicaLagSeconds);
    expect(lags.length).to.be.greaterThan(10);
    expect(lags[lags.length - 1]).to.equal(END + 600 - windowEnd(96));
  });

  it('after a 6-hour pause the replica catches up in one execution with grouped entries', async () => {
    const r = await replica();
    await commitUpTo(r.s3, 8);
    await execution(r, 'exec-before');
    await expectIdentical(r, 8);
    const before = r.writes();
    await commitUpTo(r.s3, 32);
    const steps = await execution(r, 'exec-after');
    expect(steps).to.deep.equal(['APPLY_GROUP', 'IDLE']);
    await expectIdentical(r, 32);
    const records = chain.entries.slice(9).reduce((n, e) => n + e.entry.itemCount, 0);
    // Latest record per key: fewer writes than the 24 entries' records.
    expect(r.writes() - before).to.be.lessThan(records);
  });

  it('applies a large entry through the Distributed Map path, one child per batch of data files, in Express children', async () => {
    const r = await replica({ limits: { distributedMinItems: 30 } });
    await commitUpTo(r.s3, 6);
    let children = 0;
    const steps = await execution(r, 'exec-1', (batches) => (children += batches.length));
    expect(steps.filter((s) => s === 'APPLY_DISTRIBUTED').length).to.be.greaterThan(0);
    expect(children).to.be.greaterThan(1);
    // 25 records per data file at 100,000 writes/s over 4 children fits Express's 5 minutes easily.
    for (const plan of r.plans.filter((p) => p.action === 'APPLY_DISTRIBUTED')) {
      expect(plan.childType).to.equal('EXPRESS');
      expect(plan.reader!.Key).to.match(/manifest-files\.json$/);
    }
    await expectIdentical(r, 6);
  });

  it("a child of an execution the previous definition started (items without the child's work) applies its whole batch in one invocation", async () => {
    const r = await replica({ limits: { distributedMinItems: 30 } });
    await commitUpTo(r.s3, 0);
    const plan = (await r.handler({ step: 'plan', executionId: 'exec-1' })) as PlanOutput;
    expect(plan.action).to.equal('APPLY_DISTRIBUTED');
    // eslint-disable-next-line @typescript-eslint/no-unused-vars
    const items = (await planItems(r.s3, plan)).map(({ child, ...previous }) => previous);
    const answer = await r.handler({ step: 'applyFiles', Items: items });
    expect(answer).to.include({ done: true, resume: null, files: items.length });
    await r.handler({ step: 'commit', executionId: 'exec-1', epoch: plan.epoch!, entry: plan.entry! });
    await expectIdentical(r, 0);
  });

  it('a worker crash in the middle of a data file fails the execution without a halt; the next one repairs it', async () => {
    let batchCalls = 0;
    const r = await replica({
      limits: { distributedMinItems: 1 },
      targetSender: (send) => ({
        send: (c: any) => {
          if (c instanceof BatchWriteItemCommand && ++batchCalls === 3) throw new Error('worker killed');
          return send(c);
        },
      }),
    });
    await commitUpTo(r.s3, 3);
    let failure: unknown;
    try {
      await execution(r, 'exec-1');
    } catch (err) {
      failure = err;
    }
    expect((failure as Error).name).to.equal('ReplicaApplyFailed');
    expect(r.state()).to.include({ status: 'ACTIVE', inProgress: null, failedDistributedSequence: 0 });
    expect(r.sns.published).to.have.length(0);
    expect(r.plans[0]).to.include({ action: 'APPLY_DISTRIBUTED', childType: 'EXPRESS' });
    // Not before the failed Map's children can have stopped writing: at the next scheduled execution.
    expect(await execution(r, 'exec-too-soon')).to.deep.equal(['IDLE']);
    r.clock.now += 15 * 60_000;
    await execution(r, 'exec-2');
    // The entry that failed is applied again in Standard children (an Express child may have run
    // out of its 5 minutes); the entries after it in Express children again.
    const retried = r.plans.filter((p) => p.action === 'APPLY_DISTRIBUTED');
    expect(retried[1]).to.deep.include({ childType: 'STANDARD' });
    expect(retried[1].entry!.sequence).to.equal(0);
    expect(retried.slice(2).every((p) => p.childType === 'EXPRESS')).to.equal(true);
    await expectIdentical(r, 3);
  });

  it('target throttling for an hour never fails the run: the replica ends identical', async () => {
    // Simulated time: every backoff advances it; the target refuses every write for the first hour.
    let simulatedMs = 0;
    let throttled = 0;
    const r = await replica({
      sleep: async (ms) => void (simulatedMs += ms),
      targetSender: (send) => ({
        send: (c: any) => {
          if (c instanceof BatchWriteItemCommand && simulatedMs < 3_600_000) {
            throttled++;
            throw Object.assign(new Error('Throughput exceeds the current capacity'), {
              name: 'ThrottlingException',
            });
          }
          return send(c);
        },
      }),
    });
    await commitUpTo(r.s3, 10);
    await execution(r, 'exec-1');
    expect(simulatedMs).to.be.at.least(3_600_000);
    expect(throttled).to.be.greaterThan(700);
    await expectIdentical(r, 10);
  });

  it("after the chain's RESET (new epoch) with onNewEpoch halt: one alert, no writes from the new epoch, and it stays halted", async () => {
    const r = await replica();
    await commitUpTo(r.s3, 5);
    await execution(r, 'exec-1');
    await expectIdentical(r, 5);
    // A RESET: a new epoch with its own full export becomes CURRENT.
    await writeChain({
      s3: r.s3,
      bucket: BUCKET,
      prefix: PREFIX,
      table: source,
      start: END + 3600,
      windows: contiguousWindows(END + 3600, WINDOW, 2),
    });
    const writesBefore = r.writes();
    expect(await execution(r, 'exec-2')).to.deep.equal(['HALT']);
    expect(await execution(r, 'exec-3')).to.deep.equal(['HALTED']);
    expect(r.writes()).to.equal(writesBefore);
    expect(r.sns.published).to.have.length(1);
    const message = JSON.parse(r.sns.published[0].Message);
    expect(message).to.include({
      status: 'FAILED',
      event: 'REPLICA_HALTED',
      reason: 'NEW_EPOCH',
      lastAppliedSequence: 5,
    });
    expect(r.sns.published[0].MessageAttributes.status.StringValue).to.equal('FAILED');
    expect(r.state()).to.include({ status: 'HALTED', lastAppliedSequence: 5 });
    await expectIdentical(r, 5);
  });

  it('with onNewEpoch rebaseline the target is emptied, then the new epoch applied from its full export: identical, leftovers gone', async () => {
    const r = await replica({ onNewEpoch: 'rebaseline' });
    await commitUpTo(r.s3, 5);
    await execution(r, 'exec-1');
    await expectIdentical(r, 5);
    // An item the source deleted between the two epochs (no chain entry says so): still in the replica.
    await ddb.client.send(
      new BatchWriteItemCommand({
        RequestItems: {
          [r.target]: [{ PutRequest: { Item: { pk: { S: 'deleted-between-epochs' }, sk: { N: '1' } } } }],
        },
      }),
    );
    const start = END + 3600;
    const next = await writeChain({
      s3: r.s3,
      bucket: BUCKET,
      prefix: PREFIX,
      table: source,
      start,
      windows: contiguousWindows(start, WINDOW, 2),
    });
    const steps = await execution(r, 'exec-2');
    // New epoch recorded, the target emptied (one plan step: a pass deleting, a page finding it empty),
    // then the new epoch's full export and its windows applied.
    expect(steps).to.deep.equal(['REBASELINE', 'CONTINUE', 'APPLY_GROUP', 'IDLE']);
    expect(r.state()).to.include({
      epoch: next.epoch,
      lastAppliedSequence: 2,
      clearing: null,
      inProgress: null,
    });
    expect(r.state().watermark).to.equal(start + 2 * WINDOW);
    expect(canonicalTable(await scanAll(r.target))).to.deep.equal(
      canonicalTable(source.snapshotBefore(start + 2 * WINDOW)),
    );
    expect(r.sns.published).to.have.length(0);
  });

  it('a write bootstrap into a table that already holds items halts with one alert and writes nothing', async () => {
    const r = await replica();
    await ddb.client.send(
      new BatchWriteItemCommand({
        RequestItems: { [r.target]: [{ PutRequest: { Item: { pk: { S: 'stranger' }, sk: { N: '1' } } } }] },
      }),
    );
    await commitUpTo(r.s3, 2);
    expect(await execution(r, 'exec-1')).to.deep.equal(['HALT']);
    expect(r.writes()).to.equal(0);
    expect(r.state().halt!.reason).to.equal('TARGET_NOT_EMPTY');
    expect(r.sns.published).to.have.length(1);
  });

  it('two executions started together (a duplicate delivery): one applies, the other stands down', async () => {
    // The claim is written under the exclusive lease (functions/shared/lease.ts): one of them holds it.
    const r = await replica();
    await commitUpTo(r.s3, 4);
    const plans = (await Promise.all([
      r.handler({ step: 'plan', executionId: 'exec-a' }),
      r.handler({ step: 'plan', executionId: 'exec-b' }),
    ])) as PlanOutput[];
    expect(plans.map((p) => p.action).sort()).to.deep.equal(['APPLY_GROUP', 'BUSY']);
    const winner = plans[0].action === 'APPLY_GROUP' ? 'exec-a' : 'exec-b';
    expect(r.state().inProgress!.executionId).to.equal(winner);
    // The loser's next plan (its next execution) also stands down while the claim is young.
    const loser = winner === 'exec-a' ? 'exec-b' : 'exec-a';
    expect(((await r.handler({ step: 'plan', executionId: loser })) as PlanOutput).action).to.equal('BUSY');
  });

  it('an entry whose files are gone halts the replica with one alert, never a skip (group and Distributed Map)', async () => {
    for (const distributedMinItems of [1_000_000, 1]) {
      // Group mode applies 0..3 first only if the group stops before entry 4: keep groups to 4 entries.
      const r = await replica({ limits: { distributedMinItems, groupMaxEntries: 4 } });
      const gone = chain.entries[4].entry;
      const files = (
        await getText(
          r.s3,
          BUCKET,
          gone.manifestSummaryKey.replace('manifest-summary.json', 'manifest-files.json'),
        )
      )
        .split('\n')
        .filter((l) => l)
        .map((l) => JSON.parse(l).dataFileS3Key as string);
      r.s3.objects.delete(`${BUCKET}/${files[0]}`);
      await commitUpTo(r.s3, 8);
      await execution(r, 'exec-1');
      await execution(r, 'exec-2');
      expect(r.state()).to.include({ status: 'HALTED' });
      expect(r.state().halt!.reason).to.equal('FILES_MISSING');
      expect(r.state().halt!.detail).to.include(files[0]);
      expect(r.sns.published, `distributedMinItems ${distributedMinItems}`).to.have.length(1);
      // Everything before the entry is applied and recorded; nothing after it is recorded.
      expect(r.state().lastAppliedSequence).to.equal(3);
    }
  });

  /** One execution that may fail, as the state machine's would: its steps, or the error it failed with. */
  async function failingExecution(r: Replica, executionId: string): Promise<string[] | Error> {
    try {
      return await execution(r, executionId);
    } catch (err) {
      return err as Error;
    }
  }

  it('a target keyed on pk alone for a pk+sk source halts TARGET_SCHEMA_MISMATCH before any write, naming both schemas, with one alert', async () => {
    const r = await replica({
      table: () =>
        tableWith({
          KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
          AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        }),
    });
    await commitUpTo(r.s3, 3);
    expect(await execution(r, 'exec-1')).to.deep.equal(['HALT']);
    expect(await execution(r, 'exec-2')).to.deep.equal(['HALTED']);
    expect(r.writes()).to.equal(0);
    expect(await scanAll(r.target)).to.deep.equal([]);
    expect(r.state()).to.include({ status: 'HALTED', lastAppliedSequence: -1, watermark: null });
    expect(r.state().halt!.reason).to.equal('TARGET_SCHEMA_MISMATCH');
    expect(r.state().halt!.detail).to.contain(`target table ${r.target} is keyed pk (S, HASH),`);
    expect(r.state().halt!.detail).to.contain('source table orders is keyed pk (S, HASH), sk (N, RANGE)');
    expect(r.sns.published).to.have.length(1);
    expect(JSON.parse(r.sns.published[0].Message)).to.include({ reason: 'TARGET_SCHEMA_MISMATCH' });
  });

  it("a target index keying an attribute as another type than the source's halts TARGET_SCHEMA_MISMATCH naming the index, also after a clean start", async () => {
    const gsi = (type: 'S' | 'N'): Omit<CreateTableCommandInput, 'TableName'> => ({
      KeySchema: WORKLOAD_KEY_SCHEMA,
      AttributeDefinitions: [
        ...WORKLOAD_ATTRIBUTE_DEFINITIONS,
        { AttributeName: 'kind', AttributeType: type },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: 'by-kind',
          KeySchema: [{ AttributeName: 'kind', KeyType: 'HASH' }],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    });
    const source: TableDescription = {
      ...WORKLOAD_SOURCE,
      AttributeDefinitions: [
        ...WORKLOAD_ATTRIBUTE_DEFINITIONS,
        { AttributeName: 'kind', AttributeType: 'S' },
      ],
      GlobalSecondaryIndexes: [
        { IndexName: 'kinds', KeySchema: [{ AttributeName: 'kind', KeyType: 'HASH' }] },
      ],
    };
    const same = await replica({ source, table: () => tableWith(gsi('S')) });
    await commitUpTo(same.s3, 2);
    await execution(same, 'exec-1');
    await expectIdentical(same, 2);
    const other = await replica({ source, table: () => tableWith(gsi('N')) });
    await commitUpTo(other.s3, 2);
    expect(await execution(other, 'exec-1')).to.deep.equal(['HALT']);
    expect(other.writes()).to.equal(0);
    expect(other.state().halt!.detail).to.equal(
      `index by-kind of target table ${other.target} keys kind as N, source table orders defines kind as S: every item carrying kind would be rejected`,
    );
    expect(other.sns.published).to.have.length(1);
  });

  /** A target with an index on `version` as a string: the source's items carry it as a number. */
  const versionAsString = () =>
    tableWith({
      KeySchema: WORKLOAD_KEY_SCHEMA,
      AttributeDefinitions: [
        ...WORKLOAD_ATTRIBUTE_DEFINITIONS,
        { AttributeName: 'version', AttributeType: 'S' },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: 'by-version',
          KeySchema: [{ AttributeName: 'version', KeyType: 'HASH' }],
          Projection: { ProjectionType: 'KEYS_ONLY' },
        },
      ],
    });

  it('a write the target rejects halts WRITE_REJECTED with one alert naming the key and the message; later executions write nothing (group and Distributed Map)', async () => {
    for (const distributedMinItems of [1_000_000, 1]) {
      const r = await replica({ table: versionAsString, limits: { distributedMinItems } });
      await commitUpTo(r.s3, 3);
      const outcomes = [];
      for (let i = 1; i <= 4; i++) {
        outcomes.push(await failingExecution(r, `exec-${i}`));
        r.clock.now += 15 * 60_000;
      }
      const label = `distributedMinItems ${distributedMinItems}`;
      expect(r.state().status, label).to.equal('HALTED');
      expect(r.state().halt!.reason, label).to.equal('WRITE_REJECTED');
      expect(r.state().halt!.detail, label).to.match(
        /^applying chain entr(y|ies) 0.*: target rejected the write of key \{"pk":\{"S":"item#\d+"\},"sk":\{"N":"\d"\}\}: ValidationException: .*Type mismatch for Index Key version/,
      );
      expect(r.sns.published, label).to.have.length(1);
      expect(JSON.parse(r.sns.published[0].Message), label).to.include({ reason: 'WRITE_REJECTED' });
      expect(outcomes.slice(1), label).to.deep.equal([['HALTED'], ['HALTED'], ['HALTED']]);
      expect(r.state().lastAppliedSequence, label).to.equal(-1);
    }
  });

  it('an apply that keeps failing otherwise is tried again at the next execution, then only after a backoff that doubles; it resumes when the target recovers', async () => {
    let denied = true;
    let attempts = 0;
    const r = await replica({
      targetSender: (send) => ({
        send: (c: any) => {
          if (!(c instanceof BatchWriteItemCommand)) return send(c);
          attempts++;
          if (denied)
            throw Object.assign(new Error('not authorized to write'), { name: 'AccessDeniedException' });
          return send(c);
        },
      }),
    });
    await commitUpTo(r.s3, 3);
    const period = 15 * 60_000;
    const tried: boolean[] = [];
    for (let i = 1; i <= 8; i++) {
      const before = attempts;
      const outcome = await failingExecution(r, `exec-${i}`);
      tried.push(attempts > before);
      if (attempts > before) expect((outcome as Error).name).to.equal('AccessDeniedException');
      else expect(outcome).to.deep.equal(['IDLE']);
      r.clock.now += period;
    }
    // Failures 1 and 2 are retried at the next execution, 3 after 10 minutes, 4 after 20, 5 after 40.
    expect(tried).to.deep.equal([true, true, true, true, false, true, false, false]);
    expect(r.state().failure).to.include({ sequence: 0, failures: 5 });
    expect(r.state().failure!.error).to.equal('AccessDeniedException: not authorized to write');
    expect(r.state().status).to.equal('ACTIVE');
    expect(r.sns.published).to.have.length(0);
    denied = false;
    r.clock.now += 6 * 3600_000;
    expect(await execution(r, 'exec-recovered')).to.deep.equal(['APPLY_GROUP', 'IDLE']);
    expect(r.state().failure).to.equal(undefined);
    await expectIdentical(r, 3);
  });
});
