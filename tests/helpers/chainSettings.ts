/** The export tick's settings for one test table (`orders`), with the fields a test needs changed. */
import type { WorkflowSettings } from '../../functions/chain/settings';

export function testChainSettings(overrides: Partial<WorkflowSettings> = {}): WorkflowSettings {
  return {
    alias: 'orders',
    tableName: 'orders',
    tableArn: 'arn:aws:dynamodb:eu-west-1:123456789012:table/orders',
    bucket: 'exports-bucket',
    prefix: 'orders',
    exportFormat: 'DYNAMODB_JSON',
    exportViewType: 'NEW_AND_OLD_IMAGES',
    windowMinutes: 15,
    maxCatchUpWindowMinutes: 360,
    restorableMarginSeconds: 60,
    maxInFlight: 3,
    schedulePeriodMinutes: 15,
    lagAlarmMinutes: 75,
    onPitrGap: 'alert',
    notifyOnSuccess: false,
    notificationTopicArn: 'arn:aws:sns:eu-west-1:123456789012:dce',
    stateParameterName: '/dce/test/orders/state',
    actionParameterName: '/dce/test/orders/action',
    lockParameterName: '/dce/test/orders/lock',
    metricNamespace: 'DCE',
    ...overrides,
  };
}
