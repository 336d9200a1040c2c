import { expect } from 'chai';
import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runDce } from '../../cli/dce';
import { formatDuration } from '../../cli/output';
import { resetDecision, setAction } from '../../cli/operator';
import { TransientAwsError } from '../../functions/shared/retry';
import { deriveStatus, formatStatus } from '../../cli/status';
import { parseStackOutput, resolveTarget, UsageError } from '../../cli/target';
import { initialState, serializeState, type ChainState } from '../../functions/chain/state';
import { startSsmServer, type SsmServer } from '../../sim/ssmServer';
import { startLocalDynamoDb, type LocalDynamoDb } from '../../sim/servers';
import {
  canonicalTable,
  generateWorkload,
  WORKLOAD_KEY_SCHEMA,
  WORKLOAD_ATTRIBUTE_DEFINITIONS,
} from '../../sim/workload';
import { CreateTableCommand, DescribeTableCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { MemoryS3, writeCliChain } from '../helpers/exportChain';
import { REPO_ROOT } from '../helpers/repoRoot';
import { capturedIo } from '../helpers/capturedIo';

/** Parameter store with SSM's semantics for get/put (enough for the operator commands). */
class ParameterStore {
  readonly values = new Map<string, string>();
  puts = 0;
  /** PutParameter calls still to be throttled. */
  throttlePuts = 0;
  async send(command: any): Promise<any> {
    const { Name, Value, Overwrite } = command.input;
    switch (command.constructor.name) {
      case 'GetParameterCommand':
        if (!this.values.has(Name)) {
          throw Object.assign(new Error(`Parameter ${Name} not found.`), { name: 'ParameterNotFound' });
        }
        return { Parameter: { Name, Value: this.values.get(Name), Type: 'String', Version: 1 } };
      case 'PutParameterCommand':
        if (this.throttlePuts > 0) {
          this.throttlePuts -= 1;
          throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
        }
        if (this.values.has(Name) && !Overwrite) {
          throw Object.assign(new Error('exists'), { name: 'ParameterAlreadyExists' });
        }
        this.puts += 1;
        this.values.set(Name, Value);
        return { Version: 2 };
      default:
        throw Object.assign(new Error('unsupported'), { name: 'UnsupportedOperation' });
    }
  }
}

const capture = capturedIo;

const T0 = 1_800_000_000;

function chainingState(overrides: Partial<ChainState> = {}): ChainState {
  return {
    ...initialState(),
    epoch: '20270115T080000Z',
    chainStart: T0 - 86_400,
    watermark: T0 - 1200,
    sequence: 95,
    ...overrides,
  };
}

const STACK_OUTPUT = {
  tables: {
    orders: {
      bucket: 'exports-bucket',
      prefix: 'dce/orders',
      exportsUri: 's3://exports-bucket/dce/orders/AWSDynamoDB/',
      actionParameterName: '/dynamodb-continuous-exports/prod/orders/action',
      stateParameterName: '/dynamodb-continuous-exports/prod/orders/state',
      lockParameterName: '/dynamodb-continuous-exports/prod/orders/lock',
    },
    // The shape index.ts outputs: parameter names nested, bucket and prefix only in the URIs here.
    users: {
      exportsUri: 's3://other-bucket/u/AWSDynamoDB/',
      chainManifestUri: 's3://other-bucket/u/chain/',
      parameters: {
        action: '/dynamodb-continuous-exports/prod/users/action',
        state: '/dynamodb-continuous-exports/prod/users/state',
        lock: '/dynamodb-continuous-exports/prod/users/lock',
      },
      windowMinutes: 30,
    },
  },
  region: 'eu-west-1',
};

describe('dce target resolution (cli/target.ts)', () => {
  it('reads the tables map from the several shapes a stack output takes', () => {
    const shapes = [
      STACK_OUTPUT,
      STACK_OUTPUT.tables,
      { tables: { value: STACK_OUTPUT.tables, secret: false } },
      { tables: JSON.stringify(STACK_OUTPUT.tables) },
      [
        { alias: 'orders', ...STACK_OUTPUT.tables.orders },
        { alias: 'users', ...STACK_OUTPUT.tables.users },
      ],
    ];
    for (const shape of shapes) {
      const tables = parseStackOutput(JSON.stringify(shape));
      expect(Object.keys(tables).sort()).to.deep.equal(['orders', 'users']);
      expect(tables.orders.bucket).to.equal('exports-bucket');
    }
  });

  it('rejects text that is not a stack output, naming the flag', () => {
    expect(() => parseStackOutput('nope', '"out.json"')).to.throw(
      UsageError,
      /--stack-output "out.json": not JSON/,
    );
    expect(() => parseStackOutput('{"other": 1}')).to.throw(UsageError, /no tables found/);
  });

  it('checks each entry against the stack-output contract and names every field of the wrong type', () => {
    const wrong = {
      tables: {
        ...STACK_OUTPUT.tables,
        users: {
          ...STACK_OUTPUT.tables.users,
          windowMinutes: '30',
          parameters: { state: 7 },
          replicas: [{ alias: 'dr', bootstrap: 'copy' }],
        },
      },
    };
    let message = '';
    try {
      parseStackOutput(JSON.stringify(wrong), '"out.json"');
    } catch (error) {
      expect(error).to.be.instanceOf(UsageError);
      message = (error as Error).message;
    }
    expect(message).to.match(/^--stack-output "out.json": not the stack output this dce reads: /);
    expect(message).to.include('tables.users.windowMinutes: expected number, received string');
    expect(message).to.include('tables.users.parameters.state: expected string, received number');
    expect(message).to.include('tables.users.replicas[0].bootstrap:');
    expect(message).not.to.include('tables.orders');
    // Fields a newer program adds are kept, not refused.
    const newer = { tables: { orders: { ...STACK_OUTPUT.tables.orders, icebergTable: 'db.orders' } } };
    expect(parseStackOutput(JSON.stringify(newer)).orders.icebergTable).to.equal('db.orders');
  });

  it('picks the alias, derives bucket/prefix from the exports URI and the stack from parameter names', () => {
    const read = () => JSON.stringify(STACK_OUTPUT);
    const users = resolveTarget({ stackOutput: 'out.json', alias: 'users' }, read);
    expect(users).to.include({
      alias: 'users',
      bucket: 'other-bucket',
      prefix: 'u',
      stack: 'prod',
      windowMinutes: 30,
    });
    expect(users.actionParameterName).to.equal('/dynamodb-continuous-exports/prod/users/action');
    expect(users.lockParameterName).to.equal('/dynamodb-continuous-exports/prod/users/lock');
    const rootChain = () => JSON.stringify({ tables: { t: { chainManifestUri: 's3://b/chain/' } } });
    expect(resolveTarget({ stackOutput: 'o' }, rootChain)).to.include({ bucket: 'b', prefix: '' });
    const orders = resolveTarget({ stackOutput: 'out.json', alias: 'orders', prefix: '/copy/' }, read);
    expect(orders).to.include({ bucket: 'exports-bucket', prefix: 'copy' });
  });

  it('names the flag and the value for an unknown alias, and lists the known ones', () => {
    const read = () => JSON.stringify(STACK_OUTPUT);
    expect(() => resolveTarget({ stackOutput: 'o', alias: 'nope' }, read)).to.throw(
      UsageError,
      /--alias "nope": no such table .*orders, users/,
    );
    expect(() => resolveTarget({ stackOutput: 'o' }, read)).to.throw(UsageError, /--alias is required/);
    const single = () => JSON.stringify({ tables: { only: STACK_OUTPUT.tables.orders } });
    expect(resolveTarget({ stackOutput: 'o' }, single).alias).to.equal('only');
  });

  it('builds parameter names from explicit --stack and --alias', () => {
    const target = resolveTarget({ alias: 'orders', stack: 'dev', bucket: 'b', prefix: 'p/' });
    expect(target.stateParameterName).to.equal('/dynamodb-continuous-exports/dev/orders/state');
    expect(target.lockParameterName).to.equal('/dynamodb-continuous-exports/dev/orders/lock');
    expect(target.prefix).to.equal('p');
    expect(() => resolveTarget({})).to.throw(UsageError, /--stack-output/);
    expect(() => resolveTarget({ alias: 'a/b' })).to.throw(UsageError, /--alias "a\/b"/);
    expect(() => resolveTarget({ alias: 'a', windowMinutes: 'soon' })).to.throw(
      UsageError,
      /--window-minutes "soon"/,
    );
  });
});

describe('dce status phase (cli/status.ts: deriveStatus)', () => {
  const input = (state: ChainState | null, action: string | null = 'RUN', now = T0) => ({
    action,
    stateText: state ? serializeState(state) : null,
    stateParameterName: '/p/state',
    now,
  });

  it('reports NOT_DEPLOYED without a state parameter and STATE_CORRUPT for a bad one', () => {
    expect(deriveStatus('t', input(null)).phase).to.equal('NOT_DEPLOYED');
    const corrupt = deriveStatus('t', { ...input(null), stateText: '{"schemaVersion":1}' });
    expect(corrupt.phase).to.equal('STATE_CORRUPT');
    expect(corrupt.stateError).to.contain('/p/state');
  });

  it('shows the window the tick plans now and the monthly export cost from the billed sizes', () => {
    const quiet = chainingState({ watermark: T0 - 3 * 3600 });
    quiet.stats = {
      ...quiet.stats,
      windowSeconds: 4 * 3600,
      billing: [
        { seconds: 4 * 3600, bytes: 2000 },
        { seconds: 4 * 3600, bytes: 3000 },
      ],
    };
    const report = deriveStatus('t', input(quiet));
    expect(report.window).to.deep.equal({ seconds: 4 * 3600, configuredSeconds: 900 });
    // Two exports at the 10 MB minimum every 8 hours: 180 a month, $0.001 each.
    expect(report.exportCost!.monthlyUsd).to.be.closeTo(0.18, 1e-9);
    // Three hours behind with 4-hour windows is not catching up; the next window is 4 hours long.
    expect(report.phase).to.equal('CHAINING');
    expect(Date.parse(report.nextWindow!.to) - Date.parse(report.nextWindow!.from)).to.equal(4 * 3600 * 1000);
    const text = formatStatus(report);
    expect(text).to.match(/window:\s+4h \(configured 15m; cost-aware\)/);
    expect(text).to.match(
      /export cost:\s+about \$0\.18 a month at the pace of the last 2 incremental exports/,
    );
    const fresh = deriveStatus('t', input(chainingState()));
    expect(fresh.exportCost).to.equal(null);
    expect(formatStatus(fresh)).to.match(/window:\s+15m\n/);
  });

  it('reports BOOTSTRAPPING before the full export completed, CHAINING when current, CATCHING_UP when far behind', () => {
    expect(deriveStatus('t', input(initialState())).phase).to.equal('BOOTSTRAPPING');
    expect(deriveStatus('t', input(chainingState())).phase).to.equal('CHAINING');
    expect(deriveStatus('t', input(chainingState({ watermark: T0 - 6 * 3600 }))).phase).to.equal(
      'CATCHING_UP',
    );
  });

  it('derives phase, lag and next window consistently for any state', () => {
    const arbState = fc
      .record({
        started: fc.boolean(),
        watermarkAgo: fc.integer({ min: 0, max: 30 * 86_400 }),
        pending: fc.array(fc.integer({ min: 1, max: 8 }), { maxLength: 4 }),
        incident: fc.constantFrom(
          null,
          'PITR_GAP',
          'PITR_DISABLED',
          'TABLE_DELETED',
          'RUN_FAILED',
          'EXPORT_FAILED:123',
        ),
        action: fc.constantFrom('RUN', 'PAUSE', 'RESET', null),
        window: fc.integer({ min: 15, max: 1440 }),
      })
      .map((r) => {
        const watermark = T0 - r.watermarkAgo;
        let from = watermark;
        const exports = r.pending.map((n, i) => {
          const e = {
            type: 'INCREMENTAL' as const,
            from,
            to: from + n * 900,
            attempt: 1,
            status: 'IN_PROGRESS' as const,
            checks: 0,
            arn: `arn:aws:dynamodb:us-east-1:1:table/t/export/${i}`,
          };
          from = e.to;
          return e;
        });
        const state: ChainState = r.started
          ? chainingState({ watermark, chainStart: watermark - 3600, exports })
          : initialState();
        if (r.incident)
          state.incidents = [
            { key: r.incident, openedAt: T0 - 60, lastNotifiedAt: T0 - 60, reminders: 0, occurrences: 1 },
          ];
        return { ...r, state, pendingEnd: from };
      });
    fc.assert(
      fc.property(arbState, (r) => {
        const report = deriveStatus('t', { ...input(r.state, r.action), windowMinutes: r.window });
        // A blocking incident shows whatever the action; then the operator action; then progress.
        if (r.incident === 'TABLE_DELETED') expect(report.phase).to.equal('TABLE_DELETED');
        else if (r.incident === 'PITR_GAP') expect(report.phase).to.equal('PITR_GAP');
        else if (r.incident === 'PITR_DISABLED') expect(report.phase).to.equal('PITR_DISABLED');
        else if (r.action === 'PAUSE') expect(report.phase).to.equal('PAUSED');
        else if (r.action === 'RESET') expect(report.phase).to.equal('RESET_PENDING');
        else if (!r.started) expect(report.phase).to.equal('BOOTSTRAPPING');
        else if (r.incident === 'RUN_FAILED') expect(report.phase).to.equal('FAILING');
        else expect(['CHAINING', 'CATCHING_UP']).to.include(report.phase);
        if (!r.started) {
          expect(report.lagSeconds).to.equal(null);
          expect(report.nextWindow).to.equal(null);
          return;
        }
        expect(report.lagSeconds).to.equal(r.watermarkAgo);
        expect(report.inFlight).to.have.length(r.pending.length);
        if (r.action === 'PAUSE' || r.action === 'RESET') {
          expect(report.nextWindow).to.equal(null);
        } else {
          // The next window starts where the last pending export ends and is one window long.
          const from = Date.parse(report.nextWindow!.from) / 1000;
          const to = Date.parse(report.nextWindow!.to) / 1000;
          expect(from).to.equal(r.pendingEnd);
          expect(to - from).to.equal(r.window * 60);
          expect(Date.parse(report.nextWindow!.dueAt) / 1000).to.be.at.least(to);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('flags a chain manifest that disagrees with the state', () => {
    const state = chainingState();
    const head = {
      schemaVersion: 1 as const,
      epoch: state.epoch!,
      chainStart: new Date(state.chainStart! * 1000).toISOString(),
      watermark: new Date(state.watermark! * 1000).toISOString(),
      lastSequence: 95,
      lastEntryKey: 'k',
    };
    expect(deriveStatus('t', { ...input(state), head }).manifest?.agreesWithState).to.equal(true);
    const behind = { ...head, watermark: new Date((state.watermark! - 900) * 1000).toISOString() };
    expect(deriveStatus('t', { ...input(state), head: behind }).manifest?.agreesWithState).to.equal(false);
  });
});

describe('dce reset confirmation (cli/operator.ts: resetDecision)', () => {
  it('proceeds only with --yes or the exact alias typed on a terminal', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }),
        fc.boolean(),
        fc.boolean(),
        fc.option(fc.string()),
        (alias, yes, tty, answer) => {
          const decision = resetDecision({ alias, yes, interactive: tty, answer: answer ?? undefined });
          if (yes) expect(decision).to.equal('proceed');
          else if (!tty) expect(decision).to.equal('refuse-no-tty');
          else if (answer === null) expect(decision).to.equal('ask');
          else expect(decision).to.equal(answer.trim() === alias ? 'proceed' : 'refuse-mismatch');
        },
      ),
    );
  });
});

describe('formatDuration', () => {
  it('prints days, hours, minutes and seconds', () => {
    expect(formatDuration(3725)).to.equal('1h 2m 5s');
    expect(formatDuration(0)).to.equal('0s');
    expect(formatDuration(-90)).to.equal('-1m 30s');
    expect(formatDuration(2 * 86400 + 60)).to.equal('2d 1m');
  });
});

describe('dce pause | resume | reset under throttling (cli/operator.ts: setAction)', () => {
  const ACTION = '/p/action';
  const STATE = '/p/state';
  const write = (store: ParameterStore, action: 'RUN' | 'PAUSE' | 'RESET', sleeps: number[]) =>
    setAction({
      ssm: store,
      alias: 'orders',
      parameterName: ACTION,
      stateParameterName: STATE,
      action,
      retry: { sleep: async (ms) => void sleeps.push(ms), random: () => 0.5 },
    });

  it('tries a throttled PutParameter again after a backoff, as the workflow does, and writes the action', async () => {
    for (const action of ['PAUSE', 'RESET'] as const) {
      const store = new ParameterStore();
      store.values.set(ACTION, 'RUN');
      store.values.set(STATE, serializeState(initialState()));
      store.throttlePuts = 2;
      const sleeps: number[] = [];
      const result = await write(store, action, sleeps);
      expect(result.changed, action).to.equal(true);
      expect(store.values.get(ACTION)).to.equal(result.value);
      expect(result.value).to.match(action === 'PAUSE' ? /^PAUSE$/ : /^RESET:/);
      expect(store.puts).to.equal(1);
      // Exponential backoff with jitter (functions/shared/retry.ts): half of 200 ms, then half of 400 ms.
      expect(sleeps).to.deep.equal([100, 200]);
    }
  });

  it('gives up after the retry policy tries with a transient error and leaves the parameter as it was', async () => {
    const store = new ParameterStore();
    store.values.set(ACTION, 'RUN');
    store.values.set(STATE, serializeState(initialState()));
    store.throttlePuts = Infinity;
    const sleeps: number[] = [];
    let error: unknown;
    await write(store, 'PAUSE', sleeps).catch((e: unknown) => (error = e));
    expect(error).to.be.instanceOf(TransientAwsError);
    expect((error as Error).message).to.match(/PutParameter\(action\) failed 4 times.*ThrottlingException/);
    expect(sleeps).to.have.length(3);
    expect(store.values.get(ACTION)).to.equal('RUN');
  });
});

describe('dce commands against the local SSM endpoint', () => {
  const ACTION = '/dynamodb-continuous-exports/test/orders/action';
  const STATE = '/dynamodb-continuous-exports/test/orders/state';
  let store: ParameterStore;
  let server: SsmServer;
  let dir: string;
  let stackOutputFile: string;
  const flags = () => ['--ssm-endpoint-url', server.endpoint, '--region', 'us-east-1'];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'dce-cli-'));
    stackOutputFile = join(dir, 'stack.json');
    writeFileSync(
      stackOutputFile,
      JSON.stringify({ tables: { orders: { parameters: { action: ACTION, state: STATE } } } }),
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  beforeEach(async () => {
    store = new ParameterStore();
    store.values.set(ACTION, 'RUN');
    store.values.set(
      STATE,
      serializeState(
        chainingState({
          exports: [
            {
              type: 'INCREMENTAL',
              from: T0 - 1200,
              to: T0 - 300,
              attempt: 2,
              status: 'IN_PROGRESS',
              checks: 1,
              arn: 'arn:aws:dynamodb:us-east-1:1:table/orders/export/0123-abc',
            },
          ],
          incidents: [
            {
              key: 'EXPORT_FAILED:S3NoSuchBucket',
              openedAt: T0 - 600,
              lastNotifiedAt: T0 - 600,
              reminders: 0,
              occurrences: 1,
            },
          ],
          lastRun: { at: T0 - 30, outcome: 'WAITING' },
        }),
      ),
    );
    server = await startSsmServer(store);
  });
  afterEach(async () => {
    await server.close();
  });

  it('status --json reports the state read over the SSM API', async () => {
    const c = capture();
    const code = await runDce(['status', '--stack-output', stackOutputFile, '--json', ...flags()], c.io);
    expect(code, c.stderr()).to.equal(0);
    const report = JSON.parse(c.stdout());
    expect(report).to.include({ alias: 'orders', phase: 'CHAINING', action: 'RUN', lagSeconds: 1200 });
    expect(report.inFlight[0]).to.include({ attempt: 2, status: 'IN_PROGRESS' });
    expect(report.inFlight[0].arn).to.contain('/export/0123-abc');
    expect(report.incidents[0].key).to.equal('EXPORT_FAILED:S3NoSuchBucket');
    expect(server.requests.GetParameter).to.equal(2);
  });

  it('status prints a readable report with the phase, lag and exports in flight', async () => {
    const c = capture();
    const code = await runDce(['status', '--alias', 'orders', '--stack', 'test', ...flags()], c.io);
    expect(code, c.stderr()).to.equal(0);
    expect(c.stdout()).to.match(/phase:\s+CHAINING/);
    expect(c.stdout()).to.match(/lag:\s+20m/);
    expect(c.stdout()).to.contain(
      'attempt 2 IN_PROGRESS arn:aws:dynamodb:us-east-1:1:table/orders/export/0123-abc',
    );
    expect(c.stdout()).to.contain('open incidents (1)');
  });

  it('pause and resume write the action parameter; status then shows PAUSED', async () => {
    const c = capture();
    expect(await runDce(['pause', '--stack-output', stackOutputFile, ...flags()], c.io)).to.equal(0);
    expect(store.values.get(ACTION)).to.equal('PAUSE');
    expect(c.stdout()).to.contain('RUN -> PAUSE');
    const s = capture();
    await runDce(['status', '--stack-output', stackOutputFile, '--json', ...flags()], s.io);
    expect(JSON.parse(s.stdout()).phase).to.equal('PAUSED');
    const again = capture();
    expect(
      await runDce(['pause', '--stack-output', stackOutputFile, '--json', ...flags()], again.io),
    ).to.equal(0);
    expect(JSON.parse(again.stdout())).to.include({ changed: false, action: 'PAUSE' });
    expect(store.puts).to.equal(1);
    expect(await runDce(['resume', '--stack-output', stackOutputFile, ...flags()], capture().io)).to.equal(0);
    expect(store.values.get(ACTION)).to.equal('RUN');
  });

  it('reset refuses without a terminal and without --yes, and leaves the parameter alone', async () => {
    const c = capture();
    expect(await runDce(['reset', '--stack-output', stackOutputFile, ...flags()], c.io)).to.equal(2);
    expect(c.stderr()).to.contain('--yes');
    expect(store.values.get(ACTION)).to.equal('RUN');
  });

  it('reset asks for the alias on a terminal and proceeds only when it is typed', async () => {
    const questions: string[] = [];
    const wrong = capture({ stdinIsTTY: true, prompt: async (q) => (questions.push(q), 'users') });
    expect(await runDce(['reset', '--stack-output', stackOutputFile, ...flags()], wrong.io)).to.equal(2);
    expect(store.values.get(ACTION)).to.equal('RUN');
    expect(questions[0]).to.contain('orders');
    const right = capture({ stdinIsTTY: true, prompt: async () => 'orders\n' });
    expect(await runDce(['reset', '--stack-output', stackOutputFile, ...flags()], right.io)).to.equal(0);
    expect(store.values.get(ACTION)).to.match(/^RESET:[A-Za-z0-9_-]{16}$/);
  });

  it('reset --yes needs no terminal', async () => {
    expect(
      await runDce(['reset', '--yes', '--stack-output', '-', ...flags()], capture().io, {
        readInput: (source) => {
          expect(source).to.equal('-');
          return JSON.stringify({
            tables: { orders: { actionParameterName: ACTION, stateParameterName: STATE } },
          });
        },
      }),
    ).to.equal(0);
    expect(store.values.get(ACTION)).to.match(/^RESET:[A-Za-z0-9_-]{16}$/);
  });

  it('status with a wrong --stack explains the missing parameter as pause does (exit 2, not NOT_DEPLOYED)', async () => {
    const status = capture();
    const argv = ['--alias', 'orders', '--stack', 'wrong', ...flags()];
    expect(await runDce(['status', ...argv], status.io)).to.equal(2);
    const pause = capture();
    expect(await runDce(['pause', ...argv], pause.io)).to.equal(2);
    expect(status.stderr()).to.contain('/dynamodb-continuous-exports/wrong/orders/action does not exist');
    expect(status.stderr()).to.contain('check --stack/--alias');
    expect(status.stderr()).to.equal(pause.stderr());
    expect(status.stdout()).to.equal('');
  });

  it('refuses to create a missing action parameter (a wrong stack or alias)', async () => {
    const c = capture();
    expect(await runDce(['pause', '--alias', 'orders', '--stack', 'wrong', ...flags()], c.io)).to.equal(2);
    expect(c.stderr()).to.contain('/dynamodb-continuous-exports/wrong/orders/action does not exist');
    expect(store.puts).to.equal(0);
  });
});

describe('dce verify and replay', () => {
  const START = 1_790_000_000;
  let s3: MemoryS3;
  let ddb: LocalDynamoDb;
  let watermark: number;
  const source = generateWorkload({
    from: START - 3600,
    to: START + 4 * 900,
    writesPerMinute: 6,
    seed: 3,
    keySpace: 40,
  });
  const clients = () => ({ s3, ssm: new ParameterStore(), dynamodb: ddb.client });
  const where = ['--alias', 'orders', '--bucket', 'exports', '--prefix', 'dce/orders'];

  before(async () => {
    ddb = await startLocalDynamoDb();
  });
  after(async () => {
    await ddb.stop();
  });
  beforeEach(async () => {
    s3 = new MemoryS3();
    const written = await writeCliChain(s3, source, START);
    watermark = written.watermark;
  });

  it('verify --deep exits 0 for a sound chain and prints the watermark', async () => {
    const c = capture();
    expect(await runDce(['verify', '--deep', ...where], c.io, { clients }), c.stderr()).to.equal(0);
    expect(c.stdout()).to.match(/result:\s+OK/);
    expect(c.stdout()).to.contain(new Date(watermark * 1000).toISOString());
    expect(c.stdout()).to.match(/entries:\s+5/);
    // It says how far it got while it reads every file (plain lines without a terminal).
    expect(c.stderr()).to.match(/verify.*5\/5 exports/);
  });

  it('verify and verify --deep say what each checked', async () => {
    const shallow = capture();
    expect(await runDce(['verify', ...where], shallow.io, { clients })).to.equal(0);
    expect(shallow.stdout()).to.match(
      /checked:\s+order and HEAD, 5 exports' manifest summaries present; data files not read/,
    );
    const deep = capture();
    expect(await runDce(['verify', '--deep', '--json', ...where], deep.io, { clients })).to.equal(0);
    const checked = JSON.parse(deep.stdout()).checked;
    expect(checked).to.include({ deep: true, exports: 5 });
    expect(checked.dataFiles).to.be.greaterThan(0);
    const human = capture();
    await runDce(['verify', '--deep', ...where], human.io, { clients });
    expect(human.stdout()).to.match(
      new RegExp(
        `checked:\\s+deep: 5 exports' manifests and checksums, ${checked.dataFiles} data files \\(\\d+\\.\\d MB\\) read`,
      ),
    );
  });

  it('verify --deep --json keeps stderr free of progress', async () => {
    const c = capture();
    expect(await runDce(['verify', '--deep', '--json', ...where], c.io, { clients })).to.equal(0);
    expect(c.stderr()).to.equal('');
  });

  it('verify exits 1 and names the problem when an entry of the chain is missing', async () => {
    const entryKey = s3.keys('exports', 'dce/orders/chain/').find((k) => /\/00000002_/.test(k))!;
    s3.objects.delete(`exports/${entryKey}`);
    const c = capture();
    expect(await runDce(['verify', '--json', ...where], c.io, { clients })).to.equal(1);
    const report = JSON.parse(c.stdout());
    expect(report.ok).to.equal(false);
    expect(report.problems.length).to.be.greaterThan(0);
  });

  it('verify exits 2 when there is no chain at the bucket and prefix', async () => {
    const c = capture();
    const argv = ['verify', '--alias', 'orders', '--bucket', 'exports', '--prefix', 'elsewhere'];
    expect(await runDce(argv, c.io, { clients })).to.equal(2);
    expect(c.stderr()).to.contain('s3://exports/elsewhere/chain/');
  });

  it('status reads the chain manifest HEAD when the bucket is known and compares it with the state', async () => {
    const ssm = new ParameterStore();
    const state = chainingState({ epoch: null });
    const head = JSON.parse(
      Buffer.from(
        s3.get(
          'exports',
          s3.keys('exports', 'dce/orders/chain/').find((k) => k.endsWith('HEAD.json'))!,
        )!,
      ).toString(),
    );
    ssm.values.set('/dynamodb-continuous-exports/t/orders/action', 'RUN');
    ssm.values.set(
      '/dynamodb-continuous-exports/t/orders/state',
      serializeState({ ...state, epoch: head.epoch, watermark: watermark, chainStart: START }),
    );
    const c = capture({ now: () => watermark + 600 });
    const argv = ['status', ...where, '--stack', 't', '--json'];
    expect(
      await runDce(argv, c.io, { clients: () => ({ s3, ssm, dynamodb: ddb.client }) }),
      c.stderr(),
    ).to.equal(0);
    const report = JSON.parse(c.stdout());
    expect(report.manifest).to.include({ epoch: head.epoch, lastSequence: 4, agreesWithState: true });
    expect(report.lagSeconds).to.equal(600);
    ssm.values.set(
      '/dynamodb-continuous-exports/t/orders/state',
      serializeState({ ...state, epoch: head.epoch, watermark: watermark + 900, chainStart: START }),
    );
    const behind = capture({ now: () => watermark + 600 });
    await runDce(argv, behind.io, { clients: () => ({ s3, ssm, dynamodb: ddb.client }) });
    expect(JSON.parse(behind.stdout()).manifest.agreesWithState).to.equal(false);
  });

  it('replay rebuilds the table as of the watermark; a second replay into it needs --force', async () => {
    await ddb.client.send(
      new CreateTableCommand({
        TableName: 'orders-copy',
        AttributeDefinitions: WORKLOAD_ATTRIBUTE_DEFINITIONS,
        KeySchema: WORKLOAD_KEY_SCHEMA,
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    const c = capture();
    const argv = ['replay', ...where, '--target-table', 'orders-copy', '--json'];
    expect(await runDce(argv, c.io, { clients }), c.stderr()).to.equal(0);
    expect(JSON.parse(c.stdout())).to.include({ entriesApplied: 5, lastSequence: 4 });
    const scanned = await ddb.client.send(new ScanCommand({ TableName: 'orders-copy' }));
    expect(canonicalTable(scanned.Items ?? [])).to.deep.equal(
      canonicalTable(source.snapshotBefore(watermark)),
    );
    const again = capture();
    expect(await runDce(argv, again.io, { clients })).to.equal(1);
    expect(again.stderr()).to.contain('replay failed');
    // Without --json and without a terminal: plain progress lines on stderr, a readable report on stdout.
    const forced = capture();
    const human = ['replay', ...where, '--target-table', 'orders-copy', '--force', '--concurrency', '2'];
    expect(await runDce(human, forced.io, { clients }), forced.stderr()).to.equal(0);
    expect(forced.stderr()).to.match(/replay: 5\/5 exports, \d+ items, \d+ items\/s/);
    expect(forced.stdout()).to.match(/exports applied:\s+5/);
  });
});

describe('dce against a wrong bucket or target table', () => {
  const START = 1_790_000_000;
  let s3: MemoryS3;
  let ddb: LocalDynamoDb;
  let watermark: number;
  const source = generateWorkload({
    from: START - 3600,
    to: START + 4 * 900,
    writesPerMinute: 6,
    seed: 5,
    keySpace: 40,
  });
  const clients = () => ({ s3, ssm: new ParameterStore(), dynamodb: ddb.client });
  const where = ['--alias', 'orders', '--bucket', 'exports', '--prefix', 'dce/orders'];
  /** S3 as it answers for a bucket that does not exist, whatever the key. */
  const noBucket = () => ({
    s3: {
      send: async (command: { input: { Bucket: string } }) => {
        throw Object.assign(new Error('The specified bucket does not exist'), {
          name: 'NoSuchBucket',
          Code: 'NoSuchBucket',
          BucketName: command.input.Bucket,
          $metadata: { httpStatusCode: 404 },
        });
      },
    },
    ssm: new ParameterStore(),
    dynamodb: ddb.client,
  });

  before(async () => {
    ddb = await startLocalDynamoDb();
    s3 = new MemoryS3();
    watermark = (await writeCliChain(s3, source, START)).watermark;
  });
  after(async () => {
    await ddb.stop();
  });

  it('verify and replay name a bucket that does not exist as such, not as a missing CURRENT.json', async () => {
    for (const argv of [
      ['verify', ...where],
      ['replay', ...where, '--target-table', 'never-written'],
    ]) {
      const c = capture();
      expect(await runDce(argv, c.io, { clients: noBucket }), argv[0]).to.equal(2);
      expect(c.stderr()).to.contain('bucket exports does not exist');
      expect(c.stderr()).not.to.contain('CURRENT.json');
    }
  });

  it('replay into a missing table names the key schema it needs and how to create it (exit 2)', async () => {
    const c = capture();
    expect(
      await runDce(['replay', ...where, '--target-table', 'orders-missing'], c.io, { clients }),
    ).to.equal(2);
    expect(c.stderr()).to.contain('table orders-missing does not exist');
    expect(c.stderr()).to.contain('pk (HASH, S), sk (RANGE, N)');
    expect(c.stderr()).to.contain('--create-table');
    expect(c.stderr()).to.contain(
      'aws dynamodb create-table --table-name orders-missing --billing-mode PAY_PER_REQUEST ' +
        '--attribute-definitions AttributeName=pk,AttributeType=S AttributeName=sk,AttributeType=N ' +
        '--key-schema AttributeName=pk,KeyType=HASH AttributeName=sk,KeyType=RANGE',
    );
  });

  it('replay --create-table creates the target on demand and rebuilds the table; never into an existing one', async () => {
    const c = capture();
    const argv = ['replay', ...where, '--target-table', 'orders-created', '--create-table', '--json'];
    expect(await runDce(argv, c.io, { clients }), c.stderr()).to.equal(0);
    const described = await ddb.client.send(new DescribeTableCommand({ TableName: 'orders-created' }));
    expect(described.Table?.BillingModeSummary?.BillingMode ?? 'PAY_PER_REQUEST').to.equal('PAY_PER_REQUEST');
    expect(described.Table?.KeySchema).to.deep.equal(WORKLOAD_KEY_SCHEMA);
    const scanned = await ddb.client.send(new ScanCommand({ TableName: 'orders-created' }));
    expect(canonicalTable(scanned.Items ?? [])).to.deep.equal(
      canonicalTable(source.snapshotBefore(watermark)),
    );
    const again = capture();
    expect(await runDce(argv, again.io, { clients })).to.equal(2);
    expect(again.stderr()).to.contain('table orders-created already exists');
  });

  it('replay into a table with another key schema names both schemas before writing anything (exit 2)', async () => {
    await ddb.client.send(
      new CreateTableCommand({
        TableName: 'orders-by-id',
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    const c = capture();
    expect(await runDce(['replay', ...where, '--target-table', 'orders-by-id'], c.io, { clients })).to.equal(
      2,
    );
    expect(c.stderr()).to.contain(
      'table orders-by-id is keyed by id (HASH, S), but the chain needs pk (HASH, S), sk (RANGE, N)',
    );
    const scanned = await ddb.client.send(new ScanCommand({ TableName: 'orders-by-id' }));
    expect(scanned.Items).to.deep.equal([]);
  });

  it('replay --until past the watermark says it was capped, and to what', async () => {
    const c = capture();
    const until = new Date((watermark + 7200) * 1000).toISOString();
    const argv = ['replay', ...where, '--target-table', 'orders-until', '--create-table', '--until', until];
    expect(await runDce(argv, c.io, { clients }), c.stderr()).to.equal(0);
    const wm = new Date(watermark * 1000).toISOString();
    expect(c.stdout()).to.contain(`${until} is past the watermark: capped to the watermark ${wm}`);
    const inside = capture();
    const mid = new Date((START + 900 + 300) * 1000).toISOString();
    const json = [
      'replay',
      ...where,
      '--target-table',
      'orders-mid',
      '--create-table',
      '--until',
      mid,
      '--json',
    ];
    expect(await runDce(json, inside.io, { clients }), inside.stderr()).to.equal(0);
    expect(JSON.parse(inside.stdout()).until).to.deep.equal({
      requested: mid,
      replayedTo: new Date((START + 900) * 1000).toISOString(),
      pastWatermark: false,
    });
  });
});

describe('dce usage errors', () => {
  it('names the flag and the value (exit code 2)', async () => {
    const cases: [string[], RegExp][] = [
      [['status', '--alias', 'orders'], /--stack/],
      [['verify', '--alias', 'orders'], /no bucket .*--bucket/],
      [
        ['replay', '--alias', 'o', '--bucket', 'b', '--target-table', 'copy', '--until', 'yesterday'],
        /--until "yesterday"/,
      ],
      [
        ['replay', '--alias', 'o', '--bucket', 'b', '--target-table', 'copy', '--concurrency', '0'],
        /--concurrency "0"/,
      ],
      [
        ['status', '--alias', 'o', '--stack', 's', '--ssm-endpoint-url', 'localhost:1'],
        /--ssm-endpoint-url "localhost:1"/,
      ],
      [
        ['status', '--stack-output', '/nonexistent/stack.json'],
        /--stack-output "\/nonexistent\/stack.json": cannot read it/,
      ],
      [['replay', '--alias', 'o', '--bucket', 'b'], /--target-table/],
      [['frobnicate'], /unknown command 'frobnicate'/],
      [['simulate', '--faults', 'lots'], /--faults "lots": expected none, some or chaos/],
      [['simulate', '--window', '10'], /--window "10"/],
      [['simulate', '--replica-bootstrap', 'copy'], /--replica-bootstrap "copy": expected write or import/],
      [
        ['simulate', '--replica-bootstrap', 'import', '--replica-on-new-epoch', 'rebaseline'],
        /--replica-on-new-epoch rebaseline needs --replica-bootstrap write/,
      ],
    ];
    for (const [argv, pattern] of cases) {
      const c = capture();
      expect(await runDce(argv, c.io), argv.join(' ')).to.equal(2);
      expect(c.stderr(), argv.join(' ')).to.match(pattern);
    }
  });

  it('prints errors as JSON on stderr with --json', async () => {
    const c = capture();
    expect(await runDce(['verify', '--alias', 'orders', '--json'], c.io)).to.equal(2);
    expect(JSON.parse(c.stderr())).to.include({ code: 2 });
    expect(c.stdout()).to.equal('');
  });

  it('bin/dce.js runs the CLI through tsx (help, exit code 0)', () => {
    const run = spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'dce.js'), 'pause', '--help'], {
      encoding: 'utf8',
    });
    expect(run.status, run.stderr).to.equal(0);
    expect(run.stdout).to.contain('Usage: dce pause');
    expect(run.stdout).to.contain('--stack-output');
  });

  it('bin/dce.js stops quietly when the reader closes the pipe early (dce ... | head)', () => {
    // `true` reads nothing and exits at once, so every write after that meets a closed pipe.
    const run = spawnSync(
      '/bin/sh',
      ['-c', `"${process.execPath}" "${join(REPO_ROOT, 'bin', 'dce.js')}" --help | true; echo "status=$?"`],
      { encoding: 'utf8' },
    );
    expect(run.stderr).not.to.contain('EPIPE');
    expect(run.stderr).not.to.contain('Unhandled');
  });
});
