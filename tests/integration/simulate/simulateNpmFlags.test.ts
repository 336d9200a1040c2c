/**
 * `npm run simulate` as npm runs it: a separate process, whose flags npm may have taken for itself.
 * It starts the program, so it runs with the integration tests.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../../helpers/repoRoot';

describe('simulate entry (cli/simulateEntry.ts): flags npm swallowed', () => {
  it('npm run simulate (tools/simulate.ts) warns before it parses the flags', function () {
    this.timeout(20000);
    // npm leaves a stray `3` from `--days 3`, which the parser refuses: the warning comes first.
    const run = spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'tools/simulate.ts'), '3'], {
      cwd: REPO_ROOT,
      env: { ...process.env, npm_config_days: 'true' },
      encoding: 'utf8',
    });
    expect(run.status).to.equal(2);
    expect(run.stderr).to.match(/^simulate: npm took --days as its own option \(npm_config_days set\)/);
    expect(run.stderr).to.contain('npm run simulate -- --days');
  });
});
