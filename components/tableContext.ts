/**
 * What every step of building one table's resources reads (components/continuousExport.ts and the
 * helpers it calls: tableWorkflow.ts, tableProtection.ts, tableConsumers.ts).
 */
import type * as aws from '@pulumi/aws';
import type { TableConfig } from './config';
import type { physicalNames } from './names';
import type { NotificationKey } from './protection/notificationKey';
import type { Notifications } from './notifications';

/** What every step of building one table's resources reads. */
export interface BuildContext {
  name: string;
  stack: string;
  config: TableConfig;
  names: ReturnType<typeof physicalNames>;
  tags: TableConfig['tags'];
  identity: ReturnType<typeof aws.getCallerIdentityOutput>;
  region: ReturnType<typeof aws.getRegionOutput>;
  partition: ReturnType<typeof aws.getPartitionOutput>;
}

/** The table's topics, the key that encrypts them, and the alarms that publish to the alarm topic. */
export type Topics = Notifications & { key: NotificationKey; alarmNames: string[] };

/** The handler the state machine's Tasks invoke. */
export const TICK_HANDLER_NAME = 'export-tick';
