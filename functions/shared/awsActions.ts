/**
 * The one source of truth for what the workflow may do in AWS.
 *
 * Every AWS SDK command that Lambda code in `functions/` sends is listed in `SDK_CALLS`, and every
 * Task resource that the state machine template uses is listed in `STATE_MACHINE_TASKS`. The IAM
 * policies in `components/` are built from these tables, and tests check both directions: each
 * command found in the code and each Task in the rendered definition is granted, and nothing is
 * granted that no code uses.
 */

/** Kinds of resources a grant can be scoped to; `components/` turns each into concrete ARNs. */
export type ResourceKind =
  /** The exported table: `arn:aws:dynamodb:<region>:<account>:table/<name>`. */
  | 'table'
  /** Exports of that table: `<tableArn>/export/*`. */
  | 'tableExports'
  /** Objects DynamoDB writes for an export: `arn:aws:s3:::<bucket>/<prefix>/AWSDynamoDB/*`. */
  | 'exportObjects'
  /**
   * The chain manifest the workflow maintains, and its run-failure marker:
   * `arn:aws:s3:::<bucket>/<prefix>/chain/*`.
   */
  | 'chainObjects'
  /**
   * Listing of the run-failure note beside the chain: the bucket, with an `s3:prefix` condition on
   * that one key. S3 answers 404 for a missing key only to a caller that may list it (403 otherwise),
   * so a note that was never written is told from a read the role may not make.
   */
  | 'runFailureListing'
  /** The SSM parameters the workflow reads: state, operator action, lock and its takeover markers. */
  | 'readParameters'
  /** The SSM parameters the workflow writes: state, lock and takeover markers (never the action). */
  | 'writeParameters'
  /** The SSM lock parameter and its takeover markers, deleted when a lease ends. */
  | 'lockParameter'
  /** The notification topic. */
  | 'notificationTopic'
  /** The KMS key that encrypts the notification topic: SNS uses it with the publisher's permissions. */
  | 'notificationKmsKey'
  /** The customer managed KMS key for export objects, when one is configured. */
  | 'exportKmsKey'
  /** The export tick Lambda function. */
  | 'tickFunction';

export interface Grant {
  /** IAM actions, never a wildcard. */
  actions: string[];
  /** What the actions are scoped to. */
  resource: ResourceKind;
}

/**
 * AWS SDK v3 command class name -> the IAM grants the caller needs for it.
 *
 * ExportTableToPointInTime runs with the caller's permissions on the destination bucket, so the
 * caller also needs to write the export objects (and use the KMS key when SSE-KMS is configured).
 */
export const SDK_CALLS: Record<string, Grant[]> = {
  DescribeContinuousBackupsCommand: [{ actions: ['dynamodb:DescribeContinuousBackups'], resource: 'table' }],
  ExportTableToPointInTimeCommand: [
    { actions: ['dynamodb:ExportTableToPointInTime'], resource: 'table' },
    {
      actions: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:PutObjectAcl'],
      resource: 'exportObjects',
    },
    { actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resource: 'exportKmsKey' },
  ],
  DescribeExportCommand: [{ actions: ['dynamodb:DescribeExport'], resource: 'tableExports' }],
  GetParametersCommand: [{ actions: ['ssm:GetParameters'], resource: 'readParameters' }],
  PutParameterCommand: [{ actions: ['ssm:PutParameter'], resource: 'writeParameters' }],
  DeleteParameterCommand: [{ actions: ['ssm:DeleteParameter'], resource: 'lockParameter' }],
  PutObjectCommand: [{ actions: ['s3:PutObject'], resource: 'chainObjects' }],
  /** Only the run-failure marker beside the chain is read (functions/chain/runFailureMarker.ts). */
  GetObjectCommand: [
    { actions: ['s3:GetObject'], resource: 'chainObjects' },
    { actions: ['s3:ListBucket'], resource: 'runFailureListing' },
  ],
  PublishCommand: [
    { actions: ['sns:Publish'], resource: 'notificationTopic' },
    // The topic is encrypted: SNS asks KMS for a data key with the publisher's permissions.
    { actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resource: 'notificationKmsKey' },
  ],
};

/** State machine Task `Resource` -> the grants the state machine role needs for it. */
export const STATE_MACHINE_TASKS: Record<string, Grant[]> = {
  'arn:aws:states:::lambda:invoke': [{ actions: ['lambda:InvokeFunction'], resource: 'tickFunction' }],
};

// ---- replica (components/consumers/tableReplica.ts) --------------------------------------------------------

/** Kinds of resources a replica's grants are scoped to; `components/permissions.ts` makes the ARNs. */
export type ReplicaResourceKind =
  /** Export files of the source chain: `arn:aws:s3:::<bucket>/<prefix>/AWSDynamoDB/*`. */
  | 'sourceExportObjects'
  /** The chain manifest: `arn:aws:s3:::<bucket>/<prefix>/chain/*`. */
  | 'sourceChainObjects'
  /**
   * Listing of the chain manifest and the export files: the bucket, with an `s3:prefix` condition on
   * `<prefix>/chain/*` and `<prefix>/AWSDynamoDB/*`. S3 answers 404 for a missing key only to a caller
   * that may list it (403 otherwise), so reading a file that may be gone needs it too.
   */
  | 'sourceChainListing'
  /** The customer managed KMS key of export objects, when one is configured. */
  | 'exportKmsKey'
  /** The replica's own state parameter. */
  | 'replicaStateParameter'
  /** The operator's action parameter beside it: read, never written (functions/replica/action.ts). */
  | 'replicaActionParameter'
  /** The lock beside it (`<state>-lock`) and its takeover markers: the lease that guards a claim. */
  | 'replicaLockParameter'
  /** The table's notification topic. */
  | 'notificationTopic'
  /** The KMS key that encrypts that topic. */
  | 'notificationKmsKey'
  /** The target table, when the apply Lambda writes with its own role (no `roleArn`). */
  | 'targetTable'
  /** The role in the target account, when `roleArn` is set (then the role, not the Lambda, holds the table grants). */
  | 'targetRole'
  /** The replica's apply Lambda function. */
  | 'replicaFunction'
  /** The replica's state machine (Distributed Map children are executions of it). */
  | 'replicaStateMachine'
  /** Executions of the replica's state machine, including Distributed Map children. */
  | 'replicaExecutions'
  /** The replica's own (parent) executions, whose status tells a claim left by an ended execution. */
  | 'replicaParentExecutions'
  /**
   * The source table (stack account and Region), described before a write to check the target's key
   * schema against it, and by an `import` bootstrap to shape the new table.
   */
  | 'sourceTable'
  // The kinds below resolve to ARNs only for a replica whose bootstrap is `import`; with `roleArn`,
  // they belong to the target role, not the Lambda.
  /** The target table ImportTable creates. */
  | 'importTargetTable'
  /** Imports into it: `<target table ARN>/import/*`. */
  | 'importTargetImports'
  /** The full export's files, read by ImportTable with its caller's permissions. */
  | 'importExportObjects'
  /** Listing of the bucket, with an `s3:prefix` condition on `<prefix>/AWSDynamoDB/`. */
  | 'importExportListing'
  /** ImportTable's CloudWatch log groups `/aws-dynamodb/*` in the target account and Region. */
  | 'importLogs'
  /**
   * `*`: actions of the `import` path that take no resource type, which IAM evaluates against `*` only
   * (logs:DescribeLogGroups; dynamodb:ListImports). A grant on an ARN can never match them.
   */
  | 'importUnscoped';

export interface ReplicaGrant {
  actions: string[];
  resource: ReplicaResourceKind;
}

/**
 * AWS SDK v3 command -> grants, for every call the replica's apply Lambda makes: those in
 * functions/replica*.ts, and those it makes through the format module (GetObject, HeadObject,
 * ListObjectsV2), the apply engine (DescribeTable, BatchWriteItem) and the credential provider
 * (AssumeRole). tests/unit/deploy/consumers/replicaIam.test.ts records the calls of a real run and checks both directions.
 */
export const REPLICA_SDK_CALLS: Record<string, ReplicaGrant[]> = {
  GetObjectCommand: [
    { actions: ['s3:GetObject'], resource: 'sourceExportObjects' },
    { actions: ['s3:GetObject'], resource: 'sourceChainObjects' },
    { actions: ['kms:Decrypt'], resource: 'exportKmsKey' },
  ],
  HeadObjectCommand: [
    { actions: ['s3:GetObject'], resource: 'sourceExportObjects' },
    // A missing file answers 404 (not 403) only to a caller that may list its key.
    { actions: ['s3:ListBucket'], resource: 'sourceChainListing' },
  ],
  ListObjectsV2Command: [{ actions: ['s3:ListBucket'], resource: 'sourceChainListing' }],
  GetParametersCommand: [
    { actions: ['ssm:GetParameters'], resource: 'replicaStateParameter' },
    { actions: ['ssm:GetParameters'], resource: 'replicaActionParameter' },
    { actions: ['ssm:GetParameters'], resource: 'replicaLockParameter' },
  ],
  PutParameterCommand: [
    { actions: ['ssm:PutParameter'], resource: 'replicaStateParameter' },
    { actions: ['ssm:PutParameter'], resource: 'replicaLockParameter' },
  ],
  DeleteParameterCommand: [{ actions: ['ssm:DeleteParameter'], resource: 'replicaLockParameter' }],
  PublishCommand: [
    { actions: ['sns:Publish'], resource: 'notificationTopic' },
    { actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resource: 'notificationKmsKey' },
  ],
  DescribeTableCommand: [
    { actions: ['dynamodb:DescribeTable'], resource: 'targetTable' },
    { actions: ['dynamodb:DescribeTable'], resource: 'sourceTable' },
  ],
  // One item at most, before a `write` bootstrap: the target must be empty.
  ScanCommand: [{ actions: ['dynamodb:Scan'], resource: 'targetTable' }],
  BatchWriteItemCommand: [{ actions: ['dynamodb:BatchWriteItem'], resource: 'targetTable' }],
  AssumeRoleCommand: [{ actions: ['sts:AssumeRole'], resource: 'targetRole' }],
  DescribeExecutionCommand: [{ actions: ['states:DescribeExecution'], resource: 'replicaParentExecutions' }],
  // The `import` bootstrap (functions/replica/importBootstrap.ts). ImportTable runs with its caller's
  // permissions; the list is the DynamoDB developer guide's "Requesting a table import",
  // https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/S3DataImport.Requesting.html:
  // dynamodb:ImportTable/DescribeImport/ListImports on `table/<name>*`, s3:GetObject and s3:ListBucket
  // on the source, and logs:* on `log-group:/aws-dynamodb/*`. [U] whether dynamodb:CreateTable is also
  // evaluated for the table ImportTable creates: granted on that one table, so either answer works.
  // [U] whether IAM evaluates ImportTable on the table or on the import ARN: granted on both.
  ImportTableCommand: [
    { actions: ['dynamodb:ImportTable', 'dynamodb:CreateTable'], resource: 'importTargetTable' },
    { actions: ['dynamodb:ImportTable'], resource: 'importTargetImports' },
    { actions: ['s3:GetObject'], resource: 'importExportObjects' },
    { actions: ['s3:ListBucket'], resource: 'importExportListing' },
    {
      actions: [
        'logs:CreateLogGroup',
        'logs:CreateLogStream',
        'logs:DescribeLogStreams',
        'logs:PutLogEvents',
        'logs:PutRetentionPolicy',
      ],
      resource: 'importLogs',
    },
    { actions: ['logs:DescribeLogGroups'], resource: 'importUnscoped' },
    // S3 decrypts an SSE-KMS export for ImportTable with the caller's permissions, as for GetObject.
    { actions: ['kms:Decrypt'], resource: 'exportKmsKey' },
  ],
  DescribeImportCommand: [{ actions: ['dynamodb:DescribeImport'], resource: 'importTargetImports' }],
  // Only after a crash between ImportTable and the state save, to find the import already started.
  // The Service Authorization Reference lists no resource type for ListImports, so IAM evaluates it
  // against `*`; [U] whether a TableArn filter makes it evaluate the table too: granted on both.
  ListImportsCommand: [
    { actions: ['dynamodb:ListImports'], resource: 'importUnscoped' },
    { actions: ['dynamodb:ListImports'], resource: 'importTargetTable' },
    { actions: ['dynamodb:ListImports'], resource: 'importTargetImports' },
  ],
};

/** Commands that the role in the target account must allow (on the target table), when `roleArn` is set. */
export const REPLICA_TARGET_ROLE_CALLS = [
  'DescribeTableCommand',
  'ScanCommand',
  'BatchWriteItemCommand',
] as const;

/** Commands of the `import` bootstrap sent with the target's client: the target role's, when `roleArn` is set. */
export const REPLICA_TARGET_ROLE_IMPORT_CALLS = [
  'ImportTableCommand',
  'DescribeImportCommand',
  'ListImportsCommand',
] as const;

/**
 * Resource kinds on the target side of an import: the target role's when `roleArn` is set. The export's
 * KMS key is here too: the role decrypts what ImportTable reads (the apply Lambda keeps its own grant on
 * the key for the files it reads).
 */
export const REPLICA_IMPORT_TARGET_KINDS: readonly ReplicaResourceKind[] = [
  'exportKmsKey',
  'importTargetTable',
  'importTargetImports',
  'importExportObjects',
  'importExportListing',
  'importLogs',
  'importUnscoped',
];

/** Replica state machine Task and ItemReader `Resource` -> grants of the state machine role. */
export const REPLICA_STATE_MACHINE_TASKS: Record<string, ReplicaGrant[]> = {
  'arn:aws:states:::lambda:invoke': [{ actions: ['lambda:InvokeFunction'], resource: 'replicaFunction' }],
  // ItemReader of the Distributed Map: reads the export's manifest-files.json.
  'arn:aws:states:::s3:getObject': [
    { actions: ['s3:GetObject'], resource: 'sourceExportObjects' },
    { actions: ['kms:Decrypt'], resource: 'exportKmsKey' },
  ],
};

/** What a Distributed Map needs besides its Tasks: starting and tracking its child executions. */
export const REPLICA_DISTRIBUTED_MAP_GRANTS: ReplicaGrant[] = [
  { actions: ['states:StartExecution'], resource: 'replicaStateMachine' },
  { actions: ['states:DescribeExecution', 'states:StopExecution'], resource: 'replicaExecutions' },
];

// ---- S3 replication of the chain to a protected copy (components/protection/drReplication.ts) --------------

/** Kinds of resources the replication role's grants are scoped to. */
export type ReplicationResourceKind =
  /** The export bucket: its replication configuration, and its listing. */
  | 'replicationSourceBucket'
  /** The chain's objects in the export bucket: `<bucket>/<prefix>/*`. */
  | 'replicationSourceObjects'
  /** The same keys in the destination bucket. */
  | 'replicationDestinationObjects'
  /** The exports' KMS key (SSE-KMS objects are decrypted to be replicated). */
  | 'replicationSourceKey'
  /** The destination's KMS key (replicas are encrypted with it). */
  | 'replicationDestinationKey';

export interface ReplicationGrant {
  actions: string[];
  resource: ReplicationResourceKind;
}

/**
 * What S3 does with the replication role, from the S3 User Guide ("Setting up permissions for live
 * replication", and "Replicating encrypted objects" for SSE-KMS). No `s3:ReplicateDelete`: delete
 * markers are not replicated, so a deletion in the source never reaches the copy.
 */
export const S3_REPLICATION_GRANTS: ReplicationGrant[] = [
  { actions: ['s3:GetReplicationConfiguration', 's3:ListBucket'], resource: 'replicationSourceBucket' },
  {
    actions: ['s3:GetObjectVersionForReplication', 's3:GetObjectVersionAcl', 's3:GetObjectVersionTagging'],
    resource: 'replicationSourceObjects',
  },
  { actions: ['s3:ReplicateObject', 's3:ReplicateTags'], resource: 'replicationDestinationObjects' },
  { actions: ['kms:Decrypt'], resource: 'replicationSourceKey' },
  { actions: ['kms:Encrypt'], resource: 'replicationDestinationKey' },
];

/** Only when another account owns the destination: the replicas become that account's objects. */
export const S3_REPLICATION_CROSS_ACCOUNT_GRANTS: ReplicationGrant[] = [
  { actions: ['s3:ObjectOwnerOverrideToBucketOwner'], resource: 'replicationDestinationObjects' },
];

// ---- Iceberg feed (components/consumers/icebergFeed.ts) ---------------------------------------------------

/** Kinds of resources an Iceberg feed's grants are scoped to; components/consumers/icebergPermissions.ts makes the ARNs. */
export type IcebergResourceKind =
  /** The chain manifest the feed reads: `<bucket>/<prefix>/chain/*`. */
  | 'icebergChainObjects'
  /** Listing of the chain manifest (the bucket, with an `s3:prefix` condition on `<prefix>/chain/`). */
  | 'icebergChainListing'
  /** Export files (manifests and data) the feed and Athena read: `<bucket>/<prefix>/AWSDynamoDB/*`. */
  | 'icebergExportObjects'
  /** The feed's own folder (symlink files, Iceberg data and metadata): `<bucket>/<prefix>/iceberg/<table>/*`. */
  | 'icebergLakeObjects'
  /** Listing of the export bucket under the feed's folder and the exports (Athena lists what it reads). */
  | 'icebergBucket'
  /** The feed's cursor parameter and its lease (with takeover markers). */
  | 'icebergParameters'
  /** The lease parameter and its takeover markers, deleted when a lease ends. */
  | 'icebergLockParameter'
  /** The operator's action parameter (`dce iceberg pause|resume|rebuild`): read, never written. */
  | 'icebergActionParameter'
  /** The notification topic (one alert per halt). */
  | 'icebergTopic'
  /** The topic's KMS key: SNS asks it for a data key with the publisher's permissions. */
  | 'icebergTopicKey'
  /** The feed's plan/commit Lambda. */
  | 'icebergFunction'
  /** The feed's Athena workgroup. */
  | 'icebergWorkGroup'
  /** The Glue catalog, the lake and staging databases, and their tables. */
  | 'icebergGlue'
  /** The Athena results bucket's objects. */
  | 'icebergResults'
  /** The Athena results bucket itself (listing, location). */
  | 'icebergResultsBucket'
  /** The KMS key of the export objects, when one is configured. */
  | 'icebergKmsKey'
  /**
   * The epochs' Iceberg tables in the lake database (`table/<database>/<table>__e*`), with that
   * database and the catalog (Glue evaluates a table's actions on all three); none without optimizers.
   */
  | 'icebergLakeTables'
  /** The epochs' table folders (Iceberg data and metadata): `<bucket>/<prefix>/iceberg/<table>/data/*`. */
  | 'icebergLakeData'
  /** The Glue table optimizers' role, passed to Glue when the workflow creates them; none without optimizers. */
  | 'icebergOptimizerRole'
  /** The log groups Glue's Iceberg optimizers write their runs to. */
  | 'icebergOptimizerLogs';

export interface IcebergGrant {
  actions: string[];
  resource: IcebergResourceKind;
}

/**
 * AWS SDK v3 command -> grants, for every call the feed's Lambda makes (functions/iceberg/*.ts and the
 * format module's reads of manifests).
 */
export const ICEBERG_SDK_CALLS: Record<string, IcebergGrant[]> = {
  GetObjectCommand: [
    { actions: ['s3:GetObject'], resource: 'icebergChainObjects' },
    { actions: ['s3:GetObject'], resource: 'icebergExportObjects' },
    { actions: ['kms:Decrypt'], resource: 'icebergKmsKey' },
  ],
  ListObjectsV2Command: [{ actions: ['s3:ListBucket'], resource: 'icebergChainListing' }],
  // The symlink files land in the export bucket: SSE-KMS by default when the table has a key, so S3
  // asks KMS for a data key with the writer's permissions (as for the export chain's own writes).
  PutObjectCommand: [
    { actions: ['s3:PutObject'], resource: 'icebergLakeObjects' },
    { actions: ['kms:GenerateDataKey'], resource: 'icebergKmsKey' },
  ],
  GetParametersCommand: [
    { actions: ['ssm:GetParameters'], resource: 'icebergParameters' },
    { actions: ['ssm:GetParameters'], resource: 'icebergActionParameter' },
  ],
  PutParameterCommand: [{ actions: ['ssm:PutParameter'], resource: 'icebergParameters' }],
  DeleteParameterCommand: [{ actions: ['ssm:DeleteParameter'], resource: 'icebergLockParameter' }],
  PublishCommand: [
    { actions: ['sns:Publish'], resource: 'icebergTopic' },
    { actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resource: 'icebergTopicKey' },
  ],
};

/**
 * State machine Task `Resource` -> grants. Athena runs the query with the caller's permissions: it
 * reads the exports through the symlinks and writes the Iceberg files and its results. The exact
 * minimal list for Athena on Iceberg is [U] (docs/iceberg.md); a catalog under Lake Formation (S3
 * Tables) also needs `lakeformation:GetDataAccess`, which takes no resource scope and is not granted.
 */
export const ICEBERG_STATE_MACHINE_TASKS: Record<string, IcebergGrant[]> = {
  'arn:aws:states:::lambda:invoke': [{ actions: ['lambda:InvokeFunction'], resource: 'icebergFunction' }],
  'arn:aws:states:::athena:startQueryExecution.sync': [
    {
      actions: [
        'athena:StartQueryExecution',
        'athena:GetQueryExecution',
        'athena:StopQueryExecution',
        'athena:GetWorkGroup',
      ],
      resource: 'icebergWorkGroup',
    },
    {
      actions: [
        'glue:GetDatabase',
        'glue:GetTable',
        'glue:GetPartitions',
        'glue:CreateTable',
        'glue:UpdateTable',
        'glue:DeleteTable',
      ],
      resource: 'icebergGlue',
    },
    { actions: ['s3:GetObject'], resource: 'icebergExportObjects' },
    { actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], resource: 'icebergLakeObjects' },
    { actions: ['s3:ListBucket', 's3:GetBucketLocation'], resource: 'icebergBucket' },
    { actions: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload'], resource: 'icebergResults' },
    { actions: ['s3:ListBucket', 's3:GetBucketLocation'], resource: 'icebergResultsBucket' },
    // With a table key, the export bucket is SSE-KMS: Athena decrypts the exports and the lake's files,
    // and encrypts the lake's new data and metadata, with this role's permissions.
    { actions: ['kms:Decrypt', 'kms:GenerateDataKey'], resource: 'icebergKmsKey' },
  ],
  // After EnsureTable creates an epoch's table: one optimizer of each type on it, run as the optimizer
  // role, which the state machine passes to Glue (iam:PassRole, limited to glue.amazonaws.com).
  'arn:aws:states:::aws-sdk:glue:createTableOptimizer': [
    { actions: ['glue:CreateTableOptimizer'], resource: 'icebergLakeTables' },
    { actions: ['iam:PassRole'], resource: 'icebergOptimizerRole' },
  ],
};

/**
 * What Glue's table optimizers do with their role on an epoch's table (AWS Glue developer guide,
 * "Table optimization prerequisites"): compaction and snapshot retention read and rewrite the table's
 * files and commit a new metadata location; orphan file deletion lists and deletes files no snapshot
 * references. [U] The guide also mentions publishing metrics, without naming an action: none is granted.
 */
export const ICEBERG_OPTIMIZER_GRANTS: IcebergGrant[] = [
  { actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], resource: 'icebergLakeData' },
  // The guide grants ListBucket on the bucket without a prefix condition; how the orphan scan lists is [U].
  { actions: ['s3:ListBucket'], resource: 'icebergBucket' },
  { actions: ['glue:GetTable', 'glue:UpdateTable'], resource: 'icebergLakeTables' },
  {
    actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'],
    resource: 'icebergOptimizerLogs',
  },
  { actions: ['kms:Decrypt', 'kms:GenerateDataKey'], resource: 'icebergKmsKey' },
];
