/**
 * The Pulumi program: validates the stack config, deploys one ContinuousExport per table, and
 * exports one structured output per table (keyed by alias) that the `dce` operator CLI reads with
 * `pulumi stack output --json`. The output shape is documented in docs/deploy.md; keep it stable.
 */
import * as pulumi from '@pulumi/pulumi';
import { bundleAllHandlers } from './components/bundle';
import { validateConfig } from './components/config';
import { ContinuousExport } from './components/continuousExport';
import { componentName } from './components/names';

const config = new pulumi.Config();
const stack = pulumi.getStack();

// Everything is validated before the first resource is registered: a bad config fails the whole run
// with one message listing every problem.
const tableConfigs = validateConfig(
  { tables: config.getObject<unknown>('tables'), defaults: config.getObject<unknown>('defaults') },
  stack,
);

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
function tableOutput(e: ContinuousExport) {
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
    ...(e.crossAccountBucketPolicyStatement
      ? { crossAccountBucketPolicyStatement: e.crossAccountBucketPolicyStatement }
      : {}),
  };
}

/** One entry per table, keyed by alias. */
export const tables = Object.fromEntries(
  [...exportsByAlias.entries()].map(([alias, e]) => [alias, tableOutput(e)]),
);

/** Where each table's exports and chain manifest are. */
export const bucketLocations = [...exportsByAlias.entries()].map(([alias, e]) => ({
  alias,
  tableName: e.config.tableName,
  bucket: e.bucketName,
  prefix: e.prefix,
  exportsUri: e.exportsUri,
  chainManifestUri: e.chainManifestUri,
}));
