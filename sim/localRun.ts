/**
 * Runs the deployed state machine definition locally, on a simulated clock, against the real export
 * tick handler and the offline AWS fakes (or any clients with `send(command)`).
 *
 * - The definition is the one `renderDefinition` produces, run by aws-local-stepfunctions; each Task
 *   whose Resource is `arn:aws:states:::lambda:invoke` is served by the handler, wrapped the way
 *   Lambda's invoke result looks (`{ Payload, StatusCode, ExecutedVersion }`).
 * - Time is the simulated clock of `sim/simulatedClock.ts`, handed to the runner and the scheduler as
 *   an object; it is also installed globally (see there why), so Wait states, Retry back-off and the
 *   handler's own sleeps cost no real time.
 * - A simulated EventBridge Scheduler starts one execution per period (`sim/scheduler.ts`).
 * - The clock only moves when no client call is pending, so a real S3 client talking to a local
 *   server works too: simulated time stands still while real I/O completes.
 */
import './polyfills';
import type { StateMachine, StateMachineDefinition, RunOptions } from 'aws-local-stepfunctions';
import type { CommandSender, ExportTickClients, ExportTickEvent } from '../functions/exportTick';
import type { WorkflowSettings } from '../functions/settings';
import { LAMBDA_HANDLERS } from '../functions/lambdaHandlers';
import { renderDefinition } from '../statemachine/render';
import type { FakeAws } from './fakeAws';
import { Scheduler, type SchedulerOptions } from './scheduler';
import { installSimulatedClock, type SimulatedClock, type SimulatedTimerId } from './simulatedClock';

/** The export tick handler: the event the definition builds in, `{ next, wakeAt, summary }` out. */
export type TickHandler = (event: ExportTickEvent) => Promise<unknown>;

/** Anything with the AWS SDK v3 client `send` method (the export tick's own client type). */
export type SendClient = CommandSender;

/** The clients the export tick takes. */
export type TickClients = ExportTickClients;

/** A JSON value, as executions take and return them. */
export type JsonValue = Parameters<StateMachine['run']>[0];

/** The input of an execution: the scheduler's `{ scheduledTime }`, or what a scenario passes. */
export type ExecutionInput = { scheduledTime?: string } & Record<string, unknown>;

/** What a tick answered, as far as the runner's records go (stand-in handlers may answer less). */
export interface TickAnswer {
  next?: string;
  wakeAt?: string;
  summary?: { outcome?: string } & Record<string, unknown>;
}

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
  /** Called at most once per simulated hour while running. */
  onProgress?: (progress: RunProgress) => void;
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

/** One execution of the state machine. */
export interface ExecutionRecord {
  name: string;
  id: string;
  input: ExecutionInput;
  /** Why it started: a scheduler delivery, a duplicate delivery, or started by the scenario. */
  kind: 'scheduled' | 'duplicate' | 'manual';
  startedAt: number;
  endedAt?: number;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'ABORTED';
  /** Error name for a failed execution (e.g. `ExportTickFailed`). */
  error?: string;
  cause?: string;
  output?: JsonValue;
  /** Billable state transitions: states entered plus retries. */
  transitions: number;
  retries: number;
  statesEntered: Record<string, number>;
  /** States whose Catch caught an error, in order. */
  caught: string[];
  /** Every state failure (before Retry or Catch), with the error name and cause as Step Functions saw them. */
  stateFailures: { state: string; error: string; cause: string }[];
  invocations: number;
}

/** One Lambda invocation. */
export interface InvocationRecord {
  execution: string;
  state: string;
  mode: string;
  /** Simulated start and end, epoch ms. */
  at: number;
  endedAt?: number;
  /** Real wall-clock milliseconds spent in the handler (no network: fakes answer in-process). */
  realMs?: number;
  /** `ok` or the error name. */
  outcome: string;
  result?: TickAnswer | null;
  errorMessage?: string;
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

const LAMBDA_INVOKE = 'arn:aws:states:::lambda:invoke';
const realSetImmediate = globalThis.setImmediate;

type Interpreter = typeof import('aws-local-stepfunctions');

/** How an execution's error looks: the interpreter's error, whose `cause` is the state's error. */
interface ErrorLike {
  name?: string;
  message?: string;
  cause?: unknown;
}

/** The fields of a Lambda task's parameters the runner reads. */
interface LambdaInvokeParameters {
  FunctionName?: unknown;
  Payload?: unknown;
}

export class LocalRun {
  readonly executions: ExecutionRecord[] = [];
  readonly invocations: InvocationRecord[] = [];
  readonly scheduler: Scheduler;
  readonly clients: TickClients;
  readonly start: number;
  private readonly handler: TickHandler;
  private readonly lambdaStates: string[];
  private readonly functionArn: string;
  private readonly stateMachineArn: string;
  private readonly aborts = new Set<() => void>();
  private readonly running = new Set<Promise<void>>();
  private pendingIo = 0;
  /** Resolved (and cleared) when `pendingIo` drops to zero: `idle()` sleeps on it instead of spinning. */
  private ioDrained: { promise: Promise<void>; resolve: () => void } | undefined;
  private lastProgressHour = -1;
  private until = 0;
  private disposed = false;
  private executionCounter = 0;

  private constructor(
    readonly options: LocalRunOptions,
    readonly clock: SimulatedClock,
    private readonly machine: StateMachine,
    definition: StateMachineDefinition,
  ) {
    this.start = clock.now;
    const region = options.aws?.region ?? 'eu-west-1';
    const account = options.aws?.account ?? '123456789012';
    const smName = options.stateMachineName ?? `${options.settings.alias}-export-chain`;
    this.functionArn =
      options.functionArn ??
      `arn:aws:lambda:${region}:${account}:function:${options.settings.alias}-export-tick`;
    this.stateMachineArn = `arn:aws:states:${region}:${account}:stateMachine:${smName}`;
    this.lambdaStates = Object.entries(definition.States)
      .filter(([, s]) => s.Type === 'Task' && 'Resource' in s && s.Resource === LAMBDA_INVOKE)
      .map(([name]) => name);
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
    this.handler = options.createHandler(this.clients, options.settings);
    this.scheduler = new Scheduler(
      clock,
      options.scheduler ?? {},
      options.settings.schedulePeriodMinutes,
      this.start,
      (input, kind) => this.startExecution(input, { kind }),
    );
  }

  /**
   * Installs the simulated clock (globally: the handler reads Date.now and sleeps with setTimeout),
   * loads the interpreter and starts the scheduler. Call `dispose()` when done.
   */
  static async create(options: LocalRunOptions): Promise<LocalRun> {
    const start = new Date(options.start).getTime();
    if (!Number.isFinite(start)) throw new Error(`LocalRun: invalid start ${String(options.start)}`);
    const clock = installSimulatedClock(start);
    try {
      // Loaded after the clock is installed, as the interpreter reads the global timers.
      const interpreter: Interpreter = await import('aws-local-stepfunctions');
      // The rendered template is Amazon States Language, which the interpreter validates.
      const definition = renderDefinition({
        TickFunctionArn:
          options.functionArn ??
          `arn:aws:lambda:${options.aws?.region ?? 'eu-west-1'}:${options.aws?.account ?? '123456789012'}:function:${options.settings.alias}-export-tick`,
      }) as unknown as StateMachineDefinition;
      // Validated once here; each execution reuses the machine (validation costs ~200 ms).
      const machine = new interpreter.StateMachine(definition);
      const run = new LocalRun(options, clock, machine, definition);
      run.scheduler.start();
      return run;
    } catch (error) {
      clock.uninstall();
      throw error;
    }
  }

  get now(): number {
    return this.clock.now;
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
   * Stops the scheduler and advances until every execution started so far has ended (or `limitMs`
   * passed). The scheduler stays paused afterwards; `scheduler.resume()` restarts it.
   */
  async drain(limitMs = 24 * 3600_000): Promise<void> {
    const stop = this.clock.now + limitMs;
    while (this.executions.some((e) => e.status === 'RUNNING') && this.clock.now < stop) {
      this.scheduler.pause();
      await this.runFor(Math.min(60_000, stop - this.clock.now));
    }
  }

  /**
   * Starts an execution now, or at `at` (epoch ms) if given: extra, overlapping executions as a
   * scenario needs them. Returns the record (filled in as the execution runs).
   */
  startExecution(
    input: ExecutionInput,
    options: { at?: number; name?: string; kind?: ExecutionRecord['kind'] } = {},
  ): ExecutionRecord | undefined {
    if (options.at !== undefined && options.at > this.clock.now) {
      this.clock.setTimeout(
        () => this.startExecution(input, { ...options, at: undefined }),
        options.at - this.clock.now,
      );
      return undefined;
    }
    this.executionCounter += 1;
    const name = options.name ?? `exec-${String(this.executionCounter).padStart(6, '0')}`;
    const id = `${this.stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
    const record: ExecutionRecord = {
      name,
      id,
      input,
      kind: options.kind ?? 'manual',
      startedAt: this.clock.now,
      status: 'RUNNING',
      transitions: 0,
      retries: 0,
      statesEntered: {},
      caught: [],
      stateFailures: [],
      invocations: 0,
    };
    this.executions.push(record);
    const localHandlers: Record<string, (params: JsonValue) => Promise<JsonValue>> = {};
    for (const state of this.lambdaStates)
      localHandlers[state] = (params) => this.invoke(record, state, params);
    // An object of JSON values (properties left undefined are dropped, as in JSON).
    const execution = this.machine.run(input as JsonValue, {
      overrides: { taskResourceLocalHandlers: localHandlers },
      // AWS fills the context object; the interpreter only sets Input and StartTime itself.
      context: {
        Execution: {
          Id: id,
          Name: name,
          Input: input as JsonValue,
          StartTime: new Date(this.clock.now).toISOString(),
          RoleArn: `arn:aws:iam::${this.options.aws?.account ?? '123456789012'}:role/${this.options.settings.alias}-states`,
        },
        StateMachine: { Id: this.stateMachineArn, Name: this.stateMachineArn.split(':').pop() },
      } satisfies RunOptions['context'],
      noThrowOnAbort: true,
    });
    this.aborts.add(execution.abort);
    const done = (async () => {
      try {
        const output = await execution.result;
        if (record.status === 'RUNNING') {
          record.status = output === null ? 'ABORTED' : 'SUCCEEDED';
          record.output = output;
        }
      } catch (error) {
        record.status = 'FAILED';
        const cause = ((error as ErrorLike | undefined)?.cause ?? error) as ErrorLike | undefined;
        record.error = cause?.name ?? 'Error';
        // The state's cause: the Lambda error's JSON text, or the message of another error.
        record.cause = (cause?.cause ?? cause?.message) as string | undefined;
      } finally {
        record.endedAt = this.clock.now;
        this.aborts.delete(execution.abort);
      }
      for await (const event of execution.eventLogs) {
        if (event.type === 'StateEntered') {
          record.transitions += 1;
          record.statesEntered[event.state.name] = (record.statesEntered[event.state.name] ?? 0) + 1;
        } else if (event.type === 'StateRetried') {
          record.transitions += 1;
          record.retries += 1;
        } else if (event.type === 'StateFailed') {
          record.stateFailures.push({
            state: event.state.name,
            error: event.Error,
            cause: String(event.Cause),
          });
        } else if (event.type === 'StateCaught') {
          record.caught.push(event.state.name);
        }
      }
    })();
    this.running.add(done);
    void done.finally(() => this.running.delete(done));
    return record;
  }

  /** Summary of everything observed so far. */
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

  /** Stops the scheduler, aborts running executions and restores the real clock. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.scheduler.pause();
    for (const abort of [...this.aborts]) abort();
    await this.idle();
    this.clock.uninstall();
    // Let aborted executions settle on the real clock so nothing is left pending.
    await Promise.race([Promise.allSettled([...this.running]), new Promise((r) => setTimeout(r, 50))]);
  }

  // ---- internals ---------------------------------------------------------------------------------

  /** Serves one Lambda task the way `lambda:invoke` does. */
  private async invoke(record: ExecutionRecord, state: string, input: JsonValue): Promise<JsonValue> {
    const params = (input ?? {}) as LambdaInvokeParameters;
    if (params.FunctionName !== this.functionArn) {
      const error = new Error(`Function not found: ${String(params.FunctionName)}`);
      error.name = 'Lambda.ResourceNotFoundException';
      throw error;
    }
    record.invocations += 1;
    // Lambda serialises the event and the result as JSON. The event is what the definition builds.
    const event = JSON.parse(JSON.stringify(params.Payload ?? {})) as ExportTickEvent;
    const inv: InvocationRecord = {
      execution: record.name,
      state,
      mode: String(event.mode ?? ''),
      at: this.clock.now,
      outcome: 'ok',
    };
    this.invocations.push(inv);
    const timeoutSeconds =
      this.options.lambdaTimeoutSeconds ??
      LAMBDA_HANDLERS.find((h) => h.name === 'export-tick')?.timeoutSeconds ??
      120;
    const realStart = performance.now();
    let timer: SimulatedTimerId | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = this.clock.setTimeout(() => {
          const error = new Error(`Task timed out after ${timeoutSeconds.toFixed(2)} seconds`);
          error.name = 'Sandbox.Timedout';
          reject(error);
        }, timeoutSeconds * 1000);
      });
      const result = await Promise.race([this.handler(event), timeout]);
      const payload = JSON.parse(JSON.stringify(result ?? null)) as JsonValue;
      inv.result = payload as TickAnswer | null;
      return { ExecutedVersion: '$LATEST', Payload: payload, StatusCode: 200 };
    } catch (error) {
      const e = error as Error;
      inv.outcome = e?.name ?? 'Error';
      inv.errorMessage = e?.message;
      // Step Functions sees the function error as Error = errorType and Cause = Lambda's JSON error.
      const mapped = new Error(
        JSON.stringify({ errorType: inv.outcome, errorMessage: e?.message ?? String(error), trace: [] }),
      );
      mapped.name = inv.outcome;
      throw mapped;
    } finally {
      if (timer !== undefined) this.clock.clearTimeout(timer);
      inv.endedAt = this.clock.now;
      inv.realMs = performance.now() - realStart;
    }
  }

  /** Counts client calls in progress so the clock waits for real I/O. */
  private track(client: SendClient): SendClient {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const run = this;
    return {
      async send(command) {
        run.pendingIo += 1;
        try {
          return await client.send(command);
        } finally {
          run.pendingIo -= 1;
          if (run.pendingIo === 0 && run.ioDrained) {
            const drained = run.ioDrained;
            run.ioDrained = undefined;
            drained.resolve();
          }
        }
      },
    };
  }

  /**
   * Lets promise chains settle and waits (in real time) for pending client calls. While calls are
   * pending it sleeps until the last one settles rather than polling with setImmediate: polling kept
   * this process busy at 100% of a core, competing with the local servers for the CPU.
   */
  private async idle(): Promise<void> {
    for (let i = 0; i < 3 || this.pendingIo > 0; i++) {
      if (this.pendingIo > 0) {
        if (!this.ioDrained) {
          let resolve!: () => void;
          const promise = new Promise<void>((r) => (resolve = r));
          this.ioDrained = { promise, resolve };
        }
        await this.ioDrained.promise;
        // Settle again from scratch: the responses resume promise chains that may start more calls.
        i = -1;
        continue;
      }
      await new Promise((resolve) => realSetImmediate(resolve));
    }
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
