/**
 * The synthetic source table at the scale a long simulation uses: a month of writes, generated and
 * read back in compacted windows within seconds. A load test, so it runs with the integration tests.
 */
import { expect } from 'chai';
import { generateWorkload } from '../../sim/workload';

const T0 = Date.UTC(2026, 10, 1) / 1000;

describe('synthetic source table (sim/workload.ts) at scale', () => {
  it('handles 30 days of writes at a few writes per minute quickly', function () {
    this.timeout(20000);
    const from = T0;
    const to = T0 + 30 * 86400;
    const started = Date.now();
    const table = generateWorkload({ from, to, writesPerMinute: 3, seed: 5, keySpace: 5000 });
    let records = 0;
    for (let w = from; w < to; w += 86400 / 4) records += table.changesBetween(w, w + 86400 / 4).length;
    const snapshot = table.snapshotAt(to);
    const elapsed = Date.now() - started;
    expect(table.writeCount).to.equal(30 * 24 * 60 * 3);
    expect(records).to.be.greaterThan(0);
    expect(snapshot.length).to.be.greaterThan(0);
    expect(elapsed, `${elapsed} ms`).to.be.below(10000);
  });
});
