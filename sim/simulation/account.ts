/**
 * The offline account of a simulation run: a local S3 server (s3rver) and a local DynamoDB (dynalite)
 * reached by real SDK clients, the fake parameter store served over HTTP, the in-process fakes of the
 * DynamoDB export engine and SNS, the source table, and the settings `pulumi up` would deploy.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { SSMClient } from '@aws-sdk/client-ssm';
import { workflowSettings, type WorkflowSettings } from '../../functions/settings';
import { DEFAULT_METRIC_NAMESPACE } from '../../functions/metrics';
import { initialStateJson } from '../../functions/state';
import { S3ExportSink } from '../../cli/exportFormat';
import type { TableSource } from '../contracts';
import { createFakeAws, serviceError, type FakeAws } from '../fakeAws';
import type { SendClient } from '../localRun';
import { S3RVER_CREDENTIALS, startLocalDynamoDb, startLocalS3, type LocalDynamoDb } from '../servers';
import { startSsmServer } from '../ssmServer';
import type { FaultPlan } from './faults';
import { EXPORT_FORMAT_OF_FLAG, type SimulateOptions } from './options';

export const SIMULATION_REGION = 'us-east-1';
export const SIMULATION_STACK = 'simulation';
export const SIMULATION_ALIAS = 'orders';
export const SIMULATION_BUCKET = 'dce-simulation-exports';

/** Real wall-clock epoch ms, also while the simulated clock is installed (performance is not faked). */
export function realNowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Pure: the settings `pulumi up` would deploy for the simulated table, from the run's flags. */
export function simulationSettings(
  options: Pick<SimulateOptions, 'window' | 'format'>,
  tableArn: string,
  account: string,
): WorkflowSettings {
  const alias = SIMULATION_ALIAS;
  const parameterRoot = `/dynamodb-continuous-exports/${SIMULATION_STACK}/${alias}`;
  return workflowSettings({
    alias,
    tableName: alias,
    tableArn,
    bucket: SIMULATION_BUCKET,
    prefix: `exports/${alias}`,
    exportFormat: EXPORT_FORMAT_OF_FLAG[options.format ?? 'json'],
    exportViewType: 'NEW_AND_OLD_IMAGES',
    windowMinutes: options.window,
    maxCatchUpWindowMinutes: 1440,
    restorableMarginSeconds: 60,
    maxInFlight: 4,
    onPitrGap: 'alert',
    notifyOnSuccess: false,
    notificationTopicArn: `arn:aws:sns:${SIMULATION_REGION}:${account}:${alias}-notifications`,
    stateParameterName: `${parameterRoot}/state`,
    actionParameterName: `${parameterRoot}/action`,
    lockParameterName: `${parameterRoot}/lock`,
    metricNamespace: DEFAULT_METRIC_NAMESPACE,
  });
}

/** The endpoints of the local servers, for `--keep-servers`. */
export interface LocalEndpoints {
  s3: string;
  ssm: string;
  dynamodb: string;
}

export interface SimulationAccount {
  aws: FakeAws;
  settings: WorkflowSettings;
  /** The clients the tick and the operator use (counted, with the plan's S3 faults). */
  tickClients: { s3: SendClient; ssm: SendClient };
  /** The S3 verify and replay read: the local server, or the in-process fake with `--s3 memory`. */
  readS3: SendClient;
  dynamodb: LocalDynamoDb;
  endpoints: LocalEndpoints;
  /** Requests of the tick to S3 by kind, and the transient S3 errors injected into them. */
  s3Counts: { putsAndLists: number; gets: number; injected: number };
  /** Requests of the simulated export engine to S3. */
  exportWriterRequests(): number;
  /** SSM requests by action, as the chosen path saw them. */
  ssmRequests(): Record<string, number>;
  /** Stops the servers and clients; safe to call twice. */
  stop(): Promise<void>;
}

/** Opens the account; on failure what was started is stopped again. */
export async function openSimulationAccount(params: {
  options: SimulateOptions;
  plan: FaultPlan;
  random: () => number;
  source: TableSource;
  /** Simulated start, epoch seconds. */
  start: number;
}): Promise<SimulationAccount> {
  const { options, plan, random } = params;
  const alias = SIMULATION_ALIAS;
  const bucket = SIMULATION_BUCKET;
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
    await localS3.createBucket(bucket);

    const localS3Config = {
      endpoint: localS3.endpoint,
      forcePathStyle: true,
      region: SIMULATION_REGION,
      credentials: S3RVER_CREDENTIALS,
    };
    const tickS3 = new S3Client({
      ...localS3Config,
      // Retries are the handler's job (with its own back-off on the simulated clock); an SDK retry
      // would wait on the simulated clock while the run waits for the call: a deadlock.
      maxAttempts: 1,
      // The middleware stack is resolved once per command type instead of on every call (tens of
      // thousands of calls in a long run); nothing adds middleware after the first call.
      cacheMiddleware: true,
    });
    cleanup.push(async () => tickS3.destroy());
    // The export engine's own client (it stands in for DynamoDB writing to S3, not for the
    // workflow): no flexible checksums, which only cost time against the local server.
    const sinkClient = new S3Client({
      ...localS3Config,
      maxAttempts: 1,
      cacheMiddleware: true,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    cleanup.push(async () => sinkClient.destroy());
    // s3rver checks request signatures against its real clock (15 minutes of skew at most), while
    // this process runs on the simulated one: sign with real time.
    const signWithRealTime = (client: S3Client) => {
      client.config.systemClockOffset = realNowMs() - Date.now();
    };

    const s3Counts = { putsAndLists: 0, gets: 0, injected: 0 };
    const s3ForTick: SendClient = {
      async send(command) {
        const name: string = command.constructor.name;
        if (/^(Put|List|Copy|Delete)/.test(name)) s3Counts.putsAndLists += 1;
        else s3Counts.gets += 1;
        if (plan.s3TransientRate > 0 && random() < plan.s3TransientRate) {
          s3Counts.injected += 1;
          throw serviceError('SlowDown', 'Please reduce your request rate. (injected)', 503);
        }
        return rawS3.send(command);
      },
    };
    // The export engine writes files to the same S3, but without counting or injected faults:
    // those writes are DynamoDB's, not the workflow's.
    let sinkRequests = 0;
    const sinkS3: SendClient = {
      send(command) {
        sinkRequests += 1;
        if (options.s3 === 'memory') return aws.s3.send(command);
        signWithRealTime(sinkClient);
        return sinkClient.send(command);
      },
    };
    const aws = createFakeAws({
      region: SIMULATION_REGION,
      sink: new S3ExportSink(sinkS3),
      restorableLagSeconds: 300,
    });
    aws.s3.createBucket(bucket);
    // The S3 every part of the run uses: the tick, the export engine, verify and replay.
    const rawS3: SendClient =
      options.s3 === 'memory'
        ? aws.s3
        : {
            send(command) {
              signWithRealTime(tickS3);
              return tickS3.send(command);
            },
          };
    const tableArn = aws.dynamodb.addTable({
      name: alias,
      source: params.source,
      pitrEnabledAt: (params.start - 86400) * 1000,
    });

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

    const settings = simulationSettings(options, tableArn, aws.account);
    // What `pulumi up` creates.
    aws.ssm.set(settings.stateParameterName, initialStateJson());
    aws.ssm.set(settings.actionParameterName, 'RUN');

    return {
      aws,
      settings,
      tickClients: { s3: s3ForTick, ssm: options.ssm === 'memory' ? aws.ssm : ssmClient },
      readS3: options.s3 === 'memory' ? aws.s3 : localS3.client,
      dynamodb,
      endpoints: { s3: localS3.endpoint, ssm: ssmServer.endpoint, dynamodb: dynamodb.endpoint },
      s3Counts,
      exportWriterRequests: () => sinkRequests,
      ssmRequests: () =>
        options.ssm === 'memory'
          ? aws.calls.records
              .filter((c) => c.service === 'ssm')
              .reduce<Record<string, number>>(
                (acc, c) => ((acc[c.action] = (acc[c.action] ?? 0) + 1), acc),
                {},
              )
          : { ...ssmServer.requests },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
