/**
 * What every fake service shares: dispatch on the SDK command class name, a call log tests can count,
 * and transient fault injection per command.
 */
import type {
  $Command,
  DescribeContinuousBackupsCommandInput,
  DescribeExportCommandInput,
  ExportTableToPointInTimeCommandInput,
  __MetadataBearer,
} from '@aws-sdk/client-dynamodb';
import type {
  DeleteObjectCommandInput,
  GetObjectCommandInput,
  HeadObjectCommandInput,
  ListObjectsV2CommandInput,
  PutObjectCommandInput,
} from '@aws-sdk/client-s3';
import type { PublishCommandInput } from '@aws-sdk/client-sns';
import type {
  DeleteParameterCommandInput,
  GetParameterCommandInput,
  GetParametersCommandInput,
  PutParameterCommandInput,
} from '@aws-sdk/client-ssm';
import { serviceError, transientError, type TransientFault } from './errors';

/** The input type of each action the fakes implement, so call records of one action are typed. */
export interface FakeActionInputs {
  DescribeContinuousBackups: DescribeContinuousBackupsCommandInput;
  ExportTableToPointInTime: ExportTableToPointInTimeCommandInput;
  DescribeExport: DescribeExportCommandInput;
  GetParameters: GetParametersCommandInput;
  GetParameter: GetParameterCommandInput;
  PutParameter: PutParameterCommandInput;
  DeleteParameter: DeleteParameterCommandInput;
  PutObject: PutObjectCommandInput;
  GetObject: GetObjectCommandInput;
  HeadObject: HeadObjectCommandInput;
  ListObjectsV2: ListObjectsV2CommandInput;
  DeleteObject: DeleteObjectCommandInput;
  Publish: PublishCommandInput;
}

export type FakeAction = keyof FakeActionInputs;

/** One recorded call; `I` is the input type of its action when the action is known. */
export interface CallRecord<I = unknown> {
  service: string;
  /** Action name without the `Command` suffix, e.g. `DescribeExport`. */
  action: string;
  /**
   * A deep copy of `command.input` at the time of the call (byte arrays are replaced by a
   * `<n bytes>` placeholder).
   */
  input: I;
  /** Simulated time of the call, epoch milliseconds. */
  at: number;
  /** `ok`, or the name of the error thrown. */
  outcome: string;
  /** The error was injected by a fault rule rather than produced by the service's rules. */
  injected: boolean;
}

/** A shared, append-only log of calls across all fake services. */
export class CallLog {
  readonly records: CallRecord[] = [];

  add(record: CallRecord): void {
    this.records.push(record);
  }

  /** Calls of one action (with or without the `Command` suffix), optionally filtered. */
  of<A extends FakeAction>(
    action: A | `${A}Command`,
    filter?: (record: CallRecord<FakeActionInputs[A]>) => boolean,
  ): CallRecord<FakeActionInputs[A]>[];
  of(action: string, filter?: (record: CallRecord) => boolean): CallRecord[];
  of(action: string, filter: (record: CallRecord) => boolean = () => true): CallRecord[] {
    const name = stripCommand(action);
    return this.records.filter((r) => r.action === name && filter(r));
  }

  /** Number of calls per action. */
  countsByAction(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const r of this.records) counts[r.action] = (counts[r.action] ?? 0) + 1;
    return counts;
  }
}

/** A transient fault rule: the next `times` calls of `command` fail with `error`. */
export interface FaultRule {
  /** Action or command class name: `DescribeExport` or `DescribeExportCommand`. */
  command: string;
  /** The error to throw; a list is cycled through, one per failing call. */
  error: TransientFault | readonly TransientFault[];
  /** How many calls fail; `Infinity` for "until cleared". @default 1 */
  times?: number;
  /** Only calls whose input matches fail. */
  when?: (input: unknown) => boolean;
}

export function stripCommand(name: string): string {
  return name.endsWith('Command') ? name.slice(0, -'Command'.length) : name;
}

/** Shared clock source of the fakes; they read the (possibly simulated) global clock by default. */
export type NowFn = () => number;

/**
 * A fake of one AWS service, typed as that service's SDK client: `SI` and `SO` are the client's
 * `ServiceInputTypes` and `ServiceOutputTypes`, so a fake can stand wherever `Pick<XClient, 'send'>`
 * is taken and its answers are typed by the command.
 */
export abstract class FakeService<SI extends object, SO extends __MetadataBearer> {
  private readonly faults: (FaultRule & { remaining: number; used: number })[] = [];

  protected constructor(
    readonly serviceName: string,
    protected readonly log: CallLog,
    protected readonly now: NowFn,
  ) {}

  /** Action name -> implementation, each taking its command's SDK input type. */
  protected abstract readonly handlers: Readonly<Record<string, (input: never) => unknown>>;

  /** The SDK v3 client method: `client.send(new SomeCommand(input))`. */
  async send<I extends SI, O extends SO>(command: $Command<I, O, unknown, SI, SO>): Promise<O> {
    const action = stripCommand(command?.constructor?.name ?? '');
    // A command built without its input (optional for some actions) is handled as an empty one.
    const input: I = command?.input ?? ({} as I);
    const record: CallRecord = {
      service: this.serviceName,
      action,
      input: cloneInput(input),
      at: this.now(),
      outcome: 'ok',
      injected: false,
    };
    this.log.add(record);
    try {
      const fault = this.takeFault(action, input);
      if (fault) {
        record.injected = true;
        throw transientError(fault, action);
      }
      // The command's class name picks the handler, so the handler takes this command's input and
      // answers its output; that link is by name, which the type system cannot follow.
      const handler = this.handlers[action] as ((input: I) => O | Promise<O>) | undefined;
      if (!handler) {
        throw serviceError(
          'UnknownOperationException',
          `The fake ${this.serviceName} does not implement ${command?.constructor?.name ?? 'this command'}`,
        );
      }
      return await handler.call(this, input);
    } catch (error) {
      record.outcome = (error as Error).name;
      throw error;
    }
  }

  /** Makes the next calls of a command fail with a transient error. */
  injectFault(rule: FaultRule): void {
    this.faults.push({ ...rule, command: stripCommand(rule.command), remaining: rule.times ?? 1, used: 0 });
  }

  clearFaults(): void {
    this.faults.length = 0;
  }

  /** Whether this service implements the action. */
  handles(action: string): boolean {
    return stripCommand(action) in this.handlers;
  }

  private takeFault(action: string, input: unknown): TransientFault | undefined {
    for (const rule of this.faults) {
      if (rule.command !== action || rule.remaining <= 0) continue;
      if (rule.when && !rule.when(input)) continue;
      rule.remaining -= 1;
      rule.used += 1;
      const errors = typeof rule.error === 'string' ? [rule.error] : rule.error;
      return errors[(rule.used - 1) % errors.length] as TransientFault;
    }
    return undefined;
  }
}

/** Deep copy that keeps Dates and byte arrays recognisable in the log. */
export function cloneInput(value: unknown): unknown {
  if (value instanceof Date) return new Date(value.getTime());
  if (value instanceof Uint8Array) return `<${value.byteLength} bytes>`;
  if (Array.isArray(value)) return value.map(cloneInput);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = cloneInput(v);
    return out;
  }
  return value;
}
