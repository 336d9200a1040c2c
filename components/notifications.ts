/**
 * Two topics per table.
 *
 * - notifications: the workflow publishes JSON bodies with a top-level `status`; email subscriptions
 *   filter on the message body, so success addresses get SUCCESS and failure addresses get FAILED
 *   and WARNING.
 * - alarms: CloudWatch alarm messages have no `status` field, so a body filter would drop them all;
 *   they go to a separate unfiltered topic that the failure addresses also subscribe to.
 *
 * The notification topic keeps its default access policy: only the export tick's role publishes to it,
 * and its IAM policy (same account) is enough. The alarm topic gets an explicit policy that names
 * CloudWatch and this table's alarms (`alarmTopicPolicy`).
 *
 * Both topics are encrypted with `kmsKeyArn` (components/protection/notificationKey.ts), whose key policy lets the
 * functions' roles (through SNS) and this table's alarms use it.
 *
 * Email subscriptions stay pending until the recipient confirms the email AWS sends.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { alarmTopicPolicy } from './permissions';

/** Filter policies by audience. */
export const SUCCESS_FILTER = { status: ['SUCCESS'] };
export const FAILURE_FILTER = { status: ['FAILED', 'WARNING'] };

/** Inputs of `notifications`. */
export interface NotificationsArgs {
  notificationTopicName: string;
  alarmTopicName: string;
  successEmails: string[];
  failureEmails: string[];
  /** Without success notifications there is nothing to subscribe success addresses to. */
  notifyOnSuccess: boolean;
  /** Names of the alarms that publish to the alarm topic. */
  alarmNames: string[];
  partition: pulumi.Input<string>;
  region: pulumi.Input<string>;
  accountId: pulumi.Input<string>;
  tags: Record<string, string>;
  /** KMS key that encrypts both topics. */
  kmsKeyArn: pulumi.Input<string>;
}

export interface Notifications {
  notificationTopic: aws.sns.Topic;
  alarmTopic: aws.sns.Topic;
  alarmTopicPolicy: aws.sns.TopicPolicy;
  subscriptions: aws.sns.TopicSubscription[];
}

export function notifications(name: string, args: NotificationsArgs, parent: pulumi.Resource): Notifications {
  const opts = { parent };
  const notificationTopic = new aws.sns.Topic(
    `${name}-notifications`,
    { name: args.notificationTopicName, kmsMasterKeyId: args.kmsKeyArn, tags: args.tags },
    opts,
  );
  const alarmTopic = new aws.sns.Topic(
    `${name}-alarms`,
    { name: args.alarmTopicName, kmsMasterKeyId: args.kmsKeyArn, tags: args.tags },
    opts,
  );
  const alarmPolicy = new aws.sns.TopicPolicy(
    `${name}-alarms-policy`,
    {
      arn: alarmTopic.arn,
      policy: pulumi
        .all([args.partition, args.region, args.accountId, alarmTopic.arn])
        .apply(([p, r, a, topicArn]) => JSON.stringify(alarmTopicPolicy(p, r, a, topicArn, args.alarmNames))),
    },
    opts,
  );
  const subscriptions: aws.sns.TopicSubscription[] = [];
  const subscribe = (kind: string, topic: aws.sns.Topic, email: string, filter?: object) => {
    subscriptions.push(
      new aws.sns.TopicSubscription(
        // The address is part of the logical name so reordering the list does not churn subscriptions.
        `${name}-${kind}-${email}`,
        {
          topic: topic.arn,
          protocol: 'email',
          endpoint: email,
          ...(filter ? { filterPolicyScope: 'MessageBody', filterPolicy: JSON.stringify(filter) } : {}),
        },
        opts,
      ),
    );
  };
  if (args.notifyOnSuccess) {
    for (const email of args.successEmails) subscribe('success', notificationTopic, email, SUCCESS_FILTER);
  }
  for (const email of args.failureEmails) {
    subscribe('failure', notificationTopic, email, FAILURE_FILTER);
    subscribe('alarm', alarmTopic, email);
  }
  return { notificationTopic, alarmTopic, alarmTopicPolicy: alarmPolicy, subscriptions };
}
