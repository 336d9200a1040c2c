import { expect } from 'chai';
import { HOURLY, MAX_INCIDENTS, raiseIncident, resolveIncident } from '../functions/incidents';
import type { Incident } from '../functions/state';

describe('incidents', () => {
  const T = 1_800_000_000;

  it('alerts once when opened, then reminds at most hourly', () => {
    let incidents: Incident[] = [];
    const notified: [number, string][] = [];
    for (let t = T; t <= T + 3 * 3600; t += 300) {
      const r = raiseIncident(incidents, 'PITR_GAP', t, { remindAfterSeconds: HOURLY });
      incidents = r.incidents;
      if (r.notify) notified.push([t - T, r.notify]);
    }
    expect(notified).to.deep.equal([
      [0, 'OPEN'],
      [3600, 'REMIND'],
      [7200, 'REMIND'],
      [10800, 'REMIND'],
    ]);
    expect(incidents).to.have.length(1);
    expect(incidents[0].occurrences).to.equal(37);
  });

  it('never reminds without a reminder interval, and can wait before the first alert', () => {
    let incidents: Incident[] = [];
    const notified: number[] = [];
    for (let t = T; t <= T + 7200; t += 60) {
      const r = raiseIncident(incidents, 'NOT_YET:1', t, {
        remindAfterSeconds: null,
        notifyAfterSeconds: 1800,
      });
      incidents = r.incidents;
      if (r.notify) notified.push(t - T);
    }
    expect(notified).to.deep.equal([1800]);
  });

  it('resolving reports whether anyone was alerted, and a new occurrence alerts again', () => {
    let r = raiseIncident([], 'TABLE_DELETED', T, { remindAfterSeconds: null });
    const resolved = resolveIncident(r.incidents, 'TABLE_DELETED');
    expect(resolved.incidents).to.deep.equal([]);
    expect(resolved.resolved?.lastNotifiedAt).to.equal(T);
    expect(resolveIncident([], 'TABLE_DELETED').resolved).to.equal(null);
    r = raiseIncident(resolved.incidents, 'TABLE_DELETED', T + 10, { remindAfterSeconds: null });
    expect(r.notify).to.equal('OPEN');
  });

  it('keeps at most a bounded number of incidents', () => {
    let incidents: Incident[] = [];
    for (let i = 0; i < MAX_INCIDENTS + 5; i++) {
      incidents = raiseIncident(incidents, `EXPORT_FAILED:${i}`, T + i, {
        remindAfterSeconds: HOURLY,
      }).incidents;
    }
    expect(incidents).to.have.length(MAX_INCIDENTS);
    expect(incidents[incidents.length - 1].key).to.equal(`EXPORT_FAILED:${MAX_INCIDENTS + 4}`);
  });
});
