/**
 * IAM policy documents, derived from the one list of what the workflow does (`functions/shared/awsActions.ts`).
 *
 * Each `ResourceKind` becomes concrete ARNs for one table; a grant whose resource does not exist for
 * that table (no KMS key configured) is left out. No statement has a wildcard action, and every
 * statement names specific resources, with one documented exception in `stateMachineLogDeliveryStatement`.
 */
import { renderDefinition, renderReplicaDefinition } from '../statemachine/render';
import {
  Grant,
  REPLICA_DISTRIBUTED_MAP_GRANTS,
  REPLICA_SDK_CALLS,
  REPLICA_STATE_MACHINE_TASKS,
  REPLICA_IMPORT_TARGET_KINDS,
  REPLICA_TARGET_ROLE_CALLS,
  REPLICA_TARGET_ROLE_IMPORT_CALLS,
  ReplicaGrant,
  ReplicaResourceKind,
  ResourceKind,
  SDK_CALLS,
  STATE_MACHINE_TASKS,
} from '../functions/shared/awsActions';
import { replicaActionParameterName, replicaLockName } from '../functions/shared/names';
import { runFailureMarkerKey } from '../functions/chain/runFailureMarker';

/** One IAM policy statement. */
export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  /** Only in resource policies (bucket policies) and trust policies. */
  Principal?: '*' | { Service?: string; AWS?: string };
  Action: string[];
  /** Absent only in trust policies. */
  Resource?: string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

/** An IAM policy document. */
export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: PolicyStatement[];
}

/** Concrete ARNs per resource kind; a kind that is absent or empty does not exist for this table. */
export type ResourceArns = Partial<Record<ResourceKind, string[]>>;

/** Everything the ARNs of one table are built from. */
export interface TableResourceFacts {
  partition: string;
  region: string;
  accountId: string;
  tableName: string;
  bucket: string;
  /** Key prefix without leading or trailing '/'; may be empty. */
  prefix: string;
  /** SSM parameter names (they start with '/'). */
  stateParameterName: string;
  actionParameterName: string;
  lockParameterName: string;
  notificationTopicArn: string;
  /** The KMS key of the notification topic, when it is encrypted. */
  notificationKmsKeyArn?: string;
  kmsKeyArn?: string;
  tickFunctionArn: string;
}

/** `<prefix>/<rest>`, or `<rest>` when there is no prefix. */
export function underPrefix(prefix: string, rest: string): string {
  return prefix === '' ? rest : `${prefix}/${rest}`;
}

export function tableArn(partition: string, region: string, accountId: string, tableName: string): string {
  return `arn:${partition}:dynamodb:${region}:${accountId}:table/${tableName}`;
}

function parameterArn(
  f: Pick<TableResourceFacts, 'partition' | 'region' | 'accountId'>,
  name: string,
): string {
  // Parameter names with a path already start with '/': the ARN is `...:parameter/<path>`.
  return `arn:${f.partition}:ssm:${f.region}:${f.accountId}:parameter${name.startsWith('/') ? '' : '/'}${name}`;
}

/** Maps every resource kind to its ARNs for one table. */
export function resourceArns(f: TableResourceFacts): ResourceArns {
  const table = tableArn(f.partition, f.region, f.accountId, f.tableName);
  const object = (rest: string) => `arn:${f.partition}:s3:::${f.bucket}/${underPrefix(f.prefix, rest)}`;
  const state = parameterArn(f, f.stateParameterName);
  const action = parameterArn(f, f.actionParameterName);
  const lock = parameterArn(f, f.lockParameterName);
  // Takeover markers of the lease (`functions/shared/lease.ts`): `<lock>-takeover-<hash>-<n>`.
  const markers = `${lock}-takeover-*`;
  return {
    table: [table],
    tableExports: [`${table}/export/*`],
    exportObjects: [object('AWSDynamoDB/*')],
    chainObjects: [object('chain/*')],
    runFailureListing: [`arn:${f.partition}:s3:::${f.bucket}`],
    readParameters: [state, action, lock, markers],
    // The action parameter is the operator's: the workflow only reads it (a RESET is consumed by its
    // version, never by writing RUN back over what an operator may have written since).
    writeParameters: [state, lock, markers],
    lockParameter: [lock, markers],
    notificationTopic: [f.notificationTopicArn],
    notificationKmsKey: f.notificationKmsKeyArn ? [f.notificationKmsKeyArn] : [],
    exportKmsKey: f.kmsKeyArn ? [f.kmsKeyArn] : [],
    tickFunction: [f.tickFunctionArn],
  };
}

/**
 * Turns grants into statements: one statement per resource kind, actions de-duplicated and sorted so
 * the document is stable. Grants on a kind with no ARNs are dropped. `conditionOf` adds a condition
 * to a kind's statement (the replica's chain listing is limited to the chain prefix).
 */
export function statementsFor<K extends string>(
  grants: { actions: string[]; resource: K }[],
  arns: Partial<Record<K, string[]>>,
  conditionOf: (kind: K) => PolicyStatement['Condition'] | undefined = () => undefined,
): PolicyStatement[] {
  const byKind = new Map<K, Set<string>>();
  for (const grant of grants) {
    for (const action of grant.actions) {
      if (action.includes('*')) throw new Error(`wildcard action ${action} in awsActions.ts`);
    }
    if ((arns[grant.resource] ?? []).length === 0) continue;
    const set = byKind.get(grant.resource) ?? new Set<string>();
    for (const action of grant.actions) set.add(action);
    byKind.set(grant.resource, set);
  }
  return [...byKind.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([kind, actions]) => {
      const condition = conditionOf(kind);
      return {
        Sid: sid(kind),
        Effect: 'Allow' as const,
        Action: [...actions].sort(),
        Resource: [...new Set(arns[kind])].sort(),
        ...(condition ? { Condition: condition } : {}),
      };
    });
}

function sid(kind: string): string {
  return kind
    .replace(/(^|[^A-Za-z0-9])([a-z])/g, (_m, _p, c: string) => c.toUpperCase())
    .replace(/[^A-Za-z0-9]/g, '');
}

/** Writing to the function's own log group: the one thing the Lambda runtime itself needs. */
export function lambdaLoggingStatement(logGroupArn: string): PolicyStatement {
  return {
    Sid: 'OwnLogGroup',
    Effect: 'Allow',
    Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
    Resource: [`${logGroupArn}:*`],
  };
}

/** The export tick's policy: every SDK call in `SDK_CALLS`, scoped to this table, plus its own logs. */
export function lambdaPolicy(facts: TableResourceFacts, logGroupArn: string): PolicyDocument {
  const grants = Object.values(SDK_CALLS).flat();
  // The listing is limited to the run-failure note's own key.
  const listing = (kind: ResourceKind) =>
    kind === 'runFailureListing'
      ? { StringEquals: { 's3:prefix': [runFailureMarkerKey(facts.prefix)] } }
      : undefined;
  return {
    Version: '2012-10-17',
    Statement: [...statementsFor(grants, resourceArns(facts), listing), lambdaLoggingStatement(logGroupArn)],
  };
}

/** Task `Resource` values of a definition (including states nested in Map/Parallel branches). */
export function taskResources(definition: unknown): string[] {
  const found = new Set<string>();
  const visit = (node: unknown) => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (node && typeof node === 'object') {
      const obj = node as Record<string, unknown>;
      if (obj.Type === 'Task' && typeof obj.Resource === 'string') found.add(obj.Resource);
      Object.values(obj).forEach(visit);
    }
  };
  visit(definition);
  return [...found].sort();
}

/**
 * The grants the state machine needs: one lookup in STATE_MACHINE_TASKS per Task resource the
 * definition uses. A Task with no entry there is a contract violation and stops the program.
 */
export function stateMachineGrants(): Grant[] {
  // The ARN does not change which resources the template's Tasks use.
  const definition = renderDefinition({
    TickFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:x',
  });
  return taskResources(definition).flatMap((resource) => {
    const grants = STATE_MACHINE_TASKS[resource];
    if (!grants) {
      throw new Error(
        `The state machine uses Task ${resource}, which functions/shared/awsActions.ts does not list`,
      );
    }
    return grants;
  });
}

/**
 * Step Functions logging to CloudWatch Logs goes through log deliveries, and these actions accept
 * only `Resource: "*"` (see "Logging using CloudWatch Logs" in the Step Functions developer guide).
 * This is the one statement in the program that is not scoped to specific resources; its actions
 * are still listed one by one.
 */
export function stateMachineLogDeliveryStatement(): PolicyStatement {
  return {
    Sid: 'LogDeliveryAcceptsOnlyStar',
    Effect: 'Allow',
    Action: [
      'logs:CreateLogDelivery',
      'logs:DeleteLogDelivery',
      'logs:DescribeLogGroups',
      'logs:DescribeResourcePolicies',
      'logs:GetLogDelivery',
      'logs:ListLogDeliveries',
      'logs:PutResourcePolicy',
      'logs:UpdateLogDelivery',
    ],
    Resource: ['*'],
  };
}

/** The state machine's policy: its Tasks, scoped to this table's function, plus log delivery. */
export function stateMachinePolicy(arns: ResourceArns): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [...statementsFor(stateMachineGrants(), arns), stateMachineLogDeliveryStatement()],
  };
}

/** The scheduler's policy: start executions of this one state machine, nothing else. */
export function schedulerPolicy(stateMachineArn: string): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'StartThisStateMachine',
        Effect: 'Allow',
        Action: ['states:StartExecution'],
        Resource: [stateMachineArn],
      },
    ],
  };
}

/**
 * Trust policy for a service role. With `sourceAccount`, the `aws:SourceAccount` condition stops a
 * resource in another account from using the service to act through this role (the confused-deputy
 * problem). Step Functions and EventBridge Scheduler document this condition for their roles.
 */
export function serviceTrustPolicy(service: string, sourceAccount?: string): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Service: service },
        Action: ['sts:AssumeRole'],
        ...(sourceAccount ? { Condition: { StringEquals: { 'aws:SourceAccount': sourceAccount } } } : {}),
      },
    ],
  };
}

/** What the account that owns a topic may do with it: the actions of the topic's default policy. */
export const TOPIC_OWNER_ACTIONS = [
  'sns:AddPermission',
  'sns:DeleteTopic',
  'sns:GetTopicAttributes',
  'sns:ListSubscriptionsByTopic',
  'sns:Publish',
  'sns:Receive',
  'sns:RemovePermission',
  'sns:SetTopicAttributes',
  'sns:Subscribe',
];

/** `arn:<partition>:cloudwatch:<region>:<account>:alarm:<name>` */
export function alarmArn(partition: string, region: string, accountId: string, alarmName: string): string {
  return `arn:${partition}:cloudwatch:${region}:${accountId}:alarm:${alarmName}`;
}

/**
 * Access policy of a table's alarm topic. A topic policy replaces the topic's default policy as a
 * whole, so it has two statements:
 *
 * - the account keeps what the default policy gave it (managing, subscribing, publishing), named by
 *   its root ARN rather than `*` with `AWS:SourceOwner`, which SNS would not rewrite (no diff churn);
 * - the CloudWatch service may publish, but only for this table's alarms in this account
 *   (`aws:SourceAccount` and `aws:SourceArn`, against the confused-deputy problem).
 *
 * Same-account alarms can already publish under the default policy (its `AWS:SourceOwner` condition
 * matches them), so the second statement does not widen anything: it states the one publisher the
 * topic is for and keeps working if the default policy is ever tightened.
 */
export function alarmTopicPolicy(
  partition: string,
  region: string,
  accountId: string,
  topicArn: string,
  alarmNames: string[],
): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'TopicOwner',
        Effect: 'Allow',
        Principal: { AWS: `arn:${partition}:iam::${accountId}:root` },
        Action: [...TOPIC_OWNER_ACTIONS],
        Resource: [topicArn],
      },
      {
        Sid: 'CloudWatchAlarmsOfThisTable',
        Effect: 'Allow',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: ['sns:Publish'],
        Resource: [topicArn],
        Condition: {
          StringEquals: { 'aws:SourceAccount': accountId },
          ArnLike: {
            'aws:SourceArn': alarmNames.map((n) => alarmArn(partition, region, accountId, n)).sort(),
          },
        },
      },
    ],
  };
}

// ---- replica (components/consumers/tableReplica.ts) --------------------------------------------------------

/** Everything the ARNs of one replica are built from. */
export interface ReplicaResourceFacts {
  partition: string;
  /** Region and account of the source (the stack): the chain, the Lambda, the state machine. */
  region: string;
  accountId: string;
  bucket: string;
  prefix: string;
  kmsKeyArn?: string;
  stateParameterName: string;
  /** The operator's action parameter. @default beside the state (`replicaActionParameterName`) */
  actionParameterName?: string;
  notificationTopicArn: string;
  /** The KMS key of the notification topic, when it is encrypted. */
  notificationKmsKeyArn?: string;
  functionArn: string;
  stateMachineName: string;
  targetTableName: string;
  /** The target's Region; the stack's when absent. */
  targetRegion?: string;
  /** The role in the target account; absent when the Lambda's own role writes. */
  roleArn?: string;
  /** The replica's bootstrap; the import grants exist only for `import`. @default 'write' */
  bootstrap?: 'write' | 'import';
  /**
   * The source table (in `region` and `accountId`), described to check the target's key schema, and by
   * an `import` bootstrap.
   */
  sourceTableName?: string;
}

/** The target table's ARN: in the target Region, and in the role's account when a role is set. */
export function replicaTargetTableArn(f: ReplicaResourceFacts): string {
  const account = f.roleArn ? f.roleArn.split(':')[4] : f.accountId;
  return tableArn(f.partition, f.targetRegion ?? f.region, account, f.targetTableName);
}

/**
 * The target side of an `import` bootstrap: the table ImportTable creates, its imports, the export it
 * reads with its caller's permissions, and its log groups in the target's account and Region. Empty for
 * a `write` bootstrap.
 */
export function replicaImportTargetArns(
  f: ReplicaResourceFacts,
): Partial<Record<ReplicaResourceKind, string[]>> {
  if (f.bootstrap !== 'import') return {};
  const table = replicaTargetTableArn(f);
  const account = f.roleArn ? f.roleArn.split(':')[4] : f.accountId;
  return {
    importTargetTable: [table],
    importTargetImports: [`${table}/import/*`],
    importExportObjects: [`arn:${f.partition}:s3:::${f.bucket}/${underPrefix(f.prefix, 'AWSDynamoDB/*')}`],
    importExportListing: [`arn:${f.partition}:s3:::${f.bucket}`],
    importLogs: [
      `arn:${f.partition}:logs:${f.targetRegion ?? f.region}:${account}:log-group:/aws-dynamodb/*`,
    ],
    // Actions that take no resource type: IAM evaluates them against `*` only.
    importUnscoped: ['*'],
    // An SSE-KMS export is decrypted with the caller's permissions (the key's policy must allow it too).
    exportKmsKey: f.kmsKeyArn ? [f.kmsKeyArn] : [],
  };
}

/** Maps every replica resource kind to its ARNs. */
export function replicaResourceArns(f: ReplicaResourceFacts): Partial<Record<ReplicaResourceKind, string[]>> {
  const replicaStateArn = parameterArn(f, f.stateParameterName);
  const replicaActionArn = parameterArn(
    f,
    f.actionParameterName ?? replicaActionParameterName(f.stateParameterName),
  );
  const object = (rest: string) => `arn:${f.partition}:s3:::${f.bucket}/${underPrefix(f.prefix, rest)}`;
  return {
    sourceExportObjects: [object('AWSDynamoDB/*')],
    sourceChainObjects: [object('chain/*')],
    sourceChainListing: [`arn:${f.partition}:s3:::${f.bucket}`],
    exportKmsKey: f.kmsKeyArn ? [f.kmsKeyArn] : [],
    replicaStateParameter: [replicaStateArn],
    replicaActionParameter: [replicaActionArn],
    // functions/replica/apply.ts: the lock beside the state, and the lease's takeover markers.
    replicaLockParameter: [
      replicaLockName(replicaStateArn),
      `${replicaLockName(replicaStateArn)}-takeover-*`,
    ],
    notificationTopic: [f.notificationTopicArn],
    notificationKmsKey: f.notificationKmsKeyArn ? [f.notificationKmsKeyArn] : [],
    // With a role, the table grants belong to the role in the target account, not to this Lambda.
    targetTable: f.roleArn ? [] : [replicaTargetTableArn(f)],
    targetRole: f.roleArn ? [f.roleArn] : [],
    replicaFunction: [f.functionArn],
    replicaStateMachine: [
      `arn:${f.partition}:states:${f.region}:${f.accountId}:stateMachine:${f.stateMachineName}`,
    ],
    replicaExecutions: [
      `arn:${f.partition}:states:${f.region}:${f.accountId}:execution:${f.stateMachineName}/*`,
    ],
    replicaParentExecutions: [
      `arn:${f.partition}:states:${f.region}:${f.accountId}:execution:${f.stateMachineName}:*`,
    ],
    sourceTable: f.sourceTableName ? [tableArn(f.partition, f.region, f.accountId, f.sourceTableName)] : [],
    // With a role, ImportTable runs as that role: the target side belongs to it (replicaTargetRoleDocuments).
    ...(f.roleArn ? {} : replicaImportTargetArns(f)),
  };
}

/** Replica grants as statements (one per resource kind), listing limited to the chain prefix. */
export function replicaStatements(
  grants: ReplicaGrant[],
  arns: Partial<Record<ReplicaResourceKind, string[]>>,
  prefix: string,
): PolicyStatement[] {
  return statementsFor(grants, arns, (kind) =>
    kind === 'sourceChainListing'
      ? // The chain's entries are listed; the export files too, because S3 tells a missing key (404)
        // from a denied one (403) only to a caller that may list it, and the replica must tell a
        // file that is gone (FILES_MISSING) from a permission it lacks.
        {
          StringLike: { 's3:prefix': [underPrefix(prefix, 'chain/*'), underPrefix(prefix, 'AWSDynamoDB/*')] },
        }
      : kind === 'importExportListing'
        ? // [U] that ImportTable lists with the request's S3KeyPrefix (the export's data folder).
          { StringLike: { 's3:prefix': [underPrefix(prefix, 'AWSDynamoDB/*')] } }
        : undefined,
  );
}

/** The apply Lambda's policy: every call in `REPLICA_SDK_CALLS`, scoped to this replica, plus its logs. */
export function replicaLambdaPolicy(f: ReplicaResourceFacts, logGroupArn: string): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      ...replicaStatements(Object.values(REPLICA_SDK_CALLS).flat(), replicaResourceArns(f), f.prefix),
      lambdaLoggingStatement(logGroupArn),
    ],
  };
}

/** The replica state machine's grants: its Tasks and ItemReader, and the Distributed Map's children. */
export function replicaStateMachineGrants(): ReplicaGrant[] {
  const definition = renderReplicaDefinition({
    ReplicaFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:x',
  });
  return [
    ...taskResources(definition).flatMap((resource) => {
      const grants = REPLICA_STATE_MACHINE_TASKS[resource];
      if (!grants)
        throw new Error(
          `The replica state machine uses ${resource}, which functions/shared/awsActions.ts does not list`,
        );
      return grants;
    }),
    ...readerResources(definition).flatMap((resource) => {
      const grants = REPLICA_STATE_MACHINE_TASKS[resource];
      if (!grants)
        throw new Error(
          `The replica state machine reads with ${resource}, which functions/shared/awsActions.ts does not list`,
        );
      return grants;
    }),
    ...REPLICA_DISTRIBUTED_MAP_GRANTS,
  ];
}

/** `ItemReader.Resource` values of a definition (Distributed Map readers). */
export function readerResources(definition: unknown): string[] {
  const found = new Set<string>();
  const visit = (node: unknown) => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (node && typeof node === 'object') {
      const obj = node as Record<string, unknown>;
      const reader = obj.ItemReader as { Resource?: unknown } | undefined;
      if (reader && typeof reader.Resource === 'string') found.add(reader.Resource);
      Object.values(obj).forEach(visit);
    }
  };
  visit(definition);
  return [...found].sort();
}

export function replicaStateMachinePolicy(f: ReplicaResourceFacts): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      ...replicaStatements(replicaStateMachineGrants(), replicaResourceArns(f), f.prefix),
      stateMachineLogDeliveryStatement(),
    ],
  };
}

/**
 * What the owner of the target account creates when `roleArn` is set: a role trusting exactly the
 * apply Lambda's role, allowed exactly the calls the apply engine makes on the target table.
 */
export function replicaTargetRoleDocuments(
  f: ReplicaResourceFacts,
  applyRoleArn: string,
): { trustPolicy: PolicyDocument; permissionsPolicy: PolicyDocument } {
  const actions = REPLICA_TARGET_ROLE_CALLS.flatMap((c) =>
    REPLICA_SDK_CALLS[c].filter((g) => g.resource === 'targetTable').flatMap((g) => g.actions),
  ).sort();
  return {
    trustPolicy: {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { AWS: applyRoleArn }, Action: ['sts:AssumeRole'] }],
    },
    permissionsPolicy: {
      Version: '2012-10-17',
      Statement: [
        { Sid: 'WriteTheReplica', Effect: 'Allow', Action: actions, Resource: [replicaTargetTableArn(f)] },
        // An `import` bootstrap: ImportTable runs as this role, so the role reads the export too (and
        // the bucket's policy must let this account read it, docs/replica.md).
        ...replicaStatements(
          REPLICA_TARGET_ROLE_IMPORT_CALLS.flatMap((c) => REPLICA_SDK_CALLS[c]).filter((g) =>
            REPLICA_IMPORT_TARGET_KINDS.includes(g.resource),
          ),
          replicaImportTargetArns(f),
          f.prefix,
        ),
      ],
    },
  };
}
