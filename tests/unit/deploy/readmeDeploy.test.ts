import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { expect } from 'chai';
import { CONTINUOUS_EXPORT_TYPE } from '../../../components/continuousExport';
import { applyConfigSet, joinContinuations } from '../../helpers/pulumiConfigSet';
import { ofType, readStackConfigFile, runProgram, type ProgramRun } from '../../helpers/pulumiMocks';
import { REPO_ROOT } from '../../helpers/repoRoot';

const ROOT = REPO_ROOT;

/** The shell block of the README's "## Deploy" section. */
function readmeDeployCommands(): string[] {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('\n## Deploy\n'), readme.indexOf('\n## Operate\n'));
  const block = /```bash\n([\s\S]*?)```/.exec(section);
  if (!block) throw new Error('README.md: no bash block in the Deploy section');
  return joinContinuations(block[1]).map((l) => l.trim());
}

describe("README's deploy section under Pulumi mocks", () => {
  let stack: string;
  let config: Record<string, unknown>;
  let run: ProgramRun;

  before(async () => {
    const lines = readmeDeployCommands();
    const init = lines.map((l) => /^pulumi stack init (\S+)/.exec(l)).find(Boolean);
    if (!init) throw new Error('README.md: no `pulumi stack init` in the Deploy section');
    stack = init[1];
    // `pulumi stack init <name>` picks up a committed Pulumi.<name>.yaml: start from it when there is one.
    const committed = path.join(ROOT, `Pulumi.${stack}.yaml`);
    config = existsSync(committed) ? { ...readStackConfigFile(committed) } : {};
    for (const line of lines) applyConfigSet(config, line);
    run = await runProgram(config, stack);
  });

  it('starts a stack that has no committed example config', () => {
    expect(existsSync(path.join(ROOT, `Pulumi.${stack}.yaml`)), `Pulumi.${stack}.yaml`).to.equal(false);
  });

  it('deploys exactly the one table the commands name, with the addresses they give', () => {
    expect(ofType(run.resources, CONTINUOUS_EXPORT_TYPE)).to.have.length(1);
    expect(Object.keys(run.outputs.tables)).to.deep.equal(['orders']);
    expect(run.outputs.tables.orders.tableName).to.equal('Orders');
    const endpoints = ofType(run.resources, 'aws:sns/topicSubscription:TopicSubscription')
      .map((s) => s.inputs.endpoint)
      .sort();
    expect([...new Set(endpoints)]).to.deep.equal(['oncall@example.com', 'orders-team@example.com']);
    expect(ofType(run.resources, 'aws:s3/bucket:Bucket')).to.have.length(1);
  });

  it('stores the window as Pulumi does (a number) and the program accepts it', () => {
    expect((config['dynamodb-continuous-exports:tables'] as any[])[0].windowMinutes).to.equal(15);
    expect(run.outputs.tables.orders.windowMinutes).to.equal(15);
  });
});
