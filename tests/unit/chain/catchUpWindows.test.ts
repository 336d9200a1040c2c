/**
 * Catch-up at its edges: a backlog of exactly two windows is one export; one window stays one; the
 * bounds of a window and of a catch-up export, exactly. Both as `planWindows` decides it and as a tick
 * requests it.
 */
import { expect } from 'chai';
import { planTick } from '../../../functions/chain/planner';
import type { WorkflowSettings } from '../../../functions/chain/settings';
import { initialState, type ChainState } from '../../../functions/chain/state';
import {
  MAX_WINDOW_SECONDS,
  MIN_WINDOW_SECONDS,
  planWindows,
  windowExportableAt,
  windowsPerCatchUpExport,
} from '../../../functions/chain/windows';
import { chainSettings } from '../../helpers/chainSettings';

const T0 = Date.parse('2026-11-24T00:00:00Z') / 1000;
const W = 900;
const SIX_HOURS = 6 * 3600;

const SETTINGS: WorkflowSettings = chainSettings({ notifyOnSuccess: false });

describe('catch-up windows', () => {
  const plan = (backlog: number, slots = 3, maxCatchUpSeconds = SIX_HOURS, windowSeconds = W) =>
    planWindows({ frontier: T0, limit: T0 + backlog, windowSeconds, maxCatchUpSeconds, slots });

  it('a backlog of exactly two windows is merged into one export', () => {
    expect(plan(2 * W)).to.deep.equal([{ from: T0, to: T0 + 2 * W }]);
    expect(plan(3 * W - 1)).to.deep.equal([{ from: T0, to: T0 + 2 * W }]);
    expect(plan(2 * W, 1)).to.deep.equal([{ from: T0, to: T0 + 2 * W }]);
    expect(plan(2 * W, 3, 2 * W)).to.deep.equal([{ from: T0, to: T0 + 2 * W }]);
  });

  it('two windows stay two exports when a catch-up export may cover only one window', () => {
    expect(plan(2 * W, 3, W)).to.deep.equal([
      { from: T0, to: T0 + W },
      { from: T0 + W, to: T0 + 2 * W },
    ]);
    expect(plan(2 * W, 3, 2 * W - 1)).to.deep.equal([
      { from: T0, to: T0 + W },
      { from: T0 + W, to: T0 + 2 * W },
    ]);
    expect(plan(2 * W, 1, W)).to.deep.equal([{ from: T0, to: T0 + W }]);
  });

  it('one window is one export of one window; less than one is nothing; no slot is nothing', () => {
    expect(plan(W)).to.deep.equal([{ from: T0, to: T0 + W }]);
    expect(plan(2 * W - 1)).to.deep.equal([{ from: T0, to: T0 + W }]);
    expect(plan(W - 1)).to.deep.equal([]);
    expect(plan(0)).to.deep.equal([]);
    expect(plan(-W)).to.deep.equal([]);
    expect(plan(2 * W, 0)).to.deep.equal([]);
    expect(plan(2 * W, -1)).to.deep.equal([]);
  });

  it('a backlog past one catch-up export is split at whole catch-up exports, the rest last', () => {
    expect(plan(SIX_HOURS + 2 * W)).to.deep.equal([
      { from: T0, to: T0 + SIX_HOURS },
      { from: T0 + SIX_HOURS, to: T0 + SIX_HOURS + 2 * W },
    ]);
    expect(plan(5 * W, 3, 2 * W)).to.deep.equal([
      { from: T0, to: T0 + 2 * W },
      { from: T0 + 2 * W, to: T0 + 4 * W },
      { from: T0 + 4 * W, to: T0 + 5 * W },
    ]);
  });

  it('windows per catch-up export: whole windows of the setting, at least one, at most 24 h', () => {
    expect(windowsPerCatchUpExport(W, 0)).to.equal(1);
    expect(windowsPerCatchUpExport(W, W)).to.equal(1);
    expect(windowsPerCatchUpExport(W, 2 * W - 1)).to.equal(1);
    expect(windowsPerCatchUpExport(W, 2 * W)).to.equal(2);
    expect(windowsPerCatchUpExport(W, SIX_HOURS)).to.equal(24);
    expect(windowsPerCatchUpExport(W, 86_400)).to.equal(96);
    expect(windowsPerCatchUpExport(W, 86_401)).to.equal(96);
    expect(windowsPerCatchUpExport(3600, 48 * 3600)).to.equal(24);
    expect(windowsPerCatchUpExport(86_400, 0)).to.equal(1);
  });

  it("a window is 15 min to 24 h, DynamoDB's bounds", () => {
    expect([MIN_WINDOW_SECONDS, MAX_WINDOW_SECONDS]).to.deep.equal([900, 86_400]);
    expect(plan(W, 3, W, 900)).to.have.length(1);
    expect(plan(86_400, 3, 86_400, 86_400)).to.deep.equal([{ from: T0, to: T0 + 86_400 }]);
    for (const w of [899, 86_401, 0])
      expect(() => plan(2 * 86_400, 3, 86_400, w), `${w}`).to.throw(
        `window of ${w} s is outside DynamoDB's 15 min..24 h`,
      );
  });

  it('a window becomes exportable once it ended, plus the margin and the restorable lag (rounded up)', () => {
    expect(windowExportableAt(T0, W, 60, 300)).to.equal(T0 + W + 360);
    expect(windowExportableAt(T0, W, 60, 300.2)).to.equal(T0 + W + 361);
    expect(windowExportableAt(T0, W, 0, 0)).to.equal(T0 + W);
  });

  it('a tick two windows behind requests ONE export of both', () => {
    const state: ChainState = {
      ...initialState(),
      epoch: '20261124T000000Z',
      chainStart: T0 - 3600,
      watermark: T0,
      sequence: 4,
    };
    // Restorable up to T0 + 2 windows + the 60 s margin: exactly two windows are exportable.
    const tick = (restorable: number) => {
      const now = restorable + 300;
      return planTick({
        state,
        settings: SETTINGS,
        now,
        action: { value: 'RUN', version: 1 },
        pitr: { status: 'ENABLED', earliest: T0 - 86_400, latest: restorable, recoveryPeriodDays: 35 },
        describes: [],
      }).starts.map((e) => [e.type, e.from, e.to, e.status]);
    };
    expect(tick(T0 + 2 * W + 60)).to.deep.equal([['INCREMENTAL', T0, T0 + 2 * W, 'STARTING']]);
    expect(tick(T0 + 2 * W + 59)).to.deep.equal([['INCREMENTAL', T0, T0 + W, 'STARTING']]);
    expect(tick(T0 + 3 * W + 60)).to.deep.equal([['INCREMENTAL', T0, T0 + 3 * W, 'STARTING']]);
  });
});
