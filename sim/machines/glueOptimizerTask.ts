/**
 * A stand-in for the Step Functions task `arn:aws:states:::aws-sdk:glue:createTableOptimizer`: a fake
 * Glue Data Catalog's table optimizers, answering as Glue does (AWS Glue API reference,
 * CreateTableOptimizer):
 *
 * - the table must exist in the catalog (here: a table the DuckDB stand-in holds, which EnsureTable's
 *   CREATE TABLE made), else `Glue.EntityNotFoundException`;
 * - one optimizer per table and type: a second is refused with `Glue.AlreadyExistsException`, which the
 *   workflow treats as success;
 * - the type is `compaction`, `retention` or `orphan_file_deletion`, the configuration names a role, and
 *   its retention numbers are whole numbers of at least 1 (they reach Glue as JSON numbers), else
 *   `Glue.InvalidInputException`.
 *
 * Errors are named as the AWS SDK integration names them: `Glue.<exception>`. IAM (the call, and the
 * iam:PassRole of the optimizer role) is evaluated before the stand-in runs (sim/machines/serviceTasks.ts with
 * `glueOptimizerRequests` of sim/iam/requests.ts).
 */

export const GLUE_CREATE_TABLE_OPTIMIZER = 'arn:aws:states:::aws-sdk:glue:createTableOptimizer';

/** The optimizer types Glue has for Iceberg tables. */
export const OPTIMIZER_TYPES = ['compaction', 'retention', 'orphan_file_deletion'] as const;
export type OptimizerType = (typeof OPTIMIZER_TYPES)[number];

/** The task's parameters, in the PascalCase of the AWS SDK integration. */
export interface CreateTableOptimizerInput {
  CatalogId?: string;
  DatabaseName?: string;
  TableName?: string;
  Type?: string;
  TableOptimizerConfiguration?: {
    RoleArn?: string;
    Enabled?: boolean;
    RetentionConfiguration?: {
      IcebergConfiguration?: {
        SnapshotRetentionPeriodInDays?: unknown;
        NumberOfSnapshotsToRetain?: unknown;
        CleanExpiredFiles?: boolean;
      };
    };
    OrphanFileDeletionConfiguration?: {
      IcebergConfiguration?: { OrphanFileRetentionPeriodInDays?: unknown };
    };
  };
}

/** One optimizer the fake catalog holds. */
export interface RecordedOptimizer {
  catalogId: string;
  database: string;
  table: string;
  type: OptimizerType;
  roleArn: string;
  enabled: boolean;
  /** The type's own settings, as sent. */
  settings: Record<string, unknown>;
}

/** A fault for one call: an error the call fails with before Glue does anything (e.g. throttling). */
export type GlueFault = { throws: string } | undefined;

function glueError(name: string, message: string): Error {
  return Object.assign(new Error(message), { name: `Glue.${name}` });
}

/** A whole number of at least 1, or undefined when absent (Glue's default). */
function checkCount(value: unknown, field: string): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1)
    throw glueError(
      'InvalidInputException',
      `${field} must be an integer >= 1, got ${JSON.stringify(value)}`,
    );
}

export class GlueOptimizers {
  /** The optimizers created, in order. */
  readonly created: RecordedOptimizer[] = [];
  /** Calls refused because the optimizer existed. */
  alreadyExisted = 0;
  calls = 0;

  constructor(
    /** Whether the catalog has this table (the DuckDB stand-in's tables in the simulation). */
    private readonly tableExists: (database: string, table: string) => Promise<boolean>,
    private readonly fault: (input: CreateTableOptimizerInput, call: number) => GlueFault = () => undefined,
  ) {}

  /** The optimizer types of one table, sorted. */
  typesOf(database: string, table: string): OptimizerType[] {
    return this.created
      .filter((o) => o.database === database && o.table === table)
      .map((o) => o.type)
      .sort();
  }

  async handle(input: CreateTableOptimizerInput): Promise<Record<string, never>> {
    const call = this.calls++;
    const fault = this.fault(input, call);
    if (fault) throw glueError(fault.throws.replace(/^Glue\./, ''), `${fault.throws}: Rate exceeded`);
    const { CatalogId, DatabaseName, TableName, Type, TableOptimizerConfiguration: config } = input;
    for (const [field, value] of Object.entries({ CatalogId, DatabaseName, TableName, Type }))
      if (typeof value !== 'string' || value === '')
        throw glueError('InvalidInputException', `${field} is required`);
    if (!(OPTIMIZER_TYPES as readonly string[]).includes(Type!))
      throw glueError(
        'InvalidInputException',
        `Type ${JSON.stringify(Type)} is not one of ${OPTIMIZER_TYPES.join(', ')}`,
      );
    if (!config || typeof config.RoleArn !== 'string' || !config.RoleArn.startsWith('arn:'))
      throw glueError('InvalidInputException', 'TableOptimizerConfiguration.RoleArn is required');
    const retention = config.RetentionConfiguration?.IcebergConfiguration;
    checkCount(retention?.SnapshotRetentionPeriodInDays, 'SnapshotRetentionPeriodInDays');
    checkCount(retention?.NumberOfSnapshotsToRetain, 'NumberOfSnapshotsToRetain');
    const orphan = config.OrphanFileDeletionConfiguration?.IcebergConfiguration;
    checkCount(orphan?.OrphanFileRetentionPeriodInDays, 'OrphanFileRetentionPeriodInDays');
    if (!(await this.tableExists(DatabaseName!, TableName!)))
      throw glueError('EntityNotFoundException', `Table ${TableName} not found in database ${DatabaseName}`);
    const type = Type as OptimizerType;
    if (this.created.some((o) => o.database === DatabaseName && o.table === TableName && o.type === type)) {
      this.alreadyExisted += 1;
      throw glueError(
        'AlreadyExistsException',
        `A ${type} optimizer already exists for ${DatabaseName}.${TableName}`,
      );
    }
    this.created.push({
      catalogId: CatalogId!,
      database: DatabaseName!,
      table: TableName!,
      type,
      roleArn: config.RoleArn,
      enabled: config.Enabled !== false,
      settings: { ...(retention ?? {}), ...(orphan ?? {}) },
    });
    return {};
  }
}
