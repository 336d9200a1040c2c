/**
 * The Pulumi program: validates the stack config, deploys one ContinuousExport per table, and
 * exports one structured output per table (keyed by alias) that the `dce` operator CLI reads with
 * `pulumi stack output --json`. The output shape is declared in components/stackOutput.ts (documented
 * in docs/deploy.md); keep it stable.
 */
import * as pulumi from '@pulumi/pulumi';
import { bundleAllHandlers } from './components/bundle';
import { checkConfig, PROJECT_NAME } from './components/config';
import { ContinuousExport } from './components/continuousExport';
import { componentName } from './components/names';
import { largeStackWarning } from './components/stackSize';
import type { BucketLocation, Deployed, TableOutput } from './components/stackOutput';

const config = new pulumi.Config();
const stack = pulumi.getStack();

/** This project's config keys other than the ones read below, to report typos such as `table`. */
function otherSettings(): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(pulumi.runtime.allConfig())) {
    const [namespace, name] = [key.slice(0, key.indexOf(':')), key.slice(key.indexOf(':') + 1)];
    if (namespace !== PROJECT_NAME || name === 'tables' || name === 'defaults') continue;
    try {
      out[name] = JSON.parse(value);
    } catch {
      out[name] = value;
    }
  }
  return out;
}

// Everything is validated before the first resource is registered: a bad config fails the whole run
// with one message listing every problem. What AWS would accept but is probably a mistake is shown as
// a warning in `pulumi preview` and `pulumi up`.
const { tables: tableConfigs, warnings } = checkConfig(
  {
    tables: config.getObject<unknown>('tables'),
    defaults: config.getObject<unknown>('defaults'),
    // The AWS provider takes its Region from aws:region, else from the environment.
    region:
      new pulumi.Config('aws').get('region') ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION,
    otherSettings: otherSettings(),
  },
  stack,
);
for (const warning of warnings) void pulumi.log.warn(warning);
const sizeWarning = largeStackWarning(tableConfigs.length);
if (sizeWarning) void pulumi.log.warn(sizeWarning);

// One bundle per handler for the whole program, shared by every table.
const bundles = bundleAllHandlers();

const exportsByAlias = new Map<string, ContinuousExport>();
for (const table of tableConfigs) {
  const { bucket, ...rest } = table;
  exportsByAlias.set(
    table.alias,
    new ContinuousExport(componentName(stack, table.alias), {
      ...rest,
      bucket,
      stackName: stack,
      bundles,
    }),
  );
}

/** What the operator CLI needs about one table. */
function tableOutput(e: ContinuousExport): Deployed<TableOutput> {
  return {
    tableName: e.config.tableName,
    tableArn: e.tableArn,
    bucket: e.bucketName,
    prefix: e.prefix,
    exportsUri: e.exportsUri,
    chainManifestUri: e.chainManifestUri,
    stateMachineArn: e.stateMachineArn,
    notificationTopicArn: e.notificationTopicArn,
    alarmTopicArn: e.alarmTopicArn,
    parameters: {
      action: e.actionParameterName,
      state: e.stateParameterName,
      lock: e.lockParameterName,
    },
    scheduleName: e.scheduleName,
    dashboardName: e.dashboardName,
    tickFunctionName: e.tickFunctionName,
    windowMinutes: e.config.windowMinutes,
    ...(e.crossAccountBucketPolicyStatements
      ? { crossAccountBucketPolicyStatements: e.crossAccountBucketPolicyStatements }
      : {}),
    ...(e.replicas.length > 0 ? { replicas: e.replicas.map((r) => r.output) } : {}),
    ...(e.iceberg ? { iceberg: e.iceberg.output } : {}),
  };
}

/** One entry per table, keyed by alias. */
export const tables: Record<string, Deployed<TableOutput>> = Object.fromEntries(
  [...exportsByAlias.entries()].map(([alias, e]) => [alias, tableOutput(e)]),
);

/** Where each table's exports and chain manifest are. */
export const bucketLocations: Deployed<BucketLocation>[] = [...exportsByAlias.entries()].map(
  ([alias, e]) => ({
    alias,
    tableName: e.config.tableName,
    bucket: e.bucketName,
    prefix: e.prefix,
    exportsUri: e.exportsUri,
    chainManifestUri: e.chainManifestUri,
  }),
);
