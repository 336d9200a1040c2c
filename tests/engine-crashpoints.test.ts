/**
 * A tick can die at any AWS call (Lambda timeout, out of memory): nothing after that point of the
 * invocation happens, not even the lock release. For every call position of the first hours of a
 * chain, kill the tick there once and check that later ticks repair everything: the chain tiles
 * exactly, no window is exported twice, and the state stays valid.
 */
import { expect } from 'chai';
import FakeTimers from '@sinonjs/fake-timers';
import {
  createExportTickHandler,
  type ExportTickClients,
  type ExportTickEvent,
} from '../functions/exportTick';
import { initialStateJson } from '../functions/state';
import { createFakeAws } from '../sim/fakeAws';
import { scenarioSettings } from '../sim/scenario';
import { assertChain, assertNoDuplicateExports, readState } from './helpers/chainAssertions';

const START = Date.parse('2026-03-02T00:00:00Z');
const PERIOD_MS = 15 * 60_000;

async function runWithCrashAt(crashAt: number, hours: number) {
  const settings = scenarioSettings();
  const aws = createFakeAws({ restorableLagSeconds: 300 });
  aws.dynamodb.addTable({ name: settings.tableName, pitrEnabledAt: START - 3 * 86_400_000 });
  aws.s3.createBucket(settings.bucket);
  aws.sns.topics.add(settings.notificationTopicArn);
  aws.ssm.set(settings.stateParameterName, initialStateJson());
  aws.ssm.set(settings.actionParameterName, 'RUN');

  let calls = 0;
  let dead = false;
  let crashed = false;
  const wrap = (client: { send(command: any): Promise<any> }) => ({
    send: async (command: any) => {
      if (dead) throw Object.assign(new Error('the invocation is gone'), { name: 'Runtime.ExitError' });
      if (calls++ === crashAt) {
        dead = true;
        crashed = true;
        throw Object.assign(new Error('the invocation is gone'), { name: 'Runtime.ExitError' });
      }
      return client.send(command);
    },
  });
  const clients: ExportTickClients = {
    dynamodb: wrap(aws.dynamodb),
    ssm: wrap(aws.ssm),
    s3: wrap(aws.s3),
    sns: wrap(aws.sns),
  };
  const handler = createExportTickHandler({ clients, settings, log: () => {}, retry: { attempts: 1 } });
  const quiet = console.error;
  console.error = () => {};
  try {
    for (let p = 0; p < hours * 4; p++) {
      const scheduled = START + p * PERIOD_MS;
      if (Date.now() < scheduled) await clock.tickAsync(scheduled - Date.now());
      const event: ExportTickEvent = {
        mode: 'TICK',
        executionId: `exec-${p}`,
        executionStartTime: new Date(scheduled).toISOString(),
        input: { scheduledTime: new Date(scheduled).toISOString() },
      };
      for (let i = 0; i < 50; i++) {
        dead = false;
        let result;
        try {
          result = await handler(event);
        } catch {
          break; // the execution fails; the next scheduled one resumes
        }
        if (result.next === 'DONE') break;
        await clock.tickAsync(Math.max(0, Date.parse(result.wakeAt) - Date.now()));
      }
    }
  } finally {
    console.error = quiet;
  }
  return { aws, settings, crashed };
}

let clock: ReturnType<typeof FakeTimers.install>;

describe('export tick: a crash at any call is repaired', () => {
  before(() => {
    clock = FakeTimers.install({ now: START, toFake: ['Date', 'setTimeout', 'clearTimeout'] });
  });
  after(() => clock.uninstall());

  it('for every call position of the first hours', async () => {
    let positions = 0;
    for (let crashAt = 0; crashAt < 90; crashAt += 1) {
      clock.setSystemTime(START);
      const { aws, settings, crashed } = await runWithCrashAt(crashAt, 4);
      if (!crashed) break;
      positions++;
      const chain = assertChain(aws, settings);
      assertNoDuplicateExports(aws);
      expect(chain.entries.length, `crash at call ${crashAt}: the chain went on`).to.be.at.least(8);
      expect(readState(aws, settings).exports.length).to.be.at.most(settings.maxInFlight);
      expect(
        [...aws.dynamodb.exports.values()].filter((e) => e.request.type === 'FULL_EXPORT'),
      ).to.have.length(1);
    }
    expect(positions).to.equal(90);
  });
});
