import { expect } from 'chai';
import { runDce } from '../../../cli/dce';
import {
  flagsSwallowedByNpm,
  loadSimulate,
  missingPackage,
  npmSwallowedWarning,
  simulateFlagNames,
  type SimulateModule,
} from '../../../cli/simulateEntry';
import type { ParsedSimulateFlags } from '../../../sim/simulation/options';
import { capturedIo } from '../../helpers/capturedIo';

const capture = (env: NodeJS.ProcessEnv = {}) => capturedIo({ env });

/** What Node throws for a package that is not installed, as `npm ci --omit=dev` leaves it. */
function moduleNotFound(name: string): Error {
  return Object.assign(
    new Error(
      `Cannot find module '${name}'\nRequire stack:\n- /repo/sim/simulatedClock.ts\n- /repo/cli/simulate.ts`,
    ),
    { code: 'MODULE_NOT_FOUND' },
  );
}

/** A simulate module that records the flags it was run with instead of simulating. */
function recordingModule(calls: ParsedSimulateFlags[]): () => SimulateModule {
  return () =>
    ({
      simulateCommand: async (flags: ParsedSimulateFlags) => {
        calls.push(flags);
        return 0;
      },
    }) as unknown as SimulateModule;
}

describe('simulate entry (cli/simulateEntry.ts)', () => {
  describe('flags npm swallowed', () => {
    it('knows every simulate flag, and finds each one npm took as npm_config_<flag>', () => {
      const flags = simulateFlagNames();
      expect(flags).to.include.members([
        '--days',
        '--keep-servers',
        '--replica-on-new-epoch',
        '--fast',
        '--json',
      ]);
      for (const flag of flags) {
        const variable = `npm_config_${flag.slice(2).replace(/-/g, '_')}`;
        expect(flagsSwallowedByNpm({ [variable]: 'true' }, flags)).to.deep.equal([
          { flag, variable, value: 'true' },
        ]);
      }
      expect(flagsSwallowedByNpm({ npm_config_cache: '/tmp/x' }, flags)).to.deep.equal([]);
    });

    it('does not warn about a flag the command did get', () => {
      const env = { npm_config_keep_servers: 'true' };
      expect(flagsSwallowedByNpm(env, simulateFlagNames(), ['--keep-servers'])).to.deep.equal([]);
      expect(flagsSwallowedByNpm({ npm_config_days: '3' }, simulateFlagNames(), ['--days=3'])).to.deep.equal(
        [],
      );
    });

    it('names the flag, the variable and the command line with --', () => {
      const warning = npmSwallowedWarning(
        flagsSwallowedByNpm({ npm_config_keep_servers: 'true', npm_config_days: '3' }, simulateFlagNames()),
      );
      expect(warning).to.contain('npm_config_days, npm_config_keep_servers');
      expect(warning).to.contain('npm run simulate -- --days 3 --keep-servers');
      expect(npmSwallowedWarning([])).to.equal('');
    });

    it('dce simulate warns on stderr and still runs', async () => {
      const calls: ParsedSimulateFlags[] = [];
      const c = capture({ npm_config_keep_servers: 'true' });
      const code = await runDce(['simulate', '--days', '1'], c.io, { loadSimulate: recordingModule(calls) });
      expect(code).to.equal(0);
      expect(calls).to.have.length(1);
      expect(calls[0].days).to.equal(1);
      expect(c.stderr()).to.contain('npm run simulate -- --keep-servers');
      const quiet = capture({ npm_config_keep_servers: 'true' });
      await runDce(['simulate', '--keep-servers'], quiet.io, { loadSimulate: recordingModule([]) });
      expect(quiet.stderr()).to.equal('');
    });
  });

  describe('without the development dependencies', () => {
    it('reads the package out of a "Cannot find module" error', () => {
      expect(missingPackage(moduleNotFound('@sinonjs/fake-timers'))).to.equal('@sinonjs/fake-timers');
      expect(missingPackage(moduleNotFound('s3rver/lib/routes'))).to.equal('s3rver');
      expect(missingPackage(moduleNotFound('./simulate'))).to.equal(undefined);
      expect(missingPackage(new Error("Cannot find module 'x'"))).to.equal(undefined);
    });

    it('dce simulate says in one line that it needs them and exits 2', async () => {
      const c = capture();
      const code = await runDce(['simulate'], c.io, {
        loadSimulate: () => {
          throw moduleNotFound('@sinonjs/fake-timers');
        },
      });
      expect(code).to.equal(2);
      const lines = c.stderr().trim().split('\n');
      expect(lines).to.have.length(1);
      expect(lines[0]).to.contain('simulate needs the development dependencies');
      expect(lines[0]).to.contain('@sinonjs/fake-timers');
      expect(lines[0]).to.contain("run 'npm ci' without --omit=dev");
      expect(c.stderr()).not.to.contain('Require stack');
    });

    it('leaves a missing module that is not a development dependency as the defect it is', () => {
      const failing = () => {
        throw moduleNotFound('left-pad');
      };
      expect(() => loadSimulate(failing, ['@sinonjs/fake-timers'])).to.throw(/Cannot find module 'left-pad'/);
      expect(() =>
        loadSimulate(() => {
          throw moduleNotFound('./engine');
        }, []),
      ).to.throw(/engine/);
    });
  });
});
