/**
 * Two topics per table.
 *
 * - notifications: the workflow publishes JSON bodies with a top-level `status`; email subscriptions
 *   filter on the message body, so success addresses get SUCCESS and failure addresses get FAILED
 *   and WARNING.
 * - alarms: CloudWatch alarm messages have no `status` field, so a body filter would drop them all;
 *   they go to a separate unfiltered topic that the failure addresses also subscribe to.
 *
 * Email subscriptions stay pending until the recipient confirms the email AWS sends.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';

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
  tags: Record<string, string>;
}

export interface Notifications {
  notificationTopic: aws.sns.Topic;
  alarmTopic: aws.sns.Topic;
  subscriptions: aws.sns.TopicSubscription[];
}

export function notifications(name: string, args: NotificationsArgs, parent: pulumi.Resource): Notifications {
  const opts = { parent };
  const notificationTopic = new aws.sns.Topic(
    `${name}-notifications`,
    { name: args.notificationTopicName, tags: args.tags },
    opts,
  );
  const alarmTopic = new aws.sns.Topic(
    `${name}-alarms`,
    { name: args.alarmTopicName, tags: args.tags },
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
  return { notificationTopic, alarmTopic, subscriptions };
}
