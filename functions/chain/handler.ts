/**
 * Lambda entry of the export tick. Settings come from the environment (`toEnvironment` in
 * `functions/chain/settings.ts` wrote them); SDK clients are created once per container and reused.
 *
 * The clients are created with `maxAttempts: 1`: every AWS call already goes through the one retry
 * policy in `functions/shared/retry.ts` (backoff with full jitter, then `TransientAwsError` for the state
 * machine to retry). SDK retries on top of it would multiply the attempts and the time a tick can
 * take, and would hide from the policy which errors happened.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import { SSMClient } from '@aws-sdk/client-ssm';
import { Console } from 'node:console';
import {
  createExportTickHandler,
  type ExportTickClients,
  type ExportTickEvent,
  type ExportTickResult,
} from './exportTick';
import { fromEnvironment } from './settings';

let cached: ((event: ExportTickEvent) => Promise<ExportTickResult>) | undefined;

/** The real SDK clients, without SDK-level retries (see above). */
export function createClients(): ExportTickClients {
  const config = { maxAttempts: 1 };
  return {
    dynamodb: new DynamoDBClient(config),
    ssm: new SSMClient(config),
    s3: new S3Client(config),
    sns: new SNSClient(config),
  };
}

/**
 * Where the EMF line goes. With Lambda's default text log format `console.log` works (CloudWatch finds
 * the JSON after the line prefix); with the JSON log format Lambda would wrap it in its own JSON
 * object, hiding it from EMF extraction, so the line is then written straight to stdout (what the AWS
 * embedded-metrics library does too).
 */
function metricLogger(env: Record<string, string | undefined>): (line: string) => void {
  if (env.AWS_LAMBDA_LOG_FORMAT === 'JSON') {
    const raw = new Console(process.stdout, process.stderr);
    return (line) => raw.log(line);
  }
  return (line) => console.log(line);
}

function build(): (event: ExportTickEvent) => Promise<ExportTickResult> {
  return createExportTickHandler({
    settings: fromEnvironment(process.env),
    clients: createClients(),
    log: metricLogger(process.env),
  });
}

export const handler = async (event: ExportTickEvent): Promise<ExportTickResult> => {
  cached ??= build();
  return cached(event);
};
