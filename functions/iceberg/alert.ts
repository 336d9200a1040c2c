/**
 * The Iceberg feed's one alert, ICEBERG_HALTED, on the one notification envelope
 * (functions/shared/notification.ts, `kind: 'iceberg'`), built from the halted state alone (pure).
 */
import { envelope, publishRequest, type PublishRequest } from '../shared/notification';
import type { IcebergFeedState } from './state';

/** What the alert says of the feed's settings (functions/iceberg/feed.ts `IcebergSettings`). */
export interface IcebergAlertSettings {
  feedName: string;
  sourceAlias?: string;
  sourceTableName?: string;
  topicArn?: string;
  spec: { table: string };
}

/** The Publish input of the alert of a halted feed; throws for a state without a halt. */
export function icebergHaltAlert(settings: IcebergAlertSettings, state: IcebergFeedState): PublishRequest {
  const halt = state.halt;
  if (!halt || !settings.topicArn) throw new Error('icebergHaltAlert: no halt, or no topic to send it to');
  const alias = settings.sourceAlias ?? settings.feedName;
  const body = {
    ...envelope({
      kind: 'iceberg',
      notificationId: `${alias}/iceberg/${halt.reason}/${state.epoch ?? 'none'}/${state.lastAppliedSequence}`,
      status: 'FAILED',
      event: 'ICEBERG_HALTED',
      table: settings.sourceTableName ?? settings.spec.table,
      alias,
      message: `Iceberg feed ${settings.feedName} halted: ${halt.detail}`,
      hint: 'The export chain and any replica are not affected. Fix the cause, then run dce iceberg rebuild (docs/iceberg.md, "Operate"; docs/troubleshooting.md).',
      time: halt.at,
    }),
    feed: settings.feedName,
    reason: halt.reason,
    epoch: state.epoch,
    lastAppliedSequence: state.lastAppliedSequence,
    watermark: state.watermark,
  };
  return publishRequest(settings.topicArn, body, `Iceberg feed ${settings.feedName} halted (${halt.reason})`);
}
