/**
 * Lambda entry of an Iceberg feed's plan/commit function. Settings come from the environment
 * (`ICEBERG_SETTINGS`, JSON written by components/consumers/icebergFeed.ts); clients are created once per container.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import { SSMClient } from '@aws-sdk/client-ssm';
import { createIcebergHandler, type IcebergEvent, type IcebergSettings } from './feed';

/** The settings the component wrote into the function's environment. */
export function fromIcebergEnvironment(env: Record<string, string | undefined>): IcebergSettings {
  const text = env.ICEBERG_SETTINGS;
  if (!text) throw new Error('ICEBERG_SETTINGS is not set');
  return JSON.parse(text) as IcebergSettings;
}

let cached: ((event: IcebergEvent) => Promise<unknown>) | undefined;

export async function handler(event: IcebergEvent): Promise<unknown> {
  cached ??= createIcebergHandler(fromIcebergEnvironment(process.env), {
    s3: new S3Client({}),
    ssm: new SSMClient({}),
    sns: new SNSClient({}),
  });
  return cached(event);
}
