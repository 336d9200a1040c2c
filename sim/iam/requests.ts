/**
 * What IAM evaluates for one AWS SDK v3 command: its actions, the resource ARN of each, and the
 * condition keys the request carries (`s3:prefix` for a listing). One function for every command the
 * code sends; a command it does not know is refused (`UnmappedCommandError`) rather than allowed, so a
 * new call cannot slip past the evaluation.
 *
 * The action and resource of each command follow the Service Authorization Reference (the "Actions,
 * resources, and condition keys" page of each service). Where a command makes the service act with
 * the caller's permissions on another resource (an export writes to S3, an import reads from S3), the
 * service's documented caller permissions are requested too.
 */

/** Where the caller's client points: ARNs of regional resources are built with these. */
export interface CallScope {
  partition: string;
  region: string;
  account: string;
  /**
   * The KMS key of each encrypted SNS topic, by topic ARN, as deployed: SNS uses it with the
   * publisher's permissions, so a publish to such a topic is evaluated for the key too.
   */
  topicKeys?: Record<string, string>;
}

/** One request as IAM evaluates it. */
export interface IamRequest {
  /** `service:Action`, as in a policy. */
  action: string;
  /** The resource ARN, or `*` for an action that supports no resource type. */
  resource: string;
  /** Condition keys of the request, e.g. `s3:prefix`. */
  context?: Record<string, string>;
}

/** A command no mapping exists for: add it here before the code may send it. */
export class UnmappedCommandError extends Error {
  constructor(readonly command: string) {
    super(`no IAM mapping for ${command}: add it to sim/iam/requests.ts`);
    this.name = 'UnmappedCommandError';
  }
}

/** The SDK command class name without its `Command` suffix (`GetObjectCommand` -> `GetObject`). */
export function commandName(command: object): string {
  return command.constructor.name.replace(/Command$/, '');
}

// Each command's input has its own SDK type; only the fields IAM looks at are read.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Input = Record<string, any>;

const s3Object = (s: CallScope, bucket: string, key: string) => `arn:${s.partition}:s3:::${bucket}/${key}`;
const s3Bucket = (s: CallScope, bucket: string) => `arn:${s.partition}:s3:::${bucket}`;
const dynamoTable = (s: CallScope, name: string) =>
  name.startsWith('arn:') ? name : `arn:${s.partition}:dynamodb:${s.region}:${s.account}:table/${name}`;
const parameter = (s: CallScope, name: string) =>
  `arn:${s.partition}:ssm:${s.region}:${s.account}:parameter${name.startsWith('/') ? '' : '/'}${name}`;

/**
 * The export objects DynamoDB writes with the caller's permissions, before their export id is known:
 * `<prefix>/AWSDynamoDB/<export id>/...`. One representative key stands for all of them.
 */
export function exportObjectKey(prefix: string | undefined): string {
  const base = prefix ? `${prefix.replace(/\/+$/, '')}/` : '';
  return `${base}AWSDynamoDB/01700000000000-00000000/manifest-summary.json`;
}

/** The IAM requests of `command` sent to `service` by a client scoped to `scope`. */
export function iamRequestsOf(service: string, command: object, scope: CallScope): IamRequest[] {
  const name = commandName(command);
  const input = ((command as { input?: Input }).input ?? {}) as Input;
  const requests = mapping(service, name, input, scope);
  if (!requests) throw new UnmappedCommandError(`${service}:${name}`);
  return requests;
}

function mapping(service: string, name: string, input: Input, s: CallScope): IamRequest[] | undefined {
  switch (`${service}:${name}`) {
    // ---- S3
    case 's3:GetObject':
    case 's3:HeadObject':
      return [{ action: 's3:GetObject', resource: s3Object(s, input.Bucket, input.Key) }];
    case 's3:PutObject':
      return [{ action: 's3:PutObject', resource: s3Object(s, input.Bucket, input.Key) }];
    case 's3:DeleteObject':
      return [{ action: 's3:DeleteObject', resource: s3Object(s, input.Bucket, input.Key) }];
    case 's3:ListObjectsV2':
      return [
        {
          action: 's3:ListBucket',
          resource: s3Bucket(s, input.Bucket),
          context: { 's3:prefix': String(input.Prefix ?? '') },
        },
      ];
    // ---- DynamoDB
    case 'dynamodb:DescribeContinuousBackups':
    case 'dynamodb:DescribeTable':
    case 'dynamodb:Scan':
      return [{ action: `dynamodb:${name}`, resource: dynamoTable(s, input.TableName) }];
    case 'dynamodb:BatchWriteItem':
      return Object.keys(input.RequestItems ?? {}).map((table) => ({
        action: 'dynamodb:BatchWriteItem',
        resource: dynamoTable(s, table),
      }));
    case 'dynamodb:ExportTableToPointInTime': {
      // The export writes its objects with the caller's permissions (and its KMS key, if any).
      const out: IamRequest[] = [
        { action: 'dynamodb:ExportTableToPointInTime', resource: input.TableArn },
        { action: 's3:PutObject', resource: s3Object(s, input.S3Bucket, exportObjectKey(input.S3Prefix)) },
      ];
      if (input.S3SseKmsKeyId) out.push({ action: 'kms:GenerateDataKey', resource: input.S3SseKmsKeyId });
      return out;
    }
    case 'dynamodb:DescribeExport':
      return [{ action: 'dynamodb:DescribeExport', resource: input.ExportArn }];
    case 'dynamodb:ImportTable': {
      // ImportTable reads its source with the caller's permissions and writes CloudWatch logs for it.
      const bucket = input.S3BucketSource?.S3Bucket;
      const prefix = String(input.S3BucketSource?.S3KeyPrefix ?? '');
      const table = dynamoTable(s, input.TableCreationParameters?.TableName);
      return [
        { action: 'dynamodb:ImportTable', resource: table },
        { action: 's3:GetObject', resource: s3Object(s, bucket, joinKey(prefix, 'data-file.json.gz')) },
        { action: 's3:ListBucket', resource: s3Bucket(s, bucket), context: { 's3:prefix': prefix } },
        { action: 'logs:CreateLogGroup', resource: importLogGroup(s) },
        { action: 'logs:CreateLogStream', resource: `${importLogGroup(s)}:log-stream:import` },
        { action: 'logs:PutLogEvents', resource: `${importLogGroup(s)}:log-stream:import` },
        // Takes no resource type: IAM evaluates it against `*` only.
        { action: 'logs:DescribeLogGroups', resource: '*' },
      ];
    }
    case 'dynamodb:DescribeImport':
      return [{ action: 'dynamodb:DescribeImport', resource: input.ImportArn }];
    case 'dynamodb:ListImports':
      // [U] Whether IAM evaluates ListImports filtered by TableArn against the table or against `*`:
      // both are requested, so the grants must satisfy either reading.
      return [
        { action: 'dynamodb:ListImports', resource: '*' },
        ...(input.TableArn ? [{ action: 'dynamodb:ListImports', resource: input.TableArn as string }] : []),
      ];
    // ---- SSM
    case 'ssm:GetParameters':
      return (input.Names as string[]).map((n) => ({
        action: 'ssm:GetParameters',
        resource: parameter(s, n),
      }));
    case 'ssm:GetParameter':
    case 'ssm:PutParameter':
    case 'ssm:DeleteParameter':
      return [{ action: `ssm:${name}`, resource: parameter(s, input.Name) }];
    // ---- SNS, STS, Step Functions, Lambda
    case 'sns:Publish':
      return publishRequests(input, s);
    case 'sts:AssumeRole':
      return [{ action: 'sts:AssumeRole', resource: input.RoleArn }];
    case 'states:DescribeExecution':
    case 'states:StopExecution':
      return [{ action: `states:${name}`, resource: input.executionArn }];
    case 'states:StartExecution':
      return [{ action: 'states:StartExecution', resource: input.stateMachineArn }];
    case 'lambda:Invoke':
      return [{ action: 'lambda:InvokeFunction', resource: input.FunctionName }];
    default:
      return undefined;
  }
}

/** What an Athena query touches besides its SQL: where its workgroup writes results, where the lake is. */
export interface AthenaQueryScope {
  /** The workgroup's enforced result location, `s3://bucket/prefix/`. */
  outputLocation: string;
  /** `s3://bucket/prefix/` under which each table of the lake has its folder (`<table>/`). */
  lakeLocation: string;
}

/** `s3://bucket/key` as an object ARN, and the bucket's ARN. */
function s3Location(s: CallScope, url: string): { object: (rest: string) => string; bucket: string } {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  if (!m) throw new Error(`not an s3:// location: ${url}`);
  return { object: (rest) => s3Object(s, m[1], `${m[2]}${rest}`), bucket: s3Bucket(s, m[1]) };
}

/**
 * The requests of the Step Functions task `arn:aws:states:::athena:startQueryExecution.sync` with the
 * state machine's role: StartQueryExecution and the GetQueryExecution polls on the workgroup, then
 * what Athena does with the caller's permissions for the statement (Athena user guide, "Access to
 * Athena"; Glue Data Catalog and S3 permissions of queries and of Iceberg writes):
 * - Glue: GetDatabase and GetTable of every table the statement names (catalog, database and table
 *   ARNs); CreateTable for a CREATE TABLE or a view, UpdateTable for ALTER TABLE, a replaced view and
 *   every Iceberg write (the commit swaps the table's metadata location); GetPartitions of a
 *   partitioned (staging) table read;
 * - S3: the query's result object under the workgroup's location; for an Iceberg table written, its
 *   data and metadata objects under the table's folder of the lake (a representative key of each).
 * The staging files a statement reads (symlink files, then the export's data files) are not listed
 * here: the stand-in reads them through an S3 client evaluated for the same role, key by key.
 * [U] Whether a replaced view calls UpdateTable or CreateTable: both are requested.
 */
export function athenaQueryRequests(
  input: { QueryString?: string; WorkGroup?: string },
  where: AthenaQueryScope,
  s: CallScope,
): IamRequest[] {
  const sql = String(input.QueryString ?? '').trim();
  const glue = (what: string) => `arn:${s.partition}:glue:${s.region}:${s.account}:${what}`;
  const workGroup = `arn:${s.partition}:athena:${s.region}:${s.account}:workgroup/${input.WorkGroup ?? 'primary'}`;
  const out: IamRequest[] = [
    { action: 'athena:StartQueryExecution', resource: workGroup },
    { action: 'athena:GetQueryExecution', resource: workGroup },
  ];
  const named = [...sql.matchAll(/[`"]([a-z0-9_]+)[`"]\.[`"]([a-z0-9_]+)[`"]/g)].map((m) => [m[1], m[2]]);
  const tables = [...new Map(named.map(([db, t]) => [`${db}.${t}`, [db, t]])).values()];
  const tableArns = (db: string, t: string) => [
    glue('catalog'),
    glue(`database/${db}`),
    glue(`table/${db}/${t}`),
  ];
  const onTable = (action: string, db: string, t: string) =>
    tableArns(db, t).map((resource) => ({ action, resource }));
  for (const [db, t] of tables) {
    out.push({ action: 'glue:GetDatabase', resource: glue('catalog') });
    out.push({ action: 'glue:GetDatabase', resource: glue(`database/${db}`) });
    out.push(...onTable('glue:GetTable', db, t));
  }
  const [target] = tables;
  const lake = s3Location(s, where.lakeLocation);
  const writes = (t: string) => [
    { action: 's3:PutObject', resource: lake.object(`${t}/data/00000-0-data.parquet`) },
    { action: 's3:PutObject', resource: lake.object(`${t}/metadata/00001-metadata.json`) },
    { action: 's3:GetObject', resource: lake.object(`${t}/metadata/00000-metadata.json`) },
  ];
  if (target && /^CREATE TABLE/i.test(sql)) {
    out.push(...onTable('glue:CreateTable', target[0], target[1]), ...writes(target[1]));
  } else if (target && /^ALTER TABLE/i.test(sql)) {
    out.push(...onTable('glue:UpdateTable', target[0], target[1]), ...writes(target[1]));
  } else if (target && /^CREATE OR REPLACE VIEW/i.test(sql)) {
    out.push(...onTable('glue:CreateTable', target[0], target[1]));
    out.push(...onTable('glue:UpdateTable', target[0], target[1]));
  } else if (target && /^(MERGE INTO|INSERT INTO)/i.test(sql)) {
    out.push(...onTable('glue:UpdateTable', target[0], target[1]), ...writes(target[1]));
    for (const [db, t] of tables.slice(1)) out.push(...onTable('glue:GetPartitions', db, t));
  }
  const results = s3Location(s, where.outputLocation);
  out.push(
    { action: 's3:GetBucketLocation', resource: results.bucket },
    { action: 's3:PutObject', resource: results.object('query-execution-id.csv') },
    { action: 's3:PutObject', resource: results.object('query-execution-id.csv.metadata') },
  );
  return out;
}

/**
 * The requests of the Step Functions task `arn:aws:states:::aws-sdk:glue:createTableOptimizer` with
 * the state machine's role: CreateTableOptimizer on the table (with its database and the catalog, as
 * for Glue's other table actions; [U] which of the three Glue evaluates: all are requested), and the
 * iam:PassRole of the optimizer's role to Glue (`iam:PassedToService`), which Glue checks before
 * accepting a role it will assume.
 */
export function glueOptimizerRequests(
  input: {
    DatabaseName?: string;
    TableName?: string;
    TableOptimizerConfiguration?: { RoleArn?: string };
  },
  s: CallScope,
): IamRequest[] {
  const glue = (what: string) => `arn:${s.partition}:glue:${s.region}:${s.account}:${what}`;
  const db = String(input.DatabaseName ?? '');
  const table = String(input.TableName ?? '');
  return [
    ...[glue('catalog'), glue(`database/${db}`), glue(`table/${db}/${table}`)].map((resource) => ({
      action: 'glue:CreateTableOptimizer',
      resource,
    })),
    {
      action: 'iam:PassRole',
      resource: String(input.TableOptimizerConfiguration?.RoleArn ?? ''),
      context: { 'iam:PassedToService': 'glue.amazonaws.com' },
    },
  ];
}

/** A publish, and for an encrypted topic the KMS calls SNS makes as the publisher (a data key, decrypted). */
function publishRequests(input: Input, s: CallScope): IamRequest[] {
  const topic: string = input.TopicArn ?? input.TargetArn;
  const key = s.topicKeys?.[topic];
  return [
    { action: 'sns:Publish', resource: topic },
    ...(key
      ? [
          { action: 'kms:GenerateDataKey', resource: key },
          { action: 'kms:Decrypt', resource: key },
        ]
      : []),
  ];
}

/** `prefix/name`, or `name` under an empty prefix. */
function joinKey(prefix: string, name: string): string {
  return prefix === '' || prefix.endsWith('/') ? `${prefix}${name}` : `${prefix}/${name}`;
}

/** The log group ImportTable writes to (`/aws-dynamodb/imports`). */
function importLogGroup(s: CallScope): string {
  return `arn:${s.partition}:logs:${s.region}:${s.account}:log-group:/aws-dynamodb/imports`;
}

/** What S3 replication does for one object, as the replication role (sim/s3Replication.ts). */
export type ReplicationStep =
  /** Reading the rule and listing what to replicate: once per pass. */
  | { kind: 'pass'; sourceBucket: string }
  /** Replicating one object version; `sourceKey`/`replicaKey`: the KMS keys it is decrypted and encrypted with. */
  | {
      kind: 'object';
      sourceBucket: string;
      destinationBucket: string;
      key: string;
      sourceKmsKey?: string;
      replicaKmsKey?: string;
    }
  /** Replicating a delete marker (only when the rule's DeleteMarkerReplication is Enabled). */
  | { kind: 'deleteMarker'; destinationBucket: string; key: string };

/**
 * The requests S3 evaluates against the replication role for one step (S3 User Guide, "Setting up
 * permissions for live replication"): the rule and listing of the source bucket; reading the version
 * (and its ACL and tags) in the source; replicating it (and its tags) into the destination; decrypting
 * with the source's key and encrypting with the replica key, each through S3; a delete marker needs
 * `s3:ReplicateDelete`.
 */
export function replicationRequests(step: ReplicationStep, s: CallScope): IamRequest[] {
  if (step.kind === 'pass')
    return [
      { action: 's3:GetReplicationConfiguration', resource: s3Bucket(s, step.sourceBucket) },
      { action: 's3:ListBucket', resource: s3Bucket(s, step.sourceBucket) },
    ];
  if (step.kind === 'deleteMarker')
    return [{ action: 's3:ReplicateDelete', resource: s3Object(s, step.destinationBucket, step.key) }];
  const source = s3Object(s, step.sourceBucket, step.key);
  const replica = s3Object(s, step.destinationBucket, step.key);
  const via = (region: string) => ({ 'kms:ViaService': `s3.${region}.amazonaws.com` });
  return [
    { action: 's3:GetObjectVersionForReplication', resource: source },
    { action: 's3:GetObjectVersionAcl', resource: source },
    { action: 's3:GetObjectVersionTagging', resource: source },
    { action: 's3:ReplicateObject', resource: replica },
    { action: 's3:ReplicateTags', resource: replica },
    ...(step.sourceKmsKey
      ? [{ action: 'kms:Decrypt', resource: step.sourceKmsKey, context: via(s.region) }]
      : []),
    ...(step.replicaKmsKey
      ? [
          {
            action: 'kms:Encrypt',
            resource: step.replicaKmsKey,
            context: via(step.replicaKmsKey.split(':')[3] ?? s.region),
          },
        ]
      : []),
  ];
}
