/**
 * IAM's decision on a request, from the policy documents a role actually has, by a real policy
 * evaluator (@cloud-copilot/iam-simulate: actions, resource ARNs, condition keys such as `s3:prefix`,
 * explicit denies, and the resource types each action accepts). A dev dependency: it runs offline
 * only and is never bundled into a Lambda.
 *
 * Decisions are cached per role and request: the same policies give the same answer, and a
 * simulation asks the same questions thousands of times.
 */
import { runSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import type { IamRequest } from './requests';

/** An IAM policy document as the components render it. */
export interface PolicyDocument {
  Version?: string;
  Statement: Record<string, unknown>[];
}

/** One role: its ARN and every identity policy attached to it. */
export interface RoleAccess {
  /** The role's name, as deployed. */
  name: string;
  arn: string;
  policies: { name: string; document: PolicyDocument }[];
}

/** IAM's answer to one request. */
export interface Decision {
  allowed: boolean;
  /** `Allowed`, `ImplicitlyDenied`, `ExplicitlyDenied`, or why the request cannot be evaluated. */
  result: string;
}

/** A denied request, as the record of a run keeps it. */
export interface Denial {
  role: string;
  /** The SDK command (`s3:GetObject`), which may need several actions. */
  command: string;
  action: string;
  resource: string;
  context?: Record<string, string>;
  result: string;
}

/** Calls evaluated and denied, for one role. */
export interface RoleCounts {
  evaluated: number;
  denied: number;
}

function accountOf(arn: string): string {
  return arn.split(':')[4] ?? '';
}

/** The account that owns `resource`; S3 ARNs name none, so the caller's is taken. */
function resourceAccount(resource: string, callerAccount: string): string {
  if (resource === '*') return callerAccount;
  const account = resource.split(':')[4];
  return account && /^\d{12}$/.test(account) ? account : callerAccount;
}

/**
 * A KMS key is used only when its key policy allows it too. The stack takes keys it does not create,
 * whose policies it cannot see; a key policy that delegates to IAM stands in (the default key policy,
 * plus the caller's account for a key of another account, as docs/deploy.md asks the key's owner to
 * grant), so the role's own policy decides. Whether the real key policy grants it is the operator's
 * to check; the offline AWS cannot.
 */
function delegatingKeyPolicy(resource: string, callerAccount: string): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'Enable IAM User Permissions',
        Effect: 'Allow',
        Principal: {
          AWS: [...new Set([accountOf(resource), callerAccount])].map((a) => `arn:aws:iam::${a}:root`),
        },
        Action: 'kms:*',
        Resource: '*',
      },
    ],
  };
}

/**
 * The resource's own policy (a bucket policy) and the account that owns the resource. S3 ARNs name no
 * account: a bucket in another account than the caller's is only known to be so from here.
 */
export interface ResourceAccess {
  policy: PolicyDocument;
  account: string;
}

/**
 * Pure apart from the evaluator: IAM's decision for `role` on `request`, with `resource`'s policy when
 * given (across accounts both the role's policy and the resource's must allow the request).
 */
export async function decide(
  role: RoleAccess,
  request: IamRequest,
  resource?: ResourceAccess,
): Promise<Decision> {
  const resourcePolicy = resource
    ? { resourcePolicy: resource.policy }
    : request.action.startsWith('kms:')
      ? { resourcePolicy: delegatingKeyPolicy(request.resource, accountOf(role.arn)) }
      : {};
  const simulation: Simulation = {
    ...resourcePolicy,
    identityPolicies: role.policies.map((p) => ({ name: p.name, policy: p.document })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    request: {
      action: request.action,
      principal: role.arn,
      resource: {
        resource: request.resource,
        accountId: resource?.account ?? resourceAccount(request.resource, accountOf(role.arn)),
      },
      // AWS puts the caller's ARN in every request; a resource policy may name the caller by it.
      contextVariables: { 'aws:PrincipalArn': role.arn, ...request.context },
    },
  } as Simulation;
  const answer = await runSimulation(simulation, {});
  if (answer.resultType === 'error') {
    return { allowed: false, result: `cannot be evaluated: ${JSON.stringify(answer.errors)}` };
  }
  return { allowed: answer.overallResult === 'Allowed', result: answer.overallResult };
}

/** Every role of a deployment, their decisions cached, and what each was asked and refused. */
export class AccessEvaluator {
  private readonly roles = new Map<string, RoleAccess>();
  private readonly cache = new Map<string, Promise<Decision>>();
  readonly counts: Record<string, RoleCounts> = {};
  readonly denials: Denial[] = [];

  constructor(roles: Iterable<RoleAccess>) {
    for (const role of roles) this.roles.set(role.name, role);
  }

  /** The role named `name`; an unknown name is a wiring mistake, not a denial. */
  role(name: string): RoleAccess {
    const role = this.roles.get(name);
    if (!role)
      throw new Error(`no deployed role named ${name} (known: ${[...this.roles.keys()].join(', ')})`);
    return role;
  }

  roleNames(): string[] {
    return [...this.roles.keys()];
  }

  /** IAM's decision, without counting it (for a service's own follow-up checks, e.g. S3's 403/404 rule). */
  async check(roleName: string, request: IamRequest): Promise<Decision> {
    const role = this.role(roleName);
    const key = `${roleName}\u0000${request.action}\u0000${request.resource}\u0000${JSON.stringify(request.context ?? {})}`;
    let decision = this.cache.get(key);
    if (!decision) {
      decision = decide(role, request);
      this.cache.set(key, decision);
    }
    return decision;
  }

  /**
   * Evaluates one call's requests in order and counts the call once; returns the first denied
   * request (recorded), or undefined when every request is allowed.
   */
  async authorize(roleName: string, command: string, requests: IamRequest[]): Promise<Denial | undefined> {
    const counts = (this.counts[roleName] ??= { evaluated: 0, denied: 0 });
    counts.evaluated += 1;
    for (const request of requests) {
      const decision = await this.check(roleName, request);
      if (decision.allowed) continue;
      counts.denied += 1;
      const denial: Denial = { role: roleName, command, ...request, result: decision.result };
      this.denials.push(denial);
      return denial;
    }
    return undefined;
  }
}

/** The message AWS gives for a denied request (its wording for identity-policy denials). */
export function denialMessage(
  role: RoleAccess,
  denial: Pick<Denial, 'action' | 'resource' | 'result'>,
): string {
  const session = role.arn.replace(':iam::', ':sts::').replace(':role/', ':assumed-role/');
  const why =
    denial.result === 'ExplicitlyDenied'
      ? `with an explicit deny in an identity-based policy`
      : `because no identity-based policy allows the ${denial.action} action`;
  return `User: ${session}/simulation is not authorized to perform: ${denial.action} on resource: ${denial.resource} ${why}`;
}
