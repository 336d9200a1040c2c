import { expect } from 'chai';
import fc from 'fast-check';
import {
  DURATION_SAMPLES,
  expectedSeconds,
  learnDuration,
  medianSeconds,
} from '../../../functions/chain/durations';
import { initialState } from '../../../functions/chain/state';
import { CHECK_SLACK_SECONDS, firstCheckAt } from '../../../functions/chain/timing';

const stats = () => initialState().stats;

describe('learned export durations', () => {
  it('property: one or two outliers among steady durations never move the expected duration', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 60, max: 7200 }),
        fc.array(fc.oneof(fc.double({ min: 0, max: 0.49 }), fc.double({ min: 2.01, max: 400 })), {
          minLength: 1,
          maxLength: 2,
        }),
        fc.integer({ min: 0, max: DURATION_SAMPLES + 3 }),
        fc.constantFrom<'FULL' | 'INCREMENTAL'>('FULL', 'INCREMENTAL'),
        (steady, factors, before, type) => {
          let s = stats();
          for (let i = 0; i < DURATION_SAMPLES + before; i++) s = learnDuration(s, type, steady);
          for (const f of factors) s = learnDuration(s, type, Math.round(steady * f));
          const expected = type === 'FULL' ? s.fullExportSeconds : s.incrementalExportSeconds;
          expect(expected).to.equal(steady);
          // And the export after them is checked right after its expected end.
          const start = 1_800_000_000;
          expect(firstCheckAt({ ...initialState(), stats: s }, type, start * 1000) - start).to.equal(
            steady + CHECK_SLACK_SECONDS,
          );
        },
      ),
    );
  });

  it('property: ordinary variation is averaged, within the range of the samples', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 300, max: 600 }), { minLength: DURATION_SAMPLES }),
        (durations) => {
          let s = stats();
          for (const d of durations) s = learnDuration(s, 'INCREMENTAL', d);
          const last = durations.slice(-DURATION_SAMPLES);
          const mean = last.reduce((a, b) => a + b, 0) / last.length;
          expect(s.incrementalExportSeconds).to.be.closeTo(mean, 0.5);
        },
      ),
    );
  });

  it('property: a lasting change is followed after three exports, or five when within a factor of two', () => {
    fc.assert(
      fc.property(fc.integer({ min: 60, max: 86_400 }), fc.integer({ min: 60, max: 86_400 }), (a, b) => {
        let s = stats();
        for (let i = 0; i < DURATION_SAMPLES; i++) s = learnDuration(s, 'INCREMENTAL', a);
        const exports = b > 2 * a || b < a / 2 ? 3 : DURATION_SAMPLES;
        for (let i = 0; i < exports; i++) s = learnDuration(s, 'INCREMENTAL', b);
        expect(s.incrementalExportSeconds).to.equal(b);
        expect(s.incrementalExportSamples).to.have.length(DURATION_SAMPLES);
      }),
    );
  });

  it('a first sample cannot replace the initial expectation on its own', () => {
    const s = learnDuration(stats(), 'INCREMENTAL', 86_400);
    expect(s.incrementalExportSeconds).to.equal(360);
    expect(s.incrementalExportSamples).to.deep.equal([360, 86_400]);
    expect(learnDuration(s, 'INCREMENTAL', 86_400).incrementalExportSeconds).to.equal(86_400);
    expect(s.fullExportSamples).to.deep.equal([]);
  });

  it('takes the lower middle sample as the median for an even count, and the fallback for none', () => {
    expect(medianSeconds([400, 100, 300, 200], 0)).to.equal(200);
    expect(medianSeconds([], 360)).to.equal(360);
    expect(expectedSeconds([], 360)).to.equal(360);
    expect(expectedSeconds([300, 360, 420, 86_400, 5], 0)).to.equal(360);
  });
});
