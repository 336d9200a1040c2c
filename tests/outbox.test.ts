import { expect } from 'chai';
import fc from 'fast-check';
import { factStatus, NOTIFICATION_EVENTS, type NotificationFact } from '../functions/notificationFacts';
import { MAX_OUTBOX, addToOutbox, removeDelivered } from '../functions/outbox';
import { fitState } from '../functions/planner';
import { initialState, serializeState } from '../functions/state';

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

describe('notification outbox', () => {
  it('property: bounded, never drops a failure or warning silently, keeps ids unique', () => {
    fc.assert(
      fc.property(fc.array(fc.array(factArb, { maxLength: 6 }), { maxLength: 30 }), (batches) => {
        let outbox: NotificationFact[] = [];
        const added = new Map<string, NotificationFact>();
        for (const batch of batches) {
          outbox = addToOutbox(outbox, batch, T);
          for (const f of batch) added.set(f.id, f);
          expect(outbox.length).to.be.at.most(MAX_OUTBOX);
          expect(new Set(outbox.map((f) => f.id)).size).to.equal(outbox.length);
        }
        const kept = new Set(outbox.map((f) => f.id));
        const lostAlerts = [...added.values()].filter((f) => factStatus(f) !== 'SUCCESS' && !kept.has(f.id));
        const counter = outbox.find((f) => f.event === 'NOTIFICATIONS_DROPPED');
        // Every failure or warning is either still waiting or counted by the drop notice.
        expect(counter?.count ?? 0).to.equal(lostAlerts.length);
        if (counter) expect(outbox[0]).to.equal(counter);
      }),
    );
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
  });
});
