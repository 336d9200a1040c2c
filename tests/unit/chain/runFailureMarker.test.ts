import { expect } from 'chai';
import { MAX_INCIDENTS } from '../../../functions/chain/incidents';
import { finishTick } from '../../../functions/chain/planner';
import {
  adoptRunFailures,
  MAX_MARKER_FAILURES,
  parseMarker,
  runFailureMarkerKey,
  withAlert,
} from '../../../functions/chain/runFailureMarker';
import { initialState, type Incident } from '../../../functions/chain/state';
import { scenarioSettings } from '../../../sim/scenario';

const T = 1_800_000_000;
const HOUR = 3600;

describe('run failures alerted while the state could not be written', () => {
  it('counts the alerts per error, keeping when the first one was sent', () => {
    let marker = withAlert(null, 'TransientAwsError', T);
    marker = withAlert(marker, 'TransientAwsError', T + HOUR);
    marker = withAlert(marker, 'OtherError', T + 2 * HOUR);
    expect(marker.failures).to.deep.equal([
      { name: 'TransientAwsError', since: T, lastAlertAt: T + HOUR, alerts: 2 },
      { name: 'OtherError', since: T + 2 * HOUR, lastAlertAt: T + 2 * HOUR, alerts: 1 },
    ]);
    for (let i = 0; i < 10; i++) marker = withAlert(marker, `E${i}`, T + 3 * HOUR + i);
    expect(marker.failures).to.have.length(MAX_MARKER_FAILURES);
    expect(marker.failures[MAX_MARKER_FAILURES - 1].name).to.equal('E9');
    expect(parseMarker(JSON.stringify(marker))).to.deep.equal(marker);
    expect(parseMarker('not json')).to.equal(null);
    expect(parseMarker('{"schemaVersion":2,"failures":[]}')).to.equal(null);
    expect(runFailureMarkerKey('exports/orders')).to.equal('exports/orders/chain/run-failures.json');
    expect(runFailureMarkerKey('')).to.equal('chain/run-failures.json');
  });

  it('a run that completes resolves the adopted failures once, after the hold, with an id from the first alert', () => {
    const settings = scenarioSettings();
    const marker = withAlert(withAlert(null, 'TransientAwsError', T), 'TransientAwsError', T + HOUR);
    const now = T + 5 * HOUR;
    let state = adoptRunFailures(initialState(), marker);
    expect(state.incidents).to.deep.equal([
      {
        key: 'RUN_FAILED:TransientAwsError',
        openedAt: T,
        lastNotifiedAt: T + HOUR,
        reminders: 1,
        occurrences: 2,
      },
    ]);
    state = finishTick(state, settings, now).state;
    expect(state.outbox).to.deep.equal([]);
    const later = finishTick(state, settings, now + 600);
    expect(later.notifications.map((f) => [f.event, f.id])).to.deep.equal([
      ['RUN_RECOVERED', `RUN_FAILED:TransientAwsError@${T}#resolved`],
    ]);
    expect(later.state.incidents).to.deep.equal([]);
    expect(finishTick(later.state, settings, now + 1200).notifications).to.deep.equal([]);
  });

  it('joins a recorded incident of the same error, open again only if alerted after it cleared', () => {
    const recorded: Incident = {
      key: 'RUN_FAILED:TransientAwsError',
      openedAt: T - HOUR,
      lastNotifiedAt: T - HOUR,
      reminders: 0,
      occurrences: 3,
      clearedAt: T + 2 * HOUR,
    };
    const state = { ...initialState(), incidents: [recorded] };
    const before = adoptRunFailures(state, withAlert(null, 'TransientAwsError', T));
    expect(before.incidents[0]).to.include({
      openedAt: T - HOUR,
      lastNotifiedAt: T,
      clearedAt: T + 2 * HOUR,
    });
    const after = adoptRunFailures(state, withAlert(null, 'TransientAwsError', T + 3 * HOUR));
    expect(after.incidents[0]).to.include({
      openedAt: T - HOUR,
      lastNotifiedAt: T + 3 * HOUR,
      occurrences: 4,
    });
    expect(after.incidents[0].clearedAt).to.equal(undefined);
  });

  it('keeps the adopted incidents when the incident list is full', () => {
    const others: Incident[] = Array.from({ length: MAX_INCIDENTS }, (_, i) => ({
      key: `EXPORT_FAILED:Code${i}`,
      openedAt: T,
      lastNotifiedAt: T,
      reminders: 0,
      occurrences: 1,
    }));
    const state = adoptRunFailures({ ...initialState(), incidents: others }, withAlert(null, 'X', T));
    expect(state.incidents).to.have.length(MAX_INCIDENTS);
    expect(state.incidents.map((i) => i.key)).to.include('RUN_FAILED:X');
  });
});
