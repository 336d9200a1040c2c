/**
 * The chain's records stay true under operator actions and settings changes that land mid-flight:
 * every epoch's HEAD describes that epoch, entries describe the export as it was requested, a full
 * export is never requested twice for one epoch, and the operator's action parameter is never
 * written by the workflow.
 */
import { expect } from 'chai';
import { createExportTickHandler } from '../../../functions/chain/exportTick';
import type { WorkflowSettings } from '../../../functions/chain/settings';
import { serviceError } from '../../../sim/fakeAws/errors';
import type { TickClients } from '../../../sim/machines/localRun';
import {
  assertChain,
  assertEveryHead,
  chainEntries,
  failedExecutions,
  HOUR,
  MINUTE,
  notifications,
  readState,
  withScenario,
} from '../../helpers/chainAssertions';

const STEADY_LAG_SECONDS = 15 * 60 + 300 + 60 + 360 + 15 * 60;

/** Runs in small steps until the state shows an incremental export in flight. */
async function untilIncrementalInFlight(
  run: { runFor(ms: number): Promise<void> },
  aws: Parameters<typeof readState>[0],
  settings: WorkflowSettings,
): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const inFlight = readState(aws, settings).exports.find(
      (e) => e.type === 'INCREMENTAL' && e.status === 'IN_PROGRESS',
    );
    if (inFlight?.arn) return inFlight.arn;
    await run.runFor(30_000);
  }
  throw new Error('no incremental export went in flight');
}

describe('hardening: epochs, entries and the operator', () => {
  it('RESET while an export is in flight: the old epoch gets its commit and HEAD, the new epoch only its own', async () => {
    await withScenario({}, async ({ aws, run, settings }) => {
      await run.runFor(2 * HOUR);
      const arn = await untilIncrementalInFlight(run, aws, settings);
      const oldEpoch = readState(aws, settings).epoch!;
      // The next tick is the completion check of that export: commit and RESET in the same tick.
      aws.ssm.set(settings.actionParameterName, 'RESET');
      await run.runFor(2 * HOUR);
      const epochs = assertEveryHead(aws, settings);
      expect(epochs).to.include(oldEpoch);
      const chain = assertChain(aws, settings);
      expect(chain.epoch).to.not.equal(oldEpoch);
      const old = chainEntries(aws, settings, oldEpoch);
      if (old.some((e) => e.exportArn === arn)) {
        expect(old[old.length - 1].exportArn, 'the in-flight export closed the old epoch').to.equal(arn);
      }
      expect(failedExecutions(run)).to.deep.equal([]);
    });
  });

  it('onPitrGap=reset with exports in flight: every epoch folder holds only its own HEAD', async () => {
    await withScenario({ settings: { onPitrGap: 'reset' } }, async ({ aws, run, settings }) => {
      await run.runFor(2 * HOUR);
      await untilIncrementalInFlight(run, aws, settings);
      aws.dynamodb.disablePitr(settings.tableName);
      await run.runFor(2 * MINUTE);
      aws.dynamodb.enablePitr(settings.tableName);
      await run.runFor(3 * HOUR);
      expect(assertEveryHead(aws, settings).length).to.equal(2);
      assertChain(aws, settings);
    });
  });

  it('a settings change (format, view type) while exports are in flight: each entry says how its export was made', async () => {
    let current: WorkflowSettings | null = null;
    // `pulumi up` changes the function's environment: each invocation reads the settings of the day.
    const createHandler = (clients: TickClients, settings: WorkflowSettings) => {
      current = settings;
      return (event: any) => createExportTickHandler({ clients, settings: current!, log: () => {} })(event);
    };
    await withScenario({ createHandler }, async ({ aws, run, settings }) => {
      await run.runFor(2 * HOUR);
      await untilIncrementalInFlight(run, aws, settings);
      current = { ...settings, exportViewType: 'NEW_IMAGE', exportFormat: 'ION' };
      await run.runFor(3 * HOUR);
      const chain = assertChain(aws, settings);
      let before = 0;
      let after = 0;
      for (const entry of chain.entries) {
        const input = aws.dynamodb.exports.get(entry.exportArn)!.input;
        expect(entry.exportFormat, entry.exportArn).to.equal(input.ExportFormat);
        expect(entry.bucket).to.equal(input.S3Bucket);
        if (entry.type === 'INCREMENTAL') {
          expect(entry.exportViewType, entry.exportArn).to.equal(
            input.IncrementalExportSpecification!.ExportViewType,
          );
          if (entry.exportViewType === 'NEW_IMAGE') after++;
          else before++;
        }
      }
      expect(before).to.be.greaterThan(0);
      expect(after).to.be.greaterThan(0);
      expect(readState(aws, settings).profiles.length, 'unused request profiles are dropped').to.equal(1);
    });
  });

  it('a full request refused as too early, then accepted, with a crash before the save: one full export', async () => {
    let refusals = 1;
    let crashAfterStart = true;
    const createHandler = (clients: TickClients, settings: WorkflowSettings) => {
      let dead = false;
      const wrapped: TickClients = {
        ...clients,
        dynamodb: {
          send: async (command: any) => {
            const name = command?.constructor?.name;
            if (name === 'ExportTableToPointInTimeCommand' && refusals > 0) {
              refusals--;
              throw serviceError('InvalidExportTimeException', 'Export Time is invalid');
            }
            const result = await clients.dynamodb.send(command);
            if (name === 'ExportTableToPointInTimeCommand' && crashAfterStart) {
              crashAfterStart = false;
              dead = true;
            }
            return result;
          },
        },
        ssm: {
          send: async (command: any) => {
            if (dead) {
              dead = false;
              throw Object.assign(new Error('the invocation is gone'), { name: 'Runtime.ExitError' });
            }
            return clients.ssm.send(command);
          },
        },
      };
      return createExportTickHandler({ clients: wrapped, settings, log: () => {}, retry: { attempts: 1 } });
    };
    await withScenario({ createHandler }, async ({ aws, run, settings }) => {
      const quiet = console.error;
      console.error = () => {};
      try {
        await run.runFor(3 * HOUR);
      } finally {
        console.error = quiet;
      }
      const fulls = [...aws.dynamodb.exports.values()].filter((e) => e.request.type === 'FULL_EXPORT');
      expect(fulls, 'exactly one full export billed').to.have.length(1);
      const chain = assertChain(aws, settings);
      expect(chain.entries.length).to.be.greaterThan(4);
    });
  });

  it('never writes the action parameter: a PAUSE right after a RESET holds, and the RESET runs once', async () => {
    await withScenario({}, async ({ aws, run, settings }) => {
      await run.runFor(2 * HOUR);
      aws.ssm.set(settings.actionParameterName, 'RESET');
      await run.runFor(20 * MINUTE);
      const epoch = readState(aws, settings).epoch;
      aws.ssm.set(settings.actionParameterName, 'PAUSE');
      const pausedAt = run.now;
      await run.runFor(2 * HOUR);
      expect(aws.ssm.get(settings.actionParameterName)).to.equal('PAUSE');
      const requestsWhilePaused = aws.calls.of(
        'ExportTableToPointInTime',
        (c) => c.at > pausedAt + 60_000 && c.outcome === 'ok',
      );
      expect(requestsWhilePaused).to.deep.equal([]);
      aws.ssm.set(settings.actionParameterName, 'RUN');
      await run.runFor(2 * HOUR);
      expect(readState(aws, settings).epoch, 'no second RESET').to.equal(epoch);
      expect(notifications(aws, 'RESET')).to.have.length(1);
      const writes = aws.calls.of('PutParameter', (c) => c.input.Name === settings.actionParameterName);
      expect(writes).to.deep.equal([]);
      expect(run.now / 1000 - assertChain(aws, settings).watermark!).to.be.at.most(STEADY_LAG_SECONDS);
    });
  });
});
