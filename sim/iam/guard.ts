/**
 * A client whose every call is first evaluated by IAM against the role that makes it, as AWS does:
 * a denied call never reaches the service and fails the way that service fails it. It also applies
 * S3's rule for a missing key: GetObject or HeadObject of a key that does not exist answers 404
 * only when the caller may `s3:ListBucket` with that key as `s3:prefix`, and 403 AccessDenied
 * otherwise (Amazon S3 User Guide, "Required permissions for Amazon S3 API operations": GetObject,
 * HeadObject).
 */
import { serviceError } from '../fakeAws/errors';
import type { SendClient } from '../machines/localRun';
import { denialMessage, type AccessEvaluator, type Denial } from './evaluator';
import { commandName, iamRequestsOf, type CallScope } from './requests';

/** The service a client talks to, as IAM prefixes its actions. */
export type IamService = 's3' | 'dynamodb' | 'ssm' | 'sns' | 'sts' | 'states' | 'lambda';

/** The error each service answers for an identity-policy denial. */
function deniedError(service: IamService, command: string, message: string): Error {
  switch (service) {
    case 's3':
      // A HEAD response has no body, so the SDK names the error after the status.
      return command === 'HeadObject'
        ? serviceError('Forbidden', 'Forbidden', 403)
        : serviceError('AccessDenied', 'Access Denied', 403);
    case 'sns':
      return serviceError('AuthorizationError', message, 403);
    case 'sts':
      return serviceError('AccessDenied', message, 403);
    case 'lambda':
      return serviceError('AccessDeniedException', message, 403);
    default:
      return serviceError('AccessDeniedException', message, 400);
  }
}

function isMissingKey(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } } | undefined;
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
}

export interface GuardOptions {
  service: IamService;
  /** The deployed role the calls are made with. */
  role: string;
  scope: CallScope;
  evaluator: AccessEvaluator;
}

/** `client`, with every call evaluated for `role` first. */
export function guardClient(client: SendClient, options: GuardOptions): SendClient {
  const { service, role, scope, evaluator } = options;
  const refuse = (command: string, denial: Denial): never => {
    throw deniedError(service, command, denialMessage(evaluator.role(role), denial));
  };
  return {
    send: async (command) => {
      const name = commandName(command);
      const requests = iamRequestsOf(service, command, scope);
      const denial = await evaluator.authorize(role, `${service}:${name}`, requests);
      if (denial) refuse(name, denial);
      try {
        return await client.send(command);
      } catch (error) {
        if (service !== 's3' || (name !== 'GetObject' && name !== 'HeadObject') || !isMissingKey(error))
          throw error;
        const input = (command as { input: { Bucket: string; Key: string } }).input;
        const listing = {
          action: 's3:ListBucket',
          resource: `arn:${scope.partition}:s3:::${input.Bucket}`,
          context: { 's3:prefix': input.Key },
        };
        const decision = await evaluator.check(role, listing);
        if (decision.allowed) throw error;
        // The key's absence is itself hidden: S3 answers as for a denied read.
        throw deniedError(service, name, denialMessage(evaluator.role(role), { ...listing, ...decision }));
      }
    },
  };
}
