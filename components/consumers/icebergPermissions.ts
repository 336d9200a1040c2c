/**
 * The IAM documents of an Iceberg feed, derived from the one action list (`ICEBERG_SDK_CALLS` and
 * `ICEBERG_STATE_MACHINE_TASKS` in functions/shared/awsActions.ts): each grant's resource kind becomes
 * concrete ARNs here, and a kind without ARNs (no KMS key) grants nothing.
 */
import {
  ICEBERG_OPTIMIZER_GRANTS,
  ICEBERG_SDK_CALLS,
  ICEBERG_STATE_MACHINE_TASKS,
  type IcebergGrant,
  type IcebergResourceKind,
} from '../../functions/shared/awsActions';
import type { PolicyDocument, PolicyStatement } from '../permissions';

/** What the ARNs derive from. */
export interface IcebergResourceFacts {
  partition: string;
  region: string;
  accountId: string;
  bucket: string;
  /** The chain's prefix, without slashes at either end ('' for none). */
  prefix: string;
  /** The feed's folder under the prefix: `<prefix>/iceberg/<table>/`. */
  icebergRoot: string;
  parameterArns: string[];
  lockParameterArn: string;
  /** The operator's action parameter, which the feed reads and never writes. @default none (a feed without one grants nothing) */
  actionParameterArn?: string;
  topicArn: string;
  /** The notification topic's KMS key, when it is encrypted. */
  topicKeyArn?: string;
  functionArn: string;
  workGroupName: string;
  databases: string[];
  resultsBucket: string;
  kmsKeyArn?: string;
  /** The lake database and the base name of its tables (`<table>__e<epoch>`); with the optimizers. */
  lake?: { database: string; table: string };
  /** The Glue table optimizers' role, when the feed creates optimizers. */
  optimizerRoleArn?: string;
}

function pathOf(prefix: string, rest: string): string {
  return prefix === '' ? rest : `${prefix}/${rest}`;
}

/** Concrete ARNs of each kind. */
export function icebergResourceArns(f: IcebergResourceFacts): Record<IcebergResourceKind, string[]> {
  const s3 = `arn:${f.partition}:s3:::`;
  const glue = (what: string) => `arn:${f.partition}:glue:${f.region}:${f.accountId}:${what}`;
  return {
    icebergChainObjects: [`${s3}${f.bucket}/${pathOf(f.prefix, 'chain/*')}`],
    icebergChainListing: [`${s3}${f.bucket}`],
    icebergExportObjects: [`${s3}${f.bucket}/${pathOf(f.prefix, 'AWSDynamoDB/*')}`],
    icebergLakeObjects: [`${s3}${f.bucket}/${f.icebergRoot}*`],
    icebergBucket: [`${s3}${f.bucket}`],
    icebergParameters: f.parameterArns,
    icebergLockParameter: [f.lockParameterArn, `${f.lockParameterArn}-takeover-*`],
    icebergActionParameter: f.actionParameterArn ? [f.actionParameterArn] : [],
    icebergTopic: [f.topicArn],
    icebergTopicKey: f.topicKeyArn ? [f.topicKeyArn] : [],
    icebergFunction: [f.functionArn],
    icebergWorkGroup: [`arn:${f.partition}:athena:${f.region}:${f.accountId}:workgroup/${f.workGroupName}`],
    icebergGlue: [
      glue('catalog'),
      ...f.databases.map((d) => glue(`database/${d}`)),
      ...f.databases.map((d) => glue(`table/${d}/*`)),
    ],
    icebergResults: [`${s3}${f.resultsBucket}/*`],
    icebergResultsBucket: [`${s3}${f.resultsBucket}`],
    icebergKmsKey: f.kmsKeyArn ? [f.kmsKeyArn] : [],
    ...optimizerArns(f),
  };
}

/**
 * The optimizers' kinds: the epochs' tables (with their database and the catalog), their folders, the
 * role and Glue's log groups for optimizer runs ([U] the group names, as the guide's example policy
 * spells them). Without optimizers (`optimizers.enabled: false`) the table and role kinds are
 * empty, so neither `glue:CreateTableOptimizer` nor `iam:PassRole` is granted.
 */
function optimizerArns(
  f: IcebergResourceFacts,
): Pick<
  Record<IcebergResourceKind, string[]>,
  'icebergLakeTables' | 'icebergLakeData' | 'icebergOptimizerRole' | 'icebergOptimizerLogs'
> {
  const glue = (what: string) => `arn:${f.partition}:glue:${f.region}:${f.accountId}:${what}`;
  const logs = (group: string) =>
    `arn:${f.partition}:logs:${f.region}:${f.accountId}:log-group:/aws-glue/${group}/logs:*`;
  const on = Boolean(f.optimizerRoleArn && f.lake);
  return {
    icebergLakeTables:
      on && f.lake
        ? [
            glue('catalog'),
            glue(`database/${f.lake.database}`),
            glue(`table/${f.lake.database}/${f.lake.table}__e*`),
          ]
        : [],
    icebergLakeData: [`arn:${f.partition}:s3:::${f.bucket}/${f.icebergRoot}data/*`],
    icebergOptimizerRole: on && f.optimizerRoleArn ? [f.optimizerRoleArn] : [],
    icebergOptimizerLogs: ['iceberg-compaction', 'iceberg-retention', 'iceberg-orphan-file-deletion'].map(
      logs,
    ),
  };
}

/** One statement per (resource kind, action set); listing the chain is limited to its prefix. */
function documentOf(
  grants: IcebergGrant[],
  f: IcebergResourceFacts,
  extra: PolicyStatement[] = [],
): PolicyDocument {
  const arns = icebergResourceArns(f);
  const byKind = new Map<IcebergResourceKind, Set<string>>();
  for (const g of grants) {
    const set = byKind.get(g.resource) ?? new Set<string>();
    g.actions.forEach((a) => set.add(a));
    byKind.set(g.resource, set);
  }
  const statements: PolicyStatement[] = [];
  for (const [kind, actions] of byKind) {
    if (arns[kind].length === 0) continue;
    const statement: PolicyStatement = {
      Sid: kind.replace(/^iceberg/, ''),
      Effect: 'Allow',
      Action: [...actions].sort(),
      Resource: arns[kind],
    };
    if (kind === 'icebergChainListing')
      statement.Condition = { StringLike: { 's3:prefix': [pathOf(f.prefix, 'chain/*')] } };
    // The optimizer role goes to Glue only.
    if (kind === 'icebergOptimizerRole')
      statement.Condition = { StringEquals: { 'iam:PassedToService': 'glue.amazonaws.com' } };
    statements.push(statement);
  }
  return { Version: '2012-10-17', Statement: [...statements, ...extra] };
}

/** The plan/commit Lambda's policy: its SDK calls, and its own log group. */
export function icebergLambdaPolicy(f: IcebergResourceFacts, logGroupArn: string): PolicyDocument {
  return documentOf(Object.values(ICEBERG_SDK_CALLS).flat(), f, [
    {
      Sid: 'Logs',
      Effect: 'Allow',
      Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      Resource: [`${logGroupArn}:*`],
    },
  ]);
}

/** The state machine's policy: its Task resources (the Lambda, and Athena with what Athena touches). */
export function icebergStateMachinePolicy(f: IcebergResourceFacts): PolicyDocument {
  return documentOf(Object.values(ICEBERG_STATE_MACHINE_TASKS).flat(), f);
}

/** The Glue table optimizers' role policy (trusted by glue.amazonaws.com): what the optimizers do. */
export function icebergOptimizerPolicy(f: IcebergResourceFacts): PolicyDocument {
  return documentOf(ICEBERG_OPTIMIZER_GRANTS, f);
}
