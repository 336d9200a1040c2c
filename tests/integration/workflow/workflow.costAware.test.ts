/**
 * Cost-aware windows end to end: the deployed definition, the real export tick and the offline
 * account, on a quiet table that sees one burst. The windows grow while exports bill less than the
 * 10 MB minimum, drop back to 15 minutes right after the burst, grow again, and the chain stays
 * gap-free throughout.
 */
import { expect } from 'chai';
import {
  assertChain,
  exportRequests,
  failedExecutions,
  HOUR,
  withScenario,
} from '../../helpers/chainAssertions';
import { MIN_BILLED_BYTES, monthlyExportCost } from '../../../functions/chain/costAwareWindow';
import { DEFAULT_START } from '../../../sim/scenario';
import { SimpleTable } from '../../../sim/simpleTable';

const START = Date.parse(DEFAULT_START) / 1000;
/** The burst: 36 hours in, two hours of new items of about 400 KB every 30 s (48 MB an hour). */
const BURST_AT = START + 36 * 3600;
const BURST_SECONDS = 2 * 3600;

/** A quiet table (one small write an hour) with one burst of large items. */
function quietTableWithBurst(): SimpleTable {
  const payload = 'x'.repeat(400_000);
  const writes: { t: number; item: ReturnType<typeof SimpleTable.item> }[] = [];
  for (let t = START - 3600; t < START + 4 * 86_400; t += 3600) {
    writes.push({ t: t + 1800, item: SimpleTable.item(`quiet#${t}`, { n: { N: '1' } }) });
  }
  for (let t = BURST_AT; t < BURST_AT + BURST_SECONDS; t += 30) {
    writes.push({ t, item: SimpleTable.item(`burst#${t}`, { payload: { S: payload } }) });
  }
  // The table takes its writes in time order.
  const table = new SimpleTable();
  for (const w of writes.sort((a, b) => a.t - b.t)) table.put(w.t, w.item);
  return table;
}

describe('workflow: cost-aware windows', () => {
  it('a quiet table: windows lengthen to the staleness bound, shorten at a burst and lengthen again, gap-free', async function () {
    this.timeout(120_000);
    const settings = { windowMode: 'costAware' as const, maxStalenessMinutes: 120 };
    await withScenario({ settings, table: quietTableWithBurst() }, async ({ aws, run, settings: s }) => {
      await run.runFor(72 * HOUR);
      const chain = assertChain(aws, s);
      expect(failedExecutions(run)).to.deep.equal([]);
      const windows = chain.entries.slice(1).map((e) => ({
        from: Date.parse(e.from) / 1000,
        length: (Date.parse(e.to) - Date.parse(e.from)) / 1000,
        billed: e.billedSizeBytes,
      }));
      for (const w of windows) {
        expect((w.from - chain.chainStart!) % (15 * 60), 'on the 15-minute grid').to.equal(0);
        expect(w.length).to.be.within(15 * 60, 120 * 60);
      }
      const burst = windows.findIndex((w) => w.billed > MIN_BILLED_BYTES);
      expect(burst, 'an export billed more than the minimum').to.be.greaterThan(0);
      const before = windows.slice(0, burst);
      // Quiet: 15 minutes until the first export billed, then the bound of 2 hours.
      expect(before[0].length).to.equal(15 * 60);
      expect(before.slice(-3).map((w) => w.length)).to.deep.equal([7200, 7200, 7200]);
      // The burst: once an export bills several times the minimum, the next window is 15 minutes,
      // and the windows lengthen again as the exports after it bill less.
      const big = windows.findIndex((w) => w.billed > 4 * MIN_BILLED_BYTES);
      expect(big).to.be.at.least(burst);
      expect(windows[big + 1].length).to.equal(15 * 60);
      const lengths = windows.slice(big + 1).map((w) => w.length);
      for (let i = 1; i < lengths.length; i++) expect(lengths[i]).to.be.at.least(lengths[i - 1]);
      // Then quiet again: back to the bound.
      expect(windows[windows.length - 1].length).to.equal(120 * 60);
      // Far fewer exports than the 3 * 96 of fixed 15-minute windows, and a far lower bill.
      const incrementals = exportRequests(aws).filter((r) => r.type === 'INCREMENTAL_EXPORT').length;
      expect(incrementals).to.be.below(80);
      const samples = windows.map((w) => ({ seconds: w.length, bytes: w.billed }));
      const quietCost = monthlyExportCost(
        samples.filter((x) => x.seconds === 7200 && x.bytes <= MIN_BILLED_BYTES),
      )!;
      // A quiet table at its 2-hour bound: an eighth of what fixed 15-minute windows bill ($2.88).
      expect(quietCost).to.be.closeTo(2.88 / 8, 0.01);
      // The state says which window length the tick plans now.
      expect(chain.state.stats.windowSeconds).to.equal(120 * 60);
      // Staleness stays within the bound, the restorable lag and margin, an export and a period.
      expect(run.now / 1000 - chain.watermark!).to.be.at.most(120 * 60 + 300 + 60 + 360 + 15 * 60);
    });
  });
});
