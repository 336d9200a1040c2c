/**
 * The operator's RESET through a destroy and re-deploy of the stack: the chain state is retained, the
 * action parameter is recreated at version 1, so a later RESET can carry a version the state already
 * recorded as done. It must still be carried out, and `dce status` must say so only once it was.
 */
import { expect } from 'chai';
import { setAction } from '../../../cli/operator';
import { readStatus } from '../../../cli/status';
import type { FakeAws } from '../../../sim/fakeAws';
import type { LocalRun } from '../../../sim/machines/localRun';
import type { WorkflowSettings } from '../../../functions/chain/settings';
import { assertChain, HOUR, notifications, withScenario } from '../../helpers/chainAssertions';

/** `dce status` against the scenario's SSM. */
function status(aws: FakeAws, run: LocalRun, settings: WorkflowSettings) {
  return readStatus({
    ssm: aws.ssm,
    target: { alias: settings.alias, output: {} },
    parameters: { action: settings.actionParameterName, state: settings.stateParameterName },
    now: Math.floor(run.now / 1000),
  });
}

/** What `pulumi destroy` and `pulumi up` do to the parameters: the state is kept, the action recreated. */
function redeploy(aws: FakeAws, settings: WorkflowSettings): void {
  aws.ssm.remove(settings.actionParameterName);
  aws.ssm.set(settings.actionParameterName, 'RUN');
}

describe('workflow: operator RESET across a re-deploy', () => {
  it('dce reset after the stack was destroyed and deployed again starts a new epoch, and status agrees', async () => {
    await withScenario({}, async ({ aws, run, settings }) => {
      const reset = () =>
        setAction({
          ssm: aws.ssm,
          alias: settings.alias,
          parameterName: settings.actionParameterName,
          stateParameterName: settings.stateParameterName,
          action: 'RESET',
        });
      await run.runFor(2 * HOUR);
      const first = assertChain(aws, settings).epoch;
      await reset();
      await run.runFor(2 * HOUR);
      const second = assertChain(aws, settings).epoch;
      expect(second).to.not.equal(first);

      redeploy(aws, settings);
      await run.runFor(HOUR);
      expect((await reset()).changed).to.equal(true);
      expect((await status(aws, run, settings)).phase, 'before the next tick').to.equal('RESET_PENDING');
      await run.runFor(2 * HOUR);

      const third = assertChain(aws, settings).epoch;
      expect(third, 'the second RESET began a new epoch').to.not.equal(second);
      expect(notifications(aws, 'RESET')).to.have.length(2);
      const report = await status(aws, run, settings);
      expect(report.phase).to.equal('CHAINING');
      expect(report.action).to.match(/^RESET:\S+ \(carried out\)$/);
      expect(report.epoch).to.equal(third);
    });
  });

  it('a RESET typed by hand after a re-deploy, at a version already carried out, starts a new epoch', async () => {
    await withScenario({}, async ({ aws, run, settings }) => {
      await run.runFor(2 * HOUR);
      aws.ssm.set(settings.actionParameterName, 'RESET');
      await run.runFor(2 * HOUR);
      const second = assertChain(aws, settings).epoch;
      const version = aws.ssm.parameters.get(settings.actionParameterName)!.Version;

      redeploy(aws, settings);
      await run.runFor(HOUR);
      aws.ssm.set(settings.actionParameterName, 'RESET');
      expect(aws.ssm.parameters.get(settings.actionParameterName)!.Version).to.equal(version);
      expect((await status(aws, run, settings)).phase, 'before the next tick').to.equal('RESET_PENDING');
      await run.runFor(2 * HOUR);

      expect(assertChain(aws, settings).epoch).to.not.equal(second);
      expect(notifications(aws, 'RESET')).to.have.length(2);
      expect((await status(aws, run, settings)).phase).to.equal('CHAINING');
    });
  });
});
