/**
 * The one function that turns an ASL template into the definition that deploys. The Pulumi
 * components, the tests, `npm run simulate` and `npm run bench` all call it, so what runs locally is
 * exactly what runs in AWS. Three templates: the export chain, a replica's apply workflow, and an
 * Iceberg feed's workflow.
 */
import template from './export-chain.asl.json';
import replicaTemplate from './replica-apply.asl.json';
import icebergTemplate from './iceberg-feed.asl.json';

export interface DefinitionParameters {
  /** ARN of the export tick Lambda function. */
  TickFunctionArn: string;
}

export interface ReplicaDefinitionParameters {
  /** ARN of the replica's apply Lambda function. */
  ReplicaFunctionArn: string;
}

const PLACEHOLDER = /\$\{([A-Za-z0-9_]+)\}/g;

/** Renders a template; throws on a missing, empty or unknown placeholder. */
function renderTemplate(source: unknown, parameters: object, what: string): Record<string, unknown> {
  const values = parameters as Record<string, string>;
  for (const [name, value] of Object.entries(values)) {
    if (typeof value !== 'string' || value.length === 0) {
      throw new Error(`${what}: parameter ${name} must be a non-empty string`);
    }
  }
  const text = JSON.stringify(source).replace(PLACEHOLDER, (_match, name: string) => {
    if (!(name in values)) {
      throw new Error(`${what}: the template uses \${${name}} but no value was given`);
    }
    return JSON.stringify(values[name]).slice(1, -1);
  });
  return JSON.parse(text) as Record<string, unknown>;
}

/** Renders the export chain definition; throws on a missing, empty or unknown placeholder. */
export function renderDefinition(parameters: DefinitionParameters): Record<string, unknown> {
  return renderTemplate(template, parameters, 'renderDefinition');
}

/** The definition as the JSON string Step Functions takes. */
export function renderDefinitionString(parameters: DefinitionParameters): string {
  return JSON.stringify(renderDefinition(parameters), null, 2);
}

/** Renders a replica's apply workflow (statemachine/replica-apply.asl.json). */
export function renderReplicaDefinition(parameters: ReplicaDefinitionParameters): Record<string, unknown> {
  return renderTemplate(replicaTemplate, parameters, 'renderReplicaDefinition');
}

/** The replica definition as the JSON string Step Functions takes. */
export function renderReplicaDefinitionString(parameters: ReplicaDefinitionParameters): string {
  return JSON.stringify(renderReplicaDefinition(parameters), null, 2);
}

export interface IcebergDefinitionParameters {
  /** ARN of the feed's plan/commit Lambda function. */
  IcebergFunctionArn: string;
  /** The feed's Athena workgroup. */
  WorkGroup: string;
  /** The Glue database of the target table and view. */
  Database: string;
  /** The data catalog of the query context: `AwsDataCatalog` (the Glue Data Catalog). */
  Catalog: string;
}

/** The Glue table optimizers the workflow creates on each epoch's table (components/config/iceberg.ts). */
export interface IcebergOptimizerParameters {
  /** The role Glue runs the optimizers as (passed with iam:PassRole). */
  roleArn: string;
  /** The Data Catalog's id: the account's. */
  catalogId: string;
  snapshotRetentionDays: number;
  snapshotsToRetain: number;
  orphanFileRetentionDays: number;
}

/** The template's states that create the optimizers, in order, and the Choice that leads to them. */
export const ICEBERG_OPTIMIZER_STATES = [
  'New table?',
  'Compaction optimizer',
  'Snapshot retention optimizer',
  'Orphan file optimizer',
] as const;

/** The Iceberg template without the optimizer states: EnsureTable goes straight to Commit. */
function withoutOptimizers(source: typeof icebergTemplate): Record<string, unknown> {
  const states: Record<string, Record<string, unknown>> = { ...source.States };
  for (const name of ICEBERG_OPTIMIZER_STATES) delete states[name];
  states.EnsureTable = { ...states.EnsureTable, Next: 'Commit' };
  return { ...source, States: states };
}

/**
 * Renders an Iceberg feed's workflow (statemachine/iceberg-feed.asl.json): with `optimizers`, a table
 * EnsureTable creates gets Glue's three optimizers; without (`optimizers.enabled: false`), those
 * states are left out.
 */
export function renderIcebergDefinition(
  parameters: IcebergDefinitionParameters,
  optimizers?: IcebergOptimizerParameters,
): Record<string, unknown> {
  if (!optimizers)
    return renderTemplate(withoutOptimizers(icebergTemplate), parameters, 'renderIcebergDefinition');
  // Whole days: the template turns them back into numbers (States.StringToJson), as Glue takes them.
  for (const key of ['snapshotRetentionDays', 'snapshotsToRetain', 'orphanFileRetentionDays'] as const)
    if (!Number.isInteger(optimizers[key]) || optimizers[key] < 1)
      throw new Error(`renderIcebergDefinition: optimizers.${key} must be a whole number >= 1`);
  return renderTemplate(
    icebergTemplate,
    {
      ...parameters,
      OptimizerRoleArn: optimizers.roleArn,
      CatalogId: optimizers.catalogId,
      SnapshotRetentionDays: String(optimizers.snapshotRetentionDays),
      SnapshotsToRetain: String(optimizers.snapshotsToRetain),
      OrphanFileRetentionDays: String(optimizers.orphanFileRetentionDays),
    },
    'renderIcebergDefinition',
  );
}

/** The Iceberg feed definition as the JSON string Step Functions takes. */
export function renderIcebergDefinitionString(
  parameters: IcebergDefinitionParameters,
  optimizers?: IcebergOptimizerParameters,
): string {
  return JSON.stringify(renderIcebergDefinition(parameters, optimizers), null, 2);
}
