/**
 * How the answer to one start request is recorded, answer by answer: which export it belongs to, what
 * the export becomes, which incident it raises or clears, and the message, exactly.
 */
import { expect } from 'chai';
import { applyStartOutcome, type StartOutcome } from '../../../functions/chain/planner';
import {
  initialState,
  type ChainState,
  type Incident,
  type TrackedExport,
} from '../../../functions/chain/state';
import { firstCheckAt } from '../../../functions/chain/timing';
import { chainSettings } from '../../helpers/chainSettings';

const T0 = Date.parse('2026-11-24T00:00:00Z') / 1000;
const EPOCH = '20261124T000000Z';
const SETTINGS = chainSettings({ notifyOnSuccess: false });
const ARN = `${SETTINGS.tableArn}/export/01800000000000-abcdef12`;

/** Attempt 2 of the window [T0, T0 + 15 min), sent and not answered yet. */
const SENT: TrackedExport = {
  type: 'INCREMENTAL',
  from: T0,
  to: T0 + 900,
  attempt: 2,
  status: 'STARTING',
  checks: 3,
  notBefore: T0 + 600,
  lastError: { code: 'InvalidExportTimeException', message: 'not yet' },
};

const incident = (key: string): Incident => ({
  key,
  openedAt: T0,
  lastNotifiedAt: T0,
  reminders: 0,
  occurrences: 1,
});

/** A chain whose watermark is T0, with `SENT` waiting for its answer. */
function chain(exports: TrackedExport[] = [SENT], incidents: Incident[] = []): ChainState {
  return {
    ...initialState(),
    epoch: EPOCH,
    chainStart: T0 - 3600,
    watermark: T0,
    sequence: 3,
    exports,
    incidents,
  };
}

const answer = (outcome: StartOutcome, now: number, state = chain()) =>
  applyStartOutcome(state, SENT, outcome, SETTINGS, now);

describe('the answer to a start request', () => {
  it('STARTED: the export is in progress from its StartTime, checked when it should end, and its refusal is forgotten', () => {
    const now = T0 + 1000;
    const startMs = (now - 5) * 1000 + 700;
    const r = answer({ kind: 'STARTED', arn: ARN, startTimeMs: startMs }, now);
    expect(r.state.exports).to.deep.equal([
      {
        type: 'INCREMENTAL',
        from: T0,
        to: T0 + 900,
        attempt: 2,
        status: 'IN_PROGRESS',
        arn: ARN,
        startedAt: now - 5,
        nextCheckAt: firstCheckAt(chain(), 'INCREMENTAL', startMs),
        notBefore: undefined,
        lastError: undefined,
        checks: 0,
      },
    ]);
    expect(r.counters).to.deep.equal({ started: 1, completed: 0, failed: 0 });
    expect(r.notifications).to.deep.equal([]);
    // Without a StartTime in the answer, it started now.
    const plain = answer({ kind: 'STARTED', arn: ARN }, now).state.exports[0];
    expect([plain.startedAt, plain.nextCheckAt]).to.deep.equal([
      now,
      firstCheckAt(chain(), 'INCREMENTAL', now * 1000),
    ]);
  });

  it('STARTED is the evidence that clears refused, throttled and "not yet" starts, and nothing else', () => {
    const keys = [
      'START_REFUSED:AccessDeniedException',
      'START_THROTTLED',
      'START_PITR_UNAVAILABLE',
      'START_TABLE_NOT_FOUND',
      'NOT_YET',
      'EXPORT_FAILED:S3NoSuchBucket',
      'PITR_GAP',
      'RUN_FAILED:TimeoutError',
    ];
    const now = T0 + 1000;
    const r = answer({ kind: 'STARTED', arn: ARN }, now, chain([SENT], keys.map(incident)));
    expect(r.state.incidents.map((i) => [i.key, i.clearedAt])).to.deep.equal([
      ['START_REFUSED:AccessDeniedException', now],
      ['START_THROTTLED', now],
      ['START_PITR_UNAVAILABLE', now],
      ['START_TABLE_NOT_FOUND', now],
      ['NOT_YET', now],
      ['EXPORT_FAILED:S3NoSuchBucket', undefined],
      ['PITR_GAP', undefined],
      ['RUN_FAILED:TimeoutError', undefined],
    ]);
  });

  it('an answer about another request, or about one already answered, changes nothing', () => {
    const now = T0 + 1000;
    const other: Pick<TrackedExport, 'type' | 'from' | 'attempt'>[] = [
      { type: 'FULL', from: T0, attempt: 2 },
      { type: 'INCREMENTAL', from: T0 + 900, attempt: 2 },
      { type: 'INCREMENTAL', from: T0, attempt: 1 },
    ];
    for (const sent of other) {
      const r = applyStartOutcome(chain(), sent, { kind: 'STARTED', arn: ARN }, SETTINGS, now);
      expect(r.state.exports, JSON.stringify(sent)).to.deep.equal([SENT]);
      expect(r.counters.started).to.equal(0);
    }
    const running: TrackedExport = { ...SENT, status: 'IN_PROGRESS', arn: ARN };
    const late = answer(
      { kind: 'REJECTED', code: 'ValidationException', message: 'x' },
      now,
      chain([running]),
    );
    expect(late).to.deep.equal({
      state: chain([running]),
      notifications: [],
      counters: { started: 0, completed: 0, failed: 0 },
    });
  });

  it('NOT_YET: the same request a minute later, with the refusal kept; a warning only after 30 minutes', () => {
    const notYet: StartOutcome = {
      kind: 'NOT_YET',
      code: 'InvalidExportTimeException',
      message: 'too early',
    };
    const first = answer(notYet, T0 + 1000);
    expect(first.state.exports).to.deep.equal([
      {
        ...SENT,
        notBefore: T0 + 1060,
        lastError: { code: 'InvalidExportTimeException', message: 'too early' },
      },
    ]);
    expect(first.notifications).to.deep.equal([]);
    expect(first.state.incidents.map((i) => [i.key, i.openedAt, i.lastNotifiedAt])).to.deep.equal([
      ['NOT_YET', T0 + 1000, 0],
    ]);
    const later = answer(notYet, T0 + 1000 + 1800, first.state);
    expect(later.notifications).to.deep.equal([
      {
        id: `NOT_YET@${T0 + 1000}#0`,
        event: 'EXPORT_NOT_YET_ALLOWED',
        at: T0 + 2800,
        epoch: EPOCH,
        type: 'INCREMENTAL',
        window: { from: T0, to: T0 + 900 },
        attempt: 2,
        code: 'InvalidExportTimeException',
        detail: 'too early',
        since: T0 + 1000,
        reminder: 0,
      },
    ]);
  });

  it('PITR unavailable or table not found: the same request a minute later, and one alert of its own cause', () => {
    const cases: [StartOutcome['kind'], string, string][] = [
      ['PITR_UNAVAILABLE', 'START_PITR_UNAVAILABLE', 'PITR_DISABLED'],
      ['TABLE_NOT_FOUND', 'START_TABLE_NOT_FOUND', 'TABLE_DELETED'],
    ];
    for (const [kind, key, event] of cases) {
      const outcome = { kind, code: 'SomeException', message: 'refused' } as StartOutcome;
      const r = answer(outcome, T0 + 1000);
      expect(r.state.exports, kind).to.deep.equal([
        { ...SENT, notBefore: T0 + 1060, lastError: { code: 'SomeException', message: 'refused' } },
      ]);
      expect(r.notifications, kind).to.deep.equal([
        {
          id: `${key}@${T0 + 1000}#0`,
          event,
          at: T0 + 1000,
          epoch: EPOCH,
          code: 'SomeException',
          detail: 'refused',
          since: T0 + 1000,
          reminder: 0,
        },
      ]);
    }
  });

  it('THROTTLED: the same request after a growing back-off, no error kept, an alert only once the lag passes the threshold', () => {
    const throttled: StartOutcome = {
      kind: 'THROTTLED',
      code: 'LimitExceededException',
      message: 'slow down',
    };
    // Lag exactly at the threshold (75 min): quiet.
    const atThreshold = T0 + 75 * 60;
    const first = answer(throttled, atThreshold);
    expect(first.state.exports).to.deep.equal([
      { ...SENT, notBefore: atThreshold + 60, lastError: undefined },
    ]);
    expect(first.notifications).to.deep.equal([]);
    // One second past it: the alert, with the lag; the second throttle waits twice as long.
    const second = answer(throttled, atThreshold + 1, first.state);
    expect(second.state.exports[0].notBefore).to.equal(atThreshold + 1 + 120);
    expect(second.notifications).to.deep.equal([
      {
        id: `START_THROTTLED@${atThreshold}#0`,
        event: 'EXPORT_THROTTLED',
        at: atThreshold + 1,
        epoch: EPOCH,
        code: 'LimitExceededException',
        detail: 'slow down',
        lagSeconds: 75 * 60 + 1,
        since: atThreshold,
        reminder: 0,
      },
    ]);
  });

  it('REJECTED: this attempt failed; one alert for the refusal', () => {
    const r = answer({ kind: 'REJECTED', code: 'ValidationException', message: 'bad request' }, T0 + 1000);
    expect(r.state.exports.map((e) => [e.status, e.lastError])).to.deep.equal([
      ['FAILED', { code: 'ValidationException', message: 'bad request' }],
    ]);
    expect(r.counters).to.deep.equal({ started: 0, completed: 0, failed: 1 });
    expect(r.notifications.map((f) => [f.id, f.event, f.code])).to.deep.equal([
      [`START_REFUSED:ValidationException@${T0 + 1000}#0`, 'EXPORT_REFUSED', 'ValidationException'],
    ]);
  });
});
