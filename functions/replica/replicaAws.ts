/**
 * The replica's edge: every AWS call of the apply Lambda's own (the apply engine's writes and reads
 * are in apply/), each a named call under the one retry policy and typed by its command, as the
 * export tick's `TickAws` is. No decision is taken here.
 */
import type { __MetadataBearer } from '@aws-sdk/client-dynamodb';
import { DescribeExecutionCommand, type DescribeExecutionCommandOutput } from '@aws-sdk/client-sfn';
import { PublishCommand, type PublishCommandInput } from '@aws-sdk/client-sns';
import { GetParametersCommand, PutParameterCommand } from '@aws-sdk/client-ssm';
import type { AnyCommand, CommandSender } from '../shared/awsClients';
import type { ActionRead } from '../shared/consumer/action';
import type { SsmCall } from '../shared/lease';
import { replicaActionParameterName } from '../shared/names';
import { withRetry, type RetryOptions } from '../shared/retry';
import type { ReplicaClients } from './contract';
import type { ReplicaSettings } from './settings';
import { parseReplicaState, serializeReplicaState, type ReplicaState } from './state';

/** The replica's AWS calls: one method per call, all under the one retry policy. */
export class ReplicaAws {
  constructor(
    private readonly clients: ReplicaClients,
    private readonly settings: ReplicaSettings,
    private readonly options: {
      retry?: RetryOptions;
      /** Epoch milliseconds: the state's `updatedAt`. */
      now: () => number;
      /** Where a missing action parameter is said. */
      info: (line: string) => void;
    },
  ) {}

  /** One AWS call under the retry policy; the answer is typed by the command. */
  call<I extends object, O extends __MetadataBearer>(
    label: string,
    client: CommandSender,
    command: AnyCommand<I, O>,
  ): Promise<O> {
    return withRetry(label, () => client.send(command), this.options.retry);
  }

  /** SSM calls of the lease (functions/shared/lease.ts). */
  readonly ssmCall: SsmCall = (label, command) => this.call(label, this.clients.ssm, command);

  get actionParameterName(): string {
    return this.settings.actionParameterName ?? replicaActionParameterName(this.settings.stateParameterName);
  }

  async readState(): Promise<ReplicaState> {
    const name = this.settings.stateParameterName;
    const out = await this.ssmCall(
      'GetParameters (replica state)',
      new GetParametersCommand({ Names: [name] }),
    );
    const value = out.Parameters?.[0]?.Value;
    if (typeof value !== 'string') throw new Error(`replica state parameter ${name} is missing`);
    return parseReplicaState(value);
  }

  /**
   * The state and the operator's action, in one GetParameters. A missing action parameter (a stack
   * deployed before it existed) is read as RUN, with a log line.
   */
  async readStateAndAction(): Promise<{ state: ReplicaState; action: ActionRead }> {
    const stateName = this.settings.stateParameterName;
    const actionName = this.actionParameterName;
    const out = await this.ssmCall(
      'GetParameters (replica state and action)',
      new GetParametersCommand({ Names: [stateName, actionName] }),
    );
    const found = (name: string) => out.Parameters?.find((p) => p.Name === name);
    const value = found(stateName)?.Value;
    if (typeof value !== 'string') throw new Error(`replica state parameter ${stateName} is missing`);
    const action = found(actionName);
    if (action === undefined) {
      this.options.info(
        `replica ${this.settings.replicaAlias}: the action parameter ${actionName} does not exist (a stack deployed before it existed); read as RUN. Run 'pulumi up' to create it.`,
      );
    }
    return {
      state: parseReplicaState(value),
      action: { value: action?.Value ?? null, version: action?.Version ?? null },
    };
  }

  async saveState(state: ReplicaState): Promise<void> {
    await this.ssmCall(
      'PutParameter (replica state)',
      new PutParameterCommand({
        Name: this.settings.stateParameterName,
        Value: serializeReplicaState(state, this.options.now()),
        Type: 'String',
        Overwrite: true,
      }),
    );
  }

  async publish(label: string, input: PublishCommandInput): Promise<void> {
    await this.call(label, this.clients.sns, new PublishCommand(input));
  }

  /** DescribeExecution, without retries: a caller that cannot tell lets the lease decide. */
  async describeExecution(executionArn: string): Promise<DescribeExecutionCommandOutput | undefined> {
    if (!this.clients.states) return undefined;
    return this.clients.states.send(new DescribeExecutionCommand({ executionArn }));
  }
}
