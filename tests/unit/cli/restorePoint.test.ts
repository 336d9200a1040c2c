import { expect } from 'chai';
import fc from 'fast-check';
import { chooseRestorePoint, RestorePointError, type BoundaryEntry } from '../../../cli/restore/restorePoint';

const iso = (s: number) => new Date(s * 1000).toISOString();

/** A chain of boundaries: the full export's time, then window ends strictly after each other. */
const chainArb = fc
  .tuple(
    fc.integer({ min: 1_700_000_000, max: 1_800_000_000 }),
    fc.array(fc.integer({ min: 900, max: 86_400 }), { maxLength: 30 }),
  )
  .map(([start, lengths]) => {
    const entries: BoundaryEntry[] = [{ sequence: 0, to: iso(start) }];
    let t = start;
    lengths.forEach((len, i) => entries.push({ sequence: i + 1, to: iso((t += len)) }));
    return entries;
  });

function refusal(f: () => unknown): RestorePointError {
  try {
    f();
  } catch (error) {
    expect(error).to.be.instanceOf(RestorePointError);
    return error as RestorePointError;
  }
  throw new Error('expected a refusal');
}

describe('restore point (cli/restore/restorePoint.ts)', () => {
  it('property: a time inside the chain goes to the last boundary at or before it', () => {
    fc.assert(
      fc.property(chainArb, fc.double({ min: 0, max: 1, noNaN: true }), (entries, at) => {
        const first = Date.parse(entries[0].to) / 1000;
        const last = Date.parse(entries[entries.length - 1].to) / 1000;
        const time = Math.floor(first + at * (last - first));
        const point = chooseRestorePoint(entries, { time });
        const chosen = entries.find((e) => e.sequence === point.sequence)!;
        expect(Date.parse(chosen.to) / 1000).to.be.at.most(time);
        const next = entries.find((e) => e.sequence === point.sequence + 1);
        if (next) expect(Date.parse(next.to) / 1000).to.be.greaterThan(time);
        expect(point.asOf).to.equal(chosen.to);
        expect(point.roundedDown).to.equal(Date.parse(chosen.to) / 1000 !== time);
      }),
    );
  });

  it('property: every boundary, by time or by sequence, restores exactly itself', () => {
    fc.assert(
      fc.property(chainArb, (entries) => {
        for (const e of entries) {
          expect(chooseRestorePoint(entries, { sequence: e.sequence })).to.deep.equal({
            sequence: e.sequence,
            asOf: e.to,
            roundedDown: false,
          });
          expect(chooseRestorePoint(entries, { time: Date.parse(e.to) / 1000 }).sequence).to.equal(
            e.sequence,
          );
        }
      }),
    );
  });

  it('property: a point outside the chain is refused, naming the nearest valid end', () => {
    fc.assert(
      fc.property(chainArb, fc.integer({ min: 1, max: 10_000_000 }), (entries, by) => {
        const first = entries[0];
        const last = entries[entries.length - 1];
        const early = refusal(() => chooseRestorePoint(entries, { time: Date.parse(first.to) / 1000 - by }));
        expect(early.nearest).to.deep.equal([{ sequence: 0, asOf: first.to }]);
        expect(early.message).to.include(`nearest: sequence 0 (${first.to})`);
        const late = refusal(() => chooseRestorePoint(entries, { time: Date.parse(last.to) / 1000 + by }));
        expect(late.nearest).to.deep.equal([{ sequence: last.sequence, asOf: last.to }]);
        expect(late.message).to.include('watermark');
        expect(
          refusal(() => chooseRestorePoint(entries, { sequence: last.sequence + by })).nearest,
        ).to.deep.equal([{ sequence: last.sequence, asOf: last.to }]);
        expect(refusal(() => chooseRestorePoint(entries, { sequence: -by })).nearest[0].sequence).to.equal(0);
      }),
    );
  });

  it('refuses an empty chain', () => {
    expect(refusal(() => chooseRestorePoint([], { sequence: 0 })).message).to.include('no committed entry');
  });
});
