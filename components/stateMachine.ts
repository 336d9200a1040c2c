/**
 * The Step Functions state machine that drives one table's chain, with its role and log group.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { renderDefinitionString } from '../statemachine/render';
import { PolicyDocument, serviceTrustPolicy } from './permissions';

/** Inputs of `stateMachine`. */
export interface StateMachineArgs {
  stateMachineName: string;
  roleName: string;
  logGroupName: string;
  logRetentionDays: number;
  tickFunctionArn: pulumi.Input<string>;
  policy: pulumi.Input<PolicyDocument>;
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
    { role: role.name, name: 'workflow', policy: pulumi.output(args.policy).apply((d) => JSON.stringify(d)) },
    opts,
  );
  const machine = new aws.sfn.StateMachine(
    `${name}-export-chain`,
    {
      name: args.stateMachineName,
      type: 'STANDARD',
      roleArn: role.arn,
      definition: pulumi
        .output(args.tickFunctionArn)
        .apply((arn) => renderDefinitionString({ TickFunctionArn: arn })),
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
