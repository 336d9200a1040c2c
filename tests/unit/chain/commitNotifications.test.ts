/**
 * Commits and their notifications, exactly: the entries' sequences and fields, HEAD, and the ids,
 * windows and `sequences` of the commit facts (a consumer drops duplicates by the id and follows the
 * chain by the range), then the one message a merged outbox sends for consecutive commits.
 */
import { expect } from 'chai';
import { chainEntry, commitCompleted, droppedIds } from '../../../functions/chain/commits';
import type { NotificationFact } from '../../../functions/chain/notificationFacts';
import { addToOutbox } from '../../../functions/chain/outbox';
import { newWork } from '../../../functions/chain/planWork';
import type { WorkflowSettings } from '../../../functions/chain/settings';
import { initialState, type ChainState, type TrackedExport } from '../../../functions/chain/state';
import { chainSettings } from '../../helpers/chainSettings';

const T0 = Date.parse('2026-11-24T00:00:00Z') / 1000;
const NOW = T0 + 10 * 3600;
const EPOCH = '20261124T000000Z';
const TABLE = 'arn:aws:dynamodb:eu-west-1:123456789012:table/orders';

const SETTINGS: WorkflowSettings = chainSettings({ tableArn: TABLE });

/** A completed export of `[from, to)` (minutes after T0), with its id `id`. */
function done(
  type: 'FULL' | 'INCREMENTAL',
  from: number,
  to: number,
  id: string,
  attempt = 1,
): TrackedExport {
  return {
    type,
    from: T0 + from * 60,
    to: T0 + to * 60,
    attempt,
    status: 'COMPLETED',
    arn: `${TABLE}/export/${id}`,
    checks: 2,
    completed: { endTime: T0 + to * 60 + 300, itemCount: to, billedSizeBytes: 10 * to },
  };
}

/** A chain of epoch EPOCH whose last committed sequence is `sequence`, ending at `watermark` minutes. */
function chainAt(sequence: number, watermark: number, exports: TrackedExport[]): ChainState {
  return {
    ...initialState(),
    epoch: EPOCH,
    chainStart: T0,
    watermark: T0 + watermark * 60,
    sequence,
    exports,
  };
}

const iso = (minutes: number) => new Date((T0 + minutes * 60) * 1000).toISOString();

describe('commits and their notifications', () => {
  it('the full export and two windows in one tick: entries 0, 1, 2; one FULL and one range fact with exact ids', () => {
    const state: ChainState = {
      ...initialState(),
      epoch: EPOCH,
      exports: [
        done('INCREMENTAL', 0, 15, 'inc-a'),
        done('FULL', 0, 0, 'full', 2),
        done('INCREMENTAL', 15, 30, 'inc-b', 3),
      ],
    };
    const w = newWork(state, SETTINGS, NOW);
    const plan = commitCompleted(w);

    expect(plan.entries.map((e) => [e.sequence, e.type, e.from, e.to, e.exportArn])).to.deep.equal([
      [0, 'FULL', iso(0), iso(0), `${TABLE}/export/full`],
      [1, 'INCREMENTAL', iso(0), iso(15), `${TABLE}/export/inc-a`],
      [2, 'INCREMENTAL', iso(15), iso(30), `${TABLE}/export/inc-b`],
    ]);
    expect(plan.current).to.deep.equal({ schemaVersion: 1, epoch: EPOCH });
    expect(plan.head).to.deep.equal({
      schemaVersion: 1,
      epoch: EPOCH,
      chainStart: iso(0),
      watermark: iso(30),
      lastSequence: 2,
      lastEntryKey: `orders/chain/${EPOCH}/00000002_20261124T001500Z_20261124T003000Z.json`,
    });
    expect([w.state.chainStart, w.state.watermark, w.state.sequence]).to.deep.equal([T0, T0 + 1800, 2]);
    expect(w.state.exports).to.deep.equal([]);
    expect(w.facts).to.deep.equal([
      {
        id: `commit@${EPOCH}#0-0`,
        event: 'FULL_EXPORT_COMMITTED',
        at: NOW,
        epoch: EPOCH,
        type: 'FULL',
        window: { from: T0, to: T0 },
        exportArn: `${TABLE}/export/full`,
        attempt: 2,
      },
      {
        id: `commit@${EPOCH}#1-2`,
        event: 'EXPORT_COMMITTED',
        at: NOW,
        epoch: EPOCH,
        type: 'INCREMENTAL',
        window: { from: T0, to: T0 + 1800 },
        exportArn: `${TABLE}/export/inc-b`,
        attempt: 3,
        count: 2,
        sequences: { first: 1, last: 2 },
      },
    ]);
  });

  it('three windows after sequence 4: entries 5..7, one fact commit@E#5-7 over their whole window', () => {
    const w = newWork(
      chainAt(4, 60, [
        done('INCREMENTAL', 90, 105, 'c'),
        done('INCREMENTAL', 60, 75, 'a'),
        done('INCREMENTAL', 75, 90, 'b', 2),
        // Not contiguous: waits for 105..120.
        done('INCREMENTAL', 120, 135, 'e'),
      ]),
      SETTINGS,
      NOW,
    );
    const plan = commitCompleted(w);
    expect(plan.entries.map((e) => [e.sequence, e.from, e.to])).to.deep.equal([
      [5, iso(60), iso(75)],
      [6, iso(75), iso(90)],
      [7, iso(90), iso(105)],
    ]);
    expect(plan.current, 'CURRENT.json is written with the full export only').to.equal(null);
    expect(plan.head).to.include({
      lastSequence: 7,
      watermark: iso(105),
      chainStart: iso(0),
      lastEntryKey: `orders/chain/${EPOCH}/00000007_20261124T013000Z_20261124T014500Z.json`,
    });
    expect([w.state.watermark, w.state.sequence]).to.deep.equal([T0 + 105 * 60, 7]);
    expect(w.state.exports.map((e) => e.arn)).to.deep.equal([`${TABLE}/export/e`]);
    expect(w.facts).to.deep.equal([
      {
        id: `commit@${EPOCH}#5-7`,
        event: 'EXPORT_COMMITTED',
        at: NOW,
        epoch: EPOCH,
        type: 'INCREMENTAL',
        window: { from: T0 + 60 * 60, to: T0 + 105 * 60 },
        exportArn: `${TABLE}/export/c`,
        attempt: 1,
        count: 3,
        sequences: { first: 5, last: 7 },
      },
    ]);
  });

  it('one window: commit@E#n-n; the entry describes the export as requested', () => {
    const e = done('INCREMENTAL', 60, 75, 'only');
    const w = newWork(chainAt(4, 60, [e]), SETTINGS, NOW);
    const plan = commitCompleted(w);
    expect(plan.entries).to.deep.equal([
      {
        schemaVersion: 1,
        epoch: EPOCH,
        sequence: 5,
        type: 'INCREMENTAL',
        from: iso(60),
        to: iso(75),
        exportArn: `${TABLE}/export/only`,
        bucket: 'exports-bucket',
        manifestSummaryKey: 'orders/AWSDynamoDB/only/manifest-summary.json',
        itemCount: 75,
        billedSizeBytes: 750,
        completedAt: iso(80),
        exportFormat: 'DYNAMODB_JSON',
        exportViewType: 'NEW_AND_OLD_IMAGES',
      },
    ]);
    expect(w.facts.map((f) => [f.id, f.sequences, f.count])).to.deep.equal([
      [`commit@${EPOCH}#5-5`, { first: 5, last: 5 }, 1],
    ]);
  });

  it('the full export alone: entry 0 without a view type, no range fact; nothing is recorded without success mail', () => {
    const full = done('FULL', 0, 0, 'full');
    full.completed!.manifestSummaryKey = 'elsewhere/manifest-summary.json';
    const w = newWork({ ...initialState(), epoch: EPOCH, exports: [full] }, SETTINGS, NOW);
    const plan = commitCompleted(w);
    expect(plan.entries).to.have.length(1);
    expect(plan.entries[0]).to.not.have.property('exportViewType');
    expect(plan.entries[0].manifestSummaryKey).to.equal('elsewhere/manifest-summary.json');
    expect(w.facts.map((f) => f.id)).to.deep.equal([`commit@${EPOCH}#0-0`]);

    const quiet = newWork(
      chainAt(4, 60, [done('INCREMENTAL', 60, 75, 'a')]),
      { ...SETTINGS, notifyOnSuccess: false },
      NOW,
    );
    expect(commitCompleted(quiet).entries).to.have.length(1);
    expect(quiet.facts).to.deep.equal([]);
  });

  it('nothing completed at the watermark: no entries, no HEAD, no fact', () => {
    const w = newWork(chainAt(4, 60, [done('INCREMENTAL', 75, 90, 'later')]), SETTINGS, NOW);
    const plan = commitCompleted(w);
    expect(plan).to.deep.equal({ entries: [], head: null, current: null });
    expect(w.facts).to.deep.equal([]);
    expect(w.state.sequence).to.equal(4);
    expect(commitCompleted(newWork(initialState(), SETTINGS, NOW))).to.deep.equal({
      entries: [],
      head: null,
      current: null,
    });
  });

  it('two ticks of commits become one message over the whole range in the outbox', () => {
    const first = newWork(
      chainAt(4, 60, [done('INCREMENTAL', 60, 75, 'a'), done('INCREMENTAL', 75, 90, 'b')]),
      SETTINGS,
      NOW,
    );
    commitCompleted(first);
    const second = newWork(
      { ...first.state, exports: [done('INCREMENTAL', 90, 105, 'c', 4)] },
      SETTINGS,
      NOW + 900,
    );
    commitCompleted(second);
    const outbox = addToOutbox(addToOutbox([], first.facts, NOW), second.facts, NOW + 900);
    expect(outbox).to.deep.equal([
      {
        id: `commit@${EPOCH}#5-7`,
        event: 'EXPORT_COMMITTED',
        at: NOW + 900,
        epoch: EPOCH,
        type: 'INCREMENTAL',
        window: { from: T0 + 60 * 60, to: T0 + 105 * 60 },
        exportArn: `${TABLE}/export/c`,
        attempt: 4,
        count: 3,
        sequences: { first: 5, last: 7 },
      },
    ] satisfies NotificationFact[]);
    // The same facts again (a resend after a crash) add nothing.
    expect(addToOutbox(outbox, [{ ...outbox[0] }], NOW + 900)).to.deep.equal(outbox);
  });

  it('an entry names the bucket owner the export was written for, when one is set', () => {
    const owned = { ...SETTINGS, bucketOwnerAccountId: '999988887777' };
    const w = newWork(chainAt(4, 60, [done('INCREMENTAL', 60, 75, 'a')]), owned, NOW);
    expect(commitCompleted(w).entries.map((e) => e.bucketOwnerAccountId)).to.deep.equal(['999988887777']);
  });

  it('only a completed export with an ARN becomes an entry', () => {
    const state = chainAt(4, 60, []);
    const running: TrackedExport = { ...done('INCREMENTAL', 60, 75, 'r'), status: 'IN_PROGRESS' };
    delete running.completed;
    const unsent: TrackedExport = { ...done('INCREMENTAL', 60, 75, 'u') };
    delete unsent.arn;
    for (const e of [running, unsent])
      expect(() => chainEntry(state, SETTINGS, EPOCH, 5, e)).to.throw(
        'only a completed export with an ARN can be committed',
      );
  });

  it('a new epoch lists at most 8 dropped export ids, each cut to 64 characters', () => {
    const arns = Array.from({ length: 10 }, (_, i) => `${TABLE}/export/${String(i).repeat(70)}`);
    expect(droppedIds(arns)).to.deep.equal(arns.slice(0, 8).map((_, i) => String(i).repeat(64)));
  });
});
