/**
 * The tick lease: at most one tick works on a chain at a time (duplicate scheduler deliveries,
 * overlapping executions, state machine retries of a tick that is still running).
 *
 * SSM has no compare-and-swap on overwrite; its one atomic primitive is the create-only PutParameter
 * (`Overwrite: false`), so every contested step is one:
 *
 * 1. Free lock: create the lock parameter. Exactly one creator wins.
 * 2. Expired lock (its holder died: the lease is twice the function timeout, so a live holder always
 *    ends first): a taker must first create the takeover marker `<lock>-takeover-<hash of the expired
 *    value>-<n>`. Exactly one taker wins a marker; it re-reads the lock and, if it still holds the
 *    expired value, overwrites it with its own. A taker that read the value late finds either the
 *    marker taken or the lock changed, and stands down. A marker whose winner died (its own lease
 *    expired) is passed by creating marker n + 1.
 * 3. Ambiguous answers: every value carries the execution id and a per-attempt nonce, so a create
 *    that succeeded but was answered with an error is recognised as our own on the retry.
 * 4. A live lock of the same execution id is not ours to take: Step Functions retries an invocation
 *    whose answer was lost (`Lambda.ClientExecutionTimeoutException`, `Lambda.SdkClientException`)
 *    while its first attempt may still run, under the same execution id. Only a caller that opts in
 *    (`ownIsStale`, the failure report) may take over its own execution's lock, and only once the
 *    attempt that took it has certainly ended: Lambda stops a function at its timeout, so a lock
 *    taken more than one function timeout ago (and a little clock skew) has no live holder.
 *
 * The release deletes the lock without a check: while its holder runs, nobody can take it over. The
 * operator's parameters are never written here.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  DeleteParameterCommand,
  GetParametersCommand,
  PutParameterCommand,
  type $Command,
  type ServiceInputTypes as SsmInput,
  type ServiceOutputTypes as SsmOutput,
} from '@aws-sdk/client-ssm';
import { lambdaTimeoutSeconds } from './lambdaTimeout';
import { errorName } from './retry';

export const LOCK_LEASE_SECONDS = 2 * lambdaTimeoutSeconds();

/** Clock skew allowed between two invocations' clocks when telling whether a holder has ended. */
export const CLOCK_SKEW_SECONDS = 5;

/** Markers tried per takeover before giving up for this tick. */
export const MAX_TAKEOVER_MARKERS = 4;

/** Value stored in the lock parameter and in takeover markers. */
export interface LeaseValue {
  executionId: string;
  /** Unique per acquisition attempt. */
  nonce: string;
  /** Epoch seconds. */
  expiresAt: number;
}

export function leaseValue(executionId: string, nonce: string, now: number): string {
  return JSON.stringify({ executionId, nonce, expiresAt: now + LOCK_LEASE_SECONDS });
}

/** Parses a lease value; null when it is not one (treated as expired: it can only be debris). */
export function parseLeaseValue(text: string | undefined): LeaseValue | null {
  if (!text) return null;
  try {
    const v = JSON.parse(text) as Partial<LeaseValue>;
    if (typeof v.executionId === 'string' && typeof v.expiresAt === 'number') {
      return {
        executionId: v.executionId,
        nonce: typeof v.nonce === 'string' ? v.nonce : '',
        expiresAt: v.expiresAt,
      };
    }
  } catch {
    // fall through
  }
  return null;
}

export function isLeaseExpired(value: LeaseValue | null, now: number): boolean {
  return value === null || value.expiresAt <= now;
}

/**
 * Whether the attempt that took the lock has certainly ended by `now`: it took the lock when it
 * started (`expiresAt - LOCK_LEASE_SECONDS`) and Lambda stops it one function timeout later.
 */
export function isHolderEnded(value: LeaseValue, now: number): boolean {
  const takenAt = value.expiresAt - LOCK_LEASE_SECONDS;
  return takenAt + lambdaTimeoutSeconds() + CLOCK_SKEW_SECONDS <= now;
}

/** Name of the n-th takeover marker of one lock value. */
export function takeoverMarkerName(lockName: string, heldValue: string, n: number): string {
  const hash = createHash('sha256').update(heldValue).digest('hex').slice(0, 16);
  return `${lockName}-takeover-${hash}-${n}`;
}

/** Sends one SSM command (with the caller's retry policy); the answer is typed by the command. */
export type SsmCall = <I extends SsmInput, O extends SsmOutput>(
  label: string,
  command: $Command<I, O, unknown, SsmInput, SsmOutput>,
) => Promise<O>;

export interface AcquireOptions {
  lockName: string;
  executionId: string;
  now: number;
  /**
   * A lock held by this same execution may be left over from its own failed tick (the failure report
   * runs only after the tick failed): take it over once its holder has certainly ended
   * (`isHolderEnded`). Without it, a live lock of this execution is busy like anyone else's: a
   * retried tick must not take over from its own earlier attempt, which may still be running.
   * @default false
   */
  ownIsStale?: boolean;
  /** @default random */
  nonce?: string;
}

async function read(call: SsmCall, name: string): Promise<string | undefined> {
  const result = await call(
    `GetParameters(${name.split('/').pop()})`,
    new GetParametersCommand({ Names: [name] }),
  );
  return (result?.Parameters ?? []).find((p) => p?.Name === name)?.Value;
}

/** Create-only put: true when created by us (also when our own earlier, ambiguous create did it). */
async function createOnly(call: SsmCall, name: string, value: string): Promise<boolean> {
  try {
    await call(
      `PutParameter(${name.split('/').pop()})`,
      new PutParameterCommand({ Name: name, Value: value, Type: 'String', Overwrite: false }),
    );
    return true;
  } catch (error) {
    if (errorName(error) !== 'ParameterAlreadyExists') throw error;
  }
  return (await read(call, name)) === value;
}

async function deleteQuietly(call: SsmCall, name: string): Promise<void> {
  try {
    await call(`DeleteParameter(${name.split('/').pop()})`, new DeleteParameterCommand({ Name: name }));
  } catch {
    // Debris only: a marker left behind is never reused (it names one expired value).
  }
}

/** Takes the lease; false when someone else holds it (or won the takeover). */
export async function acquireLease(call: SsmCall, options: AcquireOptions): Promise<boolean> {
  const { lockName, executionId, now } = options;
  const nonce = options.nonce ?? randomBytes(8).toString('hex');
  const mine = leaseValue(executionId, nonce, now);
  if (await createOnly(call, lockName, mine)) return true;

  const held = await read(call, lockName);
  if (held === undefined) return createOnly(call, lockName, mine); // released meanwhile: one more try
  const holder = parseLeaseValue(held);
  const stale =
    isLeaseExpired(holder, now) ||
    (options.ownIsStale === true && holder?.executionId === executionId && isHolderEnded(holder, now));
  if (!stale) return false;

  for (let n = 0; n < MAX_TAKEOVER_MARKERS; n++) {
    const marker = takeoverMarkerName(lockName, held, n);
    if (!(await createOnly(call, marker, mine))) {
      // Someone else's marker: a live taker has it; one whose lease expired died, pass it by.
      const other = parseLeaseValue(await read(call, marker));
      if (!isLeaseExpired(other, now)) return false;
      continue;
    }
    // We own marker n: nobody else can take over this value. Is it still the lock's value?
    if ((await read(call, lockName)) !== held) return false;
    await call(
      'PutParameter(lock)',
      new PutParameterCommand({ Name: lockName, Value: mine, Type: 'String', Overwrite: true }),
    );
    for (let k = 0; k <= n; k++) await deleteQuietly(call, takeoverMarkerName(lockName, held, k));
    return true;
  }
  return false;
}

/** Releases the lease; a failure only delays the next tick until the lease expires. */
export async function releaseLease(call: SsmCall, lockName: string): Promise<void> {
  try {
    await call('DeleteParameter(lock)', new DeleteParameterCommand({ Name: lockName }));
  } catch (error) {
    if (errorName(error) !== 'ParameterNotFound') {
      console.error(`could not release ${lockName}: ${errorName(error)}`);
    }
  }
}
