/**
 * The notification outbox: facts recorded by a tick and not yet accepted by SNS, kept in the chain
 * state. It takes notifications off the chain's critical path: the state (commits, requests, epoch
 * changes) is saved with the new facts first; publishing comes after and may fail for as long as it
 * likes without holding back a single export. Delivery is at least once: a fact leaves the outbox only
 * in a save after SNS accepted it, so a crash in between sends it again with the same notificationId.
 *
 * The outbox is bounded so the state always fits its parameter: consecutive commit messages are merged
 * into one; beyond `MAX_OUTBOX` facts the oldest SUCCESS facts are dropped first; a failure or warning
 * is never dropped silently: when one must go, a NOTIFICATIONS_DROPPED fact counts it and is sent in
 * its place.
 */
import { factStatus, type NotificationFact } from './notificationFacts';

export const MAX_OUTBOX = 8;
/** At most this much of the 4 KB state parameter goes to the outbox. */
export const MAX_OUTBOX_BYTES = 1400;

function isCommit(f: NotificationFact): boolean {
  return f.event === 'EXPORT_COMMITTED';
}

/** One commit fact covering two consecutive ones of the same epoch. */
function mergeCommits(a: NotificationFact, b: NotificationFact): NotificationFact {
  const first = a.sequences?.first ?? 0;
  const last = b.sequences?.last ?? 0;
  return {
    ...b,
    id: `commit@${b.epoch}#${first}-${last}`,
    window: a.window && b.window ? { from: a.window.from, to: b.window.to } : (b.window ?? a.window),
    count: (a.count ?? 0) + (b.count ?? 0),
    sequences: { first, last },
  };
}

/** Adds facts to the outbox (keeping ids unique), merging commits and keeping it bounded. */
export function addToOutbox(
  outbox: readonly NotificationFact[],
  facts: readonly NotificationFact[],
  now: number,
): NotificationFact[] {
  const next = [...outbox];
  for (const fact of facts) {
    if (next.some((f) => f.id === fact.id)) continue;
    const last = next[next.length - 1];
    if (last && isCommit(last) && isCommit(fact) && last.epoch === fact.epoch) {
      next[next.length - 1] = mergeCommits(last, fact);
    } else {
      next.push(fact);
    }
  }
  return bound(next, MAX_OUTBOX, now);
}

/** Serialized size of the outbox, bytes. */
export function outboxBytes(outbox: readonly NotificationFact[]): number {
  return Buffer.byteLength(JSON.stringify(outbox), 'utf8');
}

/**
 * Drops facts until at most `max` remain and they take at most `maxBytes`: SUCCESS facts first (oldest
 * first), then the oldest others, which one NOTIFICATIONS_DROPPED fact counts (delivered first).
 */
export function bound(
  outbox: readonly NotificationFact[],
  max: number,
  now: number,
  maxBytes = MAX_OUTBOX_BYTES,
): NotificationFact[] {
  const fits = (list: readonly NotificationFact[]) => list.length <= max && outboxBytes(list) <= maxBytes;
  const next = [...outbox];
  while (!fits(next)) {
    const success = next.findIndex((f) => factStatus(f) === 'SUCCESS');
    if (success < 0) break;
    next.splice(success, 1);
  }
  if (fits(next)) return next;
  // Only failures and warnings left: the oldest ones give way to one counter, delivered first.
  const previous = next.find((f) => f.event === 'NOTIFICATIONS_DROPPED');
  const others = next.filter((f) => f.event !== 'NOTIFICATIONS_DROPPED');
  let dropped = 0;
  const counterFor = (count: number): NotificationFact => {
    const since = previous?.since ?? now;
    return {
      id: `dropped@${since}#${count}`,
      event: 'NOTIFICATIONS_DROPPED',
      at: now,
      epoch: previous?.epoch ?? null,
      since,
      count,
    };
  };
  let result = [counterFor(previous?.count ?? 0), ...others];
  while (!fits(result) && others.length > 0) {
    others.shift();
    dropped += 1;
    result = [counterFor((previous?.count ?? 0) + dropped), ...others];
  }
  return result;
}

/** The outbox without the facts SNS accepted. */
export function removeDelivered(
  outbox: readonly NotificationFact[],
  delivered: readonly string[],
): NotificationFact[] {
  const done = new Set(delivered);
  return outbox.filter((f) => !done.has(f.id));
}

/** Shrinks the outbox's free text, for a state that would not fit its parameter. */
export function withoutDetails(outbox: readonly NotificationFact[]): NotificationFact[] {
  return outbox.map((f) => ({
    ...f,
    detail: f.detail === undefined ? undefined : f.detail.slice(0, 40),
    dropped: undefined,
  }));
}
