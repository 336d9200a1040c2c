/**
 * Notification messages (schema version 1). Every message is one SNS Publish with a JSON body of the
 * shape `NotificationMessage`, a Subject of at most 100 characters (`[alias] STATUS: title`) and the
 * String message attributes `status` and `event`, so subscribers can filter on either. The schema is
 * documented in docs/workflow.md; fields are only ever added, never renamed.
 */
import {
  factStatus,
  type NotificationEvent,
  type NotificationFact,
  type NotificationStatus,
} from './notificationFacts';
import { renderFact } from './notificationText';
import type { WorkflowSettings } from './settings';
import { iso } from '../shared/time';

export const NOTIFICATION_SCHEMA_VERSION = 1;

export type { NotificationEvent, NotificationStatus };

/** The JSON body of every notification. */
export interface NotificationMessage {
  schemaVersion: typeof NOTIFICATION_SCHEMA_VERSION;
  /**
   * Stable id of this notification, derived from its cause and event (`<alias>/<fact id>`). A message
   * may be delivered more than once after a crash (at least once); copies carry the same id.
   */
  notificationId: string;
  status: NotificationStatus;
  event: NotificationEvent;
  type: 'FULL' | 'INCREMENTAL' | null;
  table: string;
  alias: string;
  tableArn: string;
  /** Epoch id the message is about (null before the first epoch). */
  epoch: string | null;
  /** ISO 8601, `[from, to)`. */
  window: { from: string; to: string } | null;
  exportArn: string | null;
  attempt: number | null;
  /** Committed watermark (ISO 8601), null before the full export is committed. */
  watermark: string | null;
  /** Seconds between the message time and the watermark (or the epoch start before it). */
  lagSeconds: number | null;
  message: string;
  hint: string | null;
  time: string;
}

/** The live chain when the message is published (the fact itself says which epoch it is about). */
export interface ChainContext {
  watermark: number | null;
  lagSeconds: number | null;
}

export interface PublishRequest {
  TopicArn: string;
  Subject: string;
  Message: string;
  MessageAttributes: Record<'status' | 'event', { DataType: 'String'; StringValue: string }>;
}

export const MAX_SUBJECT_LENGTH = 100;

/** `[alias] STATUS: title`, cut to 100 characters. SNS subjects must be ASCII without line breaks. */
export function subjectLine(alias: string, status: NotificationStatus, title: string): string {
  const clean = (text: string) => text.replace(/[^\x20-\x7e]/g, '?');
  const full = clean(`[${alias}] ${status}: ${title}`);
  return full.length <= MAX_SUBJECT_LENGTH ? full : `${full.slice(0, MAX_SUBJECT_LENGTH - 3)}...`;
}

export function buildMessage(
  fact: NotificationFact,
  settings: WorkflowSettings,
  context: ChainContext,
): NotificationMessage {
  const text = renderFact(fact, settings);
  return {
    schemaVersion: NOTIFICATION_SCHEMA_VERSION,
    notificationId: `${settings.alias}/${fact.id}`,
    status: factStatus(fact),
    event: fact.event,
    type: fact.type ?? null,
    table: settings.tableName,
    alias: settings.alias,
    tableArn: settings.tableArn,
    epoch: fact.epoch,
    window: fact.window ? { from: iso(fact.window.from), to: iso(fact.window.to) } : null,
    exportArn: fact.exportArn ?? null,
    attempt: fact.attempt ?? null,
    watermark: context.watermark === null ? null : iso(context.watermark),
    lagSeconds: context.lagSeconds,
    message: text.message,
    hint: text.hint,
    time: iso(fact.at),
  };
}

/** The SNS Publish input for one notification. */
export function buildPublishRequest(
  fact: NotificationFact,
  settings: WorkflowSettings,
  context: ChainContext,
): PublishRequest {
  const message = buildMessage(fact, settings, context);
  return {
    TopicArn: settings.notificationTopicArn,
    Subject: subjectLine(settings.alias, message.status, renderFact(fact, settings).title),
    Message: JSON.stringify(message),
    MessageAttributes: {
      status: { DataType: 'String', StringValue: message.status },
      event: { DataType: 'String', StringValue: message.event },
    },
  };
}
