import { expect } from 'chai';
import fc from 'fast-check';
import { parseCompactTime } from '../../../functions/shared/chainManifest';
import { decideDriver } from '../../../functions/chain/driver';
import { factStatus, type NotificationFact } from '../../../functions/chain/notificationFacts';
import { renderFact } from '../../../functions/chain/notificationText';
import {
  applyStartOutcome,
  finishTick,
  fitState,
  planTick,
  type ActionObservation,
  type DescribeObservation,
  type PitrObservation,
  type StartOutcome,
} from '../../../functions/chain/planner';
import { initialState, parseState, serializeState, type ChainState } from '../../../functions/chain/state';
import { computeWake, exportsToDescribe, restorableLimit } from '../../../functions/chain/timing';
import { clientToken } from '../../../functions/chain/tokens';
import { chainSettings } from '../../helpers/chainSettings';
import { inProgressIncremental } from '../../helpers/trackedExports';

const T0 = Date.parse('2026-11-24T00:00:00Z') / 1000;

/** Whether a state fits its parameter (what the tick checks before it saves). */
function fits(state: ChainState): boolean {
  try {
    serializeState(state);
    return true;
  } catch {
    return false;
  }
}

/** The message a fact is published with. */
function text(fact: NotificationFact | undefined): string {
  return fact ? renderFact(fact, settings()).message : '';
}

/** The action parameter as read; a RESET is carried out once per version. */
function act(value: string | null, version = 1): ActionObservation {
  return { value, version };
}

const settings = chainSettings;

function enabled(now: number, lag = 300): PitrObservation {
  return { status: 'ENABLED', earliest: T0 - 30 * 86400, latest: now - lag, recoveryPeriodDays: 35 };
}

/** One random step of the world between two ticks. */
const stepArb = fc.record({
  advance: fc.oneof(fc.integer({ min: 10, max: 1200 }), fc.integer({ min: 1200, max: 8 * 3600 })),
  lag: fc.integer({ min: 30, max: 1200 }),
  describe: fc.array(fc.constantFrom('IN_PROGRESS', 'COMPLETED', 'COMPLETED', 'FAILED', 'UNREADABLE'), {
    minLength: 8,
    maxLength: 8,
  }),
  start: fc.array(fc.constantFrom('STARTED', 'STARTED', 'STARTED', 'NOT_YET', 'REJECTED', 'CRASH'), {
    minLength: 8,
    maxLength: 8,
  }),
});

interface Accepted {
  from: number;
  to: number;
  attempt: number;
  type: string;
}

describe('planner (property)', () => {
  it('keeps the committed chain gap-free, on the grid, within bounds, and never starts a window twice', () => {
    fc.assert(
      fc.property(
        fc.array(stepArb, { minLength: 5, maxLength: 60 }),
        fc.constantFrom(15, 30, 60),
        fc.integer({ min: 1, max: 8 }),
        (steps, windowMinutes, maxInFlight) => {
          const cfg = settings({ windowMinutes, maxInFlight, maxCatchUpWindowMinutes: windowMinutes * 8 });
          const W = windowMinutes * 60;
          let state: ChainState = initialState();
          let now = T0;
          let exportCounter = 0;
          const committed: { from: number; to: number; sequence: number; type: string }[] = [];
          const accepted = new Map<string, Accepted>();
          const tokensAccepted = new Set<string>();
          for (const step of steps) {
            now += step.advance;
            const pitr = enabled(now, step.lag);
            const describes: DescribeObservation[] = exportsToDescribe(state, now).map((arn, i) => {
              const kind = step.describe[i % step.describe.length];
              if (kind === 'COMPLETED') {
                return {
                  arn,
                  status: 'COMPLETED',
                  endTime: now - 5,
                  itemCount: 1,
                  billedSizeBytes: 10,
                  manifestSummaryKey: `k/${arn}`,
                };
              }
              if (kind === 'FAILED')
                return { arn, status: 'FAILED', code: 'S3AccessDenied', message: 'denied' };
              if (kind === 'UNREADABLE')
                return { arn, status: 'UNREADABLE', code: 'TimeoutError', message: 't' };
              return { arn, status: 'IN_PROGRESS' };
            });
            const watermarkBefore = state.watermark;
            const plan = planTick({ state, settings: cfg, now, action: act('RUN'), pitr, describes });
            // The watermark moves only over committed entries, each starting where the last ended.
            for (const entry of plan.commits.entries) {
              committed.push({
                from: Date.parse(entry.from) / 1000,
                to: Date.parse(entry.to) / 1000,
                sequence: entry.sequence,
                type: entry.type,
              });
            }
            for (const d of describes) {
              const after = plan.state.exports.find((e) => e.arn === d.arn);
              if (d.status === 'FAILED') expect(after?.status).to.equal('FAILED');
              if (d.status === 'IN_PROGRESS' || d.status === 'UNREADABLE') {
                expect(after?.status, 'an in-flight export is never forgotten').to.equal('IN_PROGRESS');
              }
              if (d.status === 'COMPLETED' && after) expect(after.status).to.equal('COMPLETED');
            }
            if (plan.commits.entries.length === 0 && watermarkBefore !== null) {
              expect(plan.state.watermark).to.equal(watermarkBefore);
            }
            state = parseState(serializeState(fitState(plan.state, fits)), cfg.stateParameterName);
            const limit = restorableLimit(pitr.latest as number, cfg.restorableMarginSeconds);
            let crashed = false;
            plan.starts.forEach((e, i) => {
              if (crashed) return;
              if (e.type === 'INCREMENTAL') {
                expect(e.to, 'window end beyond the restorable point').to.be.at.most(limit);
                expect(e.to - e.from).to.be.within(15 * 60, 24 * 3600);
                expect((e.from - (state.chainStart as number)) % W).to.equal(0);
                expect((e.to - (state.chainStart as number)) % W).to.equal(0);
              }
              const kind = step.start[i % step.start.length];
              if (kind === 'CRASH') {
                crashed = true;
                return;
              }
              let outcome: StartOutcome;
              const token = clientToken({
                tableArn: cfg.tableArn,
                epoch: state.epoch as string,
                type: e.type,
                from: e.from,
                to: e.to,
                attempt: e.attempt,
              });
              if (kind === 'STARTED') {
                // DynamoDB answers a repeated token with the same export.
                const key = `${e.type}:${e.from}:${e.to}:${e.attempt}`;
                const existing = accepted.get(key);
                const arn = existing
                  ? `${cfg.tableArn}/export/${(existing as any).id}`
                  : `${cfg.tableArn}/export/${String(++exportCounter).padStart(14, '0')}-x`;
                if (!existing) {
                  accepted.set(key, { ...e, id: `${String(exportCounter).padStart(14, '0')}-x` } as any);
                  expect(tokensAccepted.has(token), 'two accepted exports with one token').to.equal(false);
                  tokensAccepted.add(token);
                }
                outcome = { kind: 'STARTED', arn };
              } else if (kind === 'NOT_YET') {
                outcome = { kind: 'NOT_YET', code: 'InvalidExportTimeException', message: 'not yet' };
              } else {
                outcome = { kind: 'REJECTED', code: 'ValidationException', message: 'bad' };
              }
              state = applyStartOutcome(state, e, outcome, cfg, now).state;
            });
            state = parseState(serializeState(fitState(state, fits)), cfg.stateParameterName);
            // Live exports never overlap one another or the committed chain.
            const live = state.exports.filter((e) => e.type === 'INCREMENTAL');
            for (let i = 1; i < live.length; i++) expect(live[i].from).to.be.at.least(live[i - 1].to);
            if (state.watermark !== null && live.length > 0) {
              expect(live[0].from).to.be.at.least(state.watermark);
            }
            expect(
              state.exports.filter((e) => e.type === 'INCREMENTAL').length,
              'in-flight bound',
            ).to.be.at.most(Math.min(maxInFlight, 6));
            const wake = computeWake({
              state,
              settings: cfg,
              now,
              periodEnd: now + 900,
              startsAllowed: true,
            });
            expect(wake.wakeAt).to.be.at.least(now + 10);
          }
          // The committed entries tile [chainStart, watermark) exactly.
          if (committed.length > 0) {
            expect(committed[0].type).to.equal('FULL');
            expect(committed[0].sequence).to.equal(0);
            let cursor = committed[0].to;
            expect(cursor).to.equal(state.chainStart);
            for (const entry of committed.slice(1)) {
              expect(entry.type).to.equal('INCREMENTAL');
              expect(entry.from).to.equal(cursor);
              expect(entry.to - entry.from).to.be.within(15 * 60, 24 * 3600);
              cursor = entry.to;
            }
            expect(cursor).to.equal(state.watermark);
            committed.forEach((e, i) => expect(e.sequence).to.equal(i));
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('planner (property, operator and PITR)', () => {
  it('keeps every epoch gap-free through PAUSE, RESET, PITR outages and gaps, and answers sensible wake times', () => {
    const world = fc.record({
      advance: fc.integer({ min: 10, max: 4 * 3600 }),
      action: fc.constantFrom('RUN', 'RUN', 'RUN', 'RUN', 'PAUSE', 'RESET', 'bogus', null),
      pitr: fc.constantFrom('ENABLED', 'ENABLED', 'ENABLED', 'ENABLED', 'DISABLED', 'GAP', 'TABLE_NOT_FOUND'),
      outcome: fc.constantFrom('COMPLETED', 'COMPLETED', 'IN_PROGRESS', 'FAILED'),
    });
    fc.assert(
      fc.property(
        fc.array(world, { minLength: 5, maxLength: 50 }),
        fc.constantFrom<'alert' | 'reset'>('alert', 'reset'),
        (steps, onPitrGap) => {
          const cfg = settings({ onPitrGap, maxInFlight: 4 });
          let state: ChainState = initialState();
          let now = T0;
          let earliest = T0 - 86400;
          let n = 0;
          let actionVersion = 0;
          const byEpoch = new Map<string, { from: number; to: number; sequence: number }[]>();
          for (const step of steps) {
            now += step.advance;
            if (step.pitr === 'GAP') earliest = now - 600; // history lost: PITR re-enabled recently
            const pitr: PitrObservation =
              step.pitr === 'GAP' || step.pitr === 'ENABLED'
                ? { status: 'ENABLED', earliest, latest: now - 300, recoveryPeriodDays: 35 }
                : { status: step.pitr as 'DISABLED' | 'TABLE_NOT_FOUND' };
            const describes: DescribeObservation[] = exportsToDescribe(state, now).map((arn) =>
              step.outcome === 'COMPLETED'
                ? {
                    arn,
                    status: 'COMPLETED',
                    endTime: now,
                    itemCount: 0,
                    billedSizeBytes: 0,
                    manifestSummaryKey: 'k',
                  }
                : step.outcome === 'FAILED'
                  ? { arn, status: 'FAILED', code: 'X', message: 'x' }
                  : { arn, status: 'IN_PROGRESS' },
            );
            const before = state;
            const plan = planTick({
              state,
              settings: cfg,
              now,
              action: act(step.action, ++actionVersion),
              pitr,
              describes,
            });
            // Nothing is requested unless running with PITR usable.
            if (plan.starts.length > 0) {
              expect(step.action === 'RUN' || step.action === 'RESET' || step.action === null).to.equal(true);
              expect(pitr.status).to.equal('ENABLED');
            }
            if (step.action === 'RESET') {
              expect(plan.reset).to.equal(true);
              expect(plan.state.epoch).to.not.equal(before.epoch);
            }
            if (plan.state.epoch !== before.epoch && before.epoch !== null) {
              // Only an operator RESET, or a PITR gap (history lost at some point) with onPitrGap=reset.
              const gapSeen = pitr.earliest !== undefined && pitr.earliest > T0 - 86400;
              expect(step.action === 'RESET' || (onPitrGap === 'reset' && gapSeen)).to.equal(true);
            }
            for (const e of plan.commits.entries) {
              const list = byEpoch.get(e.epoch) ?? [];
              list.push({
                from: Date.parse(e.from) / 1000,
                to: Date.parse(e.to) / 1000,
                sequence: e.sequence,
              });
              byEpoch.set(e.epoch, list);
            }
            state = plan.state;
            for (const e of plan.starts) {
              state = applyStartOutcome(
                state,
                e,
                { kind: 'STARTED', arn: `${cfg.tableArn}/export/${++n}` },
                cfg,
                now,
              ).state;
            }
            state = parseState(serializeState(fitState(state, fits)), cfg.stateParameterName);
            const wake = computeWake({
              state,
              settings: cfg,
              now,
              periodEnd: now + 900,
              startsAllowed: plan.startsAllowed,
            });
            expect(wake.wakeAt).to.be.within(now + 10, Math.max(now + 10, now + 900 + 86400));
            if (!plan.startsAllowed && !state.exports.some((e) => e.status === 'IN_PROGRESS')) {
              expect(wake.next, 'nothing to do until the next period').to.equal('DONE');
            }
          }
          for (const entries of byEpoch.values()) {
            expect(entries[0].sequence).to.equal(0);
            expect(entries[0].from).to.equal(entries[0].to);
            for (let i = 1; i < entries.length; i++) {
              expect(entries[i].sequence).to.equal(i);
              expect(entries[i].from).to.equal(entries[i - 1].to);
            }
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('planner', () => {
  const cfg = settings();

  it('bootstraps with a full export at min(latest, now) - margin, floored to a minute, recorded as STARTING', () => {
    const now = T0 + 37;
    const plan = planTick({
      state: initialState(),
      settings: cfg,
      now,
      action: act('RUN'),
      pitr: { status: 'ENABLED', earliest: T0 - 86400, latest: now - 299 },
      describes: [],
    });
    expect(plan.state.epoch).to.match(/^\d{8}T\d{6}Z$/);
    expect(parseCompactTime(plan.state.epoch as string)).to.equal(now);
    expect(plan.starts).to.have.length(1);
    const full = plan.starts[0];
    expect(full.type).to.equal('FULL');
    expect(full.status).to.equal('STARTING');
    expect(full.to % 60).to.equal(0);
    expect(full.to).to.equal(Math.floor((now - 299 - 60) / 60) * 60);
    expect(plan.state.exports).to.deep.equal([full]);
    expect(plan.state.chainStart).to.equal(null);
  });

  function withFull(status: 'IN_PROGRESS' | 'COMPLETED', exportTime = T0): ChainState {
    const s = initialState();
    s.epoch = '20261124T000000Z';
    s.exports = [
      {
        type: 'FULL',
        from: exportTime,
        to: exportTime,
        attempt: 1,
        status,
        arn: `${cfg.tableArn}/export/01-full`,
        startedAt: T0,
        nextCheckAt: T0 + 900,
        checks: 0,
      },
    ];
    return s;
  }

  function chained(watermark: number): ChainState {
    const s = initialState();
    s.epoch = '20261124T000000Z';
    s.chainStart = T0;
    s.watermark = watermark;
    s.sequence = (watermark - T0) / 900;
    return s;
  }

  it('never asks for a full export before EarliestRestorableDateTime (PITR enabled only recently)', () => {
    const enabledAt = T0 + 30;
    let now = T0 + 200;
    // Nothing restorable yet at a whole minute: wait.
    let plan = planTick({
      state: initialState(),
      settings: cfg,
      now,
      action: act('RUN'),
      pitr: { status: 'ENABLED', earliest: enabledAt, latest: now - 300 },
      describes: [],
    });
    expect(plan.starts).to.deep.equal([]);
    now = T0 + 400;
    plan = planTick({
      state: plan.state,
      settings: cfg,
      now,
      action: act('RUN'),
      pitr: { status: 'ENABLED', earliest: enabledAt, latest: now - 300 },
      describes: [],
    });
    // floor(latest - margin) would be before the earliest restorable time: the first whole minute after it.
    expect(plan.starts.map((e) => [e.type, e.to])).to.deep.equal([['FULL', T0 + 60]]);
  });

  it('a refused full export is asked again for a time DynamoDB can export; a possibly accepted one is resent unchanged', () => {
    let now = T0 + 3600;
    const pitr = (n: number): PitrObservation => ({
      status: 'ENABLED',
      earliest: T0 - 86400,
      latest: n - 300,
    });
    let plan = planTick({
      state: initialState(),
      settings: cfg,
      now,
      action: act('RUN'),
      pitr: pitr(now),
      describes: [],
    });
    const first = plan.starts[0];
    // Crash before the answer: the next tick resends the identical request.
    const resent = planTick({
      state: plan.state,
      settings: cfg,
      now: now + 30,
      action: act('RUN'),
      pitr: pitr(now + 30),
      describes: [],
    });
    expect(resent.starts).to.deep.equal([first]);
    // Refused: retried a minute later with a current export time.
    const refused = applyStartOutcome(
      plan.state,
      first,
      { kind: 'NOT_YET', code: 'InvalidExportTimeException', message: 'Export Time is invalid' },
      cfg,
      now,
    ).state;
    now += 600;
    plan = planTick({
      state: refused,
      settings: cfg,
      now,
      action: act('RUN'),
      pitr: pitr(now),
      describes: [],
    });
    expect(plan.starts).to.have.length(1);
    expect(plan.starts[0].to).to.equal(first.to + 600);
    expect(plan.state.exports).to.have.length(1);
  });

  it('starts no incremental export before the full export completed', () => {
    const now = T0 + 3 * 3600;
    const plan = planTick({
      state: withFull('IN_PROGRESS'),
      settings: cfg,
      now,
      action: act('RUN'),
      pitr: enabled(now),
      describes: [{ arn: `${cfg.tableArn}/export/01-full`, status: 'IN_PROGRESS' }],
    });
    expect(plan.starts).to.deep.equal([]);
    expect(plan.state.chainStart).to.equal(null);
  });

  it('commits the completed full export as sequence 0 with CURRENT.json, then catches up in one export', () => {
    const now = T0 + 6 * 3600 + 600;
    const plan = planTick({
      state: withFull('IN_PROGRESS'),
      settings: cfg,
      now,
      action: act('RUN'),
      pitr: enabled(now),
      describes: [
        {
          arn: `${cfg.tableArn}/export/01-full`,
          status: 'COMPLETED',
          endTime: T0 + 700,
          itemCount: 5,
          billedSizeBytes: 50,
          manifestSummaryKey: 'orders/AWSDynamoDB/01-full/manifest-summary.json',
        },
      ],
    });
    expect(plan.commits.entries.map((e) => e.sequence)).to.deep.equal([0]);
    expect(plan.commits.entries[0].completedAt).to.equal(new Date((T0 + 700) * 1000).toISOString());
    expect(plan.commits.current).to.deep.equal({ schemaVersion: 1, epoch: '20261124T000000Z' });
    expect(plan.commits.head?.watermark).to.equal(new Date(T0 * 1000).toISOString());
    expect(plan.state.chainStart).to.equal(T0);
    // 6 h of backlog, catch-up windows of up to 6 h: one export.
    expect(plan.starts).to.have.length(1);
    expect(plan.starts[0]).to.include({ type: 'INCREMENTAL', from: T0, to: T0 + 6 * 3600 });
  });

  it('commits in order only: a completed later window waits for the earlier one', () => {
    const now = T0 + 3600;
    const s = chained(T0);
    s.exports = [
      inProgressIncremental({ from: T0, to: T0 + 900, arn: 'arn:a/export/1', nextCheckAt: now, checks: 1 }),
      inProgressIncremental({
        from: T0 + 900,
        to: T0 + 1800,
        arn: 'arn:a/export/2',
        nextCheckAt: now,
        checks: 1,
      }),
    ];
    const done = (arn: string): DescribeObservation => ({
      arn,
      status: 'COMPLETED',
      endTime: now - 10,
      itemCount: 0,
      billedSizeBytes: 0,
      manifestSummaryKey: 'k',
    });
    const first = planTick({
      state: s,
      settings: cfg,
      now,
      action: act('PAUSE'),
      pitr: enabled(now),
      describes: [done('arn:a/export/2'), { arn: 'arn:a/export/1', status: 'IN_PROGRESS' }],
    });
    expect(first.commits.entries).to.deep.equal([]);
    expect(first.state.watermark).to.equal(T0);
    const second = planTick({
      state: first.state,
      settings: cfg,
      now: now + 60,
      action: act('PAUSE'),
      pitr: enabled(now + 60),
      describes: [done('arn:a/export/1')],
    });
    expect(second.commits.entries.map((e) => [e.sequence, e.from, e.to])).to.deep.equal([
      [1, new Date(T0 * 1000).toISOString(), new Date((T0 + 900) * 1000).toISOString()],
      [2, new Date((T0 + 900) * 1000).toISOString(), new Date((T0 + 1800) * 1000).toISOString()],
    ]);
    expect(second.state.watermark).to.equal(T0 + 1800);
    // Batch: one SUCCESS message for both.
    expect(second.notifications.filter((n) => n.event === 'EXPORT_COMMITTED')).to.have.length(1);
  });

  it('retries a failed window unchanged with attempt + 1, alerts once, reminds hourly, and reports recovery', () => {
    const one = settings({ maxInFlight: 1 });
    let now = T0 + 3600;
    let s = chained(T0);
    s.exports = [inProgressIncremental({ from: T0, to: T0 + 900, arn: 'arn:a/export/1', nextCheckAt: now })];
    const fail = (arn: string): DescribeObservation => ({
      arn,
      status: 'FAILED',
      code: 'S3AccessDenied',
      message: 'no',
    });
    let plan = planTick({
      state: s,
      settings: one,
      now,
      action: act('RUN'),
      pitr: enabled(now),
      describes: [fail('arn:a/export/1')],
    });
    expect(plan.notifications.map((n) => [n.event, factStatus(n), n.attempt])).to.deep.equal([
      ['EXPORT_FAILED', 'FAILED', 1],
    ]);
    expect(plan.starts).to.deep.equal([]); // backing off first
    s = plan.state;
    const alerts: number[] = [];
    const attempts: number[] = [];
    let arnCounter = 2;
    const step = (complete: boolean) => {
      now += 600;
      const describes = exportsToDescribe(s, now).map((arn) =>
        complete
          ? ({
              arn,
              status: 'COMPLETED',
              endTime: now,
              itemCount: 0,
              billedSizeBytes: 0,
              manifestSummaryKey: 'k',
            } as const)
          : fail(arn),
      );
      plan = planTick({ state: s, settings: one, now, action: act('RUN'), pitr: enabled(now), describes });
      alerts.push(...plan.notifications.filter((n) => n.event === 'EXPORT_FAILED').map(() => now));
      s = plan.state;
      for (const e of plan.starts) {
        if (plan.state.watermark === T0) {
          // While the window is not committed, the only request is its retry, unchanged.
          expect([e.from, e.to]).to.deep.equal([T0, T0 + 900]);
          attempts.push(e.attempt);
        }
        s = applyStartOutcome(s, e, { kind: 'STARTED', arn: `arn:a/export/${arnCounter++}` }, one, now).state;
      }
      s.exports = s.exports.map((e) => (e.status === 'IN_PROGRESS' ? { ...e, nextCheckAt: now + 600 } : e));
    };
    for (let i = 0; i < 8; i++) step(false);
    expect(attempts).to.deep.equal([2, 3, 4, 5]);
    // Failures from T0+1h to T0+2h20: the first alert, then one reminder an hour later.
    expect(alerts).to.deep.equal([T0 + 7200]);
    while (!s.exports.some((e) => e.status === 'IN_PROGRESS')) step(false);
    step(true);
    expect(plan.state.watermark).to.equal(T0 + 900);
    // Cleared by the completion; resolved (one message) once it stayed clear for the hold time.
    expect(plan.notifications.some((n) => n.event === 'EXPORT_RECOVERED')).to.equal(false);
    const settled = finishTick(s, one, now + 600);
    const recovered = settled.notifications.find((n) => n.event === 'EXPORT_RECOVERED');
    s = settled.state;
    expect(recovered && factStatus(recovered)).to.equal('SUCCESS');
    expect(plan.state.incidents.find((i) => i.key.startsWith('EXPORT_FAILED'))?.clearedAt).to.equal(now);
    expect(s.incidents.some((i) => i.key.startsWith('EXPORT_FAILED'))).to.equal(false);
  });

  it('PAUSE: describes and commits in-flight exports but requests nothing new', () => {
    const now = T0 + 5 * 3600;
    const s = chained(T0);
    s.exports = [inProgressIncremental({ from: T0, to: T0 + 900, arn: 'arn:a/export/1', nextCheckAt: now })];
    const plan = planTick({
      state: s,
      settings: cfg,
      now,
      action: act('PAUSE'),
      pitr: enabled(now),
      describes: [
        {
          arn: 'arn:a/export/1',
          status: 'COMPLETED',
          endTime: now,
          itemCount: 1,
          billedSizeBytes: 1,
          manifestSummaryKey: 'k',
        },
      ],
    });
    expect(plan.state.watermark).to.equal(T0 + 900);
    expect(plan.starts).to.deep.equal([]);
    expect(plan.startsAllowed).to.equal(false);
    const wake = computeWake({
      state: plan.state,
      settings: cfg,
      now,
      periodEnd: now + 900,
      startsAllowed: false,
    });
    expect(wake.next).to.equal('DONE');
  });

  it('RESET: new epoch, uncommitted exports dropped and listed, full export requested, action reset', () => {
    const now = T0 + 5 * 3600;
    const s = chained(T0 + 900);
    s.exports = [
      inProgressIncremental({ from: T0 + 900, to: T0 + 1800, arn: 'arn:a/export/9', nextCheckAt: now + 100 }),
    ];
    const plan = planTick({
      state: s,
      settings: cfg,
      now,
      action: act('RESET'),
      pitr: enabled(now),
      describes: [],
    });
    expect(plan.reset).to.equal(true);
    expect(plan.state.epoch).to.equal(
      new Date(now * 1000)
        .toISOString()
        .replace(/\.\d{3}Z$/, 'Z')
        .replace(/[-:]/g, ''),
    );
    expect(plan.state.chainStart).to.equal(null);
    expect(plan.state.watermark).to.equal(null);
    expect(plan.starts.map((e) => e.type)).to.deep.equal(['FULL']);
    const note = plan.notifications.find((n) => n.event === 'RESET');
    expect(note && factStatus(note)).to.equal('WARNING');
    expect(note?.dropped).to.deep.equal(['9']);
    expect(text(note)).to.contain('dropped from the chain: 9');
  });

  it('an unknown action alerts once, naming the parameter and the allowed values, and behaves as PAUSE', () => {
    const now = T0 + 5 * 3600;
    const first = planTick({
      state: chained(T0),
      settings: cfg,
      now,
      action: act('STOP'),
      pitr: enabled(now),
      describes: [],
    });
    expect(first.starts).to.deep.equal([]);
    expect(first.mode).to.equal('PAUSE');
    const note = first.notifications.find((n) => n.event === 'ACTION_INVALID');
    expect(note && factStatus(note)).to.equal('FAILED');
    expect(text(note)).to.contain(cfg.actionParameterName).and.to.contain('RUN, PAUSE, RESET');
    const second = planTick({
      state: first.state,
      settings: cfg,
      now: now + 60,
      action: act('STOP'),
      pitr: enabled(now + 60),
      describes: [],
    });
    expect(second.notifications).to.deep.equal([]);
  });

  it('PITR disabled: warns once, starts nothing, keeps tracking in-flight exports', () => {
    let now = T0 + 3600;
    const s = chained(T0);
    s.exports = [inProgressIncremental({ from: T0, to: T0 + 900, arn: 'arn:a/export/1', nextCheckAt: now })];
    const first = planTick({
      state: s,
      settings: cfg,
      now,
      action: act('RUN'),
      pitr: { status: 'DISABLED' },
      describes: [{ arn: 'arn:a/export/1', status: 'IN_PROGRESS' }],
    });
    expect(first.starts).to.deep.equal([]);
    expect(first.notifications.map((n) => [n.event, factStatus(n)])).to.deep.equal([
      ['PITR_DISABLED', 'WARNING'],
    ]);
    now += 600;
    const second = planTick({
      state: first.state,
      settings: cfg,
      now,
      action: act('RUN'),
      pitr: { status: 'DISABLED' },
      describes: [],
    });
    expect(second.notifications).to.deep.equal([]);
    expect(second.state.exports).to.have.length(1);
  });

  it('PITR gap with alert: FAILED once, hourly reminders, waits for RESET; with reset: new epoch at once', () => {
    const now = T0 + 3600;
    const gap: PitrObservation = { status: 'ENABLED', earliest: T0 + 1800, latest: now - 300 };
    const first = planTick({
      state: chained(T0),
      settings: cfg,
      now,
      action: act('RUN'),
      pitr: gap,
      describes: [],
    });
    expect(first.starts).to.deep.equal([]);
    expect(first.notifications.map((n) => [n.event, factStatus(n)])).to.deep.equal([['PITR_GAP', 'FAILED']]);
    const soon = planTick({
      state: first.state,
      settings: cfg,
      now: now + 600,
      action: act('RUN'),
      pitr: { ...gap, latest: now + 300 },
      describes: [],
    });
    expect(soon.notifications).to.deep.equal([]);
    const later = planTick({
      state: soon.state,
      settings: cfg,
      now: now + 3700,
      action: act('RUN'),
      pitr: { ...gap, latest: now + 3400 },
      describes: [],
    });
    expect(later.notifications.map((n) => n.event)).to.deep.equal(['PITR_GAP']);

    const auto = planTick({
      state: chained(T0),
      settings: settings({ onPitrGap: 'reset' }),
      now,
      action: act('RUN'),
      pitr: gap,
      describes: [],
    });
    expect(auto.state.epoch).to.not.equal('20261124T000000Z');
    expect(auto.starts.map((e) => e.type)).to.deep.equal(['FULL']);
    expect(auto.notifications.map((n) => n.event)).to.include.members(['PITR_GAP', 'NEW_EPOCH']);
  });

  it('table deleted: notifies once and requests nothing', () => {
    const now = T0 + 3600;
    const first = planTick({
      state: chained(T0),
      settings: cfg,
      now,
      action: act('RUN'),
      pitr: { status: 'TABLE_NOT_FOUND' },
      describes: [],
    });
    expect(first.starts).to.deep.equal([]);
    expect(first.notifications.map((n) => n.event)).to.deep.equal(['TABLE_DELETED']);
    const again = planTick({
      state: first.state,
      settings: cfg,
      now: now + 900,
      action: act('RUN'),
      pitr: { status: 'TABLE_NOT_FOUND' },
      describes: [],
    });
    expect(again.notifications).to.deep.equal([]);
  });

  it('warns once when the lag passes 80 % of the PITR recovery period', () => {
    const now = T0 + 29 * 86400;
    const s = chained(T0);
    const plan = planTick({
      state: s,
      settings: cfg,
      now,
      action: act('PAUSE'),
      pitr: { ...enabled(now), earliest: T0 - 86400, recoveryPeriodDays: 35 },
      describes: [],
    });
    expect(plan.notifications.map((n) => n.event)).to.deep.equal(['PITR_WINDOW_WARNING']);
    const young = planTick({
      state: chained(T0),
      settings: cfg,
      now: T0 + 27 * 86400,
      action: act('PAUSE'),
      pitr: { ...enabled(now), recoveryPeriodDays: 35 },
      describes: [],
    });
    expect(young.notifications).to.deep.equal([]);
  });

  it('"not yet" keeps the window and retries after 60 s; warns only after 30 minutes', () => {
    let now = T0 + 1200;
    let s = chained(T0);
    let plan = planTick({
      state: s,
      settings: cfg,
      now,
      action: act('RUN'),
      pitr: enabled(now, 200),
      describes: [],
    });
    expect(plan.starts).to.have.length(1);
    const window = { from: plan.starts[0].from, to: plan.starts[0].to };
    const notYet: StartOutcome = {
      kind: 'NOT_YET',
      code: 'InvalidExportTimeException',
      message: 'too close',
    };
    let r = applyStartOutcome(plan.state, plan.starts[0], notYet, cfg, now);
    expect(r.notifications).to.deep.equal([]);
    s = r.state;
    expect(s.exports[0].notBefore).to.equal(now + 60);
    const warnings: number[] = [];
    for (let i = 0; i < 40; i++) {
      now += 60;
      plan = planTick({
        state: s,
        settings: cfg,
        now,
        action: act('RUN'),
        pitr: enabled(now, 200),
        describes: [],
      });
      expect(plan.starts[0]).to.include(window);
      expect(plan.starts[0].attempt).to.equal(1);
      r = applyStartOutcome(plan.state, plan.starts[0], notYet, cfg, now);
      if (r.notifications.length > 0) warnings.push(now);
      s = r.state;
    }
    expect(warnings).to.have.length(1);
    expect(warnings[0] - (T0 + 1200)).to.be.at.least(1800);
  });

  it('wakes when the next window becomes exportable, for the next check, and ends at the period end', () => {
    const now = T0 + 1000;
    const s = chained(T0 + 900);
    s.stats.restorableLagSeconds = 300;
    const w = computeWake({ state: s, settings: cfg, now, periodEnd: now + 3600, startsAllowed: true });
    expect(w).to.deep.equal({ wakeAt: T0 + 1800 + 60 + 300, next: 'WAIT' });
    s.exports = [
      inProgressIncremental({ from: T0 + 900, to: T0 + 1800, arn: 'x/export/1', nextCheckAt: now + 30 }),
    ];
    expect(
      computeWake({ state: s, settings: cfg, now, periodEnd: now + 3600, startsAllowed: true }).wakeAt,
    ).to.equal(now + 30);
    s.exports[0].nextCheckAt = now + 1;
    expect(
      computeWake({ state: s, settings: cfg, now, periodEnd: now + 3600, startsAllowed: true }).wakeAt,
    ).to.equal(now + 10);
    expect(
      computeWake({ state: s, settings: cfg, now, periodEnd: now + 5, startsAllowed: true }).next,
    ).to.equal('DONE');
  });
});

describe('driver lease', () => {
  const exec = (id: string, scheduledAt: number) => ({
    executionId: id,
    scheduledAt,
    periodEnd: scheduledAt + 900,
  });

  it('takes the chain when nobody drives it, and keeps it on its own ticks', () => {
    const d = decideDriver(null, exec('a', T0), T0);
    expect(d).to.deep.equal({
      kind: 'DRIVE',
      driver: { executionId: 'a', scheduledAt: T0, leaseUntil: T0 + 900 + 120 },
    });
    if (d.kind !== 'DRIVE') return;
    expect(decideDriver(d.driver, exec('a', T0), T0 + 300).kind).to.equal('DRIVE');
  });

  it('a duplicate or older execution stands down while the lease is live; a newer one takes over', () => {
    const current = { executionId: 'a', scheduledAt: T0, leaseUntil: T0 + 1020 };
    expect(decideDriver(current, exec('dup', T0), T0 + 10).kind).to.equal('STAND_DOWN');
    expect(decideDriver(current, exec('old', T0 - 900), T0 + 10).kind).to.equal('STAND_DOWN');
    expect(decideDriver(current, exec('new', T0 + 900), T0 + 900).kind).to.equal('DRIVE');
    const superseded = { executionId: 'new', scheduledAt: T0 + 900, leaseUntil: T0 + 1920 };
    expect(decideDriver(superseded, exec('a', T0), T0 + 910).kind).to.equal('STAND_DOWN');
  });

  it('an expired lease is taken over by anyone', () => {
    const current = { executionId: 'a', scheduledAt: T0, leaseUntil: T0 + 1020 };
    expect(decideDriver(current, exec('dup', T0), T0 + 1021).kind).to.equal('DRIVE');
  });
});
