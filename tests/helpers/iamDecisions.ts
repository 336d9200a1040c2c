/**
 * IAM's decision on one request against one identity policy document, by the project's real policy
 * evaluator (sim/iam/evaluator.ts): resource types each action accepts, condition operators and keys
 * (`s3:prefix`), explicit denies. For tests that ask what a rendered policy allows.
 */
import { decide, type PolicyDocument, type RoleAccess } from '../../sim/iam/evaluator';
import type { IamRequest } from '../../sim/iam/requests';

/** The account of a role whose resource names none (S3): the test stacks' account. */
export const DEFAULT_ACCOUNT = '123456789012';

/** The account an ARN names, or DEFAULT_ACCOUNT for one that names none (S3, `*`). */
function accountOf(resource: string): string {
  const account = resource.split(':')[4];
  return account && /^\d{12}$/.test(account) ? account : DEFAULT_ACCOUNT;
}

/** A policy document as components/ renders it, or as parsed from a rendered resource. */
export interface Policy {
  Version?: string;
  Statement: readonly object[];
}

/** A role with `policy` as its one identity policy, in `account`. */
export function roleWith(policy: Policy, account = DEFAULT_ACCOUNT, name = 'under-test'): RoleAccess {
  return {
    name,
    arn: `arn:aws:iam::${account}:role/${name}`,
    policies: [{ name: 'policy', document: policy as PolicyDocument }],
  };
}

/**
 * Whether `policy`, as the one identity policy of a role in the resource's account, allows `action`
 * on `resource` with the request's condition keys `context` (e.g. `{ 's3:prefix': 'a/b/' }`).
 *
 * The role is put in the resource's account so that the identity policy alone decides: a request to
 * another account also needs that resource's policy (a bucket policy, a trust policy), and a KMS key
 * always needs its key policy, which no test supplies; a KMS key is therefore never allowed here.
 */
export async function allows(
  policy: Policy,
  action: string,
  resource: string,
  context?: Record<string, string>,
): Promise<boolean> {
  const decision = await decide(roleWith(policy, accountOf(resource)), { action, resource, context });
  return decision.allowed;
}

/**
 * Whether `role` may make `request` on a bucket of `bucketAccount` whose policy is `bucketPolicy`: for a
 * role of another account, both its own policy and the bucket's must allow it.
 */
export async function bucketAllows(
  role: RoleAccess,
  bucketPolicy: Policy,
  bucketAccount: string,
  request: IamRequest,
): Promise<boolean> {
  const decision = await decide(role, request, {
    policy: bucketPolicy as PolicyDocument,
    account: bucketAccount,
  });
  return decision.allowed;
}

/** The requests `role` is refused, each as `action on resource (result)`; empty when all are allowed. */
export async function deniedRequests(role: RoleAccess, requests: IamRequest[]): Promise<string[]> {
  const denied: string[] = [];
  for (const request of requests) {
    const decision = await decide(role, request);
    if (!decision.allowed) {
      const prefix = request.context?.['s3:prefix'];
      denied.push(
        `${request.action} on ${request.resource}${prefix === undefined ? '' : ` (s3:prefix ${prefix})`}: ${decision.result}`,
      );
    }
  }
  return denied;
}
