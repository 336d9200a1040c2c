import { expect } from 'chai';
import fc from 'fast-check';
import {
  decideImport,
  type ImportObservation,
  type ImportRequestFacts,
} from '../../../functions/replica/bootstrap';
import { initialReplicaState, type ReplicaState } from '../../../functions/replica/state';

const EPOCH = '20261103T010000Z';
const FACTS: ImportRequestFacts = {
  clientToken: '0123456789abcdef0123456789abcdef',
  exportArn: 'arn:aws:dynamodb:eu-west-1:123456789012:table/orders/export/01764000000000-abcd1234',
  epoch: EPOCH,
  sequence: 0,
  watermark: Date.parse('2026-11-03T01:00:00.000Z') / 1000,
  itemCount: 120,
};
const ARN = 'arn:aws:dynamodb:eu-west-1:123456789012:table/orders-copy/import/01764000000001-aaaa';
const CONTEXT = { targetTableName: 'orders-copy', now: Date.parse('2026-11-03T02:00:00.000Z') / 1000 };
const recorded: ReplicaState = {
  ...initialReplicaState(),
  import: { ...FACTS, importArn: ARN, startedAt: Date.parse('2026-11-03T01:30:00.000Z') / 1000 },
};

describe('import bootstrap decisions (functions/replica/bootstrap.ts)', () => {
  it('records an import in progress once, then waits without writing', () => {
    const first = decideImport(
      initialReplicaState(),
      FACTS,
      { kind: 'import', importArn: ARN, status: 'IN_PROGRESS' },
      CONTEXT,
    );
    expect(first.kind).to.equal('WAIT');
    expect(first.kind === 'WAIT' && first.state?.import).to.deep.equal({
      ...FACTS,
      importArn: ARN,
      startedAt: CONTEXT.now,
    });
    expect(first.kind === 'WAIT' && first.state?.epoch).to.equal(null);
    const again = decideImport(
      recorded,
      FACTS,
      { kind: 'import', importArn: ARN, status: 'IN_PROGRESS' },
      CONTEXT,
    );
    expect(again).to.deep.equal({
      kind: 'WAIT',
      detail: `importing ${FACTS.exportArn} into orders-copy: import ${ARN} (IN_PROGRESS) since 2026-11-03T01:30:00.000Z; no writes until it completes`,
    });
  });

  it('takes DynamoDB StartTime as the start when it gives one', () => {
    const d = decideImport(
      initialReplicaState(),
      FACTS,
      { kind: 'import', importArn: ARN, status: 'IN_PROGRESS', startTime: new Date('2026-11-03T01:45:00Z') },
      CONTEXT,
    );
    expect(d.kind === 'WAIT' && d.state?.import?.startedAt).to.equal(
      Date.parse('2026-11-03T01:45:00.000Z') / 1000,
    );
  });

  it('table of outcomes: completed, short, failed, cancelled, target exists, token conflict', () => {
    const cases: [ImportObservation, string, string | RegExp][] = [
      [
        { kind: 'import', importArn: ARN, status: 'COMPLETED', importedItemCount: 120, errorCount: 0 },
        'COMPLETE',
        /completed: replica at sequence 0/,
      ],
      [
        { kind: 'import', importArn: ARN, status: 'COMPLETED', importedItemCount: 119, errorCount: 0 },
        'IMPORT_FAILED',
        /119 of 120 items/,
      ],
      [
        { kind: 'import', importArn: ARN, status: 'COMPLETED', importedItemCount: 120, errorCount: 2 },
        'IMPORT_FAILED',
        /2 errors/,
      ],
      [
        {
          kind: 'import',
          importArn: ARN,
          status: 'FAILED',
          failureCode: 'S3AccessDenied',
          failureMessage: 'no read',
        },
        'IMPORT_FAILED',
        /ended FAILED \(S3AccessDenied: no read\)/,
      ],
      [{ kind: 'import', importArn: ARN, status: 'CANCELLED' }, 'IMPORT_FAILED', /ended CANCELLED/],
      [{ kind: 'import', importArn: ARN, status: 'CANCELLING' }, 'IMPORT_FAILED', /ended CANCELLING/],
      [
        { kind: 'targetExists', message: 'ResourceInUseException: Table already exists' },
        'TARGET_EXISTS',
        /Delete orders-copy.*bootstrap: write/,
      ],
      [{ kind: 'notFound', error: 'ImportConflictException: conflict' }, 'WAIT', /same ClientToken/],
    ];
    for (const [observation, outcome, detail] of cases) {
      const d = decideImport(recorded, FACTS, observation, CONTEXT);
      expect(d.kind === 'HALT' ? d.reason : d.kind, JSON.stringify(observation)).to.equal(outcome);
      expect(d.detail).to.match(detail as RegExp);
      if (d.kind === 'WAIT') expect(d.state).to.equal(undefined);
    }
  });

  it('a completed import gives the epoch, sequence 0 and the full export window end, and clears the import', () => {
    const d = decideImport(
      recorded,
      FACTS,
      { kind: 'import', importArn: ARN, status: 'COMPLETED', importedItemCount: 120 },
      CONTEXT,
    );
    expect(d.kind).to.equal('COMPLETE');
    expect(d.kind === 'COMPLETE' && d.state).to.deep.equal({
      ...recorded,
      epoch: EPOCH,
      lastAppliedSequence: 0,
      watermark: FACTS.watermark,
      import: null,
    });
  });

  it('property: the replica gets a watermark only from a COMPLETED import that brought every item without errors', () => {
    const observation = fc.oneof(
      fc.record({
        kind: fc.constant('import' as const),
        importArn: fc.constantFrom(ARN, `${ARN}-other`),
        status: fc.constantFrom(undefined, 'IN_PROGRESS', 'COMPLETED', 'CANCELLING', 'CANCELLED', 'FAILED'),
        importedItemCount: fc.option(fc.nat({ max: 200 }), { nil: undefined }),
        errorCount: fc.option(fc.nat({ max: 3 }), { nil: undefined }),
      }),
      fc.record({ kind: fc.constant('targetExists' as const), message: fc.string() }),
      fc.record({ kind: fc.constant('notFound' as const), error: fc.string() }),
    );
    fc.assert(
      fc.property(fc.boolean(), observation, (hasRecord, obs) => {
        const state = hasRecord ? recorded : initialReplicaState();
        const d = decideImport(state, FACTS, obs as ImportObservation, CONTEXT);
        const completedWhole =
          obs.kind === 'import' &&
          obs.status === 'COMPLETED' &&
          (obs.errorCount ?? 0) === 0 &&
          (obs.importedItemCount === undefined || obs.importedItemCount >= FACTS.itemCount);
        expect(d.kind === 'COMPLETE').to.equal(completedWhole);
        if (d.kind === 'COMPLETE') {
          expect(d.state).to.include({
            epoch: EPOCH,
            lastAppliedSequence: 0,
            watermark: FACTS.watermark,
            import: null,
          });
        }
        if (d.kind === 'WAIT' && d.state) {
          // Only an import not yet recorded is written, and it never sets the epoch or the watermark.
          expect(obs.kind === 'import' && state.import?.importArn !== obs.importArn).to.equal(true);
          expect(d.state).to.include({ epoch: null, watermark: null, lastAppliedSequence: -1 });
        }
        if (d.kind === 'HALT') {
          const bad =
            obs.kind === 'targetExists' ||
            (obs.kind === 'import' &&
              !completedWhole &&
              obs.status !== 'IN_PROGRESS' &&
              obs.status !== undefined);
          expect(bad).to.equal(true);
        }
      }),
    );
  });
});
