import { expect } from 'chai';
import fc from 'fast-check';
import {
  MAX_INCIDENTS,
  REMINDER_BACKOFF_SECONDS,
  RESOLUTION_EVENTS,
  RESOLVE_HOLD_SECONDS,
  clearIncident,
  clearIncidents,
  dropEpochIncidents,
  incidentKey,
  kindOf,
  nextReminderAt,
  raiseIncident,
  settleIncidents,
  subjectOf,
} from '../../../functions/chain/incidents';
import type { NotificationEvent } from '../../../functions/chain/notificationFacts';
import type { Incident } from '../../../functions/chain/state';

/**
 * Each kind as docs/workflow.md describes it: whether it reminds while it lasts, the message that
 * resolves it, and whether it ends with the epoch its windows belong to.
 */
const KIND_RULES: [key: string, remind: boolean, resolvedBy: NotificationEvent, epochBound: boolean][] = [
  ['EXPORT_FAILED:S3NoSuchBucket', true, 'EXPORT_RECOVERED', false],
  ['START_REFUSED:AccessDeniedException', true, 'INCIDENT_RESOLVED', false],
  ['START_THROTTLED', true, 'INCIDENT_RESOLVED', false],
  ['START_PITR_UNAVAILABLE', false, 'INCIDENT_RESOLVED', false],
  ['START_TABLE_NOT_FOUND', false, 'INCIDENT_RESOLVED', false],
  ['NOT_YET', false, 'INCIDENT_RESOLVED', true],
  ['PITR_DISABLED', false, 'PITR_ENABLED', false],
  ['TABLE_DELETED', false, 'TABLE_FOUND', false],
  ['PITR_GAP', true, 'INCIDENT_RESOLVED', true],
  ['PITR_WINDOW', false, 'INCIDENT_RESOLVED', true],
  ['ACTION_INVALID', true, 'INCIDENT_RESOLVED', false],
  ['RUN_FAILED:TimeoutError', true, 'RUN_RECOVERED', false],
];

describe('incidents', () => {
  const T = 1_800_000_000;

  it('alerts once when opened, then reminds after 1 h, 2 h, 4 h, 8 h, then daily', () => {
    let incidents: Incident[] = [];
    const notified: [number, string][] = [];
    for (let t = T; t <= T + 3 * 86400; t += 60) {
      const r = raiseIncident(incidents, 'PITR_GAP', t);
      incidents = r.incidents;
      if (r.notify) notified.push([(t - T) / 3600, r.notify]);
    }
    expect(notified).to.deep.equal([
      [0, 'OPEN'],
      [1, 'REMIND'],
      [3, 'REMIND'],
      [7, 'REMIND'],
      [15, 'REMIND'],
      [39, 'REMIND'],
      [63, 'REMIND'],
    ]);
    expect(REMINDER_BACKOFF_SECONDS[REMINDER_BACKOFF_SECONDS.length - 1]).to.equal(86400);
  });

  it('property: a standing cause sends at most 6 messages in its first day and 1 a day after', () => {
    fc.assert(
      fc.property(fc.integer({ min: 10, max: 900 }), fc.integer({ min: 1, max: 6 }), (step, days) => {
        let incidents: Incident[] = [];
        const times: number[] = [];
        for (let t = T; t <= T + days * 86400; t += step) {
          const r = raiseIncident(incidents, 'EXPORT_FAILED:KMS.DisabledException', t);
          incidents = r.incidents;
          if (r.notify) times.push(t);
        }
        expect(times.filter((t) => t < T + 86400).length).to.be.at.most(6);
        for (let d = 1; d < days; d++) {
          expect(times.filter((t) => t >= T + d * 86400 && t < T + (d + 1) * 86400).length).to.be.at.most(1);
        }
      }),
    );
  });

  it('never reminds kinds without reminders, and can wait (or stay quiet) before the first alert', () => {
    let incidents: Incident[] = [];
    const notified: number[] = [];
    for (let t = T; t <= T + 7200; t += 60) {
      const r = raiseIncident(incidents, 'NOT_YET', t, { notifyAfterSeconds: 1800 });
      incidents = r.incidents;
      if (r.notify) notified.push(t - T);
    }
    expect(notified).to.deep.equal([1800]);
    const quiet = raiseIncident([], 'START_THROTTLED', T, { quiet: true });
    expect(quiet.notify).to.equal(null);
    expect(raiseIncident(quiet.incidents, 'START_THROTTLED', T + 60).notify).to.equal('OPEN');
  });

  it('resolves only after the cause stayed clear for the hold time; a comeback meanwhile continues it', () => {
    let incidents = raiseIncident([], 'TABLE_DELETED', T).incidents;
    incidents = clearIncident(incidents, 'TABLE_DELETED', T + 60);
    expect(settleIncidents(incidents, T + 60 + RESOLVE_HOLD_SECONDS - 1).resolved).to.deep.equal([]);
    // Back before the hold ended: the same incident, no second OPEN.
    const again = raiseIncident(incidents, 'TABLE_DELETED', T + 120);
    expect(again.notify).to.equal(null);
    expect(again.incident.clearedAt).to.equal(undefined);
    incidents = clearIncident(again.incidents, 'TABLE_DELETED', T + 180);
    const settled = settleIncidents(incidents, T + 180 + RESOLVE_HOLD_SECONDS);
    expect(settled.incidents).to.deep.equal([]);
    expect(settled.resolved.map((i) => i.key)).to.deep.equal(['TABLE_DELETED']);
    // Gone for good: the next occurrence is a new incident with its own alert.
    expect(raiseIncident(settled.incidents, 'TABLE_DELETED', T + 5000).notify).to.equal('OPEN');
  });

  it('resolves an incident nobody was alerted about silently', () => {
    let incidents = raiseIncident([], 'NOT_YET', T, { notifyAfterSeconds: 1800 }).incidents;
    incidents = clearIncident(incidents, 'NOT_YET', T + 60);
    const settled = settleIncidents(incidents, T + 60 + RESOLVE_HOLD_SECONDS);
    expect(settled.incidents).to.deep.equal([]);
    expect(settled.resolved).to.deep.equal([]);
  });

  it('property: a cause that flaps faster than the hold time alerts once and never resolves meanwhile', () => {
    fc.assert(
      fc.property(
        // Alternating presence and absence; every absence is shorter than the hold time.
        fc.array(fc.integer({ min: 10, max: RESOLVE_HOLD_SECONDS - 1 }), { minLength: 1, maxLength: 200 }),
        (gaps) => {
          let incidents: Incident[] = [];
          let t = T;
          let opens = 0;
          let resolutions = 0;
          gaps.forEach((gap, i) => {
            t += gap;
            if (i % 2 === 0) {
              const r = raiseIncident(incidents, 'START_REFUSED:AccessDeniedException', t);
              incidents = r.incidents;
              if (r.notify === 'OPEN') opens++;
            } else {
              incidents = clearIncident(incidents, 'START_REFUSED:AccessDeniedException', t);
            }
            const s = settleIncidents(incidents, t);
            incidents = s.incidents;
            resolutions += s.resolved.length;
          });
          expect(opens).to.equal(1);
          expect(resolutions).to.equal(0);
          // Once it stays away for the hold time, exactly one resolution.
          const final = settleIncidents(
            clearIncident(incidents, 'START_REFUSED:AccessDeniedException', t),
            t + RESOLVE_HOLD_SECONDS,
          );
          expect(final.resolved).to.have.length(1);
        },
      ),
    );
  });

  it('keeps at most a bounded number of incidents, and a new epoch drops the ones tied to its windows', () => {
    let incidents: Incident[] = [];
    for (let i = 0; i < MAX_INCIDENTS + 5; i++) {
      incidents = raiseIncident(incidents, `EXPORT_FAILED:Code${i}`, T + i).incidents;
    }
    expect(incidents).to.have.length(MAX_INCIDENTS);
    expect(incidents[incidents.length - 1].key).to.equal(`EXPORT_FAILED:Code${MAX_INCIDENTS + 4}`);
    const mixed = ['PITR_GAP', 'NOT_YET', 'PITR_WINDOW', 'EXPORT_FAILED:X', 'RUN_FAILED:Y'].reduce<
      Incident[]
    >((acc, key) => raiseIncident(acc, key, T).incidents, []);
    expect(dropEpochIncidents(mixed).map((i) => i.key)).to.deep.equal(['EXPORT_FAILED:X', 'RUN_FAILED:Y']);
  });

  it('each kind reminds, resolves with its own message and ends with its epoch as documented', () => {
    const observed = KIND_RULES.map(([key]) => {
      const opened = raiseIncident([], key, T);
      const later = raiseIncident(opened.incidents, key, T + REMINDER_BACKOFF_SECONDS[0]);
      return [
        key,
        later.notify === 'REMIND',
        kindOf(key).resolvedEvent,
        dropEpochIncidents(opened.incidents).length === 0,
      ];
    });
    expect(observed).to.deep.equal(KIND_RULES);
    expect([...RESOLUTION_EVENTS].sort()).to.deep.equal(
      ['EXPORT_RECOVERED', 'INCIDENT_RESOLVED', 'PITR_ENABLED', 'RUN_RECOVERED', 'TABLE_FOUND'].sort(),
    );
  });

  it('a kind that never reminds has no reminder due; one that does is due one back-off after its last message', () => {
    const opened = raiseIncident([], 'TABLE_DELETED', T).incident;
    expect(nextReminderAt(opened)).to.equal(null);
    const gap = raiseIncident([], 'PITR_GAP', T).incident;
    expect(nextReminderAt(gap)).to.equal(T + 3600);
    expect(nextReminderAt({ ...gap, reminders: 2 })).to.equal(T + 14_400);
    expect(nextReminderAt({ ...gap, reminders: 40 })).to.equal(T + 86_400);
    // Not alerted yet (waiting, or quiet): no reminder either.
    expect(nextReminderAt(raiseIncident([], 'PITR_GAP', T, { quiet: true }).incident)).to.equal(null);
  });

  it('counts every occurrence of a cause, and each reminder', () => {
    let r = raiseIncident([], 'PITR_GAP', T);
    for (const t of [T + 60, T + 3600, T + 3660]) r = raiseIncident(r.incidents, 'PITR_GAP', t);
    expect(
      r.incidents.map((i) => [i.key, i.openedAt, i.lastNotifiedAt, i.reminders, i.occurrences]),
    ).to.deep.equal([['PITR_GAP', T, T + 3600, 1, 4]]);
    // Raised again among others: only its own record changes, in place.
    let others = raiseIncident(r.incidents, 'TABLE_DELETED', T + 10).incidents;
    others = raiseIncident(others, 'NOT_YET', T + 20).incidents;
    const again = raiseIncident(others, 'TABLE_DELETED', T + 4000).incidents;
    expect(again.map((i) => [i.key, i.occurrences])).to.deep.equal([
      ['PITR_GAP', 4],
      ['TABLE_DELETED', 2],
      ['NOT_YET', 1],
    ]);
  });

  it('keys: the kind, or the kind and its subject cut to 60 characters; the subject is all after the first colon', () => {
    expect(incidentKey('PITR_GAP')).to.equal('PITR_GAP');
    expect(incidentKey('EXPORT_FAILED', 'S3NoSuchBucket')).to.equal('EXPORT_FAILED:S3NoSuchBucket');
    expect(incidentKey('RUN_FAILED', 'x'.repeat(100))).to.equal(`RUN_FAILED:${'x'.repeat(60)}`);
    expect(subjectOf('EXPORT_FAILED:S3NoSuchBucket')).to.equal('S3NoSuchBucket');
    expect(subjectOf('RUN_FAILED:a:b')).to.equal('a:b');
    expect(subjectOf('PITR_GAP')).to.equal(undefined);
    expect(kindOf('START_REFUSED:x:y').kind).to.equal('START_REFUSED');
  });

  it('clearing again does not restart the hold; only the matching, uncleared incidents are cleared', () => {
    let incidents = raiseIncident([], 'PITR_GAP', T).incidents;
    incidents = raiseIncident(incidents, 'EXPORT_FAILED:A', T).incidents;
    incidents = raiseIncident(incidents, 'EXPORT_FAILED:B', T).incidents;
    incidents = clearIncident(incidents, 'EXPORT_FAILED:A', T + 60);
    expect(clearIncident(incidents, 'EXPORT_FAILED:A', T + 300)).to.deep.equal(incidents);
    incidents = clearIncidents(incidents, (i) => i.key.startsWith('EXPORT_FAILED:'), T + 120);
    expect(incidents.map((i) => [i.key, i.clearedAt])).to.deep.equal([
      ['PITR_GAP', undefined],
      ['EXPORT_FAILED:A', T + 60],
      ['EXPORT_FAILED:B', T + 120],
    ]);
    const settled = settleIncidents(incidents, T + 60 + RESOLVE_HOLD_SECONDS);
    expect(settled.resolved.map((i) => i.key)).to.deep.equal(['EXPORT_FAILED:A']);
    expect(settled.incidents.map((i) => i.key)).to.deep.equal(['PITR_GAP', 'EXPORT_FAILED:B']);
  });

  it('refuses an unknown kind of key', () => {
    expect(() => raiseIncident([], 'SOMETHING', T)).to.throw(/unknown incident kind/);
  });
});
