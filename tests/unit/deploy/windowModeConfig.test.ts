import { expect } from 'chai';
import { ConfigError, validateConfig } from '../../../components/config';
import { longestWindowMinutes, resolveWindowMode } from '../../../components/config/windowMode';
import { fromEnvironment, toEnvironment, workflowSettings } from '../../../functions/chain/settings';
import { scenarioSettings } from '../../../sim/scenario';
import { ofType, runProgram } from '../../helpers/pulumiMocks';

function problemsOf(raw: { tables: unknown; defaults?: unknown }) {
  try {
    validateConfig(raw as never, 'dev');
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('window mode config (components/windowModeConfig.ts)', () => {
  it('defaults to fixed windows; costAware takes a staleness bound, 24 h by default', () => {
    const [fixed, aware, bounded] = validateConfig(
      {
        tables: [
          { tableName: 'orders' },
          { tableName: 'quiet', windowMode: 'costAware' },
          { tableName: 'events', windowMode: 'costAware', maxStalenessMinutes: 240 },
        ],
      },
      'dev',
    );
    expect(fixed).to.include({ windowMode: 'fixed', maxStalenessMinutes: 1440 });
    expect(aware).to.include({ windowMode: 'costAware', maxStalenessMinutes: 1440 });
    expect(bounded).to.include({ windowMode: 'costAware', maxStalenessMinutes: 240 });
    // The lag alarm allows for the longest window: 3 windows and half an hour, plus the longer window.
    expect(fixed.lagAlarmMinutes).to.equal(75);
    expect(bounded.lagAlarmMinutes).to.equal(75 + 240 - 15);
  });

  it('names every problem at once: the mode, the bound, a bound under the window, a bound without costAware', () => {
    const problems = problemsOf({
      tables: [
        { tableName: 'alpha', windowMode: 'adaptive' },
        { tableName: 'bravo', windowMode: 'costAware', maxStalenessMinutes: 2000 },
        { tableName: 'charlie', windowMode: 'costAware', windowMinutes: 60, maxStalenessMinutes: 30 },
        { tableName: 'delta', maxStalenessMinutes: 120 },
      ],
    });
    const by = (path: string) => problems.find((p) => p.path === path);
    expect(by('tables[0].windowMode')?.message).to.contain('fixed or costAware');
    expect(by('tables[1].maxStalenessMinutes')?.message).to.contain('an integer from windowMinutes to 1440');
    expect(by('tables[2].maxStalenessMinutes')?.message).to.contain('is less than windowMinutes (60)');
    expect(by('tables[3].maxStalenessMinutes')?.message).to.contain('has no effect with windowMode fixed');
    expect(problems).to.have.length(4);
  });

  it('a bound in defaults is fine for a table that keeps fixed windows', () => {
    const [orders, quiet] = validateConfig(
      {
        defaults: { maxStalenessMinutes: 360 },
        tables: [{ tableName: 'orders' }, { tableName: 'quiet', windowMode: 'costAware' }],
      },
      'dev',
    );
    expect(orders.windowMode).to.equal('fixed');
    expect(quiet.maxStalenessMinutes).to.equal(360);
    expect(
      resolveWindowMode({ windowMinutes: 15, maxStalenessMinutes: 360 }, () => true).problems,
    ).to.deep.equal([]);
    expect(longestWindowMinutes({ windowMode: 'fixed', maxStalenessMinutes: 360 }, 15)).to.equal(15);
  });

  it('reaches the export tick: settings through the environment, and the deployed function', async () => {
    const settings = scenarioSettings({ windowMode: 'costAware', maxStalenessMinutes: 360 });
    expect(fromEnvironment(toEnvironment(settings))).to.deep.equal(settings);
    expect(() => fromEnvironment({ ...toEnvironment(settings), DCE_WINDOW_MODE: 'adaptive' })).to.throw(
      'DCE_WINDOW_MODE="adaptive" is not fixed|costAware',
    );
    const { windowMode: _mode, maxStalenessMinutes: _bound, ...fixed } = scenarioSettings();
    expect(fromEnvironment(toEnvironment(fixed as never))).to.not.have.property('windowMode');
    const input = { ...fixed, windowMode: 'costAware' as const, maxStalenessMinutes: 120 };
    delete (input as { lagAlarmMinutes?: number }).lagAlarmMinutes;
    expect(workflowSettings(input as never).lagAlarmMinutes).to.equal(75 + 120 - 15);
    const run = await runProgram(
      {
        'aws:region': 'eu-west-1',
        'dynamodb-continuous-exports:tables': [
          { tableName: 'quiet', windowMode: 'costAware', maxStalenessMinutes: 360 },
        ],
      },
      'dev',
    );
    const [fn] = ofType(run.resources, 'aws:lambda/function:Function').filter((f) =>
      f.name.includes('export-tick'),
    );
    const deployed = fromEnvironment(fn.inputs.environment.variables);
    expect(deployed).to.include({
      windowMode: 'costAware',
      maxStalenessMinutes: 360,
      lagAlarmMinutes: 75 + 345,
    });
  });
});
