/**
 * One table's export workflow wired up offline: the fake account (table with PITR, the SSM parameters
 * Pulumi would create, the bucket), the real export tick handler and the local runner. The workflow
 * tests and the benchmark start from here and change what they need; `npm run simulate` builds its
 * own account (local servers, faults) in `sim/simulation/` with the same settings constructor.
 */
import { createExportTickHandler } from '../functions/chain/exportTick';
import { DEFAULT_METRIC_NAMESPACE } from '../functions/shared/metrics';
import { chainParameterNames } from '../functions/shared/names';
import { workflowSettings, type WorkflowSettings } from '../functions/chain/settings';
import { initialStateJson } from '../functions/chain/state';
import type { ExportSink, TableSource } from './contracts';
import { createFakeAws, type ExportRequestInfo, type FakeAws } from './fakeAws';
import { AccessEvaluator, type RoleAccess } from './iam/evaluator';
import { guardClient, type IamService } from './iam/guard';
import { LocalRun, type LocalRunOptions, type TickClients, type TickHandler } from './machines/localRun';
import type { SchedulerOptions } from './machines/scheduler';
import { withLatency } from './latency';
import { SimpleTable } from './simpleTable';

export const REGION = 'eu-west-1';
export const ACCOUNT = '123456789012';

/**
 * Realistic settings for one table: 15-minute windows (so a 15-minute schedule), 60 s margin, 4 in
 * flight. Built by the same constructor as the component's; `overrides` win, the derived schedule
 * period included.
 */
export function scenarioSettings(overrides: Partial<WorkflowSettings> = {}): WorkflowSettings {
  const alias = overrides.alias ?? 'orders';
  const tableName = overrides.tableName ?? alias;
  const parameters = chainParameterNames('test', alias);
  const base = workflowSettings({
    alias,
    tableName,
    tableArn: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${tableName}`,
    bucket: 'continuous-exports-bucket',
    prefix: `exports/${alias}`,
    exportFormat: 'DYNAMODB_JSON',
    exportViewType: 'NEW_AND_OLD_IMAGES',
    windowMinutes: overrides.windowMinutes ?? 15,
    maxCatchUpWindowMinutes: 240,
    restorableMarginSeconds: 60,
    maxInFlight: 4,
    onPitrGap: 'alert',
    notifyOnSuccess: false,
    notificationTopicArn: `arn:aws:sns:${REGION}:${ACCOUNT}:continuous-exports`,
    stateParameterName: parameters.state,
    actionParameterName: parameters.action,
    lockParameterName: parameters.lock,
    metricNamespace: DEFAULT_METRIC_NAMESPACE,
  });
  return { ...base, ...overrides };
}

export interface ScenarioOptions {
  /**
   * The export tick's deployed role for the scenario's settings (`tickRoleForSettings` in
   * cli/deployedAccess.ts renders it as the component does): every call of the tick is evaluated
   * against it, and a denied call fails as AWS fails it.
   */
  tickRole: (settings: WorkflowSettings) => RoleAccess;
  settings?: Partial<WorkflowSettings>;
  /** Simulated start. @default 2026-03-02T00:00:00Z */
  start?: string | number;
  /** PITR enabled this long before the start, seconds. @default 3 days */
  pitrEnabledSecondsBefore?: number;
  table?: TableSource;
  sink?: ExportSink;
  exportDurationSeconds?: (request: ExportRequestInfo) => number;
  restorableLagSeconds?: number;
  scheduler?: SchedulerOptions;
  /** Replaces clients of the fake account (e.g. a real S3 client). */
  clients?: Partial<TickClients>;
  /** Wraps or replaces the handler. @default the real export tick handler */
  createHandler?: LocalRunOptions['createHandler'];
  onProgress?: LocalRunOptions['onProgress'];
  /** Simulated time each AWS call of the tick takes (see `sim/latency.ts`). @default 0 */
  apiLatencyMs?: number;
}

export interface Scenario {
  aws: FakeAws;
  /** IAM's evaluation of the tick's calls: counts and denials. */
  access: AccessEvaluator;
  run: LocalRun;
  settings: WorkflowSettings;
  table: TableSource;
  /** EMF metric lines the handler printed. */
  metricLines: string[];
  dispose(): Promise<void>;
}

export const DEFAULT_START = '2026-03-02T00:00:00Z';

export async function startScenario(options: ScenarioOptions): Promise<Scenario> {
  const settings = scenarioSettings(options.settings);
  const role = options.tickRole(settings);
  const access = new AccessEvaluator([role]);
  const asTick = <C extends TickClients[keyof TickClients]>(client: C, service: IamService): C =>
    guardClient(client, {
      service,
      role: role.name,
      scope: { partition: 'aws', region: REGION, account: ACCOUNT },
      evaluator: access,
    }) as C;
  const start = new Date(options.start ?? DEFAULT_START).getTime();
  // The fakes read the global clock, which the runner replaces with the simulated one.
  const aws = createFakeAws({
    region: REGION,
    account: ACCOUNT,
    sink: options.sink,
    exportDurationSeconds: options.exportDurationSeconds,
    restorableLagSeconds: options.restorableLagSeconds,
  });
  const table = options.table ?? new SimpleTable();
  aws.dynamodb.addTable({
    name: settings.tableName,
    source: table,
    pitrEnabledAt: start - (options.pitrEnabledSecondsBefore ?? 3 * 86_400) * 1000,
  });
  aws.s3.createBucket(settings.bucket);
  aws.sns.topics.add(settings.notificationTopicArn);
  const metricLines: string[] = [];
  const clients = { dynamodb: aws.dynamodb, ssm: aws.ssm, s3: aws.s3, sns: aws.sns, ...options.clients };
  const run = await LocalRun.create({
    settings,
    aws,
    clients: {
      dynamodb: asTick(clients.dynamodb, 'dynamodb'),
      ssm: asTick(clients.ssm, 'ssm'),
      s3: asTick(clients.s3, 's3'),
      sns: asTick(clients.sns, 'sns'),
    },
    start,
    scheduler: options.scheduler,
    onProgress: options.onProgress,
    createHandler: (clients: TickClients, s: WorkflowSettings): TickHandler =>
      (
        options.createHandler ??
        ((c: TickClients, cs: WorkflowSettings): TickHandler =>
          createExportTickHandler({
            clients: c,
            settings: cs,
            log: (line: string) => metricLines.push(line),
          }))
      )(withLatency(clients, options.apiLatencyMs ?? 0), s),
  });
  // What `pulumi up` creates; written after the clock is installed so versions carry simulated times.
  aws.ssm.set(settings.stateParameterName, initialStateJson());
  aws.ssm.set(settings.actionParameterName, 'RUN');
  return { aws, access, run, settings, table, metricLines, dispose: () => run.dispose() };
}
