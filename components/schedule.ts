/**
 * The EventBridge Scheduler schedule that starts the state machine every schedule period.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { schedulerPolicy, serviceTrustPolicy } from './permissions';

/** `rate(1 minute)`, `rate(15 minutes)`: Scheduler wants the singular unit for 1. */
export function rateExpression(minutes: number): string {
  if (!Number.isInteger(minutes) || minutes < 1)
    throw new Error(`schedule period must be a positive integer: ${minutes}`);
  return `rate(${minutes} ${minutes === 1 ? 'minute' : 'minutes'})`;
}

/** The execution input: Scheduler replaces the placeholder with the scheduled time of the invocation. */
export const SCHEDULE_INPUT = JSON.stringify({ scheduledTime: '<aws.scheduler.scheduled-time>' });

/**
 * Deliver late rather than never, but not so late that the next invocation is already due.
 * Scheduler accepts 60..86400 s of event age and 0..185 attempts (API RetryPolicy); 300 s stays below
 * the shortest period (15 minutes). Undelivered invocations are dropped (no dead-letter queue): the
 * next period's execution catches up from the saved state.
 */
export const SCHEDULE_RETRY_POLICY = { maximumEventAgeInSeconds: 300, maximumRetryAttempts: 3 };

/** Inputs of `schedule`. */
export interface ScheduleArgs {
  scheduleName: string;
  roleName: string;
  periodMinutes: number;
  stateMachineArn: pulumi.Input<string>;
  /** @default the export chain's description */
  description?: string;
  /** The execution input. @default `SCHEDULE_INPUT` (the scheduled time) */
  input?: string;
  accountId: pulumi.Input<string>;
  tags: Record<string, string>;
  /** Resources the first execution needs (the SSM parameters). */
  dependsOn?: pulumi.Resource[];
}

export interface Schedule {
  schedule: aws.scheduler.Schedule;
  role: aws.iam.Role;
  rolePolicy: aws.iam.RolePolicy;
}

export function schedule(name: string, args: ScheduleArgs, parent: pulumi.Resource): Schedule {
  const opts = { parent };
  const role = new aws.iam.Role(
    `${name}-scheduler-role`,
    {
      name: args.roleName,
      // The Scheduler user guide's execution role trust policy uses aws:SourceAccount. (aws:SourceArn
      // would be the schedule *group* ARN, not the schedule's, so it adds nothing for the default group.)
      assumeRolePolicy: pulumi
        .output(args.accountId)
        .apply((account) => JSON.stringify(serviceTrustPolicy('scheduler.amazonaws.com', account))),
      tags: args.tags,
    },
    opts,
  );
  const rolePolicy = new aws.iam.RolePolicy(
    `${name}-scheduler-policy`,
    {
      role: role.name,
      name: 'start-execution',
      policy: pulumi.output(args.stateMachineArn).apply((arn) => JSON.stringify(schedulerPolicy(arn))),
    },
    opts,
  );
  const sched = new aws.scheduler.Schedule(
    `${name}-schedule`,
    {
      name: args.scheduleName,
      description:
        args.description ??
        'Starts the continuous export state machine; each execution drives the chain for one period.',
      scheduleExpression: rateExpression(args.periodMinutes),
      // OFF: the workflow times itself from the scheduled time it receives and waits precisely for
      // each window to become exportable; a flexible window would only add random delay.
      flexibleTimeWindow: { mode: 'OFF' },
      state: 'ENABLED',
      target: {
        arn: args.stateMachineArn,
        roleArn: role.arn,
        input: args.input ?? SCHEDULE_INPUT,
        retryPolicy: SCHEDULE_RETRY_POLICY,
      },
    },
    // Schedules have no tags argument in the Scheduler API (only schedule groups do).
    { parent, dependsOn: [rolePolicy, ...(args.dependsOn ?? [])] },
  );
  return { schedule: sched, role, rolePolicy };
}
