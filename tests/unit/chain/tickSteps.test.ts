/**
 * The steps `planTick` takes after reading what it observed (planner.ts): the full export it asks
 * for, the windows it asks for again or anew, the PITR gap check, the learned PITR lag, and the
 * warning before the lag eats the PITR recovery period.
 */
import { expect } from 'chai';
import {
  PITR_WINDOW_WARN_FRACTION,
  planTick,
  type ActionObservation,
  type PitrObservation,
  type TickPlan,
} from '../../../functions/chain/planner';
import type { WorkflowSettings } from '../../../functions/chain/settings';
import { initialState, type ChainState, type TrackedExport } from '../../../functions/chain/state';
import { restorableLimit } from '../../../functions/chain/timing';
import { chainSettings } from '../../helpers/chainSettings';
import { inProgressIncremental } from '../../helpers/trackedExports';

const T0 = Date.parse('2026-11-24T00:00:00Z') / 1000;
const EPOCH = '20261124T000000Z';
const DAY = 86400;
const settings = chainSettings();

function enabled(now: number, earliest = T0 - 30 * DAY): PitrObservation {
  return { status: 'ENABLED', earliest, latest: now - 300, recoveryPeriodDays: 35 };
}

function tick(
  state: ChainState,
  now: number,
  options: { action?: ActionObservation; pitr?: PitrObservation; settings?: WorkflowSettings } = {},
): TickPlan {
  return planTick({
    state,
    settings: options.settings ?? settings,
    now,
    action: options.action ?? { value: 'RUN', version: 1 },
    pitr: options.pitr ?? enabled(now),
    describes: [],
  });
}

/** A chain committed up to `watermark`, with `exports` tracked. */
function chained(watermark: number, exports: TrackedExport[] = []): ChainState {
  const s = initialState();
  s.epoch = EPOCH;
  s.chainStart = T0;
  s.watermark = watermark;
  s.sequence = (watermark - T0) / 900;
  s.exports = exports;
  return s;
}

/** An epoch whose full export is tracked as `full`, the chain not started yet. */
function beforeChain(full: Partial<TrackedExport>): ChainState {
  const s = initialState();
  s.epoch = EPOCH;
  s.exports = [{ type: 'FULL', from: T0, to: T0, attempt: 1, status: 'STARTING', checks: 0, ...full }];
  return s;
}

function failedWindow(from: number, notBefore: number): TrackedExport {
  return {
    type: 'INCREMENTAL',
    from,
    to: from + 900,
    attempt: 1,
    status: 'FAILED',
    arn: `arn:aws:dynamodb:eu-west-1:123456789012:table/orders/export/0176400000000${from % 10}-00000001`,
    checks: 2,
    notBefore,
    lastError: { code: 'S3AccessDenied', message: 'denied' },
  };
}

describe('the full export a tick asks for (planner.ts: planFullStart)', () => {
  it('a failed full export is asked for again once its back-off ends, from then on, with the next attempt', () => {
    const notBefore = T0 + 3600;
    const state = beforeChain({ status: 'FAILED', arn: 'x/export/1', notBefore });
    expect(tick(state, notBefore - 1).starts).to.deep.equal([]);
    const plan = tick(state, notBefore);
    const exportTime = Math.floor((notBefore - 300 - 60) / 60) * 60;
    expect(plan.starts).to.have.length(1);
    expect(plan.starts[0]).to.deep.include({
      type: 'FULL',
      from: exportTime,
      to: exportTime,
      attempt: 2,
      status: 'STARTING',
    });
    expect(plan.state.exports).to.deep.equal(plan.starts);
  });

  it('a failed full export waits while nothing is restorable yet', () => {
    const now = T0 + 3600;
    const state = beforeChain({ status: 'FAILED', arn: 'x/export/1', notBefore: now - 60 });
    const plan = tick(state, now, { pitr: enabled(now, now) });
    expect(plan.starts).to.deep.equal([]);
    expect(plan.state.exports).to.deep.equal(state.exports);
  });

  it('a refused full export is sent again unchanged while nothing is restorable to ask for instead', () => {
    const now = T0 + 3600;
    const refused = { lastError: { code: 'InvalidExportTimeException', message: 'x' } };
    const state = beforeChain(refused);
    const plan = tick(state, now, { pitr: enabled(now, now) });
    expect(plan.starts).to.deep.equal(state.exports);
  });
  it('a refused full export whose time is still the one to ask for is sent again, still marked refused, so a later tick asks for a newer time', () => {
    const now = T0 + 3600;
    const exportTime = Math.floor((now - 300 - 60) / 60) * 60;
    const refused = { lastError: { code: 'InvalidExportTimeException', message: 'x' } };
    const state = beforeChain({ from: exportTime, to: exportTime, ...refused });
    const same = tick(state, now);
    expect(same.starts).to.deep.equal(state.exports);
    const later = tick(same.state, now + 600);
    const newer = Math.floor((now + 600 - 300 - 60) / 60) * 60;
    expect(later.starts.map((e) => [e.from, e.attempt, e.lastError])).to.deep.equal([[newer, 1, undefined]]);
  });
});

describe('the windows a tick asks for (planner.ts: planStarts)', () => {
  it('a failed window waits for its back-off and is asked for again from then on, unchanged, as the next attempt', () => {
    const now = T0 + 5 * 3600;
    const waiting = chained(T0, [failedWindow(T0, now + 1)]);
    const early = tick(waiting, now);
    expect(early.starts.filter((e) => e.from === T0)).to.deep.equal([]);
    expect(early.state.exports.find((e) => e.from === T0)).to.deep.include({ status: 'FAILED', attempt: 1 });
    const due = tick(chained(T0, [failedWindow(T0, now)]), now);
    expect(due.starts[0]).to.deep.include({
      type: 'INCREMENTAL',
      from: T0,
      to: T0 + 900,
      attempt: 2,
      status: 'STARTING',
    });
  });

  it('a failed window is asked for again only while it ends within the restorable limit', () => {
    const now = T0 + 3600;
    const limit = restorableLimit(now - 300, settings.restorableMarginSeconds);
    const atLimit = chained(limit - 900, [failedWindow(limit - 900, now)]);
    expect(tick(atLimit, now).starts.map((e) => [e.from, e.attempt])).to.deep.equal([[limit - 900, 2]]);
    const past = chained(limit - 840, [failedWindow(limit - 840, now)]);
    const plan = tick(past, now);
    expect(plan.starts).to.deep.equal([]);
    expect(plan.state.exports[0]).to.deep.include({ status: 'FAILED', attempt: 1 });
  });

  it('exports in flight are not asked for again', () => {
    const now = T0 + 2 * 3600;
    const state = chained(T0, [
      inProgressIncremental({ from: T0, to: T0 + 900, arn: 'x/export/1', nextCheckAt: now + 60 }),
      inProgressIncremental({ from: T0 + 900, to: T0 + 1800, arn: 'x/export/2', nextCheckAt: now + 60 }),
    ]);
    const plan = tick(state, now);
    expect(plan.starts.map((e) => e.from)).to.not.include.members([T0, T0 + 900]);
    expect(plan.starts.every((e) => e.status === 'STARTING' && e.attempt === 1)).to.equal(true);
  });

  it('records the window length it plans with', () => {
    const now = T0 + 2 * 3600;
    const plan = tick(chained(T0), now);
    expect(plan.starts.length).to.be.greaterThan(0);
    expect(plan.state.stats.windowSeconds).to.equal(settings.windowMinutes * 60);
  });
});

describe('the PITR gap check (planner.ts: checkPitrGap)', () => {
  it('a next window starting exactly at EarliestRestorableDateTime is no gap', () => {
    const now = T0 + 3600;
    const plan = tick(chained(T0), now, { pitr: enabled(now, T0) });
    expect(plan.startsAllowed).to.equal(true);
    expect(plan.starts[0]).to.deep.include({ from: T0 });
    expect(plan.notifications).to.deep.equal([]);
  });

  it('the gap incident is cleared once the next window is restorable again (the recovery period raised)', () => {
    const now = T0 + 3600;
    const waiting = tick(chained(T0), now, { pitr: enabled(now, T0 + 600) });
    expect(waiting.startsAllowed).to.equal(false);
    expect(waiting.state.incidents.map((i) => [i.key, i.clearedAt])).to.deep.equal([['PITR_GAP', undefined]]);
    const raised = tick(waiting.state, now + 900, { pitr: enabled(now + 900, T0 - DAY) });
    expect(raised.startsAllowed).to.equal(true);
    expect(raised.state.incidents.map((i) => [i.key, i.clearedAt])).to.deep.equal([['PITR_GAP', now + 900]]);
  });

  it('with onPitrGap reset: the gap and the new epoch are notified under their own ids', () => {
    const now = T0 + 3600;
    const plan = tick(chained(T0), now, {
      pitr: enabled(now, T0 + 600),
      settings: chainSettings({ onPitrGap: 'reset' }),
    });
    expect(plan.notifications.map((n) => [n.event, n.id])).to.deep.equal([
      ['PITR_GAP', `PITR_GAP@${now}#0`],
      ['NEW_EPOCH', `epoch@${plan.state.epoch}`],
    ]);
    expect(plan.notifications[0]).to.deep.include({ epoch: EPOCH, window: { from: T0, to: T0 + 600 } });
  });
});

describe('what a tick learns and warns about (planner.ts: planTick)', () => {
  it('follows a longer PITR lag at once and a shorter one slowly', () => {
    const now = T0 + 3600;
    const s = chained(T0);
    s.stats.restorableLagSeconds = 300;
    const longer = tick(s, now, { pitr: { ...enabled(now), latest: now - 900 } });
    expect(longer.state.stats.restorableLagSeconds).to.equal(900);
    const shorter = tick(longer.state, now + 60, { pitr: { ...enabled(now + 60), latest: now + 60 - 100 } });
    // 0.7 * 900 + 0.3 * 100
    expect(shorter.state.stats.restorableLagSeconds).to.equal(660);
    const ahead = tick(s, now, { pitr: { ...enabled(now), latest: now + 30 } });
    expect(ahead.state.stats.restorableLagSeconds).to.equal(Math.round(0.7 * 300));
  });

  it('warns only past 80 % of the recovery period, only while PITR is enabled, and clears once the lag is back under it', () => {
    const period = 35 * DAY;
    const at = T0 + PITR_WINDOW_WARN_FRACTION * period;
    const pause = { value: 'PAUSE', version: 1 };
    expect(tick(chained(T0), at, { action: pause }).state.incidents).to.deep.equal([]);
    const past = tick(chained(T0), at + 1, { action: pause });
    expect(past.notifications.map((n) => n.event)).to.deep.equal(['PITR_WINDOW_WARNING']);
    const off = tick(chained(T0), at + 1, { action: pause, pitr: { status: 'DISABLED' } });
    expect(off.state.incidents.map((i) => i.key)).to.deep.equal(['PITR_DISABLED']);
    const caughtUp = { ...past.state, watermark: at - 3600, sequence: past.state.sequence + 1 };
    const later = tick(caughtUp, at + 60, { action: pause });
    expect(later.state.incidents.map((i) => [i.key, i.clearedAt])).to.deep.equal([['PITR_WINDOW', at + 60]]);
  });
});
