/**
 * The offline account of a simulation run: a local S3 server (s3rver) and a local DynamoDB (dynalite)
 * reached by real SDK clients, the fake parameter store served over HTTP, the in-process fakes of the
 * DynamoDB export engine and SNS, the source table, and the settings `pulumi up` would deploy.
 */
import { SSMClient } from '@aws-sdk/client-ssm';
import { workflowSettings, type WorkflowSettings } from '../../functions/settings';
import { DEFAULT_METRIC_NAMESPACE } from '../../functions/metrics';
import { initialStateJson } from '../../functions/state';
import { S3ExportSink } from '../../format';
import type { TableSource } from '../contracts';
import { createFakeAws, type FakeAws } from '../fakeAws';
import type { SendClient } from '../localRun';
import { startLocalDynamoDb, startLocalS3, type LocalDynamoDb } from '../servers';
import { startSsmServer } from '../ssmServer';
import type { FaultPlan } from './faults';
import { EXPORT_FORMAT_OF_FLAG, type SimulateOptions } from './options';
import { localS3Clients, tickS3, type TickS3Counts } from './s3Clients';

export const SIMULATION_REGION = 'us-east-1';
export const SIMULATION_STACK = 'simulation';
export const SIMULATION_ALIAS = 'orders';
export const SIMULATION_BUCKET = 'dce-simulation-exports';
/**
 * Lines per export data file. DynamoDB splits an export into many data files; the simulated table is
 * small, so a small file size gives its exports several files, as a real table's have (the replica's
 * Distributed Map then runs several children, and replay reads several files per export).
 */
export const SIMULATION_ITEMS_PER_FILE = 64;

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
  /** The S3 of the source account as the workflow sees it, without the tick's counting or faults. */
  sourceS3: SendClient;
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

    const s3 = localS3Clients(localS3.endpoint, SIMULATION_REGION);
    cleanup.push(async () => s3.destroy());
    // The S3 every part of the run uses: the tick, the export engine, verify and replay.
    const rawS3 = (): SendClient => (options.s3 === 'memory' ? aws.s3 : s3.workflow);
    const tick = tickS3(rawS3, plan, random);
    // The export engine writes files to the same S3, but without counting or injected faults:
    // those writes are DynamoDB's, not the workflow's.
    let exportWriterRequests = 0;
    const exportWriter: SendClient = {
      send(command) {
        exportWriterRequests += 1;
        const engine: SendClient = options.s3 === 'memory' ? aws.s3 : s3.exportEngine;
        return engine.send(command);
      },
    };
    const aws = createFakeAws({
      region: SIMULATION_REGION,
      sink: new S3ExportSink(exportWriter, { itemsPerFile: SIMULATION_ITEMS_PER_FILE }),
      restorableLagSeconds: 300,
    });
    aws.s3.createBucket(bucket);
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
      tickClients: { s3: tick.client, ssm: options.ssm === 'memory' ? aws.ssm : ssmClient },
      sourceS3: rawS3(),
      readS3: options.s3 === 'memory' ? aws.s3 : localS3.client,
      dynamodb,
      endpoints: { s3: localS3.endpoint, ssm: ssmServer.endpoint, dynamodb: dynamodb.endpoint },
      s3Counts: tick.counts,
      exportWriterRequests: () => exportWriterRequests,
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
