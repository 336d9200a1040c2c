import { expect } from 'chai';
import fc from 'fast-check';
import {
  fromEnvironment,
  schedulePeriodMinutes,
  toEnvironment,
  workflowSettings,
  type WorkflowSettingsInput,
} from '../../../functions/chain/settings';
import { scenarioSettings } from '../../../sim/scenario';

const INPUT: WorkflowSettingsInput = {
  alias: 'orders',
  tableName: 'orders',
  tableArn: 'arn:aws:dynamodb:eu-west-1:123456789012:table/orders',
  bucket: 'b',
  prefix: 'exports/orders',
  exportFormat: 'DYNAMODB_JSON',
  exportViewType: 'NEW_AND_OLD_IMAGES',
  windowMinutes: 15,
  maxCatchUpWindowMinutes: 240,
  restorableMarginSeconds: 60,
  maxInFlight: 4,
  onPitrGap: 'alert',
  notifyOnSuccess: false,
  notificationTopicArn: 'arn:aws:sns:eu-west-1:123456789012:t',
  stateParameterName: '/p/state',
  actionParameterName: '/p/action',
  lockParameterName: '/p/lock',
  metricNamespace: 'DynamoDBContinuousExports',
};

describe('the settings constructor (functions/chain/settings.ts)', () => {
  it('keeps every given setting and derives the schedule period (once per window, at least hourly) and the lag alarm threshold', () => {
    fc.assert(
      fc.property(fc.integer({ min: 15, max: 1440 }), (windowMinutes) => {
        const settings = workflowSettings({ ...INPUT, windowMinutes });
        expect(settings).to.deep.equal({
          ...INPUT,
          windowMinutes,
          schedulePeriodMinutes: Math.min(windowMinutes, 60),
          lagAlarmMinutes: 3 * windowMinutes + 30,
        });
        expect(workflowSettings({ ...INPUT, windowMinutes, lagAlarmMinutes: 999 }).lagAlarmMinutes).to.equal(
          999,
        );
        expect(settings.schedulePeriodMinutes).to.equal(schedulePeriodMinutes(windowMinutes));
      }),
    );
  });

  it('builds the scenario settings, whose overrides still win', () => {
    expect(scenarioSettings().schedulePeriodMinutes).to.equal(15);
    expect(scenarioSettings({ windowMinutes: 30 }).schedulePeriodMinutes).to.equal(30);
    expect(scenarioSettings({ windowMinutes: 60, schedulePeriodMinutes: 15 }).schedulePeriodMinutes).to.equal(
      15,
    );
    expect(scenarioSettings({ alias: 'users' }).stateParameterName).to.equal(
      '/dynamodb-continuous-exports/test/users/state',
    );
  });

  it('reads the lag alarm threshold from DCE_LAG_ALARM_MINUTES, or from its former name DCE_LAG_ALERT_MINUTES', () => {
    const settings = workflowSettings({ ...INPUT, lagAlarmMinutes: 90 });
    const env = toEnvironment(settings);
    expect(env.DCE_LAG_ALARM_MINUTES).to.equal('90');
    // Written under the former name too, for a function still running the previous code during an update.
    expect(env.DCE_LAG_ALERT_MINUTES).to.equal('90');
    expect(fromEnvironment(env)).to.deep.equal(settings);
    const { DCE_LAG_ALARM_MINUTES: _current, ...former } = env;
    expect(fromEnvironment(former).lagAlarmMinutes).to.equal(90);
    const { DCE_LAG_ALERT_MINUTES: _former, ...current } = env;
    expect(fromEnvironment(current).lagAlarmMinutes).to.equal(90);
    const { DCE_LAG_ALERT_MINUTES: _a, DCE_LAG_ALARM_MINUTES: _b, ...neither } = env;
    expect(() => fromEnvironment(neither)).to.throw(/DCE_LAG_ALARM_MINUTES is not set/);
  });
});
