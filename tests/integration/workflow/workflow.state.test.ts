/**
 * The state parameter missing or corrupted: the tick must fail with an error that names the
 * parameter, leave the value untouched, alert about hourly, and lose nothing once the state is back.
 */
import { expect } from 'chai';
import {
  assertChain,
  exportRequests,
  exportsByWindow,
  HOUR,
  notifications,
  withScenario,
} from '../../helpers/chainAssertions';

const STEADY_LAG_SECONDS = 15 * 60 + 300 + 60 + 360 + 15 * 60;

const BROKEN_VALUES: [string, string][] = [
  ['not JSON', '{"schemaVersion":1,"epoch":'],
  ['JSON of the wrong shape', '{"schemaVersion":1,"epoch":"20260302T000000Z","watermark":"yesterday"}'],
];

describe('workflow: state parameter missing or corrupted', () => {
  for (const [what, value] of BROKEN_VALUES) {
    it(`stops on a state that is ${what}, names the parameter, keeps the value, resumes without loss`, async () => {
      await withScenario({}, async ({ aws, run, settings }) => {
        await run.runFor(2 * HOUR);
        const good = aws.ssm.get(settings.stateParameterName)!;
        aws.ssm.set(settings.stateParameterName, value);
        const version = aws.ssm.parameters.get(settings.stateParameterName)!.Version;
        const requests = exportRequests(aws).length;
        const brokenAt = run.now;
        await run.runFor(3 * HOUR);

        expect(aws.ssm.get(settings.stateParameterName), 'value untouched').to.equal(value);
        expect(aws.ssm.parameters.get(settings.stateParameterName)!.Version).to.equal(version);
        expect(exportRequests(aws).length, 'no export without a state').to.equal(requests);
        const failed = run.executions.filter((e) => e.startedAt >= brokenAt && e.status === 'FAILED');
        expect(failed.length).to.be.greaterThan(0);
        for (const e of failed) {
          const tick = e.stateFailures.find((f) => f.state === 'Run export tick')!;
          expect(tick.error).to.equal('ChainStateCorruptError');
          expect(tick.cause).to.include(settings.stateParameterName);
          expect(e.retries, 'not retried: retrying cannot repair it').to.equal(0);
        }
        const alerts = notifications(aws, 'STATE_INVALID');
        expect(alerts.length).to.be.within(1, 4);
        for (const a of alerts) {
          expect(a.status).to.equal('FAILED');
          expect(a.message).to.include(settings.stateParameterName);
        }
        for (let i = 1; i < alerts.length; i++) {
          expect(Date.parse(alerts[i].time) - Date.parse(alerts[i - 1].time)).to.be.at.least(45 * 60_000);
        }

        aws.ssm.set(settings.stateParameterName, good);
        await run.runFor(2 * HOUR);
        const chain = assertChain(aws, settings);
        expect(run.now / 1000 - chain.watermark!).to.be.at.most(STEADY_LAG_SECONDS);
        for (const [, exps] of exportsByWindow(aws)) expect(exps).to.have.length(1);
      });
    });
  }

  it('stops on a missing state parameter, does not recreate it, and resumes once it is back', async () => {
    await withScenario({}, async ({ aws, run, settings }) => {
      await run.runFor(2 * HOUR);
      const good = aws.ssm.get(settings.stateParameterName)!;
      aws.ssm.remove(settings.stateParameterName);
      const requests = exportRequests(aws).length;
      const removedAt = run.now;
      await run.runFor(3 * HOUR);
      expect(aws.ssm.get(settings.stateParameterName)).to.equal(undefined);
      expect(exportRequests(aws).length).to.equal(requests);
      const failed = run.executions.filter((e) => e.startedAt >= removedAt && e.status === 'FAILED');
      expect(failed.length).to.be.greaterThan(0);
      for (const e of failed) {
        const tick = e.stateFailures.find((f) => f.state === 'Run export tick')!;
        expect(tick.error).to.equal('ChainStateMissingError');
        expect(tick.cause).to.include(settings.stateParameterName);
      }
      const alerts = notifications(aws, 'STATE_INVALID');
      expect(alerts.length).to.be.within(1, 4);
      aws.ssm.set(settings.stateParameterName, good);
      await run.runFor(2 * HOUR);
      const chain = assertChain(aws, settings);
      expect(run.now / 1000 - chain.watermark!).to.be.at.most(STEADY_LAG_SECONDS);
    });
  });
});
