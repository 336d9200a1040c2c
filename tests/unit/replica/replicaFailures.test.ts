/**
 * The replica's pure decisions about the target's schema (functions/replica/schema.ts) and about a
 * failed apply (functions/replica/failures.ts, and the planner's backoff).
 */
import { expect } from 'chai';
import fc from 'fast-check';
import type { TableDescription } from '@aws-sdk/client-dynamodb';
import { EntryFilesMissingError, WriteRejectedError } from '../../../apply';
import {
  classifyApplyFailure,
  failureBackoffSeconds,
  FAILURE_BACKOFF_SECONDS,
  withEntryFailure,
} from '../../../functions/replica/failures';
import { planReplica, type ChainView } from '../../../functions/replica/planner';
import { formatKeys, schemaMismatch, tableKeys, type TableKeys } from '../../../functions/replica/schema';
import { initialReplicaState, parseReplicaState, type ReplicaState } from '../../../functions/replica/state';
import {
  plannedEntry as entry,
  PLAN_EPOCH as EPOCH,
  planContext as context,
} from '../../helpers/replicaPlans';

const described = (
  keys: [string, string][],
  types: Record<string, string>,
  indexes: { name: string; keys: [string, string][] }[] = [],
): TableDescription => ({
  KeySchema: keys.map(([name, role]) => ({ AttributeName: name, KeyType: role as 'HASH' | 'RANGE' })),
  AttributeDefinitions: Object.entries(types).map(([name, type]) => ({
    AttributeName: name,
    AttributeType: type as 'S' | 'N' | 'B',
  })),
  GlobalSecondaryIndexes: indexes.map((i) => ({
    IndexName: i.name,
    KeySchema: i.keys.map(([name, role]) => ({ AttributeName: name, KeyType: role as 'HASH' | 'RANGE' })),
    Projection: { ProjectionType: 'ALL' },
  })),
});

const SOURCE = tableKeys(
  'orders',
  described(
    [
      ['pk', 'HASH'],
      ['sk', 'RANGE'],
    ],
    { pk: 'S', sk: 'N' },
  ),
);

describe('the target table against the source (functions/replica/schema.ts)', () => {
  const keyArb = fc.record({
    name: fc.constantFrom('pk', 'sk', 'id', 'ts'),
    type: fc.constantFrom('S', 'N', 'B'),
  });
  const tableArb = fc
    .record({ hash: keyArb, range: fc.option(keyArb, { nil: undefined }) })
    .filter(({ hash, range }) => range === undefined || range.name !== hash.name)
    .map(({ hash, range }): TableKeys => {
      const keys = [
        { ...hash, role: 'HASH' as const },
        ...(range ? [{ ...range, role: 'RANGE' as const }] : []),
      ];
      return { table: 't', keys, indexes: [] };
    });

  it('accepts a target keyed as the source; any difference in a key name, type or role halts, naming both schemas (property)', () => {
    fc.assert(
      fc.property(tableArb, tableArb, (source, target) => {
        expect(schemaMismatch(source, { ...source, table: 'copy' })).to.equal(undefined);
        const same = JSON.stringify(source.keys) === JSON.stringify(target.keys);
        const detail = schemaMismatch(source, target);
        expect(detail === undefined).to.equal(same);
        if (detail) {
          expect(detail).to.contain(formatKeys(source.keys));
          expect(detail).to.contain(formatKeys(target.keys));
        }
      }),
      { numRuns: 500 },
    );
  });

  it('a target keyed on pk alone for a pk+sk source: a mismatch naming both schemas', () => {
    const target = tableKeys('orders-copy', described([['pk', 'HASH']], { pk: 'S' }));
    expect(schemaMismatch(SOURCE, target)).to.equal(
      "target table orders-copy is keyed pk (S, HASH), source table orders is keyed pk (S, HASH), sk (N, RANGE): the target's key schema must be the source's, or items are merged or rejected",
    );
  });

  it("an index of the target keying an attribute as another type than the source's is a mismatch; an attribute the source leaves untyped is not", () => {
    const source = tableKeys(
      'orders',
      described(
        [
          ['pk', 'HASH'],
          ['sk', 'RANGE'],
        ],
        { pk: 'S', sk: 'N', kind: 'S' },
        [{ name: 'by-kind', keys: [['kind', 'HASH']] }],
      ),
    );
    const target = (kindType: string, extra: Record<string, string> = {}) =>
      tableKeys(
        'orders-copy',
        described(
          [
            ['pk', 'HASH'],
            ['sk', 'RANGE'],
          ],
          { pk: 'S', sk: 'N', kind: kindType, ...extra },
          [
            { name: 'kinds', keys: [['kind', 'HASH']] },
            {
              name: 'by-version',
              keys: [
                ['version', 'HASH'],
                ['sk', 'RANGE'],
              ],
            },
          ],
        ),
      );
    expect(schemaMismatch(source, target('S', { version: 'S' }))).to.equal(undefined);
    expect(schemaMismatch(source, target('N', { version: 'S' }))).to.equal(
      'index kinds of target table orders-copy keys kind as N, source table orders defines kind as S: every item carrying kind would be rejected',
    );
  });
});

describe('a failed apply (functions/replica/failures.ts)', () => {
  it('a missing file and a rejected write halt (naming the entries, the key and the message); anything else is retried later', () => {
    expect(classifyApplyFailure(new EntryFilesMissingError(4, 'arn:e', 'k/data/x.json.gz'), [4])).to.include({
      kind: 'HALT',
      reason: 'FILES_MISSING',
    });
    const rejected = classifyApplyFailure(
      new WriteRejectedError(
        '{"pk":{"S":"a"},"sk":{"N":"1"}}',
        'ValidationException: Type mismatch for Index Key',
      ),
      [4, 5, 6],
    );
    expect(rejected).to.deep.equal({
      kind: 'HALT',
      reason: 'WRITE_REJECTED',
      detail:
        'applying chain entries 4-6: target rejected the write of key {"pk":{"S":"a"},"sk":{"N":"1"}}: ValidationException: Type mismatch for Index Key',
    });
    const denied = Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' });
    expect(classifyApplyFailure(denied, [4])).to.deep.equal({
      kind: 'RETRY_LATER',
      error: 'AccessDeniedException: not authorized',
    });
  });

  it('no backoff after one failure; then it doubles per failure of the same entry, up to 6 hours (property)', () => {
    expect(failureBackoffSeconds(1)).to.equal(0);
    expect(failureBackoffSeconds(2)).to.equal(FAILURE_BACKOFF_SECONDS.first);
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 200 }), (n) => {
        const next = failureBackoffSeconds(n + 1);
        expect(next).to.be.at.most(FAILURE_BACKOFF_SECONDS.max);
        expect(next === 2 * failureBackoffSeconds(n) || next === FAILURE_BACKOFF_SECONDS.max).to.equal(true);
      }),
    );
  });

  const T = context().now;
  const chain = (count: number): ChainView => ({
    currentEpoch: EPOCH,
    head: { lastSequence: count - 1, watermark: entry(count - 1).to },
    entries: Array.from({ length: count }, (_, i) => entry(i)),
  });

  it('the plan applies an entry that failed again only once its backoff has passed; other entries are not held (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: -1, max: 30 }),
        fc.integer({ min: 0, max: 8 * 3600 }),
        fc.boolean(),
        (failures, lastApplied, elapsed, sameEpoch) => {
          let state: ReplicaState = {
            ...initialReplicaState(),
            epoch: lastApplied >= 0 ? EPOCH : null,
            lastAppliedSequence: lastApplied,
          };
          for (let i = 0; i < failures; i++)
            state = withEntryFailure(state, {
              epoch: sameEpoch ? EPOCH : 'OTHER',
              sequence: lastApplied + 1,
              error: 'AccessDeniedException: not authorized',
              now: T - elapsed,
            });
          expect(parseReplicaState(JSON.stringify(state))).to.deep.equal(state);
          const plan = planReplica(state, chain(40), context());
          const unheld = planReplica({ ...state, failure: null }, chain(40), context());
          const held = sameEpoch && elapsed < failureBackoffSeconds(failures);
          if (held) {
            expect(plan.action).to.equal('IDLE');
            expect((plan as { reason: string }).reason).to.contain(`failed ${failures} time`);
          } else expect(plan).to.deep.equal(unheld);
          // A failure of another entry holds nothing back.
          const other = { ...state, failure: { ...state.failure!, sequence: lastApplied + 2 } };
          expect(planReplica(other, chain(40), context())).to.deep.equal(unheld);
        },
      ),
      { numRuns: 400 },
    );
  });
});
