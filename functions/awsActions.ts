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
  /** The chain manifest the workflow maintains: `arn:aws:s3:::<bucket>/<prefix>/chain/*`. */
  | 'chainObjects'
  /** The SSM parameters the workflow reads: state, operator action, lock and its takeover markers. */
  | 'readParameters'
  /** The SSM parameters the workflow writes: state, lock and takeover markers (never the action). */
  | 'writeParameters'
  /** The SSM lock parameter and its takeover markers, deleted when a lease ends. */
  | 'lockParameter'
  /** The notification topic. */
  | 'notificationTopic'
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
  PublishCommand: [{ actions: ['sns:Publish'], resource: 'notificationTopic' }],
};

/** State machine Task `Resource` -> the grants the state machine role needs for it. */
export const STATE_MACHINE_TASKS: Record<string, Grant[]> = {
  'arn:aws:states:::lambda:invoke': [{ actions: ['lambda:InvokeFunction'], resource: 'tickFunction' }],
};
