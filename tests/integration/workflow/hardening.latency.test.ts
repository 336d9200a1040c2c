/**
 * With real API latency (every AWS call takes 100 ms of simulated time), the steady state costs what
 * it costs without: completion checks are scheduled from the export's own StartTime and the learned
 * duration with a small slack, so the first check does not arrive a fraction of a second early.
 */
import { expect } from 'chai';
import { HOUR, withScenario } from '../../helpers/chainAssertions';

for (const apiLatencyMs of [0, 100]) {
  describe(`steady state at ${apiLatencyMs} ms API latency`, () => {
    it('6 transitions, 2 Lambda invocations and 1 DescribeExport per window', async () => {
      await withScenario(
        {
          apiLatencyMs,
          restorableLagSeconds: 300,
          exportDurationSeconds: (r) => (r.type === 'FULL_EXPORT' ? 600 : 360),
        },
        async ({ aws, run }) => {
          await run.runFor(2 * HOUR);
          const t1 = run.now;
          await run.runFor(6 * HOUR);
          const t2 = run.now;
          const windows = aws.calls.of(
            'ExportTableToPointInTime',
            (c) => c.at >= t1 && c.at < t2 && c.outcome === 'ok',
          );
          const transitions = run.executions
            .filter((e) => e.startedAt >= t1 && e.startedAt < t2)
            .reduce((n, e) => n + e.transitions, 0);
          const invocations = run.invocations.filter((i) => i.at >= t1 && i.at < t2).length;
          const describes = aws.calls.of('DescribeExport', (c) => c.at >= t1 && c.at < t2).length;
          expect(windows.length).to.equal(24);
          expect({
            transitions: transitions / windows.length,
            invocations: invocations / windows.length,
            describes: describes / windows.length,
          }).to.deep.equal({ transitions: 6, invocations: 2, describes: 1 });
        },
      );
    });
  });
}
