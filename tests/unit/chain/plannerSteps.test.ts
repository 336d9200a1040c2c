/**
 * The planner's smaller steps (planner.ts): how a state is made to fit its parameter, how a failed
 * export is recorded, the operator action and PITR checks as a tick sees them, a new epoch, and a
 * failed run.
 */
import { expect } from 'chai';
import {
  fitState,
  planTick,
  recordRunFailure,
  type ActionObservation,
  type DescribeObservation,
  type PitrObservation,
  type TickPlan,
} from '../../../functions/chain/planner';
import { initialState, type ChainState, type Incident } from '../../../functions/chain/state';
import { chainSettings } from '../../helpers/chainSettings';
import { inProgressIncremental } from '../../helpers/trackedExports';

const T0 = Date.parse('2026-11-24T00:00:00Z') / 1000;
const settings = chainSettings();

function enabled(now: number): PitrObservation {
  return { status: 'ENABLED', earliest: T0 - 30 * 86400, latest: now - 300, recoveryPeriodDays: 35 };
}

function tick(
  state: ChainState,
  now: number,
  options: { action?: ActionObservation; pitr?: PitrObservation; describes?: DescribeObservation[] } = {},
): TickPlan {
  return planTick({
    state,
    settings,
    now,
    action: options.action ?? { value: 'RUN', version: 1 },
    pitr: options.pitr ?? enabled(now),
    describes: options.describes ?? [],
  });
}

function incident(key: string, cleared: boolean): Incident {
  return {
    key,
    openedAt: T0,
    lastNotifiedAt: T0,
    reminders: 0,
    occurrences: 1,
    ...(cleared ? { clearedAt: T0 + 1 } : {}),
  };
}

function chained(): ChainState {
  const s = initialState();
  s.epoch = '20261124T000000Z';
  s.chainStart = T0;
  s.watermark = T0;
  s.sequence = 0;
  return s;
}

describe('fitting the state to its parameter (planner.ts: fitState)', () => {
  it('leaves a state that fits as it is', () => {
    const s = chained();
    s.exports = [
      {
        ...inProgressIncremental({ from: T0, to: T0 + 900, arn: 'x/export/1', nextCheckAt: T0 }),
        lastError: { code: 'E', message: 'm' },
      },
    ];
    expect(fitState(s, () => true)).to.equal(s);
  });

  it('drops error details first, and the outbox details only when that was not enough', () => {
    const failed = recordRunFailure(chained(), settings, T0, {
      name: 'TransientAwsError',
      cause: 'x'.repeat(300),
    }).state;
    failed.exports = [
      {
        ...inProgressIncremental({ from: T0, to: T0 + 900, arn: 'x/export/1', nextCheckAt: T0 }),
        lastError: { code: 'E', message: 'm' },
      },
    ];
    const noErrors = (s: ChainState) => s.exports.every((e) => e.lastError === undefined);
    const first = fitState(failed, noErrors);
    expect(first.exports[0].lastError).to.equal(undefined);
    expect(first.outbox).to.deep.equal(failed.outbox);
    const shortDetails = (s: ChainState) =>
      noErrors(s) && s.outbox.every((f) => (f.detail?.length ?? 0) <= 40);
    const second = fitState(failed, shortDetails);
    expect(second.outbox.map((f) => f.detail)).to.deep.equal(['x'.repeat(40)]);
    expect(second.incidents).to.deep.equal(failed.incidents);
  });

  it('then drops cleared incidents, oldest first, then the oldest of the others, only as far as needed', () => {
    const s = chained();
    s.incidents = [
      incident('PITR_DISABLED', false),
      incident('TABLE_DELETED', true),
      incident('ACTION_INVALID', false),
      incident('PITR_GAP', true),
    ];
    const keys = (max: number) => fitState(s, (x) => x.incidents.length <= max).incidents.map((i) => i.key);
    expect(keys(4)).to.deep.equal(['PITR_DISABLED', 'TABLE_DELETED', 'ACTION_INVALID', 'PITR_GAP']);
    expect(keys(3)).to.deep.equal(['PITR_DISABLED', 'ACTION_INVALID', 'PITR_GAP']);
    expect(keys(2)).to.deep.equal(['PITR_DISABLED', 'ACTION_INVALID']);
    expect(keys(1)).to.deep.equal(['ACTION_INVALID']);
    expect(keys(0)).to.deep.equal([]);
    // A state that never fits ends with everything that can go gone, and no more.
    expect(fitState(s, () => false).incidents).to.deep.equal([]);
  });

  it('bounds the outbox down to one message when nothing else makes it fit', () => {
    let s = chained();
    for (let i = 0; i < 4; i++)
      s = recordRunFailure(s, settings, T0 + i * 86400, { name: `E${i}`, cause: 'c' }).state;
    expect(s.outbox.length).to.be.greaterThan(1);
    const fitted = fitState(s, (x) => x.outbox.length <= 1);
    expect(fitted.outbox).to.have.length(1);
    expect(fitted.incidents).to.deep.equal(s.incidents);
  });
});

describe('a failed export, the operator action and PITR as a tick sees them (planner.ts)', () => {
  it('a failed full export is notified as such, its code cut to 120 characters', () => {
    const s = initialState();
    s.epoch = '20261124T000000Z';
    s.exports = [
      { type: 'FULL', from: T0, to: T0, attempt: 1, status: 'IN_PROGRESS', arn: 'x/export/1', checks: 0 },
    ];
    const code = 'C'.repeat(200);
    const plan = tick(s, T0 + 3600, {
      action: { value: 'PAUSE', version: 1 },
      describes: [{ arn: 'x/export/1', status: 'FAILED', code, message: 'm' }],
    });
    expect(plan.notifications.map((n) => [n.event, n.code])).to.deep.equal([
      ['FULL_EXPORT_FAILED', 'C'.repeat(120)],
    ]);
  });

  it('an unknown action is named in at most 100 characters, and its incident clears once the action is valid', () => {
    const bad = tick(chained(), T0 + 3600, { action: { value: 'Z'.repeat(150), version: 1 } });
    expect(bad.notifications.map((n) => [n.event, n.code])).to.deep.equal([
      ['ACTION_INVALID', 'Z'.repeat(100)],
    ]);
    const good = tick(bad.state, T0 + 4500, { action: { value: 'PAUSE', version: 2 } });
    expect(good.state.incidents.map((i) => [i.key, i.clearedAt])).to.deep.equal([
      ['ACTION_INVALID', T0 + 4500],
    ]);
  });

  it('a deleted table or PITR off allows no start; each incident clears once the table and PITR are back', () => {
    const now = T0 + 3600;
    const deleted = tick(chained(), now, { pitr: { status: 'TABLE_NOT_FOUND' } });
    expect(deleted.startsAllowed).to.equal(false);
    const off = tick(deleted.state, now + 900, { pitr: { status: 'DISABLED' } });
    expect(off.startsAllowed).to.equal(false);
    expect(off.state.incidents.map((i) => [i.key, i.clearedAt])).to.deep.equal([
      ['TABLE_DELETED', now + 900],
      ['PITR_DISABLED', undefined],
    ]);
    const back = tick(off.state, now + 1800);
    expect(back.startsAllowed).to.equal(true);
    expect(back.state.incidents.map((i) => [i.key, i.clearedAt])).to.deep.equal([
      ['TABLE_DELETED', now + 900],
      ['PITR_DISABLED', now + 1800],
    ]);
  });

  it('a RESET begins an epoch with no chain: no start, no watermark, sequence -1', () => {
    const plan = tick(chained(), T0 + 3600, { action: { value: 'RESET', version: 2 } });
    expect(plan.reset).to.equal(true);
    expect(plan.state).to.deep.include({ chainStart: null, watermark: null, sequence: -1 });
  });
});

describe('a failed run (planner.ts: recordRunFailure)', () => {
  it('records its error name (cut to 100 characters) as the last run, and alerts with its cause or says there was none', () => {
    const name = 'N'.repeat(150);
    const r = recordRunFailure(chained(), settings, T0, { name, cause: '' });
    expect(r.state.lastRun).to.deep.equal({ at: T0, outcome: 'FAILED', error: 'N'.repeat(100) });
    expect(r.notifications.map((n) => [n.event, n.code, n.detail])).to.deep.equal([
      ['RUN_FAILED', 'N'.repeat(120), 'no cause given'],
    ]);
  });
});
