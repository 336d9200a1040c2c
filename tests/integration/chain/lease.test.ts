/**
 * The lease is exclusive under concurrent takers: two takers are interleaved at every SSM call, in
 * every possible order, against the in-memory SSM, and at most one of them may hold the lease.
 */
import { expect } from 'chai';
import {
  LOCK_LEASE_SECONDS,
  acquireLease,
  leaseValue,
  takeoverMarkerName,
  type SsmCall,
} from '../../../functions/shared/lease';
import { withRetry } from '../../../functions/shared/retry';
import { CallLog } from '../../../sim/fakeAws/service';
import { serviceError } from '../../../sim/fakeAws/errors';
import { FakeSSM } from '../../../sim/fakeAws/ssm';

const LOCK = '/dce/test/orders/lock';
const NOW = 1_800_000_000;

type Setup = (ssm: FakeSSM) => void;

/**
 * Runs two takers; whenever both wait to send an SSM call, `schedule` says whose call goes first
 * (default A). Returns who acquired, and the choices made at each decision point.
 */
async function runTakers(setup: Setup, schedule: ('A' | 'B')[]) {
  const ssm = new FakeSSM(new CallLog(), () => NOW * 1000, 'eu-west-1', '123456789012');
  setup(ssm);
  const waiting = new Map<'A' | 'B', () => void>();
  const done = new Set<'A' | 'B'>();
  const caller =
    (who: 'A' | 'B'): SsmCall =>
    async (_label, command) => {
      await new Promise<void>((resolve) => waiting.set(who, resolve));
      return ssm.send(command as any);
    };
  const taker = (who: 'A' | 'B') =>
    acquireLease(caller(who), { lockName: LOCK, executionId: `exec-${who}`, now: NOW, nonce: who }).finally(
      () => done.add(who),
    );
  const results = { A: taker('A'), B: taker('B') };
  const choices: ('A' | 'B')[] = [];
  // Every step of a taker between two SSM calls is a promise continuation: one macrotask turn lets
  // both reach their next call (or finish).
  const settle = () => new Promise((r) => setImmediate(r));
  for (;;) {
    await settle();
    if (done.size === 2) break;
    const ready = (['A', 'B'] as const).filter((w) => waiting.has(w));
    let pick: 'A' | 'B';
    if (ready.length === 2) {
      pick = schedule[choices.length] ?? 'A';
      choices.push(pick);
    } else pick = ready[0];
    const go = waiting.get(pick)!;
    waiting.delete(pick);
    go();
  }
  return { a: await results.A, b: await results.B, choices, ssm };
}

/** Every interleaving of the two takers (depth-first over the decision points). */
async function everyInterleaving(setup: Setup, check: (r: Awaited<ReturnType<typeof runTakers>>) => void) {
  let runs = 0;
  const explore = async (prefix: ('A' | 'B')[]) => {
    const r = await runTakers(setup, prefix);
    runs++;
    check(r);
    for (let i = prefix.length; i < r.choices.length; i++) {
      await explore([...r.choices.slice(0, i), 'B']);
    }
  };
  await explore([]);
  return runs;
}

describe('lease: exclusive under concurrent takers', function () {
  // Every interleaving of two takers: thousands of schedules, CPU-bound (close to a minute for the
  // slowest case on a loaded machine).
  this.timeout(300_000);
  const cases: [string, Setup][] = [
    ['free lock', () => {}],
    ['expired lock', (ssm) => ssm.set(LOCK, leaseValue('crashed', 'x', NOW - 2 * LOCK_LEASE_SECONDS))],
    [
      'expired lock whose first takeover marker belongs to a taker that died',
      (ssm) => {
        const held = leaseValue('crashed', 'x', NOW - 2 * LOCK_LEASE_SECONDS);
        ssm.set(LOCK, held);
        ssm.set(
          takeoverMarkerName(LOCK, held, 0),
          leaseValue('dead-taker', 'y', NOW - LOCK_LEASE_SECONDS - 1),
        );
      },
    ],
  ];
  for (const [name, setup] of cases) {
    it(`${name}: exactly one of two takers holds it, in every interleaving`, async () => {
      const runs = await everyInterleaving(setup, ({ a, b, ssm, choices }) => {
        expect([a, b].filter(Boolean), `schedule ${choices.join('')}`).to.have.length(1);
        const holder = JSON.parse(ssm.get(LOCK)!).executionId;
        expect(holder).to.equal(a ? 'exec-A' : 'exec-B');
      });
      // Free: only who creates first matters; a takeover has a decision at every one of its calls.
      expect(runs).to.be.at.least(name === 'free lock' ? 2 : 20);
    });
  }

  it('a live holder keeps its lease: no taker gets it in any interleaving', async () => {
    await everyInterleaving(
      (ssm) => ssm.set(LOCK, leaseValue('alive', 'z', NOW)),
      ({ a, b, ssm }) => {
        expect([a, b]).to.deep.equal([false, false]);
        expect(JSON.parse(ssm.get(LOCK)!).executionId).to.equal('alive');
      },
    );
  });

  it('recognises its own create that succeeded but was answered with a timeout', async () => {
    const ssm = new FakeSSM(new CallLog(), () => NOW * 1000, 'eu-west-1', '123456789012');
    let lost = false;
    const call: SsmCall = (label, command: any) =>
      withRetry(
        label,
        async () => {
          const result: any = await ssm.send(command);
          if (!lost && command.input?.Name === LOCK) {
            lost = true; // the write happened; the answer did not arrive
            throw serviceError('RequestTimeout', 'timed out', 500);
          }
          return result;
        },
        { attempts: 3, baseDelayMs: 0 },
      );
    expect(await acquireLease(call, { lockName: LOCK, executionId: 'exec-1', now: NOW })).to.equal(true);
    expect(JSON.parse(ssm.get(LOCK)!).executionId).to.equal('exec-1');
  });
});
