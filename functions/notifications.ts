/**
 * Notification messages (schema version 1). Every message is one SNS Publish with a JSON body of the
 * shape `NotificationMessage`, a Subject of at most 100 characters (`[alias] STATUS: title`) and the
 * String message attributes `status` and `event`, so subscribers can filter on either. The schema is
 * documented in docs/workflow.md; fields are only ever added, never renamed.
 */
import type { WorkflowSettings } from './settings';
import { iso } from './time';

export const NOTIFICATION_SCHEMA_VERSION = 1;

export type NotificationStatus = 'SUCCESS' | 'FAILED' | 'WARNING';

export type NotificationEvent =
  | 'EXPORT_COMMITTED'
  | 'FULL_EXPORT_COMMITTED'
  | 'EXPORT_FAILED'
  | 'FULL_EXPORT_FAILED'
  | 'EXPORT_RECOVERED'
  | 'EXPORT_NOT_YET_ALLOWED'
  | 'PITR_DISABLED'
  | 'PITR_ENABLED'
  | 'PITR_GAP'
  | 'PITR_WINDOW_WARNING'
  | 'TABLE_DELETED'
  | 'TABLE_FOUND'
  | 'RESET'
  | 'NEW_EPOCH'
  | 'RUN_FAILED'
  | 'RUN_RECOVERED'
  | 'STATE_INVALID'
  | 'ACTION_INVALID';

/** What a decision wants to say; the handler adds the chain context when it publishes. */
export interface NotificationDraft {
  status: NotificationStatus;
  event: NotificationEvent;
  /** Short summary for the Subject line. */
  title: string;
  type: 'FULL' | 'INCREMENTAL' | null;
  /** Epoch seconds. */
  window: { from: number; to: number } | null;
  exportArn: string | null;
  attempt: number | null;
  message: string;
  hint: string | null;
}

/** The JSON body of every notification. */
export interface NotificationMessage {
  schemaVersion: typeof NOTIFICATION_SCHEMA_VERSION;
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

export interface ChainContext {
  epoch: string | null;
  watermark: number | null;
  lagSeconds: number | null;
  now: number;
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
  draft: NotificationDraft,
  settings: WorkflowSettings,
  context: ChainContext,
): NotificationMessage {
  return {
    schemaVersion: NOTIFICATION_SCHEMA_VERSION,
    status: draft.status,
    event: draft.event,
    type: draft.type,
    table: settings.tableName,
    alias: settings.alias,
    tableArn: settings.tableArn,
    epoch: context.epoch,
    window: draft.window ? { from: iso(draft.window.from), to: iso(draft.window.to) } : null,
    exportArn: draft.exportArn,
    attempt: draft.attempt,
    watermark: context.watermark === null ? null : iso(context.watermark),
    lagSeconds: context.lagSeconds,
    message: draft.message,
    hint: draft.hint,
    time: iso(context.now),
  };
}

/** The SNS Publish input for one notification. */
export function buildPublishRequest(
  draft: NotificationDraft,
  settings: WorkflowSettings,
  context: ChainContext,
): PublishRequest {
  const message = buildMessage(draft, settings, context);
  return {
    TopicArn: settings.notificationTopicArn,
    Subject: subjectLine(settings.alias, draft.status, draft.title),
    Message: JSON.stringify(message),
    MessageAttributes: {
      status: { DataType: 'String', StringValue: draft.status },
      event: { DataType: 'String', StringValue: draft.event },
    },
  };
}

/** A draft with the optional fields defaulted. */
export function draft(
  fields: Pick<NotificationDraft, 'status' | 'event' | 'title' | 'message'> & Partial<NotificationDraft>,
): NotificationDraft {
  return {
    type: null,
    window: null,
    exportArn: null,
    attempt: null,
    hint: null,
    ...fields,
  };
}
