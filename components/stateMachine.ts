/**
 * A Standard Step Functions state machine with its role and log group: the one shape both the export
 * chain's workflow and each replica's apply workflow deploy (each passes its rendered definition and
 * the policy derived from its action list).
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { PolicyDocument, serviceTrustPolicy } from './permissions';

/** Inputs of `stateMachine`. */
export interface StateMachineArgs {
  stateMachineName: string;
  roleName: string;
  logGroupName: string;
  logRetentionDays: number;
  /** The rendered definition (`statemachine/render.ts`, the one render function). */
  definition: pulumi.Input<string>;
  policy: pulumi.Input<PolicyDocument>;
  /** Name of the role's inline policy. @default "workflow" */
  policyName?: string;
  /** Suffix of the state machine's logical name (`<name>-<suffix>`). @default "export-chain" */
  machineSuffix?: string;
  accountId: pulumi.Input<string>;
  tags: Record<string, string>;
}

export interface StateMachine {
  stateMachine: aws.sfn.StateMachine;
  role: aws.iam.Role;
  rolePolicy: aws.iam.RolePolicy;
  logGroup: aws.cloudwatch.LogGroup;
}

export function stateMachine(name: string, args: StateMachineArgs, parent: pulumi.Resource): StateMachine {
  const opts = { parent };
  const logGroup = new aws.cloudwatch.LogGroup(
    `${name}-states-logs`,
    { name: args.logGroupName, retentionInDays: args.logRetentionDays, tags: args.tags },
    opts,
  );
  const role = new aws.iam.Role(
    `${name}-states-role`,
    {
      name: args.roleName,
      assumeRolePolicy: pulumi
        .output(args.accountId)
        .apply((account) => JSON.stringify(serviceTrustPolicy('states.amazonaws.com', account))),
      tags: args.tags,
    },
    opts,
  );
  const rolePolicy = new aws.iam.RolePolicy(
    `${name}-states-policy`,
    {
      role: role.name,
      name: args.policyName ?? 'workflow',
      policy: pulumi.output(args.policy).apply((d) => JSON.stringify(d)),
    },
    opts,
  );
  const machine = new aws.sfn.StateMachine(
    `${name}-${args.machineSuffix ?? 'export-chain'}`,
    {
      name: args.stateMachineName,
      type: 'STANDARD',
      roleArn: role.arn,
      definition: args.definition,
      // Errors only, without execution data: inputs and outputs carry no secrets, but they are
      // visible in the execution history already, and ERROR keeps log volume near zero.
      loggingConfiguration: {
        level: 'ERROR',
        includeExecutionData: false,
        logDestination: pulumi.interpolate`${logGroup.arn}:*`,
      },
      tags: args.tags,
    },
    // Step Functions checks the role's log delivery permissions when the machine is created.
    { parent, dependsOn: [rolePolicy] },
  );
  return { stateMachine: machine, role, rolePolicy, logGroup };
}
