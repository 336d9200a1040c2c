import { initialReplicaParameterValues } from '../../functions/replica/action';
import { replicaActionParameterName } from '../../functions/shared/names';
import type { ReplicaSettings } from '../../functions/replica/settings';

/** The settings of a test replica `copy` of table `orders`, with `over` on top. */
export function testReplicaSettings(over: Partial<ReplicaSettings> = {}): ReplicaSettings {
  return {
    alias: 'orders',
    replicaAlias: 'copy',
    sourceTableName: 'orders',
    bucket: 'replica-bucket',
    prefix: 'exports/orders',
    stateParameterName: '/dce/dev/orders/replicas/copy/state',
    targetTableName: 'orders-copy',
    bootstrap: 'write',
    onNewEpoch: 'halt',
    maxWritesPerSecond: 100_000,
    concurrency: 2,
    notificationTopicArn: 'arn:aws:sns:eu-west-1:123456789012:dev-orders-notifications',
    leaseSeconds: 1800,
    ...over,
  };
}

/**
 * Creates what `pulumi up` creates for a replica: its state parameter (the initial state, or `state`)
 * and its action parameter (RUN).
 */
export function seedReplicaParameters(
  ssm: { set(name: string, value: string): void },
  settings: Pick<ReplicaSettings, 'stateParameterName' | 'actionParameterName'>,
  state?: object,
): void {
  const initial = initialReplicaParameterValues();
  ssm.set(settings.stateParameterName, state ? JSON.stringify(state) : initial.state);
  ssm.set(
    settings.actionParameterName ?? replicaActionParameterName(settings.stateParameterName),
    initial.action,
  );
}
