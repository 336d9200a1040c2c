import { expect } from 'chai';
import { finishTick, planTick, type DescribeObservation } from '../../../functions/chain/planner';
import { dropEpochIncidents } from '../../../functions/chain/incidents';
import { factStatus } from '../../../functions/chain/notificationFacts';
import { renderFact } from '../../../functions/chain/notificationText';
import { initialState, type ChainState } from '../../../functions/chain/state';
import { chainSettings } from '../../helpers/chainSettings';

const T0 = Date.parse('2026-11-24T00:00:00Z') / 1000;
const ARN = 'arn:aws:dynamodb:eu-west-1:111122223333:table/orders/export/01';

/** A chain committed up to T0 with one export of [T0, T0+15 min) in flight. */
function inFlight(): ChainState {
  const s = initialState();
  s.epoch = '20261124T000000Z';
  s.chainStart = T0 - 900;
  s.watermark = T0;
  s.sequence = 1;
  s.exports = [
    {
      type: 'INCREMENTAL',
      from: T0,
      to: T0 + 900,
      attempt: 1,
      status: 'IN_PROGRESS',
      arn: ARN,
      nextCheckAt: T0 + 1200,
      checks: 0,
      startedAt: T0 + 960,
    },
  ];
  return s;
}

const unreadable: DescribeObservation = {
  arn: ARN,
  status: 'UNREADABLE',
  code: 'ThrottlingException',
  message: 'Rate exceeded',
};

/** Ticks every minute from `from` to `to`, DescribeExport answering `answer`; the events sent. */
function tickEveryMinute(
  start: ChainState,
  from: number,
  to: number,
  answer: DescribeObservation,
): { state: ChainState; events: { at: number; event: string }[] } {
  const settings = chainSettings({ maxInFlight: 1 });
  let state = start;
  const events: { at: number; event: string }[] = [];
  for (let now = from; now <= to; now += 60) {
    const plan = planTick({
      state,
      settings,
      now,
      action: { value: 'PAUSE', version: 1 },
      pitr: { status: 'ENABLED', earliest: T0 - 86400, latest: now - 300, recoveryPeriodDays: 35 },
      describes: state.exports.some((e) => e.status === 'IN_PROGRESS') ? [answer] : [],
    });
    const settled = finishTick(plan.state, settings, now);
    state = settled.state;
    events.push(
      ...[...plan.notifications, ...settled.notifications].map((n) => ({ at: now, event: n.event })),
    );
  }
  return { state, events };
}

describe('an export DescribeExport keeps failing to read', () => {
  it('is read again every minute, stays in flight, and alerts once the chain is later than lagAlarmMinutes', () => {
    // lagAlarmMinutes is 75: the chain (watermark T0) passes it at T0 + 75 min.
    const { state, events } = tickEveryMinute(inFlight(), T0 + 1200, T0 + 3 * 3600, unreadable);
    expect(state.exports[0].status).to.equal('IN_PROGRESS');
    expect(state.exports[0].lastError?.code).to.equal('ThrottlingException');
    const alerts = events.filter((e) => e.event === 'EXPORT_UNREADABLE');
    // The first tick past the alarm threshold alerts; the reminder follows an hour later.
    expect(alerts.map((a) => a.at)).to.deep.equal([T0 + 76 * 60, T0 + 136 * 60]);
    expect(state.incidents.map((i) => i.key)).to.deep.equal(['DESCRIBE_UNREADABLE:ThrottlingException']);
  });

  it('stays quiet while the chain is within its lag alarm', () => {
    const { events } = tickEveryMinute(inFlight(), T0 + 1200, T0 + 60 * 60, unreadable);
    expect(events.filter((e) => e.event === 'EXPORT_UNREADABLE')).to.deep.equal([]);
  });

  it('resolves with one message once DescribeExport answers again and stays answering', () => {
    const failing = tickEveryMinute(inFlight(), T0 + 1200, T0 + 80 * 60, unreadable);
    expect(failing.events.filter((e) => e.event === 'EXPORT_UNREADABLE')).to.have.length(1);
    const answering = tickEveryMinute(failing.state, T0 + 81 * 60, T0 + 100 * 60, {
      arn: ARN,
      status: 'IN_PROGRESS',
    });
    const resolved = answering.events.filter((e) => e.event === 'INCIDENT_RESOLVED');
    // Cleared at the first answer (T0 + 81 min), resolved after the 10-minute hold.
    expect(resolved.map((r) => r.at)).to.deep.equal([T0 + 91 * 60]);
    expect(answering.state.incidents).to.deep.equal([]);
  });

  it('outlives a new epoch (unlike a window-bound refusal), so its alert is resolved once an export answers', () => {
    const open = (key: string) => ({ key, openedAt: T0, lastNotifiedAt: T0, reminders: 0, occurrences: 3 });
    expect(
      dropEpochIncidents([open('DESCRIBE_UNREADABLE:ThrottlingException'), open('NOT_YET')]).map(
        (i) => i.key,
      ),
    ).to.deep.equal(['DESCRIBE_UNREADABLE:ThrottlingException']);
  });

  it('names the export, the error and the lag in its WARNING', () => {
    const settings = chainSettings({ maxInFlight: 1 });
    const now = T0 + 80 * 60;
    const plan = planTick({
      state: inFlight(),
      settings,
      now,
      action: { value: 'PAUSE', version: 1 },
      pitr: { status: 'ENABLED', earliest: T0 - 86400, latest: now - 300, recoveryPeriodDays: 35 },
      describes: [unreadable],
    });
    const fact = plan.notifications.find((n) => n.event === 'EXPORT_UNREADABLE');
    expect(fact && factStatus(fact)).to.equal('WARNING');
    const text = fact ? renderFact(fact, settings) : undefined;
    expect(text?.title).to.equal('exports in flight cannot be read, chain 80 min behind');
    expect(text?.message).to.include(ARN).and.include('ThrottlingException');
    // An error name is kept to 120 characters in the message (the incident's key keeps it whole).
    const long = planTick({
      state: inFlight(),
      settings,
      now,
      action: { value: 'PAUSE', version: 1 },
      pitr: { status: 'ENABLED', earliest: T0 - 86400, latest: now - 300, recoveryPeriodDays: 35 },
      describes: [{ ...unreadable, code: 'E'.repeat(200) }],
    }).notifications.find((n) => n.event === 'EXPORT_UNREADABLE');
    expect(long?.code).to.equal('E'.repeat(120));
  });
});
