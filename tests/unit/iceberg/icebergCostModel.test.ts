import { expect } from 'chai';
import fc from 'fast-check';
import { ICEBERG_COST, icebergMonthlyCost } from '../../../tools/icebergCostModel';

const GB = 1024 ** 3;

describe('Iceberg cost model (tools/icebergCostModel.ts)', () => {
  it('charges at least the 10 MB minimum per MERGE, however small the table', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 * 1024 * 1024 }),
        fc.constantFrom(15, 60, 240),
        (bytes, minutes) => {
          const r = icebergMonthlyCost(bytes, minutes);
          expect(r.bytesScannedPerMerge).to.equal(ICEBERG_COST.athenaMinimumBytes);
          expect(r.athenaUsd).to.be.closeTo((r.mergesPerMonth * 10 * 1024 ** 2 * 5) / 1024 ** 4, 1e-12);
        },
      ),
    );
  });

  it("gives the reference's figure for 100 M items: about 2 GB a MERGE, about $29 a month at 15 minutes", () => {
    const r = icebergMonthlyCost(100 * GB, 15);
    expect(r.mergesPerMonth).to.equal(2880);
    expect(r.bytesScannedPerMerge / GB).to.be.closeTo(2.0, 0.05);
    expect(r.athenaUsd).to.be.within(26, 30);
  });

  it('a longer interval never costs more, and a large table costs about in proportion to the merges', () => {
    fc.assert(
      fc.property(fc.double({ min: 0.001, max: 2048, noNaN: true }), (gb) => {
        const [a, b, c] = [15, 60, 240].map((m) => icebergMonthlyCost(gb * GB, m));
        expect(b.feedUsd).to.be.at.most(a.feedUsd);
        expect(c.feedUsd).to.be.at.most(b.feedUsd);
        expect(c.glueSparkUsd[0]).to.be.closeTo(a.glueSparkUsd[0] / 16, 1e-9);
      }),
    );
    const big = [15, 240].map((m) => icebergMonthlyCost(1024 * GB, m));
    expect(big[0].athenaUsd / big[1].athenaUsd).to.be.closeTo(16, 0.5);
  });
});
