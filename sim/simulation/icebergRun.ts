/**
 * The Iceberg feed of a simulation run (`iceberg:` in the simulated stack config): the feed's deployed
 * state machine (statemachine/iceberg-feed.asl.json as the component rendered it, through the one
 * render function) and its plan Lambda (functions/iceberg/feed.ts), started by its own schedule on the
 * same simulated clock as the export chain and the replica.
 *
 * `arn:aws:states:::athena:startQueryExecution.sync` is served by the DuckDB stand-in
 * (sim/machines/athenaSyncTask.ts over sim/athenaDuck.ts): the feed's exact SQL runs on DuckDB, whose staging
 * table reads the symlink files the plan step wrote and the export files they list, from the run's S3.
 * IAM: the plan Lambda's calls are evaluated against its deployed role; the Athena task against the
 * state machine's role (sim/iam/requests.ts `athenaQueryRequests`: the workgroup, the Glue catalog,
 * databases and tables the statement names, the lake's and the results' objects), and every staging
 * object the stand-in reads goes through an S3 client evaluated for that role, key by key (a denied
 * read fails the query, as Athena's "Permission denied on S3 path" does).
 *
 * `arn:aws:states:::aws-sdk:glue:createTableOptimizer` is served by a fake Glue catalog's optimizers
 * (sim/machines/glueOptimizerTask.ts): the table must be one the DuckDB stand-in holds, a second optimizer of
 * a type is refused as AlreadyExists, and IAM evaluates the call and the iam:PassRole of the
 * optimizer role for the state machine's role (sim/iam/requests.ts `glueOptimizerRequests`).
 *
 * At the end the feed's running executions finish, and the epoch's lake table is compared with the
 * source as of the feed's watermark through its lossless `item` column.
 */
import { canonicalItem, itemFromJson, type Item } from '../../format';
import type { IcebergSettings } from '../../functions/iceberg/feed';
import { fromIcebergEnvironment } from '../../functions/iceberg/handler';
import { createIcebergHandler } from '../../functions/iceberg/feed';
import { epochTableName } from '../../functions/iceberg/sql';
import { symlinkKey } from '../../functions/iceberg/staging';
import { generationOf, parseIcebergState } from '../../functions/iceberg/state';
import { initialIcebergParameterValues } from '../../functions/iceberg/action';
import { AthenaQueryError, DuckAthena } from '../athenaDuck';
import { AthenaSyncTask, type AthenaTaskInput } from '../machines/athenaSyncTask';
import {
  GLUE_CREATE_TABLE_OPTIMIZER,
  GlueOptimizers,
  OPTIMIZER_TYPES,
  type CreateTableOptimizerInput,
} from '../machines/glueOptimizerTask';
import { athenaQueryRequests, glueOptimizerRequests } from '../iam/requests';
import type { JsonValue, LocalMachine, LocalRun, SendClient } from '../machines/localRun';
import type { SyntheticTable } from '../workload';
import type { SimulationAccount } from './account';
import { canonicalByKey } from './chainChecks';
import { consumerActivity, consumerPosition, unreadableConsumer } from './consumerActivity';
import { SIMULATION_REGION, type DeployedIcebergFeed } from './deployment';
import { tableDifferences, type IcebergOutcome } from './report';

const ATHENA_SYNC = 'arn:aws:states:::athena:startQueryExecution.sync';

/**
 * The staging reads of the stand-in, as Athena makes them with the caller's permissions: any S3
 * error (a denial above all) fails the query instead of the task.
 */
function athenaReads(s3: SendClient): SendClient {
  return {
    send: async (command) => {
      try {
        return await s3.send(command);
      } catch (error) {
        const input = (command as { input?: { Bucket?: string; Key?: string } }).input ?? {};
        throw new AthenaQueryError(
          `HIVE_CANNOT_OPEN_SPLIT: Error opening s3://${input.Bucket}/${input.Key}: ${(error as Error).name}: ${(error as Error).message}`,
        );
      }
    },
  };
}

/** The simulated Iceberg feed: prepared before the run, attached to it, settled and checked after it. */
export class SimulationIceberg {
  readonly settings: IcebergSettings;
  private readonly deployed: DeployedIcebergFeed;
  private duck: DuckAthena | undefined;
  private athena: AthenaSyncTask | undefined;
  private glue: GlueOptimizers | undefined;
  private machine: LocalMachine | undefined;

  constructor(private readonly account: SimulationAccount) {
    const deployed = account.deployment.iceberg;
    if (!deployed) throw new Error('the simulated stack deploys no Iceberg feed');
    this.deployed = deployed;
    this.settings = fromIcebergEnvironment(deployed.environment);
  }

  /** The feed's metric records (EMF lines) of the run, parsed. */
  readonly metrics: Record<string, unknown>[] = [];

  /** What `pulumi up` creates (the cursor parameter, `{}`, and the action parameter), and the stand-in's empty database. */
  async prepare(): Promise<void> {
    const { account, settings, deployed } = this;
    const initial = initialIcebergParameterValues();
    account.aws.ssm.set(settings.stateParameterName, initial.state);
    if (settings.actionParameterName) account.aws.ssm.set(settings.actionParameterName, initial.action);
    const { spec } = settings;
    const reader = athenaReads(account.asRole(account.sourceS3, 's3', deployed.stateMachineRole));
    this.duck = await DuckAthena.create({
      [`${spec.stagingDatabase}.${spec.stagingTable}`]: {
        s3: reader,
        bucket: settings.chainBucket,
        symlinkKey: (partition) => symlinkKey(settings.chainPrefix, spec.table, partition),
      },
    });
    this.athena = new AthenaSyncTask(this.duck);
    const duck = this.duck;
    // The catalog's tables are the stand-in's: what EnsureTable's CREATE TABLE made.
    this.glue = new GlueOptimizers(
      async (database, table) =>
        (
          await duck.rows(
            `SELECT 1 FROM information_schema.tables WHERE table_schema = '${database.replace(/'/g, "''")}' AND table_name = '${table.replace(/'/g, "''")}' AND table_type = 'BASE TABLE'`,
          )
        ).length > 0,
    );
  }

  /** Whether the deployed definition creates Glue table optimizers (off when disabled). */
  private get createsOptimizers(): boolean {
    const states = (JSON.parse(this.deployed.definition) as { States: Record<string, { Resource?: string }> })
      .States;
    return Object.values(states).some((s) => s.Resource === GLUE_CREATE_TABLE_OPTIMIZER);
  }

  /** Adds the feed's state machine and schedule to the run. */
  attach(run: LocalRun): void {
    const { account, settings, deployed } = this;
    const { athena, glue } = this;
    if (!athena || !glue) throw new Error('the Iceberg feed is not prepared');
    const role = deployed.functionRole;
    const handler = createIcebergHandler(
      settings,
      {
        s3: run.track(account.asRole(account.sourceS3, 's3', role)),
        ssm: run.track(account.asRole(account.rawSsm, 'ssm', role)),
        sns: run.track(account.asRole(account.aws.sns, 'sns', role)),
      },
      undefined,
      { log: (line) => this.metrics.push(JSON.parse(line) as Record<string, unknown>) },
    );
    const scope = { partition: 'aws', region: SIMULATION_REGION, account: account.aws.account };
    const where = { outputLocation: deployed.outputLocation, lakeLocation: settings.spec.lakeLocation };
    this.machine = run.addMachine({
      name: deployed.stateMachineName,
      definition: JSON.parse(deployed.definition) as Record<string, unknown>,
      functionArn: deployed.functionArn,
      handler,
      lambdaTimeoutSeconds: deployed.timeoutSeconds,
      memorySizeMb: deployed.memorySizeMb,
      schedulePeriodMinutes: settings.mergeEveryMinutes,
      access: {
        evaluator: account.access,
        stateMachineRole: deployed.stateMachineRole,
        schedulerRole: deployed.schedulerRole,
      },
      serviceTasks: {
        [ATHENA_SYNC]: {
          command: 'athena:StartQueryExecution',
          // [U] The error name of a denied .sync Athena task: the workflow catches States.ALL.
          deniedError: 'Athena.AccessDeniedException',
          requests: (params) => athenaQueryRequests(params as unknown as AthenaTaskInput, where, scope),
          handle: async (params) => (await athena.handle(params as unknown as AthenaTaskInput)) as JsonValue,
        },
        [GLUE_CREATE_TABLE_OPTIMIZER]: {
          command: 'glue:CreateTableOptimizer',
          // The AWS SDK integration names a service's error `<Service>.<exception>`.
          deniedError: 'Glue.AccessDeniedException',
          requests: (params) => glueOptimizerRequests(params as CreateTableOptimizerInput, scope),
          handle: async (params) => (await glue.handle(params as CreateTableOptimizerInput)) as JsonValue,
        },
      },
    });
    this.machine.scheduler.start();
  }

  /** Lets the feed's running executions finish and stops its schedule. */
  async settle(run: LocalRun): Promise<void> {
    run.primary.scheduler.pause();
    run.primary.abortAll();
    if (this.machine) await run.drain(6 * 3600_000, [this.machine]);
  }

  /** Closes the stand-in's database; safe to call twice. */
  close(): void {
    this.duck?.close();
    this.duck = undefined;
  }

  /** The lake against the source as of the feed's watermark, and how the feed got there. */
  async outcome(params: {
    source: SyntheticTable;
    chainWatermark: string | null;
    resets: number;
  }): Promise<IcebergOutcome> {
    const { account, settings } = this;
    const executed = this.athena?.executed ?? [];
    const base = {
      view: `${settings.spec.database}.${settings.spec.table}`,
      onNewEpoch: settings.onNewEpoch,
      mergeEveryMinutes: settings.mergeEveryMinutes,
      ...consumerActivity(this.machine),
      queries: {
        merges: executed.filter((q) => /^MERGE/.test(q)).length,
        ddl: executed.filter((q) => /^(CREATE|ALTER)/.test(q)).length,
        failed: [...(this.athena?.tokens.values() ?? [])].filter((q) => q.state === 'FAILED').length,
        dataScannedInBytes: [...(this.athena?.tokens.values() ?? [])].reduce(
          (n, q) => n + q.dataScannedInBytes,
          0,
        ),
      },
      alerts: account.aws.sns.messages.filter(isIcebergAlert).length,
      optimizers: this.optimizersOutcome(),
    };
    try {
      const text = account.aws.ssm.get(settings.stateParameterName);
      if (text === undefined || text === '{}') throw new Error('the feed never committed a statement');
      const state = parseIcebergState(text);
      if (!state.epoch) throw new Error('the feed has no epoch');
      const compared = await this.compare(state.epoch, generationOf(state), state.watermark, params.source);
      const watermarkSeconds = state.watermark ? Date.parse(state.watermark) / 1000 : null;
      const haltedByReset =
        state.status === 'HALTED' && state.halt?.reason === 'NEW_EPOCH' && params.resets > 0;
      const optimized =
        base.optimizers === null ||
        base.optimizers.tables[epochTableName(settings.spec, state.epoch)]?.length === OPTIMIZER_TYPES.length;
      return {
        ok:
          optimized &&
          compared.identical &&
          state.lastAppliedSequence >= 0 &&
          state.inProgress === null &&
          state.viewEpoch === state.epoch &&
          (state.viewGeneration ?? 0) === generationOf(state) &&
          (state.status === 'ACTIVE' || haltedByReset),
        ...consumerPosition(state, watermarkSeconds, params.chainWatermark),
        viewEpoch: state.viewEpoch,
        watermark: state.watermark,
        ...compared,
        ...base,
      };
    } catch (error) {
      return { ...unreadableConsumer(error), viewEpoch: null, rows: 0, ...base };
    }
  }

  /** The optimizers each lake table got, when the deployed workflow creates them; null otherwise. */
  private optimizersOutcome(): IcebergOutcome['optimizers'] {
    if (!this.createsOptimizers || !this.glue) return null;
    const tables: Record<string, string[]> = {};
    for (const o of this.glue.created) tables[o.table] = this.glue.typesOf(o.database, o.table);
    return { tables, alreadyExisted: this.glue.alreadyExisted };
  }

  /**
   * The epoch's lake table against the source just before the watermark (the chain covers writes
   * before it): each row's `item` parsed back to an item, its key columns checked against the item.
   */
  private async compare(
    epoch: string,
    generation: number,
    watermark: string | null,
    source: SyntheticTable,
  ): Promise<Pick<IcebergOutcome, 'rows' | 'expectedItems' | 'identical' | 'firstDifferences'>> {
    const { spec } = this.settings;
    if (!this.duck) throw new Error('the Iceberg stand-in is closed');
    const keys = [spec.partitionKey, ...(spec.sortKey ? [spec.sortKey] : [])];
    const rows = await this.duck.rows(
      `SELECT ${keys.map((k) => `"${k.column}"`).join(', ')}, "item" FROM "${spec.database}"."${epochTableName(spec, epoch, generation)}"`,
    );
    const items: Item[] = [];
    const keyMismatches: string[] = [];
    for (const row of rows) {
      const item = itemFromJson(JSON.parse(String(row.item)));
      for (const k of keys) {
        const value = item[k.attribute] as unknown as Record<string, string> | undefined;
        if (value?.[k.type] !== String(row[k.column]))
          keyMismatches.push(
            `key column ${k.column}=${String(row[k.column])} is not the item's: ${canonicalItem(item)}`,
          );
      }
      items.push(item);
    }
    const expectedItems = watermark === null ? [] : source.snapshotBefore(Date.parse(watermark) / 1000);
    const expected = canonicalByKey(expectedItems);
    const actual = canonicalByKey(items);
    const firstDifferences = [...keyMismatches, ...tableDifferences(expected, actual, 5, 'lake')].slice(0, 5);
    return {
      rows: rows.length,
      expectedItems: expectedItems.length,
      identical:
        firstDifferences.length === 0 && expected.size === actual.size && actual.size === rows.length,
      firstDifferences,
    };
  }
}

/** A message of the one notification envelope sent by the Iceberg feed (`kind: 'iceberg'`). */
function isIcebergAlert(message: { Message?: string }): boolean {
  try {
    return (JSON.parse(message.Message ?? '') as { kind?: unknown }).kind === 'iceberg';
  } catch {
    return false;
  }
}
