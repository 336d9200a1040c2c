/**
 * The write guard (functions/replica/writeGuard.ts) and the stragglers of a failed Distributed Map: a
 * child Lambda still running after its Map Run failed must not write once a later execution's claim
 * stands, and a later execution claims only once such children have stopped. Also the halt of an
 * entry no child can apply at the configured rate (WORK_UNIT_TOO_LARGE).
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { BatchWriteItemCommand, DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { createReplicaHandler, type PlanOutput, type ReplicaEvent } from '../../../functions/replica/apply';
import { parseReplicaState } from '../../../functions/replica/state';
import {
  CLAIM_SUCCESSOR_WAIT_SECONDS,
  ClaimMovedError,
  WriteDeadlineError,
  claimHolderEndedAt,
  guardWrites,
} from '../../../functions/replica/writeGuard';
import { md5Base64 } from '../../../format';
import { getText, putObject } from '../../../format/s3io';
import { CallLog } from '../../../sim/fakeAws/service';
import { FakeSSM } from '../../../sim/fakeAws/ssm';
import { startLocalDynamoDb, type LocalDynamoDb } from '../../../sim/servers';
import { canonicalTable, generateWorkload } from '../../../sim/workload';
import { MemoryS3, contiguousWindows, writeChain } from '../../helpers/exportChain';
import { newWorkloadTable, scanTable } from '../../helpers/localTables';
import { planItems, runChild } from '../../helpers/replicaChildren';
import { seedReplicaParameters, testReplicaSettings } from '../../helpers/replicaSettings';

const write = () => new BatchWriteItemCommand({ RequestItems: { t: [] } });

describe('write guard (functions/replica/writeGuard.ts)', () => {
  it('refuses every write once the claim is seen moved, relying on a confirmation for at most confirmMs', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5_000 }),
        fc.array(fc.integer({ min: 0, max: 3_000 }), { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 0, max: 20_000 }),
        async (confirmMs, gaps, movedAt) => {
          let now = 0;
          let reads = 0;
          const guard = guardWrites({
            target: { send: async () => ({}) } as never,
            now: () => now,
            lastWriteAt: Infinity,
            claim: 'exec-A',
            confirmMs,
            claimHolds: async () => {
              reads += 1;
              return now < movedAt;
            },
          });
          let refused = false;
          for (const gap of gaps) {
            now += gap;
            const sent = await guard.send(write()).then(
              () => true,
              (e: Error) => {
                expect(e).to.be.instanceOf(ClaimMovedError);
                return false;
              },
            );
            // Never a write confirmed longer than confirmMs ago after the move; once refused, always.
            if (sent) expect(now < movedAt + confirmMs && !refused).to.equal(true);
            else refused = true;
          }
          expect(reads).to.be.at.most(gaps.length);
        },
      ),
    );
  });

  it('refuses writes from the last write time on, and lets other calls through', async () => {
    let now = 1_000;
    const sent: string[] = [];
    const guard = guardWrites({
      target: { send: async (c: object) => sent.push(c.constructor.name) } as never,
      now: () => now,
      lastWriteAt: 2_000,
      claim: 'exec-A',
      claimHolds: async () => true,
    });
    await guard.send(write());
    now = 2_000;
    const late = await guard.send(write()).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(late).to.be.instanceOf(WriteDeadlineError);
    await guard.send(new DescribeTableCommand({ TableName: 't' }));
    expect(sent).to.deep.equal(['BatchWriteItemCommand', 'DescribeTableCommand']);
  });

  it('takes over an ended execution only once its stragglers have stopped', () => {
    const stop = new Date('2026-11-03T00:00:00Z');
    const at = (s: number) => stop.getTime() + s * 1000;
    expect(claimHolderEndedAt({ status: 'RUNNING' }, at(3600))).to.equal(false);
    expect(claimHolderEndedAt({ status: 'FAILED', stopDate: stop }, at(30))).to.equal(false);
    expect(
      claimHolderEndedAt({ status: 'FAILED', stopDate: stop }, at(CLAIM_SUCCESSOR_WAIT_SECONDS)),
    ).to.equal(true);
    expect(claimHolderEndedAt({ status: 'ABORTED' }, at(0))).to.equal(true);
  });
});

describe('stragglers of a failed Distributed Map and entries too large for the rate (dynalite)', () => {
  let ddb: LocalDynamoDb;
  let tables = 0;
  before(async () => {
    ddb = await startLocalDynamoDb();
  });
  after(async () => ddb?.stop());

  const START = Date.UTC(2026, 10, 3) / 1000;
  const source = generateWorkload({
    from: START - 3 * 3600,
    to: START + 1800,
    writesPerMinute: 3,
    seed: 31,
    keySpace: 1_000_000,
  });

  async function replica(over: { maxWritesPerSecond?: number } = {}) {
    const s3 = new MemoryS3();
    const chain = await writeChain({
      s3,
      bucket: 'b',
      prefix: 'p',
      table: source,
      start: START,
      windows: contiguousWindows(START, 900, 1),
      sink: { itemsPerFile: 25 },
    });
    const target = await newWorkloadTable(ddb.client, `guard-${++tables}`);
    const settings = testReplicaSettings({
      bucket: 'b',
      prefix: 'p',
      targetTableName: target,
      maxWritesPerSecond: over.maxWritesPerSecond ?? 100_000,
    });
    const clock = { now: (START + 7200) * 1000 };
    const ssm = new FakeSSM(new CallLog(), () => clock.now, 'eu-west-1', '123456789012');
    seedReplicaParameters(ssm, settings);
    const sns: unknown[] = [];
    const writes: { claim: string; at: number }[] = [];
    let onWrite: (claim: string) => Promise<void> = async () => undefined;
    const handlerFor = (claim: string) =>
      createReplicaHandler(
        settings,
        {
          s3,
          ssm,
          sns: { send: async (c: any) => sns.push(c.input) } as never,
          target: {
            send: async (c: any) => {
              if (c instanceof BatchWriteItemCommand) {
                writes.push({ claim, at: clock.now });
                await onWrite(claim);
              }
              return ddb.client.send(c);
            },
          } as never,
        },
        {
          now: () => clock.now,
          log: () => undefined,
          info: () => undefined,
          limits: { distributedMinItems: 1 },
        },
      );
    return {
      s3,
      chain,
      ssm,
      sns,
      target,
      clock,
      writes,
      handlerFor,
      setOnWrite: (f: typeof onWrite) => (onWrite = f),
      state: () => parseReplicaState(ssm.get(settings.stateParameterName)!),
    };
  }

  it('a straggler from a failed Map Run stops at its next write once the claim moved, and cannot write after a newer claim', async () => {
    const r = await replica();
    const a = r.handlerFor('exec-A');
    const b = r.handlerFor('exec-B');
    const planA = (await a({ step: 'plan', executionId: 'exec-A' })) as PlanOutput;
    expect(planA).to.include({ action: 'APPLY_DISTRIBUTED' });
    const items = await planItems(r.s3, planA);
    expect(items.length).to.be.greaterThan(4);
    // While A's child writes its second batch, A's Map fails: its execution checks the failed entry
    // (releasing the claim), and once stragglers may have stopped, execution B claims the entry.
    let moving = false;
    let moved = -1;
    r.setOnWrite(async (claim) => {
      if (claim !== 'exec-A' || moving || r.writes.length < 2) return;
      moving = true;
      await a({
        step: 'checkFailedEntry',
        executionId: 'exec-A',
        epoch: planA.epoch!,
        entry: planA.entry!,
      }).catch((e: Error) => expect(e.name).to.equal('ReplicaApplyFailed'));
      // Too soon: A's children may still be writing.
      expect(((await b({ step: 'plan', executionId: 'exec-B' })) as PlanOutput).action).to.equal('IDLE');
      r.clock.now += CLAIM_SUCCESSOR_WAIT_SECONDS * 1000;
      const later = (await b({ step: 'plan', executionId: 'exec-B' })) as PlanOutput;
      expect(later.action, later.detail).to.equal('APPLY_DISTRIBUTED');
      moved = r.writes.length;
    });
    const straggler = await runChild(a, items).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(straggler?.name, String(straggler?.message)).to.equal('ReplicaClaimMoved');
    // Nothing of A's after the write in flight when the claim moved (the guard confirms the claim at
    // most a second before a write; here the clock stood still since).
    const aWrites = r.writes.filter((w) => w.claim === 'exec-A').length;
    expect(moved).to.be.greaterThan(0);
    expect(aWrites).to.be.at.most(moved + 3); // the batches already past the guard, at most 4 in flight
    const bPlan = r.state().inProgress;
    expect(bPlan).to.include({ executionId: 'exec-B', mode: 'distributed' });
    // B applies the entry, then a stale child of A (retried by its Map) writes nothing either.
    const planB = { ...planA, child: { ...planA.child!, claim: 'exec-B' } };
    for (const batch of await planItems(r.s3, planB)) await runChild(b, [batch]);
    const stale = await runChild(a, items).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(stale?.name).to.equal('ReplicaClaimMoved');
    expect(r.writes.filter((w) => w.claim === 'exec-A')).to.have.length(aWrites);
    await b({ step: 'commit', executionId: 'exec-B', epoch: planA.epoch!, entry: planA.entry! });
    expect(r.state()).to.include({ lastAppliedSequence: 0, inProgress: null });
    expect(canonicalTable(await scanTable(ddb.client, r.target))).to.deep.equal(
      canonicalTable(source.snapshotBefore(START)),
    );
  });

  it('an entry whose data file no child can apply at the rate in the invocations it may chain halts WORK_UNIT_TOO_LARGE with one alert, writing nothing', async () => {
    const r = await replica({ maxWritesPerSecond: 1 });
    // The full export's manifest lists a data file of 2 million records (as a table exported in one
    // file would): at 1 write a second, 600 records an invocation, it needs 3,334 invocations.
    const summaryKey = r.chain.entries[0].entry.manifestSummaryKey;
    const filesKey = summaryKey.replace('manifest-summary.json', 'manifest-files.json');
    const lines = (await getText(r.s3, 'b', filesKey)).split('\n').filter(Boolean);
    const big = { ...JSON.parse(lines[0]), itemCount: 2_000_000 };
    const text = `${JSON.stringify(big)}\n`;
    await putObject(r.s3, 'b', filesKey, text);
    await putObject(r.s3, 'b', filesKey.replace(/\.json$/, '.md5'), md5Base64(text));
    const handler: (e: ReplicaEvent) => Promise<unknown> = r.handlerFor('exec-A');
    const plan = (await handler({ step: 'plan', executionId: 'exec-A' })) as PlanOutput;
    expect(plan.action).to.equal('HALT');
    expect(r.state().halt).to.include({ reason: 'WORK_UNIT_TOO_LARGE' });
    expect(r.state().halt!.detail).to.match(
      /chain entry 0: a batch of 2000000 records .* needs 3334 invocations/,
    );
    expect(r.sns).to.have.length(1);
    expect(r.writes).to.have.length(0);
    expect(((await handler({ step: 'plan', executionId: 'exec-B' })) as PlanOutput).action).to.equal(
      'HALTED',
    );
  });
});
