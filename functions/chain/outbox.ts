/**
 * The notification outbox: facts recorded by a tick and not yet accepted by SNS, kept in the chain
 * state. It takes notifications off the chain's critical path: the state (commits, requests, epoch
 * changes) is saved with the new facts first; publishing comes after and may fail for as long as it
 * likes without holding back a single export. Delivery is at least once: a fact leaves the outbox only
 * in a save after SNS accepted it, so a crash in between sends it again with the same notificationId.
 *
 * The outbox is bounded so the state always fits its parameter. While it is over its bound it gives
 * way in this order, least loss first:
 *   1. commit messages of one epoch are merged into one covering their whole range (nothing is lost);
 *   2. the oldest messages lose their free text and export ARN (the event, cause and window stay);
 *   3. whole messages are dropped, oldest first: routine successes, then failures and warnings, and
 *      resolutions only when nothing else is left, because a resolution closes an alert someone may
 *      already have received.
 * Nothing is dropped silently: one NOTIFICATIONS_DROPPED fact, delivered first, counts every dropped
 * message, and the state keeps the running total (`notificationsDropped`, the NotificationsDropped
 * metric).
 */
import { RESOLUTION_EVENTS } from './incidents';
import { factStatus, type NotificationFact } from './notificationFacts';
import type { ChainState } from './state';

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

/** Messages dropped so far and counted by the outbox's NOTIFICATIONS_DROPPED fact (0 without one). */
export function droppedCount(outbox: readonly NotificationFact[]): number {
  return outbox.find((f) => f.event === 'NOTIFICATIONS_DROPPED')?.count ?? 0;
}

/** The state with `outbox` as its outbox; what that dropped is added to `notificationsDropped`. */
function withOutbox(state: ChainState, outbox: NotificationFact[]): ChainState {
  const dropped = Math.max(0, droppedCount(outbox) - droppedCount(state.outbox));
  return { ...state, outbox, notificationsDropped: state.notificationsDropped + dropped };
}

/** The state with `facts` added to its outbox, counting whatever the bound drops. */
export function addFacts(state: ChainState, facts: readonly NotificationFact[], now: number): ChainState {
  return withOutbox(state, addToOutbox(state.outbox, facts, now));
}

/** The state with its outbox bounded to `max` facts, counting whatever that drops. */
export function boundState(state: ChainState, max: number, now: number): ChainState {
  return withOutbox(state, bound(state.outbox, max, now));
}

/** Serialized size of the outbox, bytes. */
export function outboxBytes(outbox: readonly NotificationFact[]): number {
  return Buffer.byteLength(JSON.stringify(outbox), 'utf8');
}

/**
 * The oldest commit message merged into the next commit message of its epoch, when there is one.
 * Commits are recorded in chain order, so the merged message still covers a contiguous range.
 */
function foldOldestCommit(outbox: readonly NotificationFact[]): NotificationFact[] | null {
  for (let i = 0; i < outbox.length; i++) {
    const a = outbox[i];
    if (!isCommit(a)) continue;
    const j = outbox.findIndex(
      (b, k) =>
        k > i && isCommit(b) && b.epoch === a.epoch && (a.sequences?.last ?? 0) < (b.sequences?.first ?? 0),
    );
    if (j < 0) continue;
    const next = [...outbox];
    next[j] = mergeCommits(a, outbox[j]);
    next.splice(i, 1);
    return next;
  }
  return null;
}

/** A message without its free text and export ARN: what happened, to what and why stay. */
function compact(f: NotificationFact): NotificationFact {
  return {
    ...f,
    detail: f.detail === undefined ? undefined : f.detail.slice(0, 40),
    exportArn: undefined,
    dropped: undefined,
  };
}

/** Whether `compact` would make the fact smaller. */
function compactable(f: NotificationFact): boolean {
  return (f.detail?.length ?? 0) > 40 || f.exportArn !== undefined || f.dropped !== undefined;
}

/** Which message goes next: routine successes first, then failures and warnings, resolutions last. */
function dropIndex(facts: readonly NotificationFact[]): number {
  const resolution = (f: NotificationFact) => RESOLUTION_EVENTS.has(f.event);
  const success = facts.findIndex((f) => factStatus(f) === 'SUCCESS' && !resolution(f));
  if (success >= 0) return success;
  const alert = facts.findIndex((f) => !resolution(f));
  return alert >= 0 ? alert : facts.length > 0 ? 0 : -1;
}

/**
 * Shrinks the outbox until at most `max` facts remain and they take at most `maxBytes`: merges
 * commits, then compacts the oldest facts, then drops facts (see `dropIndex`), which one
 * NOTIFICATIONS_DROPPED fact counts (delivered first).
 */
export function bound(
  outbox: readonly NotificationFact[],
  max: number,
  now: number,
  maxBytes = MAX_OUTBOX_BYTES,
): NotificationFact[] {
  const fits = (list: readonly NotificationFact[]) => list.length <= max && outboxBytes(list) <= maxBytes;
  let next = [...outbox];
  for (let folded = foldOldestCommit(next); !fits(next) && folded; folded = foldOldestCommit(next)) {
    next = folded;
  }
  for (let i = 0; !fits(next) && i < next.length; i++) {
    if (compactable(next[i])) next[i] = compact(next[i]);
  }
  if (fits(next)) return next;
  const previous = next.find((f) => f.event === 'NOTIFICATIONS_DROPPED');
  const others = next.filter((f) => f.event !== 'NOTIFICATIONS_DROPPED');
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
  let dropped = 0;
  let result = next;
  while (!fits(result) && others.length > 0) {
    others.splice(dropIndex(others), 1);
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
  return outbox.map(compact);
}
