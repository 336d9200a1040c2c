/**
 * The Iceberg feed's edge: every AWS call of its plan/commit Lambda under the one retry policy
 * (functions/shared/retry.ts), so a throttled or failing SSM, S3 or SNS call is retried and, when it
 * persists, fails the step as `TransientAwsError`, which the state machine retries with its own
 * backoff instead of failing the execution. No decision is taken here.
 */
import { PublishCommand } from '@aws-sdk/client-sns';
import { GetParametersCommand, PutParameterCommand } from '@aws-sdk/client-ssm';
import type { CommandSender, S3Sender, SnsSender, SsmSender } from '../shared/awsClients';
import type { ActionRead } from '../shared/consumer/action';
import type { SsmCall } from '../shared/lease';
import type { PublishRequest } from '../shared/notification';
import { withRetry, type RetryOptions } from '../shared/retry';
import { initialIcebergState, parseIcebergState, type IcebergFeedState } from './state';

export interface IcebergClients {
  s3: S3Sender;
  ssm: SsmSender;
  sns: SnsSender;
}

/** Where the feed's parameters are. */
export interface IcebergParameterSettings {
  stateParameterName: string;
  /** The operator's action parameter; absent in a feed deployed before it existed (read as RUN). */
  actionParameterName?: string;
}

/** A client whose every call runs under the retry policy, labelled with the command's name. */
export function retryingClient<C extends object>(client: C, retry?: RetryOptions): C {
  const sender = client as unknown as CommandSender;
  const wrapped: CommandSender = {
    send: (command) => withRetry(command.constructor?.name ?? 'AWS call', () => sender.send(command), retry),
  };
  return wrapped as unknown as C;
}

/** The feed's calls: the cursor with the operator's action, the cursor's writes, the alert. */
export class IcebergAws {
  readonly s3: S3Sender;
  private readonly ssm: SsmSender;
  private readonly sns: SnsSender;

  constructor(
    clients: IcebergClients,
    private readonly settings: IcebergParameterSettings,
    retry?: RetryOptions,
  ) {
    this.s3 = retryingClient(clients.s3, retry);
    this.ssm = retryingClient(clients.ssm, retry);
    this.sns = retryingClient(clients.sns, retry);
  }

  /** SSM calls of the lease (functions/shared/lease.ts), retried like every other. */
  readonly ssmCall: SsmCall = (_label, command) => this.ssm.send(command as never) as never;

  /**
   * The cursor and the operator's action in one GetParameters. An empty cursor (`{}`, as Pulumi creates
   * it) is the initial state; a missing action parameter is RUN.
   */
  async readStateAndAction(): Promise<{ state: IcebergFeedState; action: ActionRead }> {
    const { actionParameterName } = this.settings;
    return this.read(actionParameterName);
  }

  /** The cursor alone (the commit and failure steps do not act on the operator's action). */
  async readState(): Promise<IcebergFeedState> {
    return (await this.read(undefined)).state;
  }

  private async read(
    actionParameterName: string | undefined,
  ): Promise<{ state: IcebergFeedState; action: ActionRead }> {
    const { stateParameterName } = this.settings;
    const names = actionParameterName ? [stateParameterName, actionParameterName] : [stateParameterName];
    const out = await this.ssm.send(new GetParametersCommand({ Names: names }));
    const found = (name: string) => out.Parameters?.find((p) => p.Name === name);
    const value = found(stateParameterName)?.Value;
    const action = actionParameterName ? found(actionParameterName) : undefined;
    return {
      state:
        value === undefined || value === '' || value === '{}'
          ? initialIcebergState()
          : parseIcebergState(value),
      action: { value: action?.Value ?? null, version: action?.Version ?? null },
    };
  }

  async writeState(state: IcebergFeedState): Promise<void> {
    await this.ssm.send(
      new PutParameterCommand({
        Name: this.settings.stateParameterName,
        Value: JSON.stringify(state),
        Type: 'String',
        Overwrite: true,
      }),
    );
  }

  async publish(request: PublishRequest): Promise<void> {
    await this.sns.send(new PublishCommand(request));
  }
}
