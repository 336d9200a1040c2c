import { expect } from 'chai';
import fc from 'fast-check';
import { NOTIFICATION_EVENTS, type NotificationFact } from '../../../functions/chain/notificationFacts';
import { RESOLUTION_EVENTS } from '../../../functions/chain/incidents';
import {
  MAX_OUTBOX,
  MAX_OUTBOX_BYTES,
  addFacts,
  addToOutbox,
  bound,
  boundState,
  outboxBytes,
  removeDelivered,
} from '../../../functions/chain/outbox';
import { fitState } from '../../../functions/chain/planner';
import { initialState, serializeState } from '../../../functions/chain/state';

const T = 1_800_000_000;

const factArb: fc.Arbitrary<NotificationFact> = fc
  .record({
    n: fc.integer({ min: 0, max: 10_000 }),
    event: fc.constantFrom(...NOTIFICATION_EVENTS.filter((e) => e !== 'NOTIFICATIONS_DROPPED')),
    epoch: fc.constantFrom('20261124T000000Z', '20261125T000000Z'),
  })
  .map(({ n, event, epoch }) => ({
    id: `${event}@${n}`,
    event,
    at: T + n,
    epoch,
    ...(event === 'EXPORT_COMMITTED'
      ? { window: { from: T + n * 900, to: T + n * 900 + 900 }, count: 1, sequences: { first: n, last: n } }
      : {}),
    code: 'SomeError',
    detail: 'x'.repeat(160),
  }));

/** Commit facts numbered in chain order per epoch, as the planner records them. */
function inChainOrder(batches: NotificationFact[][]): NotificationFact[][] {
  const next = new Map<string | null, number>();
  return batches.map((batch) =>
    batch.map((f) => {
      if (f.event !== 'EXPORT_COMMITTED') return f;
      const seq = next.get(f.epoch) ?? 0;
      next.set(f.epoch, seq + 1);
      return {
        ...f,
        id: `commit@${f.epoch}#${seq}-${seq}`,
        window: { from: T + seq * 900, to: T + seq * 900 + 900 },
        sequences: { first: seq, last: seq },
      };
    }),
  );
}

const isResolution = (f: NotificationFact) => RESOLUTION_EVENTS.has(f.event);

describe('notification outbox', () => {
  it('property: bounded, drops nothing silently and resolutions last, keeps ids unique', () => {
    fc.assert(
      fc.property(fc.array(fc.array(factArb, { maxLength: 6 }), { maxLength: 30 }), (raw) => {
        let state = initialState();
        const added = new Map<string, NotificationFact>();
        // A fact recorded again after it was dropped is a second message (the counter counts both).
        const instances = new Map<string, number>();
        for (const batch of inChainOrder(raw)) {
          const before = state.outbox;
          const waiting = new Set(before.map((f) => f.id));
          state = addFacts(state, batch, T);
          const outbox = state.outbox;
          for (const f of batch) {
            added.set(f.id, f);
            if (!waiting.has(f.id)) instances.set(f.id, (instances.get(f.id) ?? 0) + 1);
            waiting.add(f.id);
          }
          expect(outbox.length).to.be.at.most(MAX_OUTBOX);
          expect(outboxBytes(outbox)).to.be.at.most(MAX_OUTBOX_BYTES);
          expect(new Set(outbox.map((f) => f.id)).size).to.equal(outbox.length);
          // A resolution gives way only when nothing but resolutions is left.
          const keptNow = new Set(outbox.map((f) => f.id));
          const lostResolution = [...before, ...batch].some((f) => isResolution(f) && !keptNow.has(f.id));
          if (lostResolution) {
            expect(outbox.filter((f) => f.event !== 'NOTIFICATIONS_DROPPED').every(isResolution)).to.equal(
              true,
            );
          }
        }
        const outbox = state.outbox;
        const kept = new Set(outbox.map((f) => f.id));
        const commits = outbox.filter((f) => f.event === 'EXPORT_COMMITTED');
        const covered = (f: NotificationFact) =>
          f.event === 'EXPORT_COMMITTED' &&
          commits.some(
            (c) =>
              c.epoch === f.epoch &&
              c.sequences!.first <= f.sequences!.first &&
              f.sequences!.last <= c.sequences!.last,
          );
        const lost = [...added.values()].filter((f) => !kept.has(f.id) && !covered(f));
        const lostCommits = lost.filter((f) => f.event === 'EXPORT_COMMITTED').length;
        const lostAgain = [...added.values()]
          .filter((f) => f.event !== 'EXPORT_COMMITTED')
          .reduce((sum, f) => sum + (instances.get(f.id) ?? 1) - 1, 0);
        const counter = outbox.find((f) => f.event === 'NOTIFICATIONS_DROPPED');
        // Every message is still waiting, merged into a waiting commit message, or counted (commits
        // merged before they were dropped count as the one message they had become).
        const counted = (counter?.count ?? 0) - (lost.length - lostCommits) - lostAgain;
        expect(counted).to.be.within(Math.min(1, lostCommits), lostCommits);
        expect(state.notificationsDropped).to.equal(counter?.count ?? 0);
        if (counter) expect(outbox[0]).to.equal(counter);
      }),
    );
  });

  it('folds commit messages across other messages, and compacts, before it drops anything', () => {
    const epoch = '20261124T000000Z';
    const arn = `arn:aws:dynamodb:eu-west-1:123456789012:table/orders/export/01800000000000-abcdef12`;
    const commit = (n: number): NotificationFact => ({
      id: `commit@${epoch}#${n}-${n}`,
      event: 'EXPORT_COMMITTED',
      at: T + n,
      epoch,
      window: { from: T + n * 900, to: T + n * 900 + 900 },
      exportArn: arn,
      count: 1,
      sequences: { first: n, last: n },
    });
    const failed = (code: string): NotificationFact => ({
      id: `EXPORT_FAILED:${code}@${T}#0`,
      event: 'EXPORT_FAILED',
      at: T,
      epoch,
      window: { from: T, to: T + 900 },
      exportArn: arn,
      code,
      detail: 'd'.repeat(160),
      since: T,
    });
    const resolved = (code: string): NotificationFact => ({
      id: `EXPORT_FAILED:${code}@${T}#resolved`,
      event: 'EXPORT_RECOVERED',
      at: T,
      epoch,
      code,
      since: T,
    });
    // Two failures and their recoveries between commits: more than the outbox holds as they are.
    const facts = [commit(1), failed('A'), commit(2), resolved('A'), commit(3)];
    facts.push(failed('B'), commit(4), resolved('B'), commit(5));
    let state = initialState();
    for (const f of facts) state = addFacts(state, [f], T);
    expect(state.notificationsDropped).to.equal(0);
    expect(state.outbox.map((f) => f.event)).to.deep.equal([
      'EXPORT_FAILED',
      'EXPORT_RECOVERED',
      'EXPORT_FAILED',
      'EXPORT_RECOVERED',
      'EXPORT_COMMITTED',
    ]);
    const merged = state.outbox[4];
    expect(merged.sequences).to.deep.equal({ first: 1, last: 5 });
    expect(merged.window).to.deep.equal({ from: T + 900, to: T + 6 * 900 });
    expect(merged.count).to.equal(5);
  });

  it('drops routine successes, then alerts, and a resolution only when nothing else is left, counting each', () => {
    const fact = (event: NotificationFact['event'], n: number): NotificationFact => ({
      id: `${event}@${n}`,
      event,
      at: T + n,
      epoch: null,
      code: `C${n}`,
      detail: 'x'.repeat(160),
    });
    const outbox = [
      fact('EXPORT_FAILED', 1),
      fact('RUN_RECOVERED', 2),
      fact('FULL_EXPORT_COMMITTED', 3),
      fact('PITR_DISABLED', 4),
      fact('INCIDENT_RESOLVED', 5),
    ];
    const byEvents = (max: number) => bound(outbox, max, T).map((f) => f.event);
    // One slot goes to the counter, so the first drop costs two messages.
    expect(byEvents(4)).to.deep.equal([
      'NOTIFICATIONS_DROPPED',
      'RUN_RECOVERED',
      'PITR_DISABLED',
      'INCIDENT_RESOLVED',
    ]);
    expect(byEvents(3)).to.deep.equal(['NOTIFICATIONS_DROPPED', 'RUN_RECOVERED', 'INCIDENT_RESOLVED']);
    expect(byEvents(2)).to.deep.equal(['NOTIFICATIONS_DROPPED', 'INCIDENT_RESOLVED']);
    const state = boundState({ ...initialState(), outbox }, 2, T);
    expect(state.outbox[0].count).to.equal(4);
    expect(state.notificationsDropped).to.equal(4);
  });

  it('merges consecutive commit messages of one epoch into one covering the whole range', () => {
    const commit = (first: number, last: number): NotificationFact => ({
      id: `commit@E#${first}-${last}`,
      event: 'EXPORT_COMMITTED',
      at: T,
      epoch: 'E',
      window: { from: T + first * 900, to: T + (last + 1) * 900 },
      count: last - first + 1,
      sequences: { first, last },
    });
    const outbox = addToOutbox(addToOutbox([], [commit(1, 2)], T), [commit(3, 3)], T);
    expect(outbox).to.have.length(1);
    expect(outbox[0]).to.include({ id: 'commit@E#1-3', count: 3 });
    expect(outbox[0].window).to.deep.equal({ from: T + 900, to: T + 4 * 900 });
  });

  it('removes exactly what SNS accepted', () => {
    const a: NotificationFact = { id: 'a', event: 'RESET', at: T, epoch: null };
    const b: NotificationFact = { id: 'b', event: 'NEW_EPOCH', at: T, epoch: null };
    expect(removeDelivered([a, b], ['a']).map((f) => f.id)).to.deep.equal(['b']);
  });

  it('a full outbox still fits the state parameter beside a full set of exports', () => {
    const state = initialState();
    state.epoch = '20261124T000000Z';
    state.chainStart = T;
    state.watermark = T;
    state.profiles = [
      {
        id: 0,
        bucket: 'b'.repeat(63),
        prefix: 'p'.repeat(120),
        exportFormat: 'DYNAMODB_JSON',
        exportViewType: 'NEW_AND_OLD_IMAGES',
      },
    ];
    state.exports = Array.from({ length: 6 }, (_, i) => ({
      type: 'INCREMENTAL' as const,
      from: T + i * 900,
      to: T + i * 900 + 900,
      attempt: 3,
      status: 'IN_PROGRESS' as const,
      arn: `arn:aws:dynamodb:eu-west-1:123456789012:table/${'t'.repeat(60)}/export/01700000000000-abcdef12`,
      startedAt: T,
      nextCheckAt: T,
      checks: 4,
      profile: 0,
    }));
    // The outbox as the planner fills it: bounded in count and bytes when facts are added.
    const facts = Array.from({ length: 20 }, (_, i) => ({
      id: `EXPORT_FAILED:SomeLongErrorCode${i}@${T + i}#0`,
      event: 'EXPORT_FAILED' as const,
      at: T + i,
      epoch: state.epoch,
      type: 'INCREMENTAL' as const,
      window: { from: T, to: T + 900 },
      exportArn: state.exports[0].arn,
      attempt: 3,
      code: `SomeLongErrorCode${i}`,
      detail: 'x'.repeat(160),
      since: T,
      reminder: 0,
    }));
    state.outbox = addToOutbox([], facts, T);
    expect(() => serializeState(state)).to.not.throw();
    const counter = state.outbox[0];
    expect(counter.event).to.equal('NOTIFICATIONS_DROPPED');
    expect(counter.count).to.equal(20 - (state.outbox.length - 1));
  });

  it('fitState shrinks an oversized outbox last, counting every failure it drops', () => {
    const state = initialState();
    state.outbox = Array.from({ length: 8 }, (_, i) => ({
      id: `EXPORT_FAILED:Code${i}@${T}#0`,
      event: 'EXPORT_FAILED' as const,
      at: T,
      epoch: null,
      code: 'C'.repeat(120),
      detail: 'x'.repeat(160),
    }));
    const fits = (s: typeof state) => Buffer.byteLength(JSON.stringify(s)) <= 1500;
    const fitted = fitState(state, fits);
    expect(fits(fitted)).to.equal(true);
    const counter = fitted.outbox.find((f) => f.event === 'NOTIFICATIONS_DROPPED');
    expect((counter?.count ?? 0) + fitted.outbox.filter((f) => f.event === 'EXPORT_FAILED').length).to.equal(
      8,
    );
    expect(fitted.notificationsDropped).to.equal(counter?.count);
  });
});
