/**
 * The simulated table as `pulumi up` deploys it: the stack config a run stands for, and what the
 * deployment gives the run (each workflow's function, state machine, schedule and their roles, every
 * role's policies). The run takes its settings from the deployed Lambda environments and evaluates
 * every AWS call against the deployed roles (`sim/iam/`), so what it runs is what deploys.
 *
 * Rendering the program needs the Pulumi runtime and `components/`, which `sim/` does not import: the
 * command that runs the simulation passes the renderer (`OperatorTools.deploy`, filled by
 * `cli/simulate.ts` with `cli/deployedAccess.ts`).
 */
import type { RoleAccess } from '../iam/evaluator';
import type { ReplicationRule } from '../s3Replication';
import { EXPORT_FORMAT_OF_FLAG, type SimulateOptions } from './options';
import { SCALE_SIZES } from './scaleSizes';

export const SIMULATION_REGION = 'us-east-1';
export const SIMULATION_STACK = 'simulation';
export const SIMULATION_ALIAS = 'orders';
export const SIMULATION_BUCKET = 'dce-simulation-exports';
export const SIMULATION_PREFIX = `exports/${SIMULATION_ALIAS}`;
export const SIMULATION_REPLICA_ALIAS = 'copy';
export const SIMULATION_REPLICA_TABLE = `${SIMULATION_ALIAS}-replica`;
/** The table a distributed restore writes (`--dr`): the target of the replica without a schedule. */
export const SIMULATION_DISTRIBUTED_RESTORE_TABLE = `${SIMULATION_ALIAS}-restored-distributed`;
export const SIMULATION_RESTORE_REPLICA_ALIAS = 'restore';
/** The protected copy's bucket (`dr:`, `--dr`), and the Region it stands for. */
export const SIMULATION_DR_BUCKET = 'dce-simulation-exports-dr';
export const SIMULATION_DR_REGION = 'us-west-2';

/** One deployed workflow: its Lambda function, state machine and schedule, with their roles. */
export interface DeployedWorkflow {
  functionName: string;
  functionArn: string;
  functionRole: string;
  /** The function's environment: the settings it runs with. */
  environment: Record<string, string>;
  timeoutSeconds: number;
  memorySizeMb: number;
  stateMachineName: string;
  stateMachineArn: string;
  stateMachineRole: string;
  schedulerRole: string;
}

/** A workflow deployed without a schedule (a replica with `schedule: false`): nothing starts it but the operator. */
export type UnscheduledWorkflow = Omit<DeployedWorkflow, 'schedulerRole'> & { schedulerRole?: string };

/** The Iceberg feed as deployed: its workflow, its definition as rendered, and its Athena workgroup. */
export interface DeployedIcebergFeed extends DeployedWorkflow {
  /** The state machine's definition as the component rendered it (the one render function). */
  definition: string;
  /** The Athena workgroup the definition names, and where it writes query results (enforced). */
  workGroup: string;
  outputLocation: string;
}

/** The `dr:` protected copy as deployed: the replication rules and the role S3 replicates as. */
export interface DeployedReplication {
  roleName: string;
  rules: ReplicationRule[];
}

/** What the run needs of the deployment. */
export interface SimulationDeployment {
  /** Every IAM role the stack deploys, with its inline policies as rendered. */
  roles: RoleAccess[];
  exportChain: DeployedWorkflow;
  /** The replicas of the table, in config order. */
  replicas: DeployedWorkflow[];
  /** The replica without a schedule that distributed restores run on (`--dr`). */
  restoreReplica?: UnscheduledWorkflow;
  /** The table's Iceberg feed, when the config has `iceberg:`. */
  iceberg?: DeployedIcebergFeed;
  /** The KMS key of each encrypted topic, by topic ARN. */
  topicKeys: Record<string, string>;
  /** The replication of the export bucket to the protected copy, when the config has `dr:`. */
  replication?: DeployedReplication;
}

/** Where the simulated stack is deployed. */
export interface DeploymentTarget {
  stack: string;
  region: string;
  account: string;
}

/** Renders the stack for `config` (a Pulumi stack config, keys without the project's namespace). */
export type DeploySimulation = (
  config: Record<string, unknown>,
  target: DeploymentTarget,
) => Promise<SimulationDeployment>;

/**
 * The simulated table's `iceberg:` block: its keys (pk S, sk N), three projections of the workload's
 * attributes (a string, a number that is sometimes too large for the decimal, so `try_cast` gives
 * NULL, and an integer), merged every hour (the config's default).
 */
export const SIMULATION_ICEBERG = {
  partitionKey: { attribute: 'pk', type: 'S' },
  sortKey: { attribute: 'sk', type: 'N' },
  columns: [
    { column: 'kind', attribute: 'kind', type: 'string' },
    { column: 'amount', attribute: 'amount', type: 'decimal(38,9)' },
    { column: 'version', attribute: 'version', type: 'bigint' },
  ],
  mergeEveryMinutes: 60,
};

/** Pure: the stack config the simulated table stands for, from the run's flags. */
export function simulationStackConfig(
  options: Pick<
    SimulateOptions,
    | 'window'
    | 'format'
    | 'replicaOnNewEpoch'
    | 'replicaBootstrap'
    | 'scale'
    | 'iceberg'
    | 'windowMode'
    | 'maxStalenessMinutes'
    | 'dr'
  >,
): Record<string, unknown> {
  return {
    'aws:region': SIMULATION_REGION,
    tables: [
      {
        tableName: SIMULATION_ALIAS,
        // `dr:` replicates only a bucket the stack creates (its versioning and replication are the
        // stack's to set): with --dr the stack creates the export bucket, and the run uses it.
        bucket: options.dr
          ? { prefix: SIMULATION_PREFIX }
          : { existingName: SIMULATION_BUCKET, prefix: SIMULATION_PREFIX },
        ...(options.dr
          ? { dr: { bucket: SIMULATION_DR_BUCKET, region: SIMULATION_DR_REGION, create: true } }
          : {}),
        exportFormat: EXPORT_FORMAT_OF_FLAG[options.format ?? 'json'],
        exportViewType: 'NEW_AND_OLD_IMAGES',
        windowMinutes: options.window,
        ...(options.windowMode === 'costAware'
          ? {
              windowMode: 'costAware',
              ...(options.maxStalenessMinutes !== undefined
                ? { maxStalenessMinutes: options.maxStalenessMinutes }
                : {}),
            }
          : {}),
        maxCatchUpWindowMinutes: 1440,
        restorableMarginSeconds: 60,
        maxInFlight: 4,
        onPitrGap: 'alert',
        notifyOnSuccess: false,
        replicas: [
          {
            tableName: SIMULATION_REPLICA_TABLE,
            alias: SIMULATION_REPLICA_ALIAS,
            bootstrap: options.replicaBootstrap ?? 'write',
            // A RESET in the run (--faults chaos) halts the replica with one alert, as deployed by
            // default, or (--replica-on-new-epoch rebaseline) empties it and follows the new epoch.
            onNewEpoch: options.replicaOnNewEpoch ?? 'halt',
            // --scale: a slow replica, so the large export and the hot window each take several
            // invocations of work (functions/replica/workSizing.ts).
            maxWritesPerSecond: options.scale ? SCALE_SIZES[options.scale].replicaWritesPerSecond : 1000,
            concurrency: 2,
          },
          // --dr: a replica without a schedule, the machine of a distributed restore (dce restore
          // --distributed), run once after the run to a point in the chain's past.
          ...(options.dr
            ? [
                {
                  tableName: SIMULATION_DISTRIBUTED_RESTORE_TABLE,
                  alias: SIMULATION_RESTORE_REPLICA_ALIAS,
                  schedule: false,
                  concurrency: 2,
                },
              ]
            : []),
        ],
        // The feed reads DYNAMODB_JSON exports only (the config refuses it beside ION).
        ...(options.iceberg && options.format !== 'ion' ? { iceberg: SIMULATION_ICEBERG } : {}),
      },
    ],
  };
}
