/**
 * The lease's takeover rules, one sequential taker at a time against the in-memory SSM: who may take
 * a lock that is held, and what is left behind. (tests/integration/chain/lease.test.ts interleaves two
 * takers at every call.)
 */
import { expect } from 'chai';
import {
  CLOCK_SKEW_SECONDS,
  LOCK_LEASE_SECONDS,
  MAX_TAKEOVER_MARKERS,
  acquireLease,
  isHolderEnded,
  isLeaseExpired,
  leaseValue,
  parseLeaseValue,
  releaseLease,
  takeoverMarkerName,
  type AcquireOptions,
  type SsmCall,
} from '../../../functions/shared/lease';
import { lambdaTimeoutSeconds } from '../../../functions/shared/lambdaTimeout';
import { serviceError } from '../../../sim/fakeAws/errors';
import { CallLog } from '../../../sim/fakeAws/service';
import { FakeSSM } from '../../../sim/fakeAws/ssm';

const LOCK = '/dce/test/orders/lock';
const NOW = 1_800_000_000;
/** The export tick's function timeout, written out: Lambda stops an attempt 120 s after it started. */
const TIMEOUT = 120;

function world() {
  const ssm = new FakeSSM(new CallLog(), () => NOW * 1000, 'eu-west-1', '123456789012');
  const calls: string[] = [];
  const call: SsmCall = async (label, command) => {
    calls.push(label);
    return ssm.send(command as any);
  };
  const acquire = (options: Partial<AcquireOptions> = {}) =>
    acquireLease(call, { lockName: LOCK, executionId: 'exec-1', now: NOW, nonce: 'mine', ...options });
  const holder = () =>
    JSON.parse(ssm.get(LOCK)!) as { executionId: string; nonce: string; expiresAt: number };
  const names = () => [...ssm.parameters.keys()].sort();
  return { ssm, call, calls, acquire, holder, names };
}

/** A lock value of `executionId`, taken `agoSeconds` before NOW. */
function takenAgo(executionId: string, agoSeconds: number, nonce = 'theirs'): string {
  return leaseValue(executionId, nonce, NOW - agoSeconds);
}

describe('lease: who may take a held lock', () => {
  it('the lease lasts twice the function timeout', () => {
    expect(lambdaTimeoutSeconds()).to.equal(TIMEOUT);
    expect(LOCK_LEASE_SECONDS).to.equal(2 * TIMEOUT);
    expect(JSON.parse(leaseValue('e', 'n', NOW))).to.deep.equal({
      executionId: 'e',
      nonce: 'n',
      expiresAt: NOW + 2 * TIMEOUT,
    });
  });

  it('a free lock is created with our value, create-only', async () => {
    const w = world();
    expect(await w.acquire()).to.equal(true);
    expect(w.holder()).to.deep.equal({ executionId: 'exec-1', nonce: 'mine', expiresAt: NOW + 2 * TIMEOUT });
    expect(w.calls).to.deep.equal(['PutParameter(lock)']);
  });

  it('a retried tick does not take over a live lock of its own execution (its first attempt may still run)', async () => {
    for (const ago of [0, 20, TIMEOUT + CLOCK_SKEW_SECONDS, 2 * TIMEOUT - 1]) {
      const w = world();
      const held = takenAgo('exec-1', ago, 'first-attempt');
      w.ssm.set(LOCK, held);
      expect(await w.acquire(), `taken ${ago} s ago`).to.equal(false);
      expect(w.ssm.get(LOCK)).to.equal(held);
      expect(w.names()).to.deep.equal([LOCK]);
    }
  });

  it("the failure report takes its own execution's lock only once the attempt that took it has certainly ended", async () => {
    const ended = TIMEOUT + CLOCK_SKEW_SECONDS;
    for (const [ago, taken] of [
      [0, false],
      [30, false],
      [ended - 1, false],
      [ended, true],
      [ended + 60, true],
    ] as const) {
      const w = world();
      const held = takenAgo('exec-1', ago);
      w.ssm.set(LOCK, held);
      expect(await w.acquire({ ownIsStale: true }), `taken ${ago} s ago`).to.equal(taken);
      if (taken) {
        expect(w.holder()).to.deep.include({ executionId: 'exec-1', nonce: 'mine' });
        expect(w.names(), 'the takeover marker is cleaned up').to.deep.equal([LOCK]);
      } else expect(w.ssm.get(LOCK)).to.equal(held);
    }
  });

  it("even with ownIsStale, another execution's live lock is busy", async () => {
    const w = world();
    const held = takenAgo('exec-2', TIMEOUT + 60);
    w.ssm.set(LOCK, held);
    expect(await w.acquire({ ownIsStale: true })).to.equal(false);
    expect(w.ssm.get(LOCK)).to.equal(held);
  });

  it('an expired lock (or one that is not a lease value) is taken over by anyone, through marker 0', async () => {
    for (const held of [
      leaseValue('crashed', 'x', NOW - LOCK_LEASE_SECONDS),
      leaseValue('crashed', 'x', NOW - 3 * LOCK_LEASE_SECONDS),
      'debris',
      '{"executionId":"e"}',
    ]) {
      const w = world();
      w.ssm.set(LOCK, held);
      expect(await w.acquire(), held).to.equal(true);
      expect(w.holder()).to.deep.include({ executionId: 'exec-1', nonce: 'mine' });
      expect(w.calls).to.deep.equal([
        'PutParameter(lock)',
        'GetParameters(lock)',
        'GetParameters(lock)',
        `PutParameter(${takeoverMarkerName(LOCK, held, 0).split('/').pop()})`,
        'GetParameters(lock)',
        'PutParameter(lock)',
        `DeleteParameter(${takeoverMarkerName(LOCK, held, 0).split('/').pop()})`,
      ]);
      expect(w.names()).to.deep.equal([LOCK]);
    }
  });

  it('a lock that expires one second from now is still live', async () => {
    const w = world();
    w.ssm.set(LOCK, leaseValue('other', 'x', NOW - LOCK_LEASE_SECONDS + 1));
    expect(await w.acquire()).to.equal(false);
  });

  it("passes a dead taker's marker, stands down at a live taker's", async () => {
    const held = takenAgo('crashed', 3 * LOCK_LEASE_SECONDS);
    const dead = world();
    dead.ssm.set(LOCK, held);
    dead.ssm.set(takeoverMarkerName(LOCK, held, 0), takenAgo('dead-taker', LOCK_LEASE_SECONDS));
    expect(await dead.acquire()).to.equal(true);
    expect(dead.holder().nonce).to.equal('mine');
    expect(dead.names(), 'markers 0 and 1 are cleaned up').to.deep.equal([LOCK]);

    const live = world();
    live.ssm.set(LOCK, held);
    const marker = takenAgo('live-taker', 1);
    live.ssm.set(takeoverMarkerName(LOCK, held, 0), marker);
    expect(await live.acquire()).to.equal(false);
    expect(live.ssm.get(LOCK)).to.equal(held);
    expect(live.ssm.get(takeoverMarkerName(LOCK, held, 0))).to.equal(marker);
  });

  it(`gives up after ${MAX_TAKEOVER_MARKERS} dead markers`, async () => {
    const held = takenAgo('crashed', 3 * LOCK_LEASE_SECONDS);
    for (const [dead, acquired] of [
      [MAX_TAKEOVER_MARKERS - 1, true],
      [MAX_TAKEOVER_MARKERS, false],
    ] as const) {
      const w = world();
      w.ssm.set(LOCK, held);
      for (let n = 0; n < dead; n++)
        w.ssm.set(takeoverMarkerName(LOCK, held, n), takenAgo(`dead-${n}`, 2 * LOCK_LEASE_SECONDS));
      expect(await w.acquire(), `${dead} dead markers`).to.equal(acquired);
      expect(w.ssm.get(LOCK) === held).to.equal(!acquired);
    }
  });

  it('stands down when the lock changed after it won the marker', async () => {
    const w = world();
    const held = takenAgo('crashed', 3 * LOCK_LEASE_SECONDS);
    w.ssm.set(LOCK, held);
    const marker = takeoverMarkerName(LOCK, held, 0);
    const call: SsmCall = async (_label, command) => {
      const result = await w.ssm.send(command as any);
      // Someone else replaced the lock right after our marker was created.
      if ((command as any).input?.Name === marker) w.ssm.set(LOCK, takenAgo('newcomer', 0));
      return result as any;
    };
    expect(
      await acquireLease(call, { lockName: LOCK, executionId: 'exec-1', now: NOW, nonce: 'mine' }),
    ).to.equal(false);
    expect(w.holder().executionId).to.equal('newcomer');
  });

  it('a lock released between our create and our read is created again', async () => {
    const w = world();
    w.ssm.set(LOCK, takenAgo('other', 1));
    let first = true;
    const call: SsmCall = async (_label, command) => {
      if (first) {
        first = false;
        try {
          return await w.ssm.send(command as any);
        } finally {
          w.ssm.parameters.delete(LOCK); // the holder released it meanwhile
        }
      }
      return w.ssm.send(command as any);
    };
    expect(
      await acquireLease(call, { lockName: LOCK, executionId: 'exec-1', now: NOW, nonce: 'mine' }),
    ).to.equal(true);
    expect(w.holder().nonce).to.equal('mine');
  });

  it('a create that is refused for another reason fails the acquisition', async () => {
    const call: SsmCall = async () => {
      throw serviceError('AccessDeniedException', 'no', 400);
    };
    const error = await acquireLease(call, { lockName: LOCK, executionId: 'e', now: NOW }).catch((e) => e);
    expect(error.name).to.equal('AccessDeniedException');
    // Reads work, the write is refused: an error, not a lock someone else holds.
    const w = world();
    const writeRefused: SsmCall = async (label, command) => {
      if (label.startsWith('PutParameter')) throw serviceError('AccessDeniedException', 'no', 400);
      return w.call(label, command);
    };
    const refused = await acquireLease(writeRefused, { lockName: LOCK, executionId: 'e', now: NOW }).catch(
      (e) => e,
    );
    expect(refused).to.be.instanceOf(Error);
    expect(refused.name).to.equal('AccessDeniedException');
  });

  it('each acquisition has its own nonce by default', async () => {
    const a = world();
    expect(await acquireLease(a.call, { lockName: LOCK, executionId: 'e', now: NOW })).to.equal(true);
    const b = world();
    expect(await acquireLease(b.call, { lockName: LOCK, executionId: 'e', now: NOW })).to.equal(true);
    expect(a.holder().nonce).to.match(/^[0-9a-f]{16}$/);
    expect(a.holder().nonce).to.not.equal(b.holder().nonce);
  });

  it('release deletes the lock; a lock already gone is no error, another failure is only logged', async () => {
    const w = world();
    w.ssm.set(LOCK, takenAgo('exec-1', 0));
    await releaseLease(w.call, LOCK);
    expect(w.ssm.get(LOCK)).to.equal(undefined);
    await releaseLease(w.call, LOCK);
    const errors: string[] = [];
    const original = console.error;
    console.error = (line: string) => errors.push(line);
    try {
      await releaseLease(async () => {
        throw serviceError('ThrottlingException', 'slow down', 400);
      }, LOCK);
      await releaseLease(async () => {
        throw serviceError('ParameterNotFound', 'gone', 400);
      }, LOCK);
    } finally {
      console.error = original;
    }
    expect(errors).to.deep.equal([`could not release ${LOCK}: ThrottlingException`]);
  });
});

describe('lease values', () => {
  it('parses a value, defaulting a missing nonce; anything else is not a lease', () => {
    expect(parseLeaseValue('{"executionId":"e","nonce":"n","expiresAt":5}')).to.deep.equal({
      executionId: 'e',
      nonce: 'n',
      expiresAt: 5,
    });
    expect(parseLeaseValue('{"executionId":"e","expiresAt":5}')).to.deep.equal({
      executionId: 'e',
      nonce: '',
      expiresAt: 5,
    });
    for (const text of [
      undefined,
      '',
      'x',
      '{"executionId":"e"}',
      '{"executionId":1,"expiresAt":5}',
      '{"executionId":"e","expiresAt":"5"}',
    ])
      expect(parseLeaseValue(text), String(text)).to.equal(null);
  });

  it('expires at expiresAt; a value that is not a lease is expired', () => {
    const v = { executionId: 'e', nonce: '', expiresAt: NOW };
    expect(isLeaseExpired(v, NOW - 1)).to.equal(false);
    expect(isLeaseExpired(v, NOW)).to.equal(true);
    expect(isLeaseExpired(null, 0)).to.equal(true);
  });

  it('a holder has ended one function timeout and the clock skew after it took the lock', () => {
    const v = parseLeaseValue(leaseValue('e', 'n', NOW))!;
    expect(isHolderEnded(v, NOW + TIMEOUT + CLOCK_SKEW_SECONDS - 1)).to.equal(false);
    expect(isHolderEnded(v, NOW + TIMEOUT + CLOCK_SKEW_SECONDS)).to.equal(true);
    expect(CLOCK_SKEW_SECONDS).to.be.within(1, 30);
  });

  it('markers are named after the lock, a hash of the value they take over, and their number', () => {
    const a = takeoverMarkerName(LOCK, 'value-a', 0);
    expect(a).to.match(new RegExp(`^${LOCK}-takeover-[0-9a-f]{16}-0$`));
    expect(takeoverMarkerName(LOCK, 'value-a', 0)).to.equal(a);
    expect(takeoverMarkerName(LOCK, 'value-b', 0)).to.not.equal(a);
    expect(takeoverMarkerName(LOCK, 'value-a', 3)).to.equal(a.replace(/-0$/, '-3'));
  });
});
