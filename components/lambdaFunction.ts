/**
 * One Lambda function of the workflow, with its own role and its own log group.
 *
 * The log group is created here (not by Lambda on first write) so its retention is set and it is
 * removed with the stack; the role may therefore only write to it, never create log groups.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { LambdaHandlerSpec } from '../functions/shared/lambdaHandlers';
import type { HandlerBundle } from './bundle';
import { PolicyDocument, serviceTrustPolicy } from './permissions';

/** Node.js 22 on Graviton: the runtime provides AWS SDK v3, arm64 costs less per GB-second. */
export const LAMBDA_RUNTIME = 'nodejs22.x';
export const LAMBDA_ARCHITECTURE = 'arm64';

/** Inputs of `lambdaFunction`. */
export interface LambdaFunctionArgs {
  spec: LambdaHandlerSpec;
  bundle: HandlerBundle;
  functionName: string;
  roleName: string;
  logGroupName: string;
  logRetentionDays: number;
  environment: pulumi.Input<Record<string, string>>;
  /** The function's permissions, given its log group ARN. */
  policy: (logGroupArn: pulumi.Output<string>) => pulumi.Input<PolicyDocument>;
  tags: Record<string, string>;
}

export interface LambdaFunction {
  fn: aws.lambda.Function;
  role: aws.iam.Role;
  rolePolicy: aws.iam.RolePolicy;
  logGroup: aws.cloudwatch.LogGroup;
}

/** The archive: the bundle as `index.js`, so the handler is `index.handler`. */
export function handlerArchive(bundle: HandlerBundle): pulumi.asset.AssetArchive {
  return new pulumi.asset.AssetArchive({ 'index.js': new pulumi.asset.StringAsset(bundle.code) });
}

export function lambdaFunction(
  name: string,
  args: LambdaFunctionArgs,
  parent: pulumi.Resource,
): LambdaFunction {
  const opts = { parent };
  const base = `${name}-${args.spec.name}`;
  const logGroup = new aws.cloudwatch.LogGroup(
    `${base}-logs`,
    { name: args.logGroupName, retentionInDays: args.logRetentionDays, tags: args.tags },
    opts,
  );
  const role = new aws.iam.Role(
    `${base}-role`,
    {
      name: args.roleName,
      // No aws:SourceAccount condition here: Lambda assumes execution roles on behalf of the function
      // itself, not of a caller's resource, and AWS documents the plain trust policy for them.
      assumeRolePolicy: JSON.stringify(serviceTrustPolicy('lambda.amazonaws.com')),
      tags: args.tags,
    },
    opts,
  );
  const rolePolicy = new aws.iam.RolePolicy(
    `${base}-policy`,
    {
      role: role.name,
      name: 'workflow',
      policy: pulumi.output(args.policy(logGroup.arn)).apply((doc) => JSON.stringify(doc)),
    },
    opts,
  );
  const fn = new aws.lambda.Function(
    base,
    {
      name: args.functionName,
      description: args.spec.description,
      role: role.arn,
      runtime: LAMBDA_RUNTIME,
      architectures: [LAMBDA_ARCHITECTURE],
      handler: 'index.handler',
      code: handlerArchive(args.bundle),
      timeout: args.spec.timeoutSeconds,
      memorySize: args.spec.memorySizeMb,
      environment: { variables: args.environment },
      // Text format: CloudWatch extracts embedded-metric-format lines that console.log writes in the
      // Text format (the line prefix is tolerated, as the AWS EMF libraries rely on). With the JSON
      // format Lambda wraps console output in its own envelope; the handler then writes EMF lines
      // straight to stdout instead (functions/chain/handler.ts reads AWS_LAMBDA_LOG_FORMAT), so
      // either format keeps the metrics. applicationLogLevel/systemLogLevel exist only for JSON.
      loggingConfig: { logFormat: 'Text', logGroup: logGroup.name },
      tags: args.tags,
    },
    // The policy must exist before the first invocation can succeed, and the log group before the
    // runtime writes (otherwise Lambda would create one with no retention).
    { parent, dependsOn: [rolePolicy, logGroup] },
  );
  return { fn, role, rolePolicy, logGroup };
}
