/**
 * A tick can die at any AWS call (Lambda timeout, out of memory): nothing after that point of the
 * invocation happens, not even the lock release. For every call position of a stretch of the chain's
 * life, kill the tick there once and check that later ticks repair everything: the chain tiles
 * exactly, no window is exported twice, one full export per epoch, every epoch's HEAD matches its
 * entries, and a notification delivered twice is only ever an at-least-once resend of the same one.
 *
 * Three stretches: the first hours of a chain (steady), a RESET with exports in flight (epoch
 * change), and a full export first refused as too early and then accepted.
 */
import { expect } from 'chai';
import FakeTimers from '@sinonjs/fake-timers';
import {
  createExportTickHandler,
  type ExportTickClients,
  type ExportTickEvent,
} from '../../../functions/chain/exportTick';
import { initialStateJson } from '../../../functions/chain/state';
import { createFakeAws, type FakeAws } from '../../../sim/fakeAws';
import { serviceError } from '../../../sim/fakeAws/errors';
import { scenarioSettings } from '../../../sim/scenario';
import {
  assertChain,
  assertEveryHead,
  assertNoDuplicateExports,
  assertNotificationIds,
  readState,
} from '../../helpers/chainAssertions';

const START = Date.parse('2026-03-02T00:00:00Z');
const PERIOD_MS = 15 * 60_000;

interface Stretch {
  hours: number;
  /** Called before each scheduled period; may change the world (operator actions). */
  atPeriod?: (p: number, aws: FakeAws) => void;
  /** Refuse this many full export requests as "too early" first. */
  refuseFull?: number;
  settings?: Parameters<typeof scenarioSettings>[0];
}

async function runWithCrashAt(crashAt: number, stretch: Stretch) {
  const settings = scenarioSettings({ notifyOnSuccess: true, ...stretch.settings });
  const aws = createFakeAws({ restorableLagSeconds: 300 });
  aws.dynamodb.addTable({ name: settings.tableName, pitrEnabledAt: START - 3 * 86_400_000 });
  aws.s3.createBucket(settings.bucket);
  aws.sns.topics.add(settings.notificationTopicArn);
  aws.ssm.set(settings.stateParameterName, initialStateJson());
  aws.ssm.set(settings.actionParameterName, 'RUN');

  let calls = 0;
  let dead = false;
  let crashed = false;
  let refusals = stretch.refuseFull ?? 0;
  const wrap = (client: { send(command: any): Promise<any> }) => ({
    send: async (command: any) => {
      if (dead) throw Object.assign(new Error('the invocation is gone'), { name: 'Runtime.ExitError' });
      if (calls++ === crashAt) {
        dead = true;
        crashed = true;
        throw Object.assign(new Error('the invocation is gone'), { name: 'Runtime.ExitError' });
      }
      if (
        refusals > 0 &&
        command?.constructor?.name === 'ExportTableToPointInTimeCommand' &&
        command.input.ExportType === 'FULL_EXPORT'
      ) {
        refusals--;
        throw serviceError('InvalidExportTimeException', 'Export Time is invalid');
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
    for (let p = 0; p < stretch.hours * 4; p++) {
      const scheduled = START + p * PERIOD_MS;
      if (Date.now() < scheduled) await clock.tickAsync(scheduled - Date.now());
      stretch.atPeriod?.(p, aws);
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
  return { aws, settings, crashed, calls };
}

/** Everything that must hold after any crash. */
function assertRepaired(aws: FakeAws, settings: ReturnType<typeof scenarioSettings>, label: string) {
  const chain = assertChain(aws, settings);
  assertNoDuplicateExports(aws);
  const epochs = assertEveryHead(aws, settings);
  const fulls = [...aws.dynamodb.exports.values()].filter((e) => e.request.type === 'FULL_EXPORT');
  expect(fulls.length, `${label}: one full export per epoch`).to.equal(epochs.length);
  expect(readState(aws, settings).exports.length).to.be.at.most(settings.maxInFlight);
  assertNotificationIds(aws);
  return chain;
}

let clock: ReturnType<typeof FakeTimers.install>;

describe('export tick: a crash at any call is repaired', () => {
  before(() => {
    clock = FakeTimers.install({ now: START, toFake: ['Date', 'setTimeout', 'clearTimeout'] });
  });
  after(() => clock.uninstall());

  /** Crashes once at every call position in [from, to) of the stretch; returns how many were tried. */
  async function sweep(stretch: Stretch, from: number, to: number, minEntries: number) {
    let positions = 0;
    for (let crashAt = from; crashAt < to; crashAt += 1) {
      clock.setSystemTime(START);
      const { aws, settings, crashed } = await runWithCrashAt(crashAt, stretch);
      if (!crashed) break;
      positions++;
      const chain = assertRepaired(aws, settings, `crash at call ${crashAt}`);
      expect(chain.entries.length, `crash at call ${crashAt}: the chain went on`).to.be.at.least(minEntries);
    }
    return positions;
  }

  /** Number of calls a stretch makes up to the start of period `p`, without a crash. */
  async function callsBefore(stretch: Stretch, p: number) {
    clock.setSystemTime(START);
    return (await runWithCrashAt(Number.POSITIVE_INFINITY, { ...stretch, hours: p / 4 })).calls;
  }

  it('for every call position of the first hours (steady chain, success messages on)', async () => {
    expect(await sweep({ hours: 4 }, 0, 90, 8)).to.equal(90);
  });

  it('for every call position around a RESET with exports in flight (epoch change)', async () => {
    const stretch: Stretch = {
      hours: 5,
      atPeriod: (p, aws) => {
        if (p === 8) aws.ssm.set(scenarioSettings().actionParameterName, 'RESET');
      },
    };
    const from = await callsBefore(stretch, 8);
    expect(await sweep(stretch, from, from + 60, 4)).to.equal(60);
  });

  it('for every call position of a full export refused as too early, then accepted', async () => {
    expect(await sweep({ hours: 3, refuseFull: 1 }, 0, 40, 4)).to.equal(40);
  });
});
