/**
 * What one DescribeExport answer does to the export it is about (planner.ts, `applyDescribe` through
 * `planTick`): the second of two windows in flight, so that a completed answer stays tracked (it
 * cannot be committed before the first) and can be looked at.
 */
import { expect } from 'chai';
import { defaultManifestSummaryKey } from '../../../functions/chain/commits';
import {
  planTick,
  type DescribeObservation,
  type PitrObservation,
  type TickPlan,
} from '../../../functions/chain/planner';
import {
  initialState,
  type ChainState,
  type Incident,
  type TrackedExport,
} from '../../../functions/chain/state';
import { recheckSeconds } from '../../../functions/chain/timing';
import { chainSettings } from '../../helpers/chainSettings';
import { inProgressIncremental } from '../../helpers/trackedExports';

const T0 = Date.parse('2026-11-24T00:00:00Z') / 1000;
const NOW = T0 + 4 * 3600;
const settings = chainSettings();
const FIRST = 'arn:aws:dynamodb:eu-west-1:123456789012:table/orders/export/01764000000000-00000001';
const SECOND = 'arn:aws:dynamodb:eu-west-1:123456789012:table/orders/export/01764000000000-00000002';

function enabled(now: number): PitrObservation {
  return { status: 'ENABLED', earliest: T0 - 86400, latest: now - 300, recoveryPeriodDays: 35 };
}

/** A running chain with two windows in flight; `second` changes the second one. */
function inFlight(second: Partial<TrackedExport> = {}, incidents: Incident[] = []): ChainState {
  const s = initialState();
  s.epoch = '20261124T000000Z';
  s.chainStart = T0;
  s.watermark = T0;
  s.sequence = 0;
  s.exports = [
    inProgressIncremental({ from: T0, to: T0 + 900, arn: FIRST, nextCheckAt: NOW }),
    { ...inProgressIncremental({ from: T0 + 900, to: T0 + 1800, arn: SECOND, nextCheckAt: NOW }), ...second },
  ];
  s.incidents = incidents;
  return s;
}

/** A paused tick (nothing new is requested) that reads `describes`. */
function tick(state: ChainState, describes: DescribeObservation[]): TickPlan {
  return planTick({
    state,
    settings,
    now: NOW,
    action: { value: 'PAUSE', version: 1 },
    pitr: enabled(NOW),
    describes,
  });
}

function second(plan: TickPlan): TrackedExport {
  const e = plan.state.exports.find((x) => x.arn === SECOND);
  if (!e) throw new Error('the second export is no longer tracked');
  return e;
}

function completed(fields: Partial<Extract<DescribeObservation, { status: 'COMPLETED' }>> = {}) {
  return {
    arn: SECOND,
    status: 'COMPLETED' as const,
    endTime: NOW - 30,
    itemCount: 12,
    billedSizeBytes: 4096,
    manifestSummaryKey: defaultManifestSummaryKey(settings.prefix, SECOND),
    ...fields,
  };
}

describe('a DescribeExport answer (planner.ts: applyDescribe)', () => {
  it('about an export it does not track changes nothing', () => {
    const state = inFlight();
    const plan = tick(state, [{ ...completed(), arn: `${SECOND}9` }]);
    expect(plan.state.exports).to.deep.equal(state.exports);
    expect(plan.counters).to.deep.equal({ started: 0, completed: 0, failed: 0 });
  });

  it('IN_PROGRESS: one more check, the next one a quarter of the time it has run so far away', () => {
    const state = inFlight({ startedAt: NOW - 2400, checks: 2 });
    const plan = tick(state, [{ arn: SECOND, status: 'IN_PROGRESS' }]);
    // 2,400 s running, past the expected duration: the next check 600 s on.
    expect(recheckSeconds(state, 'INCREMENTAL', 2400)).to.equal(600);
    expect(second(plan)).to.deep.include({ status: 'IN_PROGRESS', checks: 3, nextCheckAt: NOW + 600 });
    // Without a start time it counts as just started: the expected duration's quarter, at least 60 s.
    const fresh = tick(inFlight({ checks: 0 }), [{ arn: SECOND, status: 'IN_PROGRESS' }]);
    expect(second(fresh).nextCheckAt).to.equal(NOW + recheckSeconds(state, 'INCREMENTAL', 0));
    expect(recheckSeconds(state, 'INCREMENTAL', 0)).to.be.below(600);
  });

  it('UNREADABLE: keeps the export as it was, with the error, and reads it again in a minute; four hours behind, it says so once', () => {
    const plan = tick(inFlight({ checks: 1 }), [
      { arn: SECOND, status: 'UNREADABLE', code: 'TimeoutError', message: 'socket hang up' },
    ]);
    expect(second(plan)).to.deep.include({
      status: 'IN_PROGRESS',
      checks: 2,
      nextCheckAt: NOW + 60,
      lastError: { code: 'TimeoutError', message: 'socket hang up' },
    });
    expect(plan.counters).to.deep.equal({ started: 0, completed: 0, failed: 0 });
    // The watermark is four hours old, past the lag alarm: the unreadable export is an incident
    // (the quiet case, within the alarm, is in unreadableExport.test.ts).
    expect(plan.notifications.map((n) => [n.event, n.code, n.lagSeconds])).to.deep.equal([
      ['EXPORT_UNREADABLE', 'TimeoutError', 4 * 3600],
    ]);
  });

  it('FAILED: waits out the back-off, counts the failure and raises its incident', () => {
    const plan = tick(inFlight({ checks: 4 }), [
      { arn: SECOND, status: 'FAILED', code: 'S3AccessDenied', message: 'denied' },
    ]);
    const e = second(plan);
    expect(e).to.deep.include({
      status: 'FAILED',
      checks: 5,
      notBefore: NOW + 60,
      lastError: { code: 'S3AccessDenied', message: 'denied' },
    });
    expect(e.nextCheckAt).to.equal(undefined);
    expect(plan.counters.failed).to.equal(1);
    expect(plan.state.incidents.map((i) => i.key)).to.deep.equal(['EXPORT_FAILED:S3AccessDenied']);
    expect(plan.notifications).to.have.length(1);
    expect(plan.notifications[0]).to.deep.include({
      event: 'EXPORT_FAILED',
      exportArn: SECOND,
      attempt: 1,
      code: 'S3AccessDenied',
      window: { from: T0 + 900, to: T0 + 1800 },
    });
  });

  it('COMPLETED: recorded with its figures, the error of an earlier read cleared, no more checks', () => {
    const state = inFlight({ checks: 3, lastError: { code: 'TimeoutError', message: 't' } });
    const plan = tick(state, [completed()]);
    const e = second(plan);
    expect(e).to.deep.include({
      status: 'COMPLETED',
      checks: 4,
      completed: { endTime: NOW - 30, itemCount: 12, billedSizeBytes: 4096 },
    });
    expect(e.nextCheckAt).to.equal(undefined);
    expect(e.lastError).to.equal(undefined);
    expect(plan.counters).to.deep.equal({ started: 0, completed: 1, failed: 0 });
    // Not committed: the first window is still running.
    expect(plan.commits.entries).to.deep.equal([]);
  });

  it('COMPLETED: the manifest key is kept only when it is not where the export writes it by default', () => {
    const elsewhere = 'orders/AWSDynamoDB/other/manifest-summary.json';
    const plan = tick(inFlight(), [completed({ manifestSummaryKey: elsewhere })]);
    expect(second(plan).completed).to.deep.equal({
      endTime: NOW - 30,
      itemCount: 12,
      billedSizeBytes: 4096,
      manifestSummaryKey: elsewhere,
    });
  });

  it('COMPLETED: learns its duration from the answer, else from its StartTime, else from when it was requested', () => {
    const samples = (plan: TickPlan) => plan.state.stats.incrementalExportSamples;
    const expected = initialState().stats.incrementalExportSeconds;
    const given = tick(inFlight({ startedAt: NOW - 900 }), [
      completed({ durationSeconds: 321, startTime: NOW - 800, endTime: NOW - 30 }),
    ]);
    expect(samples(given)).to.deep.equal([expected, 321]);
    const fromStart = tick(inFlight({ startedAt: NOW - 900 }), [
      completed({ startTime: NOW - 800, endTime: NOW - 30 }),
    ]);
    expect(samples(fromStart)).to.deep.equal([expected, 770]);
    const fromRequest = tick(inFlight({ startedAt: NOW - 900 }), [completed({ endTime: NOW - 30 })]);
    expect(samples(fromRequest)).to.deep.equal([expected, 870]);
    const unknown = tick(inFlight(), [completed({ endTime: NOW - 30 })]);
    expect(samples(unknown)).to.deep.equal([expected, 0]);
    expect(unknown.state.stats.fullExportSamples).to.deep.equal([]);
  });

  it('COMPLETED: an incremental export adds its window and billed bytes to the change-rate samples; a full one does not', () => {
    const plan = tick(inFlight(), [completed({ billedSizeBytes: 5000 })]);
    expect(plan.state.stats.billing).to.deep.equal([{ seconds: 900, bytes: 5000 }]);

    const s = initialState();
    s.epoch = '20261124T000000Z';
    s.exports = [
      { type: 'FULL', from: T0, to: T0, attempt: 1, status: 'IN_PROGRESS', arn: SECOND, checks: 0 },
    ];
    const full = tick(s, [completed({ billedSizeBytes: 5000 })]);
    expect(full.counters.completed).to.equal(1);
    expect(full.state.stats.billing).to.deep.equal([]);
    expect(full.state.stats.fullExportSamples).to.have.length(2);
    expect(full.state.stats.incrementalExportSamples).to.deep.equal([]);
  });

  it('COMPLETED: clears the export failures opened up to its request, not later ones nor other kinds', () => {
    const incident = (key: string, openedAt: number): Incident => ({
      key,
      openedAt,
      lastNotifiedAt: openedAt,
      reminders: 0,
      occurrences: 1,
    });
    const startedAt = NOW - 900;
    const state = inFlight({ startedAt }, [
      incident('EXPORT_FAILED:S3AccessDenied', startedAt - 600),
      incident('EXPORT_FAILED:InternalError', startedAt),
      incident('EXPORT_FAILED:S3NoSuchBucket', startedAt + 1),
      incident('START_REFUSED:LimitExceededException', startedAt - 600),
    ]);
    const plan = tick(state, [completed()]);
    expect(plan.state.incidents.map((i) => [i.key, i.clearedAt])).to.deep.equal([
      ['EXPORT_FAILED:S3AccessDenied', NOW],
      ['EXPORT_FAILED:InternalError', NOW],
      ['EXPORT_FAILED:S3NoSuchBucket', undefined],
      ['START_REFUSED:LimitExceededException', undefined],
    ]);
    // Without a request time, the export's own StartTime is the line.
    const byStart = tick(inFlight({}, state.incidents), [completed({ startTime: startedAt })]);
    expect(byStart.state.incidents.map((i) => i.clearedAt)).to.deep.equal([NOW, NOW, undefined, undefined]);
  });
});
