/**
 * `dce` run as a user runs it: `node bin/dce.js ...` in a child process, against local endpoints.
 */
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import fc from 'fast-check';
import { parseUntil } from '../../cli/replayCommand';
import { runDce } from '../../cli/dce';
import { startSsmServer, type SsmServer } from '../../sim/ssmServer';
import { MemoryS3 } from '../helpers/exportChain';
import { REPO_ROOT } from '../helpers/repoRoot';
import { capturedIo } from '../helpers/capturedIo';

const BIN = join(REPO_ROOT, 'bin', 'dce.js');

interface ProcessResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs bin/dce.js without blocking the event loop (local servers in this process must answer). */
function dce(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    // No credentials from the machine: against local endpoints dce then uses dummy ones.
    const base = { ...process.env };
    for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE'])
      delete base[name];
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...base, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** An endpoint nothing listens on: a command that reaches the network fails with "cannot connect". */
const NOWHERE = ['--endpoint-url', 'http://127.0.0.1:9', '--region', 'us-east-1'];
const REPLAY = ['replay', '--alias', 'orders', '--bucket', 'exports', '--target-table', 'orders-copy'];

describe('dce entry point (bin/dce.js)', () => {
  describe('--until: ISO 8601 with an explicit zone', () => {
    it('refuses a time without a zone, whatever the machine zone (exit 2)', async () => {
      for (const TZ of ['UTC', 'America/New_York']) {
        const run = await dce([...REPLAY, ...NOWHERE, '--until', '2026-11-02 06:00'], { TZ });
        expect(run.status, TZ).to.equal(2);
        expect(run.stderr).to.match(/--until "2026-11-02 06:00": no time zone/);
      }
    });

    it('refuses a date that does not exist instead of rolling it over (exit 2)', async () => {
      const run = await dce([...REPLAY, ...NOWHERE, '--until', '2026-02-30T00:00:00Z']);
      expect(run.status).to.equal(2);
      expect(run.stderr).to.match(/no such date/);
    });

    it('reads Z and offsets as the same instant, to the second', () => {
      expect(parseUntil('2026-11-02T06:00:00Z')).to.equal(Date.UTC(2026, 10, 2, 6) / 1000);
      expect(parseUntil('2026-11-02T07:00:00+01:00')).to.equal(parseUntil('2026-11-02T06:00:00Z'));
      expect(parseUntil('2026-11-02T01:00-0500')).to.equal(parseUntil('2026-11-02T06:00Z'));
      expect(parseUntil('2028-02-29T23:59:59.999Z')).to.equal(Date.UTC(2028, 1, 29, 23, 59, 59) / 1000);
      for (const bad of [
        '2026-11-02',
        '2026-11-02T24:00:00Z',
        '2026-13-01T00:00:00Z',
        '2026-11-02T06:00:00+25:00',
      ])
        expect(() => parseUntil(bad), bad).to.throw(/--until/);
    });

    it('reads every UTC time it is given back as that time', () => {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 4_102_444_799 }), (seconds) => {
          const text = new Date(seconds * 1000).toISOString();
          expect(parseUntil(text)).to.equal(seconds);
        }),
        { numRuns: 200 },
      );
    });
  });

  describe('replay --resume', () => {
    let dir: string;
    before(() => (dir = mkdtempSync(join(tmpdir(), 'dce-entry-'))));
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('refuses a checkpoint file that does not exist, before reading or writing anything', async () => {
      const checkpoint = join(dir, 'missing.json');
      const run = await dce([...REPLAY, ...NOWHERE, '--resume', '--checkpoint', checkpoint]);
      expect(run.status).to.equal(2);
      expect(run.stderr).to.match(/no such file, so there is nothing to resume/);
      expect(run.stderr).not.to.match(/cannot connect/);
      expect(existsSync(checkpoint)).to.equal(false);
    });
  });

  describe('--json', () => {
    it('prints usage errors from flag parsing as one JSON document (exit 2)', async () => {
      const run = await dce(['status', '--json', '--no-such-flag']);
      expect(run.status).to.equal(2);
      expect(run.stdout).to.equal('');
      const error = JSON.parse(run.stderr);
      expect(error.code).to.equal(2);
      expect(error.error).to.match(/unknown option '--no-such-flag'/);
    });

    it('prints a missing required flag as JSON too', async () => {
      const run = await dce(['replay', '--alias', 'orders', '--bucket', 'b', '--json']);
      expect(run.status).to.equal(2);
      expect(JSON.parse(run.stderr).error).to.match(/--target-table/);
    });
  });

  describe('an endpoint that does not answer like AWS', () => {
    let server: Server;
    let endpoint: string;
    before(async () => {
      server = createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<html><body>not S3</body></html>');
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(() => new Promise<void>((r) => server.close(() => r())));

    it('names the endpoint problem without SDK internals (exit 2)', async () => {
      const run = await dce(['status', '--alias', 'orders', '--stack', 'dev', '--endpoint-url', endpoint]);
      expect(run.status).to.equal(2);
      expect(run.stderr).not.to.match(/hidden field|\$response/);
      expect(run.stderr).to.match(/^dce: .*the endpoint's reply \(HTTP 200\) is not an AWS reply/);
    });
  });

  describe('pause and resume with a pending RESET', () => {
    const ACTION = '/dynamodb-continuous-exports/dev/orders/action';
    const values = new Map<string, string>();
    let ssm: SsmServer;
    before(async () => {
      ssm = await startSsmServer({
        async send(command: any) {
          const { Name, Value } = command.input;
          if (command.constructor.name === 'GetParameterCommand') {
            if (!values.has(Name))
              throw Object.assign(new Error(`Parameter ${Name} not found.`), { name: 'ParameterNotFound' });
            return { Parameter: { Name, Value: values.get(Name), Type: 'String', Version: 1 } };
          }
          values.set(Name, Value);
          return { Version: 2 };
        },
      });
    });
    after(() => ssm.close());
    const target = () => [
      '--stack',
      'dev',
      '--alias',
      'orders',
      '--ssm-endpoint-url',
      ssm.endpoint,
      '--region',
      'us-east-1',
    ];

    it('refuses to overwrite RESET unless --force, and says the reset is cancelled when forced', async () => {
      for (const command of ['pause', 'resume']) {
        values.set(ACTION, 'RESET');
        const refused = await dce([command, ...target()]);
        expect(refused.status, command).to.equal(2);
        expect(refused.stderr).to.match(/a RESET is pending .* pass --force/);
        expect(values.get(ACTION)).to.equal('RESET');
        const forced = await dce([command, ...target(), '--force']);
        expect(forced.status, command).to.equal(0);
        expect(forced.stdout).to.match(/RESET -> (PAUSE|RUN).*the pending reset is cancelled/);
        expect(values.get(ACTION)).to.equal(command === 'pause' ? 'PAUSE' : 'RUN');
      }
    });

    it('a RESET the workflow already carried out (its version recorded in the state) is not pending', async () => {
      const STATE = '/dynamodb-continuous-exports/dev/orders/state';
      values.set(ACTION, 'RESET');
      values.set(STATE, JSON.stringify({ resetVersion: 1 }));
      try {
        const paused = await dce(['pause', ...target()]);
        expect(paused.status).to.equal(0);
        expect(paused.stdout).to.not.contain('cancelled');
        expect(values.get(ACTION)).to.equal('PAUSE');
        // And a new `dce reset` over a carried-out RESET writes it again (a new version, a new reset).
        values.set(ACTION, 'RESET');
        const reset = await dce(['reset', ...target(), '--yes', '--json']);
        expect(reset.status).to.equal(0);
        expect(JSON.parse(reset.stdout).changed).to.equal(true);
      } finally {
        values.delete(STATE);
      }
    });
  });
});

describe('dce --epoch that names no chain', () => {
  const capture = () => capturedIo();

  it('is a usage error (exit 2) for verify and replay, listing the epochs there are', async () => {
    const s3 = new MemoryS3();
    s3.set('exports', 'orders/chain/CURRENT.json', '{}');
    s3.set('exports', 'orders/chain/20261102T000011Z/HEAD.json', '{}');
    const clients = () => ({ s3, ssm: s3, dynamodb: s3 });
    const base = [
      '--alias',
      'orders',
      '--bucket',
      'exports',
      '--prefix',
      'orders',
      '--epoch',
      '20991231T000000Z',
    ];
    for (const argv of [
      ['verify', ...base],
      ['replay', ...base, '--target-table', 'copy'],
    ]) {
      const c = capture();
      expect(await runDce(argv, c.io, { clients }), argv[0]).to.equal(2);
      expect(c.stderr()).to.match(
        /--epoch 20991231T000000Z: no chain for this epoch .*epochs there: 20261102T000011Z/,
      );
    }
  });
});
