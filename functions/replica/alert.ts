/**
 * The replica's one alert, REPLICA_HALTED, on the one notification envelope
 * (functions/shared/notification.ts, `kind: 'replica'`), built from the halted state alone (pure), so
 * that an alert SNS did not take is sent again later, identical and with the same `notificationId`, by
 * whichever execution finds it pending (functions/replica/planStep.ts). Consumers de-duplicate by that
 * id.
 */
import { envelope, publishRequest, type PublishRequest } from '../shared/notification';
import { iso } from '../shared/time';
import type { ReplicaSettings } from './settings';
import type { ReplicaState } from './state';

type AlertSettings = Pick<
  ReplicaSettings,
  'alias' | 'replicaAlias' | 'sourceTableName' | 'targetTableName' | 'notificationTopicArn'
>;

/** The notification id of a halt: one per reason, epoch and position. */
export function haltNotificationId(
  settings: Pick<ReplicaSettings, 'alias' | 'replicaAlias'>,
  state: Pick<ReplicaState, 'halt' | 'lastAppliedSequence'>,
): string {
  const reason = state.halt?.reason ?? 'UNKNOWN';
  return `${settings.alias}/replica/${settings.replicaAlias}/${reason}/${state.halt?.epoch ?? 'none'}/${state.lastAppliedSequence}`;
}

/** The Publish input of the alert of a halted state; throws for a state without a halt. */
export function haltAlert(settings: AlertSettings, state: ReplicaState): PublishRequest {
  const halt = state.halt;
  if (!halt) throw new Error('haltAlert: the state records no halt');
  const body = {
    ...envelope({
      kind: 'replica',
      notificationId: haltNotificationId(settings, state),
      status: 'FAILED',
      event: 'REPLICA_HALTED',
      table: settings.sourceTableName,
      alias: settings.alias,
      message: `Replica ${settings.replicaAlias} (${settings.targetTableName}) halted: ${halt.detail}`,
      hint: 'The replica writes nothing until it is rebuilt; see docs/replica.md, "When a replica halts".',
      time: iso(halt.at),
    }),
    replica: settings.replicaAlias,
    targetTable: settings.targetTableName,
    reason: halt.reason,
    epoch: halt.epoch,
    lastAppliedSequence: state.lastAppliedSequence,
    watermark: state.watermark === null ? null : iso(state.watermark),
  };
  return publishRequest(
    settings.notificationTopicArn,
    body,
    `replica ${settings.replicaAlias} halted (${halt.reason})`,
  );
}
