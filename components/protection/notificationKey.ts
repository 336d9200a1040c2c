/**
 * The KMS key that encrypts a table's SNS topics (notifications and alarms), and its key policy.
 *
 * An encrypted topic is published to only by callers that may use its key: SNS asks KMS for a data key
 * (`kms:GenerateDataKey`) and decrypts it (`kms:Decrypt`) on the publisher's behalf. The AWS managed key
 * `alias/aws/sns` cannot be used: its policy cannot be changed, so CloudWatch alarms could not publish.
 * The key policy therefore says:
 *
 * - the account administers the key (listed actions, never `kms:*`), so its IAM policies decide who
 *   manages it and the key cannot become unmanageable;
 * - principals of the account may use the key only through SNS in this Region (`kms:ViaService`): the
 *   functions' roles publish with the grants derived from the one action list
 *   (`functions/shared/awsActions.ts`, `PublishCommand` -> `notificationKmsKey`);
 * - CloudWatch may use it only for this table's alarms in this account (`aws:SourceAccount`,
 *   `aws:SourceArn`, against the confused-deputy problem), as for the alarm topic's access policy.
 *
 * A key given in the config (`notificationKmsKeyArn`) is not changed: its owner adds the last two
 * statements (the stack outputs them, `notificationKeyStatements`).
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { alarmArn, type PolicyDocument, type PolicyStatement } from '../permissions';

/** What the account may do to administer the key: read it, change it, schedule its deletion. */
export const KEY_ADMIN_ACTIONS = [
  'kms:CancelKeyDeletion',
  'kms:CreateAlias',
  'kms:DeleteAlias',
  'kms:DescribeKey',
  'kms:DisableKey',
  'kms:DisableKeyRotation',
  'kms:EnableKey',
  'kms:EnableKeyRotation',
  'kms:GetKeyPolicy',
  'kms:GetKeyRotationStatus',
  'kms:ListGrants',
  'kms:ListResourceTags',
  'kms:PutKeyPolicy',
  'kms:RevokeGrant',
  'kms:ScheduleKeyDeletion',
  'kms:TagResource',
  'kms:UntagResource',
  'kms:UpdateAlias',
  'kms:UpdateKeyDescription',
];

/** What SNS asks of KMS for a publisher of an encrypted topic. */
export const SNS_KEY_USE_ACTIONS = ['kms:Decrypt', 'kms:GenerateDataKey'];

/** Where the key is and which alarms publish with it. */
export interface NotificationKeyFacts {
  partition: string;
  region: string;
  accountId: string;
  /** Names of the alarms that publish to the alarm topic. */
  alarmNames: string[];
}

/** The statements that let the account's publishers (through SNS) and this table's alarms use the key. */
export function notificationKeyStatements(f: NotificationKeyFacts): PolicyStatement[] {
  return [
    {
      Sid: 'PublishThroughSnsFromThisAccount',
      Effect: 'Allow',
      Principal: { AWS: `arn:${f.partition}:iam::${f.accountId}:root` },
      Action: [...SNS_KEY_USE_ACTIONS],
      Resource: ['*'],
      Condition: {
        StringEquals: { 'kms:ViaService': `sns.${f.region}.amazonaws.com`, 'kms:CallerAccount': f.accountId },
      },
    },
    {
      Sid: 'CloudWatchAlarmsOfThisTable',
      Effect: 'Allow',
      Principal: { Service: 'cloudwatch.amazonaws.com' },
      Action: [...SNS_KEY_USE_ACTIONS],
      Resource: ['*'],
      Condition: {
        StringEquals: { 'aws:SourceAccount': f.accountId },
        ArnLike: {
          'aws:SourceArn': f.alarmNames.map((n) => alarmArn(f.partition, f.region, f.accountId, n)).sort(),
        },
      },
    },
  ];
}

/** The whole key policy of a key the stack creates (in a key policy, `*` is the key itself). */
export function notificationKeyPolicy(f: NotificationKeyFacts): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'AccountAdministersTheKey',
        Effect: 'Allow',
        Principal: { AWS: `arn:${f.partition}:iam::${f.accountId}:root` },
        Action: [...KEY_ADMIN_ACTIONS],
        Resource: ['*'],
      },
      ...notificationKeyStatements(f),
    ],
  };
}

/** Inputs of `notificationKey`. */
export interface NotificationKeyArgs {
  /** A key given in the config: used as it is, nothing created. */
  existingKeyArn?: string;
  description: string;
  alarmNames: string[];
  partition: pulumi.Input<string>;
  region: pulumi.Input<string>;
  accountId: pulumi.Input<string>;
  tags: Record<string, string>;
}

/** The key's ARN, and the key when the stack creates it. */
export interface NotificationKey {
  arn: pulumi.Output<string>;
  key?: aws.kms.Key;
}

/** Creates the topics' key (rotated yearly), or takes the given one. */
export function notificationKey(
  name: string,
  args: NotificationKeyArgs,
  parent: pulumi.Resource,
): NotificationKey {
  if (args.existingKeyArn !== undefined) return { arn: pulumi.output(args.existingKeyArn) };
  const key = new aws.kms.Key(
    `${name}-topics-key`,
    {
      description: args.description,
      enableKeyRotation: true,
      // The longest wait: a key scheduled for deletion by mistake can still be recovered.
      deletionWindowInDays: 30,
      policy: pulumi
        .all([args.partition, args.region, args.accountId])
        .apply(([partition, region, accountId]) =>
          JSON.stringify(
            notificationKeyPolicy({ partition, region, accountId, alarmNames: args.alarmNames }),
          ),
        ),
      tags: args.tags,
    },
    { parent },
  );
  return { arn: key.arn, key };
}
