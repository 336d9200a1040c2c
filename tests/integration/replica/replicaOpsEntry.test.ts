/**
 * `dce status` and `dce replica pause|resume|rebuild` as a user runs them: `node bin/dce.js ...` in a
 * child process (stdin not a terminal), against the local SSM endpoint over the in-memory SSM.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { CallLog } from '../../../sim/fakeAws/service';
import { FakeSSM } from '../../../sim/fakeAws/ssm';
import { startSsmServer, type SsmServer } from '../../../sim/ssmServer';
import { initialReplicaParameterValues, rebuiltReplicaState } from '../../../functions/replica/action';
import { initialReplicaState, parseReplicaState, type ReplicaState } from '../../../functions/replica/state';
import { initialState, serializeState } from '../../../functions/chain/state';
import { REPO_ROOT } from '../../helpers/repoRoot';

const BIN = join(REPO_ROOT, 'bin', 'dce.js');
const ROOT = '/dynamodb-continuous-exports/prod/orders';
const REPLICA_STATE = `${ROOT}/replicas/dr/state`;
const REPLICA_ACTION = `${ROOT}/replicas/dr/action`;
const EPOCH = '20261103T010000Z';

function dce(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE'])
      delete env[name];
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

describe('dce replica commands and replica status (bin/dce.js, local SSM endpoint)', () => {
  let dir: string;
  let ssm: FakeSSM;
  let server: SsmServer;
  let flags: string[];

  /** Set when the tests start (the files of a suite load long before): lags are measured from it. */
  let now: number;
  let halted: ReplicaState;
  const replicaState = () => parseReplicaState(ssm.get(REPLICA_STATE)!);

  before(async () => {
    now = Math.floor(Date.now() / 1000);
    halted = {
      ...initialReplicaState(),
      status: 'HALTED',
      epoch: EPOCH,
      lastAppliedSequence: 41,
      watermark: now - 7200,
      halt: {
        reason: 'NEW_EPOCH',
        detail: 'the chain moved',
        at: now,
        epoch: EPOCH,
      },
    };
    dir = mkdtempSync(join(tmpdir(), 'dce-replica-'));
    ssm = new FakeSSM(new CallLog(), () => Date.now(), 'us-east-1', '123456789012');
    ssm.set(`${ROOT}/action`, 'RUN');
    ssm.set(REPLICA_ACTION, initialReplicaParameterValues().action);
    ssm.set(
      `${ROOT}/state`,
      serializeState({
        ...initialState(),
        epoch: EPOCH,
        chainStart: now - 86_400,
        watermark: now - 900,
        sequence: 95,
      }),
    );
    server = await startSsmServer(ssm);
    const stackOutput = join(dir, 'stack.json');
    writeFileSync(
      stackOutput,
      JSON.stringify({
        tables: {
          orders: {
            parameters: { action: `${ROOT}/action`, state: `${ROOT}/state` },
            replicas: [
              {
                alias: 'dr',
                targetTableName: 'orders-dr',
                targetRegion: 'us-east-1',
                stateParameterName: REPLICA_STATE,
                actionParameterName: REPLICA_ACTION,
              },
            ],
          },
        },
      }),
    );
    flags = ['--stack-output', stackOutput, '--ssm-endpoint-url', server.endpoint, '--region', 'us-east-1'];
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('status shows the halted replica with its reason and lags; rebuild needs --yes; pause, resume', async () => {
    ssm.set(REPLICA_STATE, JSON.stringify(halted));

    const status = await dce(['status', ...flags, '--json']);
    expect(status.status, status.stderr).to.equal(0);
    const [replica] = JSON.parse(status.stdout).replicas;
    expect(replica).to.deep.include({
      alias: 'dr',
      targetTableName: 'orders-dr',
      status: 'HALTED',
      lastAppliedSequence: 41,
      behindChainSeconds: 6300,
    });
    expect(replica.halt.reason).to.equal('NEW_EPOCH');
    // Behind now: two hours, plus the time the suite took to get here (generous under load).
    expect(replica.lagSeconds).to.be.within(7200, 7200 + 600);

    const text = await dce(['status', ...flags]);
    expect(text.stdout).to.match(/replicas \(1\):\n {2}dr:\n {4}target: +orders-dr \(us-east-1\)/);
    expect(text.stdout).to.match(/status: +HALTED \(NEW_EPOCH since .*: the chain moved\)/);

    expect(text.stdout).to.match(/action: +RUN\n/);

    const pause = await dce(['replica', 'pause', ...flags, '--replica', 'dr']);
    expect(pause.status).to.equal(2);
    expect(pause.stderr).to.match(/HALTED .*dce replica rebuild/);

    const unconfirmed = await dce(['replica', 'rebuild', ...flags, '--replica', 'dr']);
    expect(unconfirmed.status).to.equal(2);
    expect(unconfirmed.stderr).to.match(/needs confirmation.*--yes.*Empty table orders-dr first/);
    expect(ssm.get(REPLICA_ACTION)).to.equal('RUN');

    const rebuilt = await dce(['replica', 'rebuild', ...flags, '--replica', 'dr', '--yes', '--json']);
    expect(rebuilt.status, rebuilt.stderr).to.equal(0);
    expect(JSON.parse(rebuilt.stdout)).to.deep.include({
      changed: true,
      previousAction: 'RUN',
      action: 'REBUILD',
      actionParameterName: REPLICA_ACTION,
    });
    // The command wrote the action only; the state is the workflow's, which carries the rebuild out.
    expect(ssm.get(REPLICA_ACTION)).to.equal('REBUILD');
    expect(replicaState()).to.deep.equal(halted);
    const pending = await dce(['status', ...flags]);
    expect(pending.stdout).to.match(/action: +REBUILD \(pending: the next execution starts the replica over/);
    expect(JSON.parse((await dce(['status', ...flags, '--json'])).stdout).replicas[0].action).to.deep.include(
      {
        value: 'REBUILD',
        pendingRebuild: true,
      },
    );

    // The workflow carries it out: the initial state, with the version of the REBUILD.
    const version = ssm.parameters.get(REPLICA_ACTION)!.Version;
    ssm.set(REPLICA_STATE, JSON.stringify(rebuiltReplicaState(version)));
    const done = await dce(['status', ...flags]);
    expect(done.stdout).to.match(/status: +ACTIVE\n/);
    expect(done.stdout).to.match(/action: +REBUILD \(carried out: acts as RUN\)/);

    const paused = await dce(['replica', 'pause', ...flags, '--replica', 'dr']);
    expect(paused.status, paused.stderr).to.equal(0);
    expect(paused.stdout).to.match(/orders\/dr: action REBUILD -> PAUSE .*applies nothing new/);
    expect(ssm.get(REPLICA_ACTION)).to.equal('PAUSE');
    const shown = JSON.parse((await dce(['status', ...flags, '--json'])).stdout);
    expect(shown.replicas[0].status).to.equal('PAUSED');

    const resumed = await dce(['replica', 'resume', ...flags, '--replica', 'dr', '--json']);
    expect(resumed.status, resumed.stderr).to.equal(0);
    expect(JSON.parse(resumed.stdout)).to.deep.include({
      previousAction: 'PAUSE',
      action: 'RUN',
      changed: true,
    });
    expect(ssm.get(REPLICA_ACTION)).to.equal('RUN');
    expect(JSON.parse((await dce(['status', ...flags, '--json'])).stdout).replicas[0].status).to.equal(
      'ACTIVE',
    );
  });

  it('an unknown replica is a usage error naming the known ones (exit 2, JSON on stderr)', async () => {
    const run = await dce(['replica', 'resume', ...flags, '--replica', 'drr', '--json']);
    expect(run.status).to.equal(2);
    expect(JSON.parse(run.stderr).error).to.match(/--replica "drr": .*known: dr/);
  });
});
