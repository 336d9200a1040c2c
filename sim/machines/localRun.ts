/**
 * Runs the deployed state machine definition locally, on a simulated clock, against the real export
 * tick handler and the offline AWS fakes (or any clients with `send(command)`).
 *
 * - The definition is the one `renderDefinition` produces, run by aws-local-stepfunctions as a
 *   `LocalMachine` (sim/machines/localMachine.ts: Lambda tasks served by the handler, Distributed Maps
 *   emulated); more machines can run beside it on the same clock (`addMachine`), such as a
 *   replica's apply workflow.
 * - Time is the simulated clock of `sim/machines/simulatedClock.ts`, handed to the runner and the scheduler as
 *   an object; it is also installed globally (see there why), so Wait states, Retry back-off and the
 *   handler's own sleeps cost no real time.
 * - A simulated EventBridge Scheduler starts one execution per period (`sim/machines/scheduler.ts`).
 * - The clock only moves when no client call is pending, so a real S3 client talking to a local
 *   server works too: simulated time stands still while real I/O completes.
 */
import '../polyfills';
import type { CommandSender, ExportTickClients, ExportTickEvent } from '../../functions/chain/exportTick';
import type { WorkflowSettings } from '../../functions/chain/settings';
import { LAMBDA_HANDLERS } from '../../functions/shared/lambdaHandlers';
import { renderDefinition } from '../../statemachine/render';
import type { FakeAws } from '../fakeAws';
import {
  LocalMachine,
  type ExecutionInput,
  type ExecutionRecord,
  type HandlerAnswer,
  type InvocationRecord,
  type MachineHost,
  type MachineSpec,
} from './localMachine';
import { PendingIo, trackedClient } from './pendingIo';
import type { Scheduler, SchedulerOptions } from './scheduler';
import { installSimulatedClock, type SimulatedClock } from './simulatedClock';

/** The export tick handler: the event the definition builds in, `{ next, wakeAt, summary }` out. */
export type TickHandler = (event: ExportTickEvent) => Promise<unknown>;

/** Anything with the AWS SDK v3 client `send` method (the export tick's own client type). */
export type SendClient = CommandSender;

/** The clients the export tick takes. */
export type TickClients = ExportTickClients;

export type { ExecutionInput, ExecutionRecord, InvocationRecord, JsonValue } from './localMachine';
export type { MachineSpec } from './localMachine';
export { LocalMachine } from './localMachine';

/** What a tick answered, as far as the runner's records go (stand-in handlers may answer less). */
export type TickAnswer = HandlerAnswer;

export interface LocalRunOptions {
  settings: WorkflowSettings;
  /** Builds the handler from the (wrapped) clients; called once per run. */
  createHandler: (clients: TickClients, settings: WorkflowSettings) => TickHandler;
  /** The offline account; its clients are used unless `clients` overrides some of them. */
  aws?: FakeAws;
  /** Replaces individual clients, e.g. a real S3Client against a local S3 server. */
  clients?: Partial<TickClients>;
  /** Simulated start time. */
  start: number | string | Date;
  scheduler?: SchedulerOptions;
  /** ARN given to the Lambda tasks. @default a fake ARN in the fake account */
  functionArn?: string;
  stateMachineName?: string;
  /** Lambda's timeout; an invocation running longer fails with `Sandbox.Timedout`. @default from LAMBDA_HANDLERS */
  lambdaTimeoutSeconds?: number;
  /** Lambda's memory size; an invocation growing past it fails with `Runtime.OutOfMemory`. @default from LAMBDA_HANDLERS */
  lambdaMemorySizeMb?: number;
  /** Called at most once per simulated hour while running. */
  onProgress?: (progress: RunProgress) => void;
  /** The deployed roles of the export chain's state machine and schedule (see `MachineSpec.access`). */
  access?: MachineSpec['access'];
}

export interface RunProgress {
  /** Simulated time, epoch ms. */
  now: number;
  start: number;
  /** Target of the current `runUntil`, epoch ms. */
  until: number;
  executions: number;
  invocations: number;
}

export interface RunReport {
  start: number;
  now: number;
  executions: ExecutionRecord[];
  invocations: InvocationRecord[];
  transitions: number;
  /** AWS calls per action, when running against the fakes. */
  awsCalls?: Record<string, number>;
  /** Published SNS messages, parsed as JSON when possible. */
  notifications?: ReturnType<FakeAws['sns']['json']>;
  /** SSM parameters at the end. */
  parameters?: Record<string, string>;
  /** Keys under `<prefix>/chain/` in the export bucket, sorted. */
  chainKeys?: string[];
}

type Interpreter = typeof import('aws-local-stepfunctions');

/** The export tick's deployed configuration (timeout, memory size). */
const EXPORT_TICK = (() => {
  const spec = LAMBDA_HANDLERS.find((h) => h.name === 'export-tick');
  if (!spec) throw new Error('functions/shared/lambdaHandlers.ts: no export-tick function');
  return spec;
})();

export class LocalRun implements MachineHost {
  readonly clients: TickClients;
  readonly start: number;
  /** The export chain's state machine. */
  readonly primary: LocalMachine;
  /** Every machine on this clock, the export chain first. */
  readonly machines: LocalMachine[] = [];
  readonly account: string;
  readonly region: string;
  private readonly running = new Set<Promise<void>>();
  /** The I/O and held clocks the clock waits for (sim/machines/pendingIo.ts). */
  private readonly io = new PendingIo();
  private lastProgressHour = -1;
  private until = 0;
  private disposed = false;

  private constructor(
    readonly options: LocalRunOptions,
    readonly clock: SimulatedClock,
    readonly interpreter: Interpreter,
  ) {
    this.start = clock.now;
    this.region = options.aws?.region ?? 'eu-west-1';
    this.account = options.aws?.account ?? '123456789012';
    const functionArn =
      options.functionArn ??
      `arn:aws:lambda:${this.region}:${this.account}:function:${options.settings.alias}-export-tick`;
    const base: Partial<TickClients> = options.aws
      ? { dynamodb: options.aws.dynamodb, ssm: options.aws.ssm, s3: options.aws.s3, sns: options.aws.sns }
      : {};
    const merged = { ...base, ...options.clients } as TickClients;
    for (const k of ['dynamodb', 'ssm', 's3', 'sns'] as const) {
      if (!merged[k]) throw new Error(`LocalRun: no ${k} client (pass aws or clients.${k})`);
    }
    this.clients = {
      dynamodb: this.track(merged.dynamodb),
      ssm: this.track(merged.ssm),
      s3: this.track(merged.s3),
      sns: this.track(merged.sns),
    };
    this.primary = this.addMachine({
      name: options.stateMachineName ?? `${options.settings.alias}-export-chain`,
      // The rendered template is Amazon States Language, which the interpreter validates.
      definition: renderDefinition({ TickFunctionArn: functionArn }),
      functionArn,
      handler: options.createHandler(this.clients, options.settings),
      lambdaTimeoutSeconds: options.lambdaTimeoutSeconds ?? EXPORT_TICK.timeoutSeconds,
      memorySizeMb: options.lambdaMemorySizeMb ?? EXPORT_TICK.memorySizeMb,
      schedulePeriodMinutes: options.settings.schedulePeriodMinutes,
      scheduler: options.scheduler,
      access: options.access,
    });
  }

  /**
   * Installs the simulated clock (globally: the handler reads Date.now and sleeps with setTimeout),
   * loads the interpreter and starts the export chain's scheduler. Call `dispose()` when done.
   */
  static async create(options: LocalRunOptions): Promise<LocalRun> {
    const start = new Date(options.start).getTime();
    if (!Number.isFinite(start)) throw new Error(`LocalRun: invalid start ${String(options.start)}`);
    const clock = installSimulatedClock(start);
    try {
      // Loaded after the clock is installed, as the interpreter reads the global timers.
      const interpreter: Interpreter = await import('aws-local-stepfunctions');
      const run = new LocalRun(options, clock, interpreter);
      run.primary.scheduler.start();
      return run;
    } catch (error) {
      clock.uninstall();
      throw error;
    }
  }

  /**
   * Adds another state machine on this clock (its scheduler is not started: call
   * `machine.scheduler.start()`). Its clients should be wrapped with `track` so the clock waits for
   * their I/O.
   */
  addMachine(spec: MachineSpec): LocalMachine {
    const machine = new LocalMachine(this, spec);
    this.machines.push(machine);
    return machine;
  }

  /** The export chain's executions. */
  get executions(): ExecutionRecord[] {
    return this.primary.executions;
  }

  /** The export tick's invocations. */
  get invocations(): InvocationRecord[] {
    return this.primary.invocations;
  }

  /** The export chain's schedule. */
  get scheduler(): Scheduler {
    return this.primary.scheduler;
  }

  get now(): number {
    return this.clock.now;
  }

  /** Disposed: its clock is uninstalled and nothing on it runs any more. */
  get stopped(): boolean {
    return this.disposed;
  }

  trackExecution(done: Promise<void>): void {
    this.running.add(done);
    void done.finally(() => this.running.delete(done));
  }

  /** Advances simulated time to `target` (epoch ms or ISO), running everything due on the way. */
  async runUntil(target: number | string | Date): Promise<void> {
    const until = new Date(target).getTime();
    this.until = until;
    for (;;) {
      await this.idle();
      this.progress();
      const next = this.clock.nextTimerAt();
      if (next === undefined || next > until) {
        if (this.clock.now < until) await this.clock.tickAsync(until - this.clock.now);
        await this.idle();
        return;
      }
      await this.clock.tickAsync(Math.max(0, next - this.clock.now));
    }
  }

  /** Advances simulated time by `ms`. */
  runFor(ms: number): Promise<void> {
    return this.runUntil(this.clock.now + ms);
  }

  /**
   * Stops the schedulers of `machines` (the export chain by default) and advances until every
   * execution they started so far has ended (or `limitMs` passed). The schedulers stay paused
   * afterwards; `scheduler.resume()` restarts one.
   */
  async drain(limitMs = 24 * 3600_000, machines: LocalMachine[] = [this.primary]): Promise<void> {
    const stop = this.clock.now + limitMs;
    while (machines.some((m) => m.running) && this.clock.now < stop) {
      for (const m of machines) m.scheduler.pause();
      await this.runFor(Math.min(60_000, stop - this.clock.now));
    }
  }

  /**
   * Starts an execution of the export chain now, or at `at` (epoch ms) if given: extra, overlapping
   * executions as a scenario needs them. Returns the record (filled in as the execution runs).
   */
  startExecution(
    input: ExecutionInput,
    options: { at?: number; name?: string; kind?: ExecutionRecord['kind'] } = {},
  ): ExecutionRecord | undefined {
    return this.primary.startExecution(input, options);
  }

  /** Summary of everything observed so far on the export chain. */
  report(): RunReport {
    const aws = this.options.aws;
    const s = this.options.settings;
    const chainPrefix = s.prefix === '' ? 'chain/' : `${s.prefix}/chain/`;
    return {
      start: this.start,
      now: this.clock.now,
      executions: this.executions,
      invocations: this.invocations,
      transitions: this.executions.reduce((n, e) => n + e.transitions, 0),
      awsCalls: aws?.calls.countsByAction(),
      notifications: aws?.sns.json(),
      parameters: aws?.ssm.snapshot(),
      chainKeys: aws?.s3.keys(s.bucket, chainPrefix),
    };
  }

  /** Stops the schedulers, aborts running executions and restores the real clock. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    for (const machine of this.machines) {
      machine.scheduler.pause();
      machine.abortAll();
    }
    await this.idle();
    this.clock.uninstall();
    // Let aborted executions settle on the real clock so nothing is left pending.
    await Promise.race([Promise.allSettled([...this.running]), new Promise((r) => setTimeout(r, 50))]);
  }

  /** Counts `client`'s calls in progress so the clock waits for real I/O (see `trackedClient`). */
  track(client: SendClient): SendClient {
    return trackedClient(this, client);
  }

  ioStarted(label = 'work'): void {
    this.io.started(label);
  }

  ioEnded(label = 'work'): void {
    this.io.ended(label);
  }

  /** The work in progress, named: `GetObjectCommand body ×2, invocation holding the clock`. */
  describeInProgress(): string {
    return this.io.describe();
  }

  // ---- internals ---------------------------------------------------------------------------------

  /** Lets promise chains settle and waits (in real time) for the I/O in progress. */
  private idle(): Promise<void> {
    return this.io.settle();
  }

  private progress(): void {
    if (!this.options.onProgress) return;
    const hour = Math.floor(this.clock.now / 3600_000);
    if (hour === this.lastProgressHour) return;
    this.lastProgressHour = hour;
    this.options.onProgress({
      now: this.clock.now,
      start: this.start,
      until: this.until,
      executions: this.executions.length,
      invocations: this.invocations.length,
    });
  }
}
