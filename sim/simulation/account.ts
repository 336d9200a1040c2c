/**
 * The offline account of a simulation run: a local S3 server (s3rver) and a local DynamoDB (dynalite)
 * reached by real SDK clients, the fake parameter store served over HTTP, the in-process fakes of the
 * DynamoDB export engine and SNS, the source table, and the stack as `pulumi up` deploys it: the
 * workflow runs with the settings of its deployed Lambda environment, and every call it makes is
 * evaluated against its deployed role (`sim/iam/`).
 */
import { SSMClient } from '@aws-sdk/client-ssm';
import { fromEnvironment, type WorkflowSettings } from '../../functions/chain/settings';
import { initialStateJson } from '../../functions/chain/state';
import { S3ExportSink } from '../../format';
import type { TableSource } from '../contracts';
import { createFakeAws, type FakeAws } from '../fakeAws';
import { AccessEvaluator } from '../iam/evaluator';
import { guardClient, type IamService } from '../iam/guard';
import type { SendClient, TickClients } from '../machines/localRun';
import { startLocalDynamoDb, startLocalS3, type LocalDynamoDb } from '../servers';
import { startSsmServer } from '../ssmServer';
import {
  SIMULATION_ALIAS,
  SIMULATION_REGION,
  SIMULATION_STACK,
  simulationStackConfig,
  type DeploySimulation,
  type SimulationDeployment,
} from './deployment';
import type { FaultPlan } from './faults';
import type { SimulateOptions } from './options';
import { SCALE_SIZES } from './scaleSizes';
import { localS3Clients, retryingExportWrites, tickS3, type TickS3Counts } from './s3Clients';

export { SIMULATION_ALIAS, SIMULATION_BUCKET, SIMULATION_REGION, SIMULATION_STACK } from './deployment';
/**
 * Lines per export data file. DynamoDB splits an export into many data files; the simulated table is
 * small, so a small file size gives its exports several files, as a real table's have (the replica's
 * Distributed Map then reads several files, batched by records and rate, and replay reads several
 * files per export).
 */
export const SIMULATION_ITEMS_PER_FILE = 64;

/** The endpoints of the local servers, for `--keep-servers`. */
export interface LocalEndpoints {
  s3: string;
  ssm: string;
  dynamodb: string;
}

export interface SimulationAccount {
  aws: FakeAws;
  settings: WorkflowSettings;
  /** The stack as deployed: roles and policies, functions, state machines, schedules. */
  deployment: SimulationDeployment;
  /** IAM's evaluation of every call, against the deployed roles. */
  access: AccessEvaluator;
  /** The clients the export tick uses, as its deployed role (S3 counted, with the plan's S3 faults). */
  tickClients: TickClients;
  /** SSM as the operator reaches it (`dce pause`, `dce reset`): with the operator's own rights. */
  operatorSsm: SendClient;
  /** SSM before any role's evaluation: `asRole(rawSsm, ...)` gives a role's view. */
  rawSsm: SendClient;
  /** The S3 of the source account, before any role's evaluation, without the tick's counting or faults. */
  sourceS3: SendClient;
  /** `client`, with each call evaluated for the deployed role `role` first. */
  asRole(client: SendClient, service: IamService, role: string): SendClient;
  /** The S3 verify and replay read: the local server, or the in-process fake with `--s3 memory`. */
  readS3: SendClient;
  dynamodb: LocalDynamoDb;
  endpoints: LocalEndpoints;
  /** Requests of the tick to S3 by kind, and the transient S3 errors injected into them. */
  s3Counts: TickS3Counts;
  /** Requests of the simulated export engine to S3. */
  exportWriterRequests(): number;
  /** SSM requests by action, as the chosen path saw them. */
  ssmRequests(): Record<string, number>;
  /** Creates another bucket where the run's S3 is (the local server, or the in-process fake with `--s3 memory`). */
  createBucket(name: string): Promise<void>;
  /** Stops the servers and clients; safe to call twice. */
  stop(): Promise<void>;
}

/**
 * The stack as deployed into the fake account: its settings (from the export tick's environment),
 * and IAM's evaluation against its roles.
 */
async function deployedAccount(
  deploy: DeploySimulation,
  options: SimulateOptions,
  aws: FakeAws,
  tableArn: string,
): Promise<Pick<SimulationAccount, 'deployment' | 'settings' | 'access' | 'asRole'>> {
  const deployment = await deploy(simulationStackConfig(options), {
    stack: SIMULATION_STACK,
    region: SIMULATION_REGION,
    account: aws.account,
  });
  const settings = fromEnvironment(deployment.exportChain.environment);
  if (settings.tableArn !== tableArn)
    throw new Error(
      `the deployed export tick exports ${settings.tableArn}, the simulated table is ${tableArn}`,
    );
  const access = new AccessEvaluator(deployment.roles);
  const scope = {
    partition: 'aws',
    region: SIMULATION_REGION,
    account: aws.account,
    topicKeys: deployment.topicKeys,
  };
  const asRole = (client: SendClient, service: IamService, role: string): SendClient =>
    guardClient(client, { service, role, scope, evaluator: access });
  return { deployment, settings, access, asRole };
}

/** The fake parameter store served over HTTP, and a real SSMClient for it (stopped by `cleanup`). */
async function localSsm(aws: FakeAws, cleanup: (() => Promise<void>)[]) {
  const ssmServer = await startSsmServer(aws.ssm);
  cleanup.push(() => ssmServer.close());
  const ssmClient = new SSMClient({
    endpoint: ssmServer.endpoint,
    region: SIMULATION_REGION,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
    cacheMiddleware: true,
  });
  cleanup.push(async () => ssmClient.destroy());
  return { ssmServer, ssmClient };
}

/** SSM requests by action, as the chosen path saw them: the fake's call log, or the local endpoint's counts. */
function ssmRequestCounts(
  via: SimulateOptions['ssm'],
  aws: FakeAws,
  served: Record<string, number>,
): Record<string, number> {
  if (via !== 'memory') return { ...served };
  return aws.calls.records
    .filter((c) => c.service === 'ssm')
    .reduce<Record<string, number>>((acc, c) => ((acc[c.action] = (acc[c.action] ?? 0) + 1), acc), {});
}

/** Opens the account; on failure what was started is stopped again. */
export async function openSimulationAccount(params: {
  options: SimulateOptions;
  /** Renders the stack the run stands for (`cli/deployedAccess.ts`). */
  deploy: DeploySimulation;
  plan: FaultPlan;
  random: () => number;
  source: TableSource;
  /** Simulated start, epoch seconds. */
  start: number;
}): Promise<SimulationAccount> {
  const { options, plan, random } = params;
  const alias = SIMULATION_ALIAS;
  const cleanup: (() => Promise<void>)[] = [];
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    for (const step of cleanup.reverse()) await step().catch(() => undefined);
  };
  try {
    const localS3 = await startLocalS3();
    cleanup.push(() => localS3.stop());
    // In a child process: the replay's writes are then served on the other core.
    const dynamodb = await startLocalDynamoDb({ childProcess: true });
    cleanup.push(() => dynamodb.stop());

    const s3 = localS3Clients(localS3.endpoint, SIMULATION_REGION);
    cleanup.push(async () => s3.destroy());
    // The S3 every part of the run uses: the tick, the export engine, verify and replay.
    const rawS3 = (): SendClient => (options.s3 === 'memory' ? aws.s3 : s3.workflow);
    let tickRawS3: SendClient | undefined;
    const tick = tickS3(() => (tickRawS3 ??= asRole(rawS3(), 's3', tickRole)), plan, random);
    // The export engine writes files to the same S3, but without counting or injected faults:
    // those writes are DynamoDB's, not the workflow's.
    let exportWriterRequests = 0;
    const exportWriter: SendClient = retryingExportWrites({
      send(command) {
        exportWriterRequests += 1;
        const engine: SendClient = options.s3 === 'memory' ? aws.s3 : s3.exportEngine;
        return engine.send(command);
      },
    });
    const aws = createFakeAws({
      region: SIMULATION_REGION,
      sink: new S3ExportSink(exportWriter, {
        itemsPerFile: options.scale ? SCALE_SIZES[options.scale].itemsPerFile : SIMULATION_ITEMS_PER_FILE,
      }),
      restorableLagSeconds: 300,
    });
    const tableArn = aws.dynamodb.addTable({
      name: alias,
      source: params.source,
      pitrEnabledAt: (params.start - 86400) * 1000,
    });
    const { deployment, settings, access, asRole } = await deployedAccount(
      params.deploy,
      options,
      aws,
      tableArn,
    );
    const tickRole = deployment.exportChain.functionRole;
    // The deployed export bucket: the existing one the config names, or (with --dr) the one the
    // stack creates.
    await localS3.createBucket(settings.bucket);
    aws.s3.createBucket(settings.bucket);

    const { ssmServer, ssmClient } = await localSsm(aws, cleanup);

    const rawSsm: SendClient = options.ssm === 'memory' ? aws.ssm : ssmClient;
    // What `pulumi up` creates.
    aws.ssm.set(settings.stateParameterName, initialStateJson());
    aws.ssm.set(settings.actionParameterName, 'RUN');

    return {
      aws,
      settings,
      deployment,
      access,
      tickClients: {
        s3: tick.client,
        ssm: asRole(rawSsm, 'ssm', tickRole),
        dynamodb: asRole(aws.dynamodb, 'dynamodb', tickRole),
        sns: asRole(aws.sns, 'sns', tickRole),
      },
      operatorSsm: rawSsm,
      rawSsm,
      asRole,
      sourceS3: rawS3(),
      readS3: options.s3 === 'memory' ? aws.s3 : localS3.client,
      dynamodb,
      endpoints: { s3: localS3.endpoint, ssm: ssmServer.endpoint, dynamodb: dynamodb.endpoint },
      s3Counts: tick.counts,
      exportWriterRequests: () => exportWriterRequests,
      ssmRequests: () => ssmRequestCounts(options.ssm, aws, ssmServer.requests),
      createBucket: async (name) => {
        if (options.s3 === 'memory') aws.s3.createBucket(name);
        else await localS3.createBucket(name);
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
