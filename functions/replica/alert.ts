/**
 * The replica's one alert, REPLICA_HALTED, built from the halted state alone (pure), so that an alert
 * SNS did not take is sent again later, identical and with the same `notificationId`, by whichever
 * execution finds it pending (functions/replica/apply.ts). Consumers de-duplicate by that id.
 */
import type { PublishCommandInput } from '@aws-sdk/client-sns';
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
export function haltAlert(settings: AlertSettings, state: ReplicaState): PublishCommandInput {
  const halt = state.halt;
  if (!halt) throw new Error('haltAlert: the state records no halt');
  const message = {
    schemaVersion: 1,
    notificationId: haltNotificationId(settings, state),
    status: 'FAILED',
    event: 'REPLICA_HALTED',
    table: settings.sourceTableName,
    alias: settings.alias,
    replica: settings.replicaAlias,
    targetTable: settings.targetTableName,
    reason: halt.reason,
    epoch: halt.epoch,
    lastAppliedSequence: state.lastAppliedSequence,
    watermark: state.watermark,
    message: `Replica ${settings.replicaAlias} (${settings.targetTableName}) halted: ${halt.detail}`,
    hint: 'The replica writes nothing until it is rebuilt; see docs/replica.md, "When a replica halts".',
    time: halt.at,
  };
  return {
    TopicArn: settings.notificationTopicArn,
    Subject: `[${settings.alias}] FAILED: replica ${settings.replicaAlias} halted (${halt.reason})`.slice(
      0,
      100,
    ),
    Message: JSON.stringify(message),
    MessageAttributes: {
      status: { DataType: 'String', StringValue: 'FAILED' },
      event: { DataType: 'String', StringValue: 'REPLICA_HALTED' },
    },
  };
}
