/**
 * The replica of a simulation run: a second table on the local DynamoDB kept equal to the source by
 * the replica's own deployed state machine (statemachine/replica-apply.asl.json, rendered by the one
 * render function) and its apply Lambda (functions/replica/apply.ts), started by its own schedule on
 * the same simulated clock as the export chain. Its Distributed Map runs through the emulation in
 * sim/machines/distributedMap.ts, its children write with the apply engine (apply/) into the local DynamoDB.
 *
 * At the end the replica's running executions finish (the export chain is stopped first, so the
 * chain no longer moves), and the replica table is compared item by item with the source as of the
 * replica's own watermark.
 */
import { iso } from '../../functions/shared/time';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { StartExecutionCommand, type DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import type { SfnSender } from '../../functions/shared/awsClients';
import { createReplicaHandler } from '../../functions/replica/apply';
import { REPLICA_METRICS } from '../../functions/shared/metrics';
import type { PlannerLimits } from '../../functions/replica/planner';
import { fromReplicaEnvironment, type ReplicaSettings } from '../../functions/replica/settings';
import { initialReplicaParameterValues } from '../../functions/replica/action';
import { parseReplicaState } from '../../functions/replica/state';
import { renderReplicaDefinition } from '../../statemachine/render';
import { getText } from '../../format/s3io';
import { simulatedSleep, type ExecutionRecord } from '../machines/localMachine';
import type { LocalMachine, LocalRun, SendClient } from '../machines/localRun';
import type { UnscheduledWorkflow } from './deployment';
import type { SimulationAccount } from './account';
import { LocalTableImport } from '../fakeAws/tableImport';
import { WORKLOAD_ATTRIBUTE_DEFINITIONS, WORKLOAD_KEY_SCHEMA, type SyntheticTable } from '../workload';
import { compareWithSource, createReplayTable } from './chainChecks';
import { consumerActivity, consumerPosition, unreadableConsumer } from './consumerActivity';
import type { ReplicaOutcome } from './report';

/**
 * Entries of at least this many records go through the Distributed Map. Far below the deployed
 * default (100,000), so the bootstrap of the simulated table (a few hundred items in several data
 * files) takes the Distributed Map path a large table's would; incremental windows are grouped. Its
 * children take batches of at most 128 records (two data files), where one invocation's worth at the
 * simulated rate would be the whole export, so the Map runs several children as a large table's does.
 */
export const SIMULATION_REPLICA_LIMITS: Partial<PlannerLimits> = {
  distributedMinItems: 100,
  distributedBatchMaxItems: 128,
};

/** DescribeTable of the simulated source table: the workload's keys, on demand. */
const sourceTableDescription = {
  async send(): Promise<unknown> {
    return {
      Table: {
        TableName: 'orders',
        KeySchema: WORKLOAD_KEY_SCHEMA,
        AttributeDefinitions: WORKLOAD_ATTRIBUTE_DEFINITIONS,
        BillingModeSummary: { BillingMode: 'PAY_PER_REQUEST' },
      },
    };
  },
};

/** The simulated replica: created before the run, attached to it, settled and checked after it. */
export class SimulationReplica {
  readonly settings: ReplicaSettings;
  private machine: LocalMachine | undefined;
  private readonly lagSamples: number[] = [];
  private target: DynamoDBClient | undefined;
  /** The replica's watermark when the run reached its end, before the last executions finished. */
  private watermarkAtEnd: number | null = null;

  /** The import service over the local DynamoDB, for a replica bootstrapped by `import`. */
  tableImport: LocalTableImport | undefined;

  /** The replica as deployed: its function, state machine, schedule (if any) and roles. */
  private readonly deployed: UnscheduledWorkflow;

  /**
   * The account's one scheduled replica (`--replica-on-new-epoch` and `--replica-bootstrap` are in its
   * config), or `deployed`: the replica without a schedule that distributed restores run on.
   */
  constructor(
    private readonly account: SimulationAccount,
    deployed: UnscheduledWorkflow | undefined = account.deployment.replicas[0],
  ) {
    if (!deployed) throw new Error('the simulated stack deploys no replica');
    this.deployed = deployed;
    this.settings = fromReplicaEnvironment(deployed.environment);
  }

  /**
   * Creates what `pulumi up` and the operator create: the replica's parameters, and for a `write`
   * bootstrap the empty target table (an `import` creates its own).
   */
  async prepare(): Promise<void> {
    // Before the simulated clock is installed: the table waiter sleeps on the clock.
    if (this.settings.bootstrap === 'write')
      await createReplayTable(this.account.dynamodb.client, this.settings.targetTableName);
    const initial = initialReplicaParameterValues();
    this.account.aws.ssm.set(this.settings.stateParameterName, initial.state);
    this.account.aws.ssm.set(this.settings.actionParameterName!, initial.action);
  }

  /** Adds the replica's state machine and schedule to the run. */
  attach(run: LocalRun): void {
    const { account, settings } = this;
    // Its own client: no SDK retries (they would sleep on the simulated clock while the run waits
    // for the call); the apply engine retries throttling itself.
    this.target = new DynamoDBClient({
      endpoint: account.endpoints.dynamodb,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
      cacheMiddleware: true,
    });
    const role = this.deployed.functionRole;
    const s3 = run.track(account.asRole(account.sourceS3, 's3', role));
    const target =
      settings.bootstrap === 'import'
        ? (this.tableImport = new LocalTableImport(this.target, account.sourceS3, {
            account: run.account,
            region: run.region,
          }))
        : this.target;
    const guardedTarget = account.asRole(target as unknown as SendClient, 'dynamodb', role);
    // DescribeExecution of the replica's own executions, answered from the runner's records.
    const states: { machine?: LocalMachine } = {};
    const statesClient: SfnSender = {
      send: ((command: DescribeExecutionCommand) => {
        if (!states.machine) throw new Error('the replica state machine is not attached yet');
        return states.machine.statesClient().send(command);
      }) as SfnSender['send'],
    };
    const handler = createReplicaHandler(
      settings,
      {
        s3,
        ssm: run.track(account.asRole(account.rawSsm, 'ssm', role)),
        sns: run.track(account.asRole(account.aws.sns, 'sns', role)),
        target: run.track(guardedTarget) as unknown as DynamoDBClient,
        // DescribeTable of the source, which an `import` shapes the new table after.
        source: run.track(
          account.asRole(sourceTableDescription as unknown as SendClient, 'dynamodb', role),
        ) as unknown as DynamoDBClient,
        states: run.track(account.asRole(statesClient as SendClient, 'states', role)) as SfnSender,
      },
      {
        log: (line) => {
          const metric = JSON.parse(line) as Record<string, unknown>;
          const lag = metric[REPLICA_METRICS.replicaLagSeconds];
          if (typeof lag === 'number') this.lagSamples.push(lag);
        },
        limits: SIMULATION_REPLICA_LIMITS,
        info: () => undefined,
        // With the clock held while the handler runs, its waits must go through simulatedSleep.
        sleep: simulatedSleep,
      },
    );
    const functionArn = this.deployed.functionArn;
    // The Distributed Map's ItemReader reads with the state machine's role, not the function's.
    const readerS3 = run.track(account.asRole(account.sourceS3, 's3', this.deployed.stateMachineRole));
    const machine = run.addMachine({
      name: this.deployed.stateMachineName,
      definition: renderReplicaDefinition({ ReplicaFunctionArn: functionArn }),
      functionArn,
      handler,
      lambdaTimeoutSeconds: this.deployed.timeoutSeconds,
      memorySizeMb: this.deployed.memorySizeMb,
      holdClockWhileRunning: true,
      schedulePeriodMinutes: account.settings.schedulePeriodMinutes,
      // The state machine reads the export's manifest-files.json itself (the Distributed Map's reader).
      readObject: (bucket, key) => getText(readerS3, bucket, key),
      access: {
        evaluator: account.access,
        stateMachineRole: this.deployed.stateMachineRole,
        // Without a schedule nothing is delivered by a scheduler: its role is never asked.
        schedulerRole: this.deployed.schedulerRole ?? '(no schedule)',
      },
    });
    this.machine = machine;
    states.machine = machine;
    if (this.deployed.schedulerRole !== undefined) machine.scheduler.start();
  }

  /**
   * Step Functions of this replica's machine as the operator reaches it: StartExecution (a one-shot
   * restore's) and DescribeExecution, from the runner's records.
   */
  statesClient(): SendClient {
    return {
      send: (async (command: object): Promise<never> => {
        const machine = this.machine;
        if (!machine) throw new Error('the replica state machine is not attached yet');
        if (command instanceof StartExecutionCommand) {
          const input = JSON.parse(command.input.input ?? '{}') as Record<string, unknown>;
          const record = machine.startExecution(input, {
            ...(command.input.name ? { name: command.input.name } : {}),
          });
          return { executionArn: record!.id, startDate: new Date(record!.startedAt) } as never;
        }
        return machine.statesClient().send(command as { input: object }) as Promise<never>;
      }) as SendClient['send'],
    };
  }

  /** The machine's executions so far. */
  get executions(): readonly ExecutionRecord[] {
    return this.machine?.executions ?? [];
  }

  /**
   * Stops the export chain, lets the replica's running executions finish, and stops the replica's
   * schedule: afterwards its state and its table no longer change.
   */
  async settle(run: LocalRun): Promise<void> {
    const text = this.account.aws.ssm.get(this.settings.stateParameterName);
    this.watermarkAtEnd = text === undefined ? null : parseReplicaState(text).watermark;
    run.primary.scheduler.pause();
    run.primary.abortAll();
    if (this.machine) await run.drain(6 * 3600_000, [this.machine]);
  }

  /** The replica against the source as of its watermark, and how it got there. */
  async outcome(params: {
    source: SyntheticTable;
    chainWatermark: string | null;
    /** End of the run, epoch seconds. */
    end: number;
    /** RESETs the run made: a replica halted by a new epoch is then expected (`onNewEpoch: halt`). */
    resets: number;
  }): Promise<ReplicaOutcome> {
    const { source, chainWatermark, end } = params;
    const { account, settings } = this;
    this.target?.destroy();
    const executions = this.machine?.executions ?? [];
    const activity = consumerActivity(this.machine);
    const text = account.aws.ssm.get(settings.stateParameterName);
    const base = {
      targetTable: settings.targetTableName,
      onNewEpoch: settings.onNewEpoch,
      bootstrap: settings.bootstrap,
      importRequests: this.tableImport?.requests.length ?? 0,
      executions: {
        ...activity.executions,
        succeeded: executions.filter((e) => e.status === 'SUCCEEDED').length,
      },
      transitions: activity.transitions,
      distributedMap: {
        runs:
          executions.reduce((n, e) => n + (e.statesEntered['Apply data files in Express children'] ?? 0), 0) +
          executions.reduce((n, e) => n + (e.statesEntered['Apply data files in Standard children'] ?? 0), 0),
        children: executions.reduce((n, e) => n + e.children.executions, 0),
        childTransitions: executions.reduce((n, e) => n + e.children.transitions, 0),
      },
      maxLagSeconds: this.lagSamples.length > 0 ? Math.max(...this.lagSamples) : null,
      alerts: account.aws.sns
        .json()
        .filter((m) => (m as { event?: unknown } | null)?.event === 'REPLICA_HALTED').length,
    };
    try {
      if (text === undefined) throw new Error(`replica state ${settings.stateParameterName} is missing`);
      const state = parseReplicaState(text);
      const compared = await compareWithSource(
        account.dynamodb.client,
        settings.targetTableName,
        source,
        state.watermark === null ? null : iso(state.watermark),
        'replica',
      );
      const watermarkSeconds = state.watermark;
      return {
        ok:
          compared.identical &&
          state.lastAppliedSequence >= 0 &&
          state.inProgress === null &&
          (state.status !== 'HALTED' || (state.halt?.reason === 'NEW_EPOCH' && params.resets > 0)),
        ...consumerPosition(state, watermarkSeconds, chainWatermark),
        watermark: state.watermark === null ? null : iso(state.watermark),
        lagAtEndSeconds: this.watermarkAtEnd === null ? null : end - this.watermarkAtEnd,
        ...compared,
        ...base,
      };
    } catch (error) {
      return { ...unreadableConsumer(error), lagAtEndSeconds: null, items: 0, ...base };
    }
  }
}
