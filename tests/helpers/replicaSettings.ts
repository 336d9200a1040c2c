import type { ReplicaSettings } from '../../functions/replicaSettings';

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
