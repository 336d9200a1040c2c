/**
 * Lambda entry of a replica's apply function. Settings come from the environment
 * (`toReplicaEnvironment`); clients are created once per container. The target client writes in the
 * target's Region and, with a role, with credentials of that role in the target account (assumed
 * through STS and refreshed by the credential provider, which is bundled with this handler: only the
 * SDK clients are left to the runtime, components/bundle.ts). SDK retries are off on the target: the
 * apply engine retries throttling itself, with backoff, and never gives up on it.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { SSMClient } from '@aws-sdk/client-ssm';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import { createReplicaHandler, type ReplicaEvent } from './apply';
import { fromReplicaEnvironment, type ReplicaSettings } from './settings';

/** The target's DynamoDB client (exported for tests of its Region and credentials). */
export function targetClient(settings: ReplicaSettings): DynamoDBClient {
  return new DynamoDBClient({
    maxAttempts: 1,
    ...(settings.targetRegion ? { region: settings.targetRegion } : {}),
    ...(settings.roleArn
      ? {
          credentials: fromTemporaryCredentials({
            params: {
              RoleArn: settings.roleArn,
              RoleSessionName: `dce-replica-${settings.replicaAlias}`.slice(0, 64),
              DurationSeconds: 3600,
            },
          }),
        }
      : {}),
  });
}

let cached: ((event: ReplicaEvent) => Promise<unknown>) | undefined;

export async function handler(event: ReplicaEvent): Promise<unknown> {
  if (!cached) {
    const settings = fromReplicaEnvironment(process.env);
    cached = createReplicaHandler(settings, {
      s3: new S3Client({}),
      ssm: new SSMClient({}),
      sns: new SNSClient({}),
      states: new SFNClient({}),
      target: targetClient(settings),
      // The source table is in the Lambda's own account and Region (the import bootstrap describes it).
      source: new DynamoDBClient({}),
    });
  }
  return cached(event);
}
