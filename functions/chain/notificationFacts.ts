/**
 * Notification facts: what a decision wants to tell people, as data. The planner records facts; the
 * tick keeps them in the outbox of the chain state (saved before anything is published) and renders
 * them into messages only when it publishes them (`notificationText.ts` owns the wording). A fact is
 * small on purpose: the outbox lives in a 4 KB standard SSM parameter beside the rest of the state.
 *
 * Every fact has a stable `id` derived from its cause and event (an incident key and when it opened,
 * an epoch and a sequence range, ...), published as `notificationId`, so a consumer can drop the
 * duplicate that an at-least-once resend after a crash may deliver.
 */
import type { NotificationStatus } from '../shared/notification';
import { z } from 'zod';

export const NOTIFICATION_EVENTS = [
  'EXPORT_COMMITTED',
  'FULL_EXPORT_COMMITTED',
  'EXPORT_FAILED',
  'FULL_EXPORT_FAILED',
  'EXPORT_RECOVERED',
  'EXPORT_NOT_YET_ALLOWED',
  'EXPORT_REFUSED',
  'EXPORT_THROTTLED',
  'EXPORT_UNREADABLE',
  'PITR_DISABLED',
  'PITR_ENABLED',
  'PITR_GAP',
  'PITR_WINDOW_WARNING',
  'TABLE_DELETED',
  'TABLE_FOUND',
  'RESET',
  'NEW_EPOCH',
  'RUN_FAILED',
  'RUN_RECOVERED',
  'STATE_INVALID',
  'ACTION_INVALID',
  'INCIDENT_RESOLVED',
  'NOTIFICATIONS_DROPPED',
] as const;

export type NotificationEvent = (typeof NOTIFICATION_EVENTS)[number];
export type { NotificationStatus };

/** The status each event is sent with (subscribers filter on it). */
export const EVENT_STATUS: Record<NotificationEvent, NotificationStatus> = {
  EXPORT_COMMITTED: 'SUCCESS',
  FULL_EXPORT_COMMITTED: 'SUCCESS',
  EXPORT_FAILED: 'FAILED',
  FULL_EXPORT_FAILED: 'FAILED',
  EXPORT_RECOVERED: 'SUCCESS',
  EXPORT_NOT_YET_ALLOWED: 'WARNING',
  EXPORT_REFUSED: 'FAILED',
  EXPORT_THROTTLED: 'WARNING',
  EXPORT_UNREADABLE: 'WARNING',
  PITR_DISABLED: 'WARNING',
  PITR_ENABLED: 'SUCCESS',
  PITR_GAP: 'FAILED',
  PITR_WINDOW_WARNING: 'WARNING',
  TABLE_DELETED: 'FAILED',
  TABLE_FOUND: 'WARNING',
  RESET: 'WARNING',
  NEW_EPOCH: 'WARNING',
  RUN_FAILED: 'FAILED',
  RUN_RECOVERED: 'SUCCESS',
  STATE_INVALID: 'FAILED',
  ACTION_INVALID: 'FAILED',
  INCIDENT_RESOLVED: 'SUCCESS',
  NOTIFICATIONS_DROPPED: 'FAILED',
};

const seconds = z.number().int().nonnegative();

export const NotificationFactSchema = z.object({
  /** Stable id from cause and event; the same fact always has the same id. */
  id: z.string().max(200),
  event: z.enum(NOTIFICATION_EVENTS),
  /** When the fact was recorded (epoch seconds). */
  at: seconds,
  /** Epoch the fact belongs to (not necessarily the live one when it is published). */
  epoch: z.string().nullable(),
  type: z.enum(['FULL', 'INCREMENTAL']).optional(),
  window: z.object({ from: seconds, to: seconds }).optional(),
  exportArn: z.string().optional(),
  attempt: z.number().int().positive().optional(),
  /** Error name, incident key, or the raw value that is wrong. */
  code: z.string().max(120).optional(),
  /** Error message or other free text, cut to 160 characters. */
  detail: z.string().max(160).optional(),
  /** When the incident began (for OPEN, REMIND and resolution facts). */
  since: seconds.optional(),
  /** 0 for the first alert of an incident, n for its n-th reminder. */
  reminder: z.number().int().nonnegative().optional(),
  /** How many exports a commit covers, or how many messages were dropped. */
  count: z.number().int().nonnegative().optional(),
  /** First and last chain sequence a commit fact covers. */
  sequences: z.object({ first: z.number().int(), last: z.number().int() }).optional(),
  /** Lag and PITR period for lag warnings, seconds. */
  lagSeconds: seconds.optional(),
  periodSeconds: seconds.optional(),
  /** Export ids dropped from the chain by a new epoch (at most a few, for the message). */
  dropped: z.array(z.string().max(64)).max(8).optional(),
});
export type NotificationFact = z.infer<typeof NotificationFactSchema>;

/** The status a fact is published with. */
export function factStatus(fact: Pick<NotificationFact, 'event'>): NotificationStatus {
  return EVENT_STATUS[fact.event];
}

export const MAX_DETAIL = 160;

/** Cuts free text to what a fact may hold. */
export function clip(text: string, max = MAX_DETAIL): string {
  return text.length <= max ? text : `${text.slice(0, max - 3)}...`;
}

/** The id of an export ARN (its last path segment), for short messages. */
export function exportIdOf(arn: string): string {
  return arn.split('/').pop() ?? arn;
}
