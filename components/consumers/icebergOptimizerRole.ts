/**
 * The role Glue's table optimizers run as, for an Iceberg feed (components/consumers/icebergFeed.ts).
 *
 * The optimizers themselves (compaction, snapshot retention, orphan file deletion) cannot be Pulumi
 * resources: the tables they act on are created by the feed's workflow, one per epoch, after
 * `pulumi up`. So the component deploys only their role, trusted by glue.amazonaws.com from the
 * stack's account, with the policy derived from the one action list (`ICEBERG_OPTIMIZER_GRANTS`);
 * the workflow creates the optimizers after each CREATE TABLE and passes this role (docs/iceberg.md,
 * "Compaction").
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { IcebergConfig } from '../config/iceberg';
import { serviceTrustPolicy } from '../permissions';
import { icebergOptimizerPolicy, type IcebergResourceFacts } from './icebergPermissions';

/** What the feed needs of its optimizer role. */
export interface IcebergOptimizerRole {
  /** The feed's policy facts, with the role and the lake's tables when the feed has optimizers. */
  facts: pulumi.Output<IcebergResourceFacts>;
  /** What the state machine waits for: the role's policy, so Glue can use the role at once. */
  dependsOn: pulumi.Resource[];
}

/**
 * The optimizer role `<base>-optimizer-role` and its policy, when `iceberg.optimizers.enabled`;
 * otherwise nothing, and the facts as they were (so the state machine is granted neither
 * glue:CreateTableOptimizer nor iam:PassRole).
 */
export function icebergOptimizerRole(
  parent: pulumi.ComponentResource,
  names: { name: string; base: string },
  args: { iceberg: IcebergConfig; accountId: pulumi.Input<string>; tags: Record<string, string> },
  facts: pulumi.Output<IcebergResourceFacts>,
): IcebergOptimizerRole {
  if (!args.iceberg.optimizers.enabled) return { facts, dependsOn: [] };
  const role = new aws.iam.Role(
    `${names.name}-optimizer-role`,
    {
      name: `${names.base}-optimizer-role`,
      assumeRolePolicy: pulumi
        .output(args.accountId)
        .apply((a) => JSON.stringify(serviceTrustPolicy('glue.amazonaws.com', a))),
      tags: args.tags,
    },
    { parent },
  );
  const withRole = pulumi.all([facts, role.arn]).apply(([f, optimizerRoleArn]) => ({
    ...f,
    optimizerRoleArn,
    lake: { database: args.iceberg.database, table: args.iceberg.table },
  }));
  const policy = new aws.iam.RolePolicy(
    `${names.name}-optimizer-policy`,
    { role: role.id, policy: withRole.apply((f) => JSON.stringify(icebergOptimizerPolicy(f))) },
    { parent },
  );
  return { facts: withRole, dependsOn: [policy] };
}
