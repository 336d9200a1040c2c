/**
 * The run-failure note read by the export tick under its deployed role, in a state machine run: S3
 * answers a missing key with 404 only to a role that may list it.
 */
import { expect } from 'chai';
import { tickRoleForSettings } from '../../../cli/deployedAccess';
import { ACCOUNT, REGION, startScenario } from '../../../sim/scenario';
import { withDeployedRole, withScenario } from '../../helpers/chainAssertions';

const HOUR = 3600;

describe('reading the run-failure note under the deployed role', function () {
  this.timeout(60_000);

  it('a note never written reads as none (404, since the role may list its key)', async () => {
    await withScenario({}, async ({ run, access }) => {
      await run.runFor(2 * HOUR * 1000);
      expect(run.executions.filter((e) => e.status === 'FAILED')).to.have.length(0);
      expect(access.counts['orders-export-tick'].evaluated).to.be.greaterThan(0);
    });
  });

  it('without the listing, a missing note is AccessDenied, reported rather than read as "none"', async () => {
    const scenario = await startScenario(
      withDeployedRole({
        tickRole: (settings) => {
          const role = tickRoleForSettings(settings, { region: REGION, account: ACCOUNT });
          return {
            ...role,
            policies: role.policies.map((p) => ({
              ...p,
              document: {
                ...p.document,
                Statement: p.document.Statement.filter((s) => s.Sid !== 'RunFailureListing'),
              },
            })),
          };
        },
      }),
    );
    const logged: string[] = [];
    const original = console.error;
    console.error = (line: string) => void logged.push(String(line));
    try {
      await scenario.run.runFor(HOUR * 1000);
    } finally {
      console.error = original;
      await scenario.dispose();
    }
    // S3 hides the missing key behind 403: the tick says so (and reads it again next time); the chain
    // goes on, since the note must never hold it back.
    expect(
      logged.some((l) => /run failure marker not readable.*Access ?Denied/i.test(l)),
      logged.join('\n'),
    ).to.equal(true);
    expect(scenario.run.executions.filter((e) => e.status === 'FAILED')).to.have.length(0);
  });
});
