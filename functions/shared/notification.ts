/**
 * The one notification envelope: every message this program publishes (the export chain's, a
 * replica's alert, the Iceberg feed's alert) is one SNS Publish whose JSON body starts with these
 * fields, whose Subject is `[alias] STATUS: title` (at most 100 characters) and whose String message
 * attributes are `status`, `event` and `kind`, so subscribers can filter on any of them. Each kind adds
 * its own fields after the envelope's (docs/workflow.md, "Notifications").
 *
 * `schemaVersion` changes whenever the shape changes: version 2 added `kind` (version 1 was the chain's
 * body alone, and the replica's alert carried a body of its own under the same number).
 */
export const NOTIFICATION_SCHEMA_VERSION = 2;

/** Who sends the message: the export chain, a replica or the Iceberg feed. */
export const NOTIFICATION_KINDS = ['chain', 'replica', 'iceberg'] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

export type NotificationStatus = 'SUCCESS' | 'FAILED' | 'WARNING';

/** The fields every message has. */
export interface NotificationEnvelope {
  schemaVersion: typeof NOTIFICATION_SCHEMA_VERSION;
  kind: NotificationKind;
  /**
   * Stable id of this notification, derived from its cause and event. A message may be delivered more
   * than once (at least once); copies carry the same id.
   */
  notificationId: string;
  status: NotificationStatus;
  event: string;
  /** The source table's name and alias. */
  table: string;
  alias: string;
  message: string;
  hint: string | null;
  /** ISO 8601. */
  time: string;
}

export interface PublishRequest {
  TopicArn: string;
  Subject: string;
  Message: string;
  MessageAttributes: Record<'status' | 'event' | 'kind', { DataType: 'String'; StringValue: string }>;
}

export const MAX_SUBJECT_LENGTH = 100;

/** `[alias] STATUS: title`, cut to 100 characters. SNS subjects must be ASCII without line breaks. */
export function subjectLine(alias: string, status: NotificationStatus, title: string): string {
  const clean = (text: string) => text.replace(/[^\x20-\x7e]/g, '?');
  const full = clean(`[${alias}] ${status}: ${title}`);
  return full.length <= MAX_SUBJECT_LENGTH ? full : `${full.slice(0, MAX_SUBJECT_LENGTH - 3)}...`;
}

/** The envelope's fields, in their order, before the kind's own. */
export function envelope(fields: Omit<NotificationEnvelope, 'schemaVersion'>): NotificationEnvelope {
  return { schemaVersion: NOTIFICATION_SCHEMA_VERSION, ...fields };
}

/** The SNS Publish input of one message (`body` is the envelope and the kind's own fields). */
export function publishRequest(topicArn: string, body: NotificationEnvelope, title: string): PublishRequest {
  return {
    TopicArn: topicArn,
    Subject: subjectLine(body.alias, body.status, title),
    Message: JSON.stringify(body),
    MessageAttributes: {
      status: { DataType: 'String', StringValue: body.status },
      event: { DataType: 'String', StringValue: body.event },
      kind: { DataType: 'String', StringValue: body.kind },
    },
  };
}
