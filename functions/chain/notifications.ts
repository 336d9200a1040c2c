/**
 * The export chain's notification messages, on the one envelope (functions/shared/notification.ts,
 * `kind: 'chain'`): one SNS Publish per fact, with the chain's own fields after the envelope's. The
 * schema is documented in docs/workflow.md; fields are only ever added, never renamed.
 */
import {
  MAX_SUBJECT_LENGTH,
  NOTIFICATION_SCHEMA_VERSION,
  envelope,
  publishRequest,
  subjectLine,
  type NotificationEnvelope,
  type PublishRequest,
} from '../shared/notification';
import {
  factStatus,
  type NotificationEvent,
  type NotificationFact,
  type NotificationStatus,
} from './notificationFacts';
import { renderFact } from './notificationText';
import type { WorkflowSettings } from './settings';
import { iso } from '../shared/time';

export { MAX_SUBJECT_LENGTH, NOTIFICATION_SCHEMA_VERSION, subjectLine, type PublishRequest };
export type { NotificationEvent, NotificationStatus };

/** The JSON body of every chain notification. */
export interface NotificationMessage extends NotificationEnvelope {
  kind: 'chain';
  event: NotificationEvent;
  type: 'FULL' | 'INCREMENTAL' | null;
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
}

/** The live chain when the message is published (the fact itself says which epoch it is about). */
export interface ChainContext {
  watermark: number | null;
  lagSeconds: number | null;
}

export function buildMessage(
  fact: NotificationFact,
  settings: WorkflowSettings,
  context: ChainContext,
): NotificationMessage {
  const text = renderFact(fact, settings);
  return {
    ...envelope({
      kind: 'chain',
      notificationId: `${settings.alias}/${fact.id}`,
      status: factStatus(fact),
      event: fact.event,
      table: settings.tableName,
      alias: settings.alias,
      message: text.message,
      hint: text.hint,
      time: iso(fact.at),
    }),
    kind: 'chain',
    event: fact.event,
    type: fact.type ?? null,
    tableArn: settings.tableArn,
    epoch: fact.epoch,
    window: fact.window ? { from: iso(fact.window.from), to: iso(fact.window.to) } : null,
    exportArn: fact.exportArn ?? null,
    attempt: fact.attempt ?? null,
    watermark: context.watermark === null ? null : iso(context.watermark),
    lagSeconds: context.lagSeconds,
  };
}

/** The SNS Publish input for one notification. */
export function buildPublishRequest(
  fact: NotificationFact,
  settings: WorkflowSettings,
  context: ChainContext,
): PublishRequest {
  const message = buildMessage(fact, settings, context);
  return publishRequest(settings.notificationTopicArn, message, renderFact(fact, settings).title);
}
