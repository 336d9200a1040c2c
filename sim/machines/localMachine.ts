/**
 * One deployed state machine and its Lambda function, run locally by aws-local-stepfunctions on the
 * simulated clock of a host (`sim/machines/localRun.ts`), with its own EventBridge Scheduler schedule.
 *
 * - Each Task whose Resource is `arn:aws:states:::lambda:invoke` is served by the machine's handler,
 *   wrapped the way Lambda's invoke result looks (`{ Payload, StatusCode, ExecutedVersion }`), under
 *   the function's limits (`sim/machines/lambdaSandbox.ts`: timeout, memory size, 6 MB payloads).
 * - A Task of another service integration (the Iceberg feed's `athena:startQueryExecution.sync`) is
 *   served by the stand-in the spec names for its Resource (`sim/machines/serviceTasks.ts`), IAM first.
 * - A Distributed Map (which the interpreter does not run) is emulated by `sim/machines/distributedMap.ts`:
 *   its item reader reads the host's S3, and its children run the definition's own ItemProcessor;
 *   an Express child running past 5 minutes fails with `States.Timeout`.
 * - Every execution, children included, runs under the Step Functions limits
 *   (`sim/machines/executionLimits.ts`: 256 KiB state input and output, 25,000 history events for Standard);
 *   a Lambda task's parameters and result over 256 KiB fail with `States.DataLimitExceeded` too.
 * - Several machines share one host: the export chain and a replica's apply workflow run side by side
 *   on the same clock.
 */
import type { StateMachine, StateMachineDefinition, RunOptions } from 'aws-local-stepfunctions';
import { LAMBDA_HANDLERS, REPLICA_APPLY_HANDLER } from '../../functions/shared/lambdaHandlers';
import type { IamRequest } from '../iam/requests';
import { authorizeMachineCall, type MachineAccess, type MachineCall } from './machineAccess';
import { runServiceTask, serviceTaskStates, type JsonValue, type ServiceTask } from './serviceTasks';
import {
  localDistributedMaps,
  runDistributedMap,
  type ChildRun,
  type DistributedMapState,
} from './distributedMap';
import { ExecutionLimits, runWithLimits, type ExecutionType } from './executionLimits';
import {
  countEvents,
  freshCounts,
  type ExecutionInput,
  type ExecutionRecord,
  type HandlerAnswer,
  type InvocationRecord,
} from './executionRecords';
import { invokeLambdaTask, type LambdaTaskContext } from './lambdaTask';
import { EXPRESS_MAX_DURATION_MS, EXPRESS_TIMEOUT, LAMBDA_DEFAULT_MEMORY_MB } from '../limits';
import { Scheduler, type SchedulerOptions } from './scheduler';
import type { SimulatedClock } from './simulatedClock';

export { simulatedSleep } from './lambdaSandbox';

/** A JSON value, as executions take and return them. */
export type { JsonValue } from './serviceTasks';
export type { ExecutionInput, ExecutionRecord, HandlerAnswer, InvocationRecord };

/** A Lambda handler: the event the definition builds in, its result out. */
export type MachineHandler = (event: never) => Promise<unknown>;

/** What a machine needs from the host it runs on. */
export interface MachineHost {
  readonly clock: SimulatedClock;
  readonly interpreter: typeof import('aws-local-stepfunctions');
  readonly account: string;
  readonly region: string;
  /** Registers an execution's completion, so the host can wait for it when disposing. */
  trackExecution(done: Promise<void>): void;
  /** Work in progress that the clock must wait for (counted like a pending client call). */
  ioStarted(label?: string): void;
  ioEnded(label?: string): void;
  /** The host has been disposed (see `SandboxHost.stopped`). */
  readonly stopped?: boolean;
}

export interface MachineSpec {
  /** The state machine's name (its ARN ends with it). */
  name: string;
  /** The rendered definition, as it deploys. */
  definition: Record<string, unknown>;
  /** The one Lambda function its tasks invoke; another FunctionName fails as in AWS. */
  functionArn: string;
  handler: MachineHandler;
  lambdaTimeoutSeconds: number;
  /**
   * The function's memory size: an invocation whose heap grows past it fails with
   * `Runtime.OutOfMemory`. @default the deployed value of the function the ARN names (functions/shared/lambdaHandlers.ts)
   */
  memorySizeMb?: number;
  /** Real seconds a handler holding the clock may work before it times out (see `LambdaLimits`). @default min(timeout, 60) */
  lambdaRealTimeLimitSeconds?: number;
  /** The state machine's type. @default STANDARD */
  type?: ExecutionType;
  /** Period of its schedule, and how deliveries go. */
  schedulePeriodMinutes: number;
  scheduler?: SchedulerOptions;
  /**
   * The clock waits while an invocation runs, except while the handler sleeps through
   * `simulatedSleep`. Without it the clock moves on whenever no client call is pending, also while
   * the handler decompresses or parses what it read (work the runner cannot see). A handler that
   * holds the clock must do all its waiting through `simulatedSleep`. @default false
   */
  holdClockWhileRunning?: boolean;
  /** Reads an S3 object as text, for Distributed Map item readers (the state machine's own S3 access). */
  readObject?: (bucket: string, key: string) => Promise<string>;
  /**
   * The deployed roles of the state machine and its schedule: invoking the function, starting
   * Distributed Map children and the schedule's StartExecution are evaluated against them.
   */
  access?: MachineAccess;
  /** Stand-ins for the definition's other service integrations, by Task `Resource`. */
  serviceTasks?: Record<string, ServiceTask>;
}

const LAMBDA_INVOKE = 'arn:aws:states:::lambda:invoke';

/** How an execution's error looks: the interpreter's error, whose `cause` is the state's error. */
interface ErrorLike {
  name?: string;
  message?: string;
  cause?: unknown;
}

type LocalHandlers = Record<string, (params: JsonValue) => Promise<JsonValue>>;

/**
 * The deployed memory size of the function an ARN names (`<prefix>-<handler name>`, as the
 * component names functions), else the project's default.
 */
export function deployedMemorySizeMb(functionArn: string): number {
  const name = functionArn.split(':function:')[1]?.split(':')[0] ?? '';
  const spec = [...LAMBDA_HANDLERS, REPLICA_APPLY_HANDLER].find(
    (h) => name === h.name || name.endsWith(`-${h.name}`),
  );
  return spec?.memorySizeMb ?? LAMBDA_DEFAULT_MEMORY_MB;
}

/** Names of the Lambda task states among `states`. */
function lambdaTaskStates(states: Record<string, Record<string, unknown>>): string[] {
  return Object.entries(states)
    .filter(([, s]) => s.Type === 'Task' && s.Resource === LAMBDA_INVOKE)
    .map(([name]) => name);
}

/** DescribeExecution over one machine's execution records, answered as Step Functions does. */
function describeExecutionClient(
  executions: readonly ExecutionRecord[],
  stateMachineArn: string,
): { send(command: { input: object }): Promise<unknown> } {
  return {
    send: async (command) => {
      const arn = (command.input as { executionArn?: string }).executionArn;
      const record = executions.find((e) => e.id === arn);
      if (!record) {
        const error = new Error(`Execution Does Not Exist: '${String(arn)}'`);
        error.name = 'ExecutionDoesNotExist';
        throw error;
      }
      return {
        executionArn: record.id,
        stateMachineArn,
        name: record.name,
        status: record.status === 'ABORTED' ? 'ABORTED' : record.status,
        startDate: new Date(record.startedAt),
        ...(record.endedAt !== undefined && record.status !== 'RUNNING'
          ? { stopDate: new Date(record.endedAt) }
          : {}),
      };
    },
  };
}

export class LocalMachine {
  readonly executions: ExecutionRecord[] = [];
  readonly invocations: InvocationRecord[] = [];
  readonly scheduler: Scheduler;
  readonly arn: string;
  private readonly machine: StateMachine;
  private readonly lambdaStates: string[];
  private readonly serviceStates: [string, ServiceTask][];
  private readonly maps: Map<string, DistributedMapState>;
  private readonly aborts = new Set<() => void>();
  private executionCounter = 0;
  private readonly memorySizeMb: number;

  constructor(
    private readonly host: MachineHost,
    readonly spec: MachineSpec,
  ) {
    this.arn = `arn:aws:states:${host.region}:${host.account}:stateMachine:${spec.name}`;
    this.memorySizeMb = spec.memorySizeMb ?? deployedMemorySizeMb(spec.functionArn);
    const { definition, maps } = localDistributedMaps(spec.definition);
    this.maps = maps;
    this.lambdaStates = lambdaTaskStates(definition.States as Record<string, Record<string, unknown>>);
    this.serviceStates = serviceTaskStates(
      definition.States as Record<string, Record<string, unknown>>,
      spec.serviceTasks,
    );
    // Validated once here; each execution reuses the machine (validation costs ~200 ms).
    this.machine = new host.interpreter.StateMachine(definition as unknown as StateMachineDefinition);
    this.scheduler = new Scheduler(
      host.clock,
      spec.scheduler ?? {},
      spec.schedulePeriodMinutes,
      host.clock.now,
      (input, kind) => void this.scheduledStart(input, kind),
    );
  }

  /**
   * Answers DescribeExecution for this machine's executions, as Step Functions does: a client with
   * `send` for the code under test (an unknown ARN fails with ExecutionDoesNotExist).
   */
  statesClient(): { send(command: { input: object }): Promise<unknown> } {
    return describeExecutionClient(this.executions, this.arn);
  }

  get running(): boolean {
    return this.executions.some((e) => e.status === 'RUNNING');
  }

  /** Aborts every running execution (as a `StopExecution` would). */
  abortAll(): void {
    for (const abort of [...this.aborts]) abort();
  }

  /**
   * Starts an execution now, or at `at` (epoch ms) if given. Returns the record (filled in as the
   * execution runs), or undefined when it starts later.
   */
  startExecution(
    input: ExecutionInput,
    options: { at?: number; name?: string; kind?: ExecutionRecord['kind'] } = {},
  ): ExecutionRecord | undefined {
    const clock = this.host.clock;
    if (options.at !== undefined && options.at > clock.now) {
      clock.setTimeout(
        () => this.startExecution(input, { ...options, at: undefined }),
        options.at - clock.now,
      );
      return undefined;
    }
    this.executionCounter += 1;
    const name = options.name ?? `exec-${String(this.executionCounter).padStart(6, '0')}`;
    const id = `${this.arn.replace(':stateMachine:', ':execution:')}:${name}`;
    const record: ExecutionRecord = {
      name,
      id,
      input,
      kind: options.kind ?? 'manual',
      startedAt: clock.now,
      status: 'RUNNING',
      ...freshCounts(),
    };
    this.executions.push(record);
    const localHandlers: LocalHandlers = {};
    for (const state of this.lambdaStates)
      localHandlers[state] = (params) => this.invoke(record, state, params);
    for (const [state, task] of this.serviceStates)
      localHandlers[state] = (params) => runServiceTask(this.host, this.spec.access, state, task, params);
    for (const [state, map] of this.maps) {
      localHandlers[state] = async (mapInput) =>
        (await runDistributedMap(map, mapInput, {
          executionId: id,
          readObject: this.requireReader(state),
          runChild: (childInput, childName) => this.runChild(record, map, childInput, childName),
        })) as JsonValue;
    }
    const limits = new ExecutionLimits(this.spec.type ?? 'STANDARD');
    const execution = runWithLimits(
      this.machine,
      input as JsonValue,
      {
        overrides: { taskResourceLocalHandlers: localHandlers },
        // AWS fills the context object; the interpreter only sets Input and StartTime itself.
        context: {
          Execution: {
            Id: id,
            Name: name,
            Input: input as JsonValue,
            StartTime: new Date(clock.now).toISOString(),
            RoleArn: `arn:aws:iam::${this.host.account}:role/${this.spec.name}-states`,
          },
          StateMachine: { Id: this.arn, Name: this.spec.name },
        } satisfies RunOptions['context'],
        noThrowOnAbort: true,
      },
      limits,
    );
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
        record.endedAt = clock.now;
        this.aborts.delete(execution.abort);
      }
      await countEvents(execution.eventLogs, record);
      record.historyEvents = limits.historyEvents;
    })();
    this.host.trackExecution(done);
    return record;
  }

  private requireReader(state: string): (bucket: string, key: string) => Promise<string> {
    const read = this.spec.readObject;
    if (!read) {
      return async () => {
        throw new Error(
          `state ${state} reads items from S3, but the machine ${this.spec.name} has no S3 reader`,
        );
      };
    }
    return read;
  }

  /**
   * IAM's decision on one of the machine's own calls. It counts as work in progress, like a client
   * call: the evaluator may read its data asynchronously, and the clock must not move meanwhile.
   */
  private async authorize(call: MachineCall, request: IamRequest): Promise<void> {
    this.host.ioStarted(`IAM ${call}`);
    try {
      await authorizeMachineCall(this.spec.access, call, request);
    } finally {
      this.host.ioEnded(`IAM ${call}`);
    }
  }

  /** A delivery of the schedule: started only if the scheduler's role may start this state machine. */
  private async scheduledStart(input: ExecutionInput, kind: ExecutionRecord['kind']): Promise<void> {
    try {
      await this.authorize('scheduledStart', {
        action: 'states:StartExecution',
        resource: this.arn,
      });
      this.startExecution(input, { kind });
    } catch {
      // The evaluator recorded the denial; the delivery starts nothing, as Scheduler drops it.
    }
  }

  private async runChild(
    parent: ExecutionRecord,
    map: DistributedMapState,
    input: unknown,
    childName: string,
  ): Promise<ChildRun> {
    parent.children.executions += 1;
    try {
      await this.authorize('startChild', {
        action: 'states:StartExecution',
        resource: this.arn,
      });
    } catch (error) {
      parent.children.failed += 1;
      return { ok: false, error: (error as Error).name, cause: (error as Error).message };
    }
    const child: ExecutionRecord = {
      ...parent,
      name: `${parent.name}/${childName}`,
      ...freshCounts(),
    };
    const localHandlers: LocalHandlers = {};
    for (const state of lambdaTaskStates(map.processor.States))
      localHandlers[state] = (params) => this.invoke(parent, state, params, child.name);
    const clock = this.host.clock;
    const limits = new ExecutionLimits(map.executionType);
    const execution = runWithLimits(
      map.machine(this.host.interpreter),
      input as JsonValue,
      {
        overrides: { taskResourceLocalHandlers: localHandlers },
        context: {
          Execution: {
            Id: `${parent.id}/${childName}`,
            Name: childName,
            Input: input as JsonValue,
            StartTime: new Date(clock.now).toISOString(),
          },
        },
      },
      limits,
    );
    // An Express child ends at 5 minutes (TIMED_OUT); a Lambda invocation it started runs on, as in AWS.
    let timedOut = false;
    const expressTimer =
      map.executionType === 'EXPRESS'
        ? clock.setTimeout(() => {
            timedOut = true;
            execution.abort();
          }, EXPRESS_MAX_DURATION_MS)
        : undefined;
    try {
      return { ok: true, output: await execution.result };
    } catch (error) {
      parent.children.failed += 1;
      if (timedOut) return { ok: false, ...EXPRESS_TIMEOUT };
      const cause = ((error as ErrorLike | undefined)?.cause ?? error) as ErrorLike | undefined;
      return {
        ok: false,
        error: cause?.name ?? 'Error',
        cause: String(cause?.cause ?? cause?.message ?? ''),
      };
    } finally {
      if (expressTimer !== undefined) clock.clearTimeout(expressTimer);
      await countEvents(execution.eventLogs, child);
      child.historyEvents = limits.historyEvents;
      parent.children.transitions += child.transitions;
    }
  }

  /** Serves one Lambda task (`sim/machines/lambdaTask.ts`). */
  private invoke(
    record: ExecutionRecord,
    state: string,
    input: JsonValue,
    executionName = record.name,
  ): Promise<JsonValue> {
    const task: LambdaTaskContext = {
      host: this.host,
      spec: this.spec,
      memorySizeMb: this.memorySizeMb,
      invocations: this.invocations,
      authorize: (call, request) => this.authorize(call, request),
    };
    return invokeLambdaTask(task, record, state, input, executionName);
  }
}
