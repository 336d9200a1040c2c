/**
 * Backlogs and crashes: a long backlog is coalesced into bounded windows with bounded concurrency,
 * the watermark only moves over completed exports in order even when later ones finish first, and a
 * tick that dies after DynamoDB accepted a request does not export that window twice.
 */
import { expect } from 'chai';
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import { createExportTickHandler } from '../../../functions/chain/exportTick';
import type { TickClients } from '../../../sim/machines/localRun';
import {
  assertChain,
  exportRequests,
  exportsByWindow,
  HOUR,
  MINUTE,
  withScenario,
} from '../../helpers/chainAssertions';

const STEADY_LAG_SECONDS = 15 * 60 + 300 + 60 + 360 + 15 * 60;

/** Largest number of exports running at the same moment. */
function maxConcurrent(intervals: { startTime: number; endTime: number }[]): number {
  const edges = intervals.flatMap((i) => [
    [i.startTime, 1],
    [i.endTime, -1],
  ]);
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let current = 0;
  let max = 0;
  for (const [, d] of edges) {
    current += d;
    max = Math.max(max, current);
  }
  return max;
}

describe('workflow: backlog and crash recovery', () => {
  it('catches up a 12-hour backlog with windows of at most maxCatchUpWindowMinutes and at most maxInFlight at once', async () => {
    await withScenario({ settings: { maxCatchUpWindowMinutes: 60 } }, async ({ aws, run, settings }) => {
      await run.runFor(2 * HOUR);
      aws.ssm.set(settings.actionParameterName, 'PAUSE');
      await run.runFor(12 * HOUR);
      aws.ssm.set(settings.actionParameterName, 'RUN');
      await run.runFor(6 * HOUR);
      const chain = assertChain(aws, settings);
      const lengths = chain.entries.slice(1).map((e) => (Date.parse(e.to) - Date.parse(e.from)) / MINUTE);
      expect(Math.max(...lengths)).to.equal(60);
      for (const e of chain.entries.slice(1))
        expect((Date.parse(e.from) / 1000 - chain.chainStart!) % 900).to.equal(0);
      const incrementals = [...aws.dynamodb.exports.values()].filter(
        (e) => e.request.type === 'INCREMENTAL_EXPORT',
      );
      expect(maxConcurrent(incrementals)).to.be.within(2, settings.maxInFlight);
      expect(run.now / 1000 - chain.watermark!).to.be.at.most(STEADY_LAG_SECONDS);
    });
  });

  it('commits in order when later windows finish first', async () => {
    let n = 0;
    await withScenario(
      {
        settings: { maxCatchUpWindowMinutes: 30 },
        // Each export of a batch finishes before the one requested just before it.
        exportDurationSeconds: (r) => (r.type === 'FULL_EXPORT' ? 600 : 900 - (n++ % 4) * 200),
      },
      async ({ aws, run, settings }) => {
        await run.runFor(HOUR);
        aws.ssm.set(settings.actionParameterName, 'PAUSE');
        await run.runFor(4 * HOUR);
        aws.ssm.set(settings.actionParameterName, 'RUN');
        await run.runFor(4 * HOUR);
        const chain = assertChain(aws, settings);
        const bucket = aws.s3.buckets.get(settings.bucket)!;
        const committed = aws.s3
          .keys(settings.bucket, `${settings.prefix}/chain/${chain.epoch}/0`)
          .map((k) => bucket.get(k)!.lastModified.getTime());
        // Entries are written in chain order, each after its export ended.
        expect([...committed].sort((a, b) => a - b)).to.deep.equal(committed);
        const overtaken = chain.entries.slice(1).filter((e, i, all) => {
          const next = all[i + 1];
          if (!next) return false;
          return (
            aws.dynamodb.exports.get(next.exportArn)!.endTime < aws.dynamodb.exports.get(e.exportArn)!.endTime
          );
        });
        expect(overtaken.length, 'some later windows did finish first').to.be.greaterThan(0);
      },
    );
  });

  it('does not export a window twice when a tick dies after DynamoDB accepted the request', async () => {
    let crashes = 0;
    const createHandler = (clients: TickClients, settings: any) => {
      let exportSent = false;
      // After the crash nothing else of that invocation reaches AWS (the lock is not released).
      let dead = false;
      const crashing: TickClients = {
        ...clients,
        dynamodb: {
          send: async (command: any) => {
            const out = await clients.dynamodb.send(command);
            if (command.constructor.name === 'ExportTableToPointInTimeCommand') exportSent = true;
            return out;
          },
        },
        ssm: {
          send: async (command: any) => {
            if (dead) throw Object.assign(new Error('the function is gone'), { name: 'Runtime.ExitError' });
            // The first time the state would record an accepted incremental request, the function dies.
            if (
              command instanceof PutParameterCommand &&
              command.input.Name === settings.stateParameterName &&
              exportSent &&
              crashes === 0 &&
              Date.now() > Date.parse('2026-03-02T02:00:00Z')
            ) {
              crashes += 1;
              dead = true;
              const error = new Error('Runtime exited with error: signal: killed');
              error.name = 'Runtime.ExitError';
              throw error;
            }
            return clients.ssm.send(command);
          },
        },
      };
      const handler = createExportTickHandler({ clients: crashing, settings, log: () => {} });
      return async (event: any) => {
        exportSent = false;
        dead = false;
        return handler(event);
      };
    };
    await withScenario({ createHandler }, async ({ aws, run, settings }) => {
      await run.runFor(5 * HOUR);
      expect(crashes).to.equal(1);
      for (const [window, exps] of exportsByWindow(aws)) expect(exps.length, window).to.equal(1);
      // The request was sent again with the same client token and answered with the same export.
      const tokens = exportRequests(aws).map((r) => r.token);
      expect(tokens.length - new Set(tokens).size).to.be.greaterThan(0);
      const chain = assertChain(aws, settings);
      expect(run.now / 1000 - chain.watermark!).to.be.at.most(STEADY_LAG_SECONDS);
      // The lock of the crashed tick expired; nothing is left held.
      expect(aws.ssm.get(settings.lockParameterName)).to.equal(undefined);
    });
  });
});
