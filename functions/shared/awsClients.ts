/**
 * The AWS SDK v3 clients the workflow talks to, declared once. Each is only the client's `send`, as
 * the SDK types it, so a real client, a client pointed at a local server and an in-process fake all
 * fit, and every answer is typed by its command (`DescribeExportCommand` answers a
 * `DescribeExportCommandOutput`).
 */
import type { $Command, DynamoDBClient, __MetadataBearer } from '@aws-sdk/client-dynamodb';
import type { SFNClient } from '@aws-sdk/client-sfn';
import type { SNSClient } from '@aws-sdk/client-sns';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { S3Sender } from '../../format/s3io';

export type { S3Sender };
export type DynamoDBSender = Pick<DynamoDBClient, 'send'>;
export type SsmSender = Pick<SSMClient, 'send'>;
export type SnsSender = Pick<SNSClient, 'send'>;
export type SfnSender = Pick<SFNClient, 'send'>;

/**
 * A command of any service, typed by its input `I` and output `O`. Every SDK command class extends
 * the SDK's `$Command`.
 */
export type AnyCommand<I extends object, O extends __MetadataBearer> = $Command<
  I,
  O,
  unknown,
  object,
  __MetadataBearer
>;

/**
 * A client of any service: what wrappers that forward whatever command they get take and return
 * (call counting, simulated latency, fault injection). Each of the four clients above is one, and one
 * is each of them.
 */
export interface CommandSender {
  send<I extends object, O extends __MetadataBearer>(command: AnyCommand<I, O>): Promise<O>;
}
