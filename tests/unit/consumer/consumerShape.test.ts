/**
 * The consumer shape (functions/shared/consumer/): reading the chain from a cursor, the one "unchanged
 * since planned" rule, the new-epoch decision and the operator's action rule, which the replica and
 * the Iceberg feed both follow.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { CallLog } from '../../../sim/fakeAws/service';
import { FakeS3 } from '../../../sim/fakeAws/s3';
import {
  chainCurrentKey,
  chainEntryKey,
  chainHeadKey,
  chainObjectBody,
  type ChainEntry,
} from '../../../functions/shared/chainManifest';
import { decideAction, isPendingRebuild, type ActionFacts } from '../../../functions/shared/consumer/action';
import { readChainFrom } from '../../../functions/shared/consumer/chainReading';
import { claimIsLive, unchangedSincePlanned } from '../../../functions/shared/consumer/claim';
import { newEpochDecision } from '../../../functions/shared/consumer/newEpoch';

const BUCKET = 'b';
const PREFIX = 'exports/orders';
const EPOCH = '20260101T000000Z';

function writeChain(s3: FakeS3, epoch: string, sequences: number[], head: number | undefined): void {
  s3.putDirect(BUCKET, chainCurrentKey(PREFIX), JSON.stringify({ schemaVersion: 1, epoch }));
  const t0 = Date.UTC(2026, 0, 1) / 1000;
  for (const sequence of sequences) {
    const from = t0 + Math.max(0, sequence - 1) * 900;
    const to = t0 + sequence * 900;
    const entry: ChainEntry = {
      schemaVersion: 1,
      epoch,
      sequence,
      type: sequence === 0 ? 'FULL' : 'INCREMENTAL',
      from: new Date(from * 1000).toISOString(),
      to: new Date(to * 1000).toISOString(),
      exportArn: `arn:aws:dynamodb:us-east-1:123456789012:table/orders/export/${sequence}`,
      bucket: BUCKET,
      manifestSummaryKey: `m/${sequence}`,
      itemCount: sequence + 10,
      billedSizeBytes: 1,
      completedAt: new Date(to * 1000).toISOString(),
      exportFormat: 'DYNAMODB_JSON',
    };
    s3.putDirect(BUCKET, chainEntryKey(PREFIX, epoch, sequence, from, to), chainObjectBody(entry));
  }
  if (head !== undefined)
    s3.putDirect(
      BUCKET,
      chainHeadKey(PREFIX, epoch),
      JSON.stringify({ schemaVersion: 1, epoch, lastSequence: head, watermark: '2026-01-02T00:00:00.000Z' }),
    );
}

describe('consumer shape: reading the chain from the cursor', () => {
  const read = (s3: FakeS3, followedEpoch: string | null, fromSequence: number, maxEntries: number) =>
    readChainFrom(s3, { bucket: BUCKET, prefix: PREFIX }, { followedEpoch, fromSequence, maxEntries });

  it('reads the committed entries from the cursor on, at most maxEntries, across hundreds', async () => {
    const s3 = new FakeS3(new CallLog(), () => Date.now());
    writeChain(s3, EPOCH, [...Array(230).keys()], 220);
    const view = await read(s3, EPOCH, 95, 120);
    expect(view.currentEpoch).to.equal(EPOCH);
    expect(view.head).to.deep.equal({ lastSequence: 220, watermark: '2026-01-02T00:00:00.000Z' });
    expect(view.entries.map((e) => e.sequence)).to.deep.equal([...Array(120).keys()].map((i) => 95 + i));
    expect(view.entries[0].itemCount).to.equal(105);
  });

  it('never reads past HEAD (an entry written but not committed)', async () => {
    const s3 = new FakeS3(new CallLog(), () => Date.now());
    writeChain(s3, EPOCH, [0, 1, 2, 3], 2);
    const view = await read(s3, EPOCH, 1, 10);
    expect(view.entries.map((e) => e.sequence)).to.deep.equal([1, 2]);
  });

  it('reads a new epoch with its HEAD but without entries, and a chain without CURRENT as the followed epoch', async () => {
    const s3 = new FakeS3(new CallLog(), () => Date.now());
    s3.createBucket(BUCKET);
    expect(await read(s3, EPOCH, 3, 10)).to.deep.equal({ currentEpoch: EPOCH, entries: [] });
    expect(await read(s3, null, 0, 10)).to.deep.equal({ currentEpoch: '', entries: [] });
    writeChain(s3, '20260201T000000Z', [0], 0);
    // HEAD, so that a lag measured against it (the Iceberg feed's) grows while the consumer is halted.
    expect(await read(s3, EPOCH, 3, 10)).to.deep.equal({
      currentEpoch: '20260201T000000Z',
      head: { lastSequence: 0, watermark: '2026-01-02T00:00:00.000Z' },
      entries: [],
    });
  });

  it('names a damaged CURRENT, HEAD or entry instead of reading an empty chain', async () => {
    const s3 = new FakeS3(new CallLog(), () => Date.now());
    s3.putDirect(BUCKET, chainCurrentKey(PREFIX), '{"schemaVersion":1}');
    let error = await read(s3, null, 0, 10).catch((e: Error) => e);
    expect(String(error)).to.include('CURRENT.json: no epoch');
    writeChain(s3, EPOCH, [0], undefined);
    s3.putDirect(BUCKET, chainHeadKey(PREFIX, EPOCH), '{"lastSequence":"x"}');
    error = await read(s3, null, 0, 10).catch((e: Error) => e);
    expect(String(error)).to.include('HEAD.json: not a chain HEAD');
    s3.putDirect(BUCKET, chainHeadKey(PREFIX, EPOCH), JSON.stringify({ lastSequence: 0, watermark: 'w' }));
    s3.putDirect(BUCKET, chainEntryKey(PREFIX, EPOCH, 0, 0, 0), '{"sequence":0}');
    error = await read(s3, null, 0, 10).catch((e: Error) => e);
    expect(String(error)).to.include('not a chain entry');
  });
});

describe('consumer shape: unchanged since planned', () => {
  const cursor = fc.record({
    status: fc.constantFrom('ACTIVE', 'HALTED', 'PAUSED'),
    epoch: fc.option(fc.constantFrom('e1', 'e2'), { nil: null }),
    lastAppliedSequence: fc.integer({ min: -1, max: 3 }),
    inProgress: fc.option(fc.record({ executionId: fc.constantFrom('x', 'y') }), { nil: null }),
    rebuildVersion: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
  });

  it('holds exactly when every compared field is the same', () => {
    fc.assert(
      fc.property(cursor, cursor, (a, b) => {
        const same =
          a.status === b.status &&
          a.epoch === b.epoch &&
          a.lastAppliedSequence === b.lastAppliedSequence &&
          JSON.stringify(a.inProgress) === JSON.stringify(b.inProgress);
        expect(unchangedSincePlanned(a, b)).to.equal(same);
        expect(unchangedSincePlanned(a, b, ['rebuildVersion'])).to.equal(
          same && (a.rebuildVersion ?? null) === (b.rebuildVersion ?? null),
        );
        expect(unchangedSincePlanned(a, a, ['rebuildVersion'])).to.equal(true);
      }),
    );
  });

  it('a claim holds for less than its lease', () => {
    expect(claimIsLive(100, 159, 60)).to.equal(true);
    expect(claimIsLive(100, 160, 60)).to.equal(false);
  });
});

describe('consumer shape: a new epoch', () => {
  const context = { startOver: false, holder: 'the replica', stops: 'writes' };

  it('goes on while the epoch is the followed one, or there is none yet', () => {
    expect(newEpochDecision({ epoch: 'e1', watermark: null }, 'e1', context)).to.equal(undefined);
    expect(newEpochDecision({ epoch: null, watermark: null }, 'e2', context)).to.equal(undefined);
    expect(newEpochDecision({ epoch: 'e1', watermark: null }, '', context)).to.equal(undefined);
  });

  it('halts saying what the consumer holds, or starts over from the new epoch', () => {
    expect(newEpochDecision({ epoch: 'e1', watermark: 'W' }, 'e2', context)).to.deep.equal({
      kind: 'HALT',
      detail:
        'the chain moved from epoch e1 to e2; the replica holds epoch e1 up to W and writes nothing of the new epoch until rebuilt',
    });
    expect(
      newEpochDecision({ epoch: 'e1', watermark: 'W' }, 'e2', { ...context, startOver: true }),
    ).to.deep.equal({
      kind: 'START_OVER',
      fromEpoch: 'e1',
      toEpoch: 'e2',
    });
  });
});

describe("consumer shape: the operator's action", () => {
  const facts: ActionFacts = { lastAppliedSequence: 4, resumeCommand: 'dce x resume' };
  const read = (value: string | null, version: number | null = 2) => ({ value, version });

  it('RUN, a missing parameter and a carried-out REBUILD run', () => {
    expect(decideAction(read('RUN'), facts)).to.deep.equal({ kind: 'RUN' });
    expect(decideAction(read(null, null), facts)).to.deep.equal({ kind: 'RUN' });
    expect(decideAction(read('REBUILD', 2), { ...facts, rebuildVersion: 2 })).to.deep.equal({ kind: 'RUN' });
  });

  it('PAUSE, a value that is not an action and a legacy pause pause, naming why', () => {
    expect(decideAction(read(' PAUSE\n'), facts)).to.deep.include({ kind: 'PAUSE' });
    expect((decideAction(read('STOP'), facts) as { reason: string }).reason).to.include('"STOP"');
    expect(decideAction(read('RUN'), { ...facts, pausedByEarlierRelease: true })).to.deep.include({
      kind: 'PAUSE',
    });
  });

  it('a pending REBUILD is carried out once per version, and waits for another live claim', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9 }), fc.option(fc.integer({ min: 1, max: 9 })), (v, done) => {
        const f = { ...facts, rebuildVersion: done };
        const decided = decideAction(read('REBUILD', v), f);
        expect(isPendingRebuild(read('REBUILD', v), f)).to.equal(done !== v);
        expect(decided).to.deep.equal(done === v ? { kind: 'RUN' } : { kind: 'REBUILD', version: v });
      }),
    );
    expect(
      decideAction(read('REBUILD', 3), { ...facts, liveClaimOfOther: { executionId: 'x', doing: 'ends' } }),
    ).to.deep.include({ kind: 'REBUILD_WAITS', executionId: 'x' });
  });
});
