/**
 * ClientToken of an export request. It is a pure function of what identifies one request, so a tick
 * that crashed after sending a request sends the identical request again and DynamoDB answers with the
 * same export instead of starting a second one. A new attempt for the same window gets a new token
 * (a token of a FAILED export would presumably just return that failed export again). The token is
 * not scoped per table by DynamoDB, so the table ARN is part of the hash.
 */
import { createHash } from 'node:crypto';

/** What identifies one export request. Times in epoch seconds. */
export interface TokenInput {
  tableArn: string;
  epoch: string;
  type: 'FULL' | 'INCREMENTAL';
  from: number;
  to: number;
  attempt: number;
}

/** DynamoDB's ClientToken pattern. */
export const CLIENT_TOKEN_PATTERN = /^[^$]+$/;

/** `dce-` + the first 40 hex characters of sha256 over the inputs (44 characters). */
export function clientToken(input: TokenInput): string {
  const text = [input.tableArn, input.epoch, input.type, input.from, input.to, input.attempt].join('\n');
  return `dce-${createHash('sha256').update(text).digest('hex').slice(0, 40)}`;
}
