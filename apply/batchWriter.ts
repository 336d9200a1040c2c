/**
 * Writes to a DynamoDB table with BatchWriteItem: batches of 25, a bounded number in flight (p-limit,
 * through the format module's `settleAll`), UnprocessedItems and throttling retried with exponential
 * backoff, and an optional write rate. With the default `maxAttempts` (unbounded) throttling never
 * fails an apply: it only slows it down.
 *
 * Errors are told apart by the one classification every AWS call of this repository uses
 * (format/transientErrors.ts): throttling is retried without limit; other transient errors (a timeout,
 * a reset connection, a 5xx) are retried with the same backoff up to `maxTransientAttempts`, then end
 * in `TransientAwsError`, which the state machines retry; a write the table rejects (a
 * ValidationException) is found by writing the batch's requests one by one and reported as
 * `WriteRejectedError` naming its key, never retried.
 */
import { BatchWriteItemCommand, type DynamoDBClient, type WriteRequest } from '@aws-sdk/client-dynamodb';
import {
  TransientAwsError,
  errorMessage,
  errorName,
  isThrottlingError,
  isTransientError,
  itemToJson,
  keyOf,
  settleAll,
  type Item,
} from '../format';
import { WriteRejectedError, isRejection } from './errors';
import { WriteRateLimiter, realSleep, type Sleep } from './rateLimiter';

/** Anything that sends AWS SDK v3 DynamoDB commands, as the SDK types them (a client, a local server's client, a fake). */
export type DynamoDbSender = Pick<DynamoDBClient, 'send'>;

/** BatchWriteItem takes at most 25 requests. */
export const BATCH_SIZE = 25;

/** Tries of a batch against transient errors other than throttling, by default: about 16 s of backoff. */
export const DEFAULT_MAX_TRANSIENT_ATTEMPTS = 10;

export interface BatchWriterOptions {
  dynamodb: DynamoDbSender;
  /** Target table name (or ARN, for a table shared through a resource policy). */
  tableName: string;
  /** BatchWriteItem calls in flight at once. @default 4 */
  concurrency?: number;
  /** Upper bound on items written per second; unlimited when absent. */
  maxWritesPerSecond?: number;
  /**
   * Attempts per batch before giving up on unprocessed items or a retryable error.
   * @default Infinity (throttling never fails; the caller's own deadline bounds the run)
   */
  maxAttempts?: number;
  /**
   * Attempts per batch against transient errors other than throttling (a timeout, a reset connection,
   * a 5xx) before it fails with `TransientAwsError`: an outage ends the call and the state machine
   * retries it later, rather than the Lambda retrying until its timeout. @default 10
   */
  maxTransientAttempts?: number;
  /** The target's key attributes: a rejected write is named by its key (else by its whole item). */
  keyAttributes?: readonly string[];
  /** First backoff delay in ms, doubled per attempt. @default 50 */
  baseDelayMs?: number;
  /** Longest backoff delay in ms. @default 5000 */
  maxDelayMs?: number;
  /** Called after each batch with the number of writes it completed. */
  onWritten?: (count: number) => void;
  sleep?: Sleep;
  now?: () => number;
}

/** Counters of one writer. */
export interface BatchWriterStats {
  /** Writes DynamoDB accepted. */
  written: number;
  /** BatchWriteItem calls sent (retries included). */
  calls: number;
  /** Retries after unprocessed items or a transient error. */
  retries: number;
}

export class BatchWriter {
  readonly stats: BatchWriterStats = { written: 0, calls: 0, retries: 0 };
  private readonly limiter: WriteRateLimiter;
  private readonly sleep: Sleep;

  constructor(private readonly options: BatchWriterOptions) {
    this.sleep = options.sleep ?? realSleep;
    this.limiter = new WriteRateLimiter(options.maxWritesPerSecond, options.now, this.sleep);
  }

  /**
   * Writes requests that hold each key at most once (one round), `concurrency` batches at a time.
   * Resolves when every write is accepted; the first non-retryable failure is thrown once every
   * batch in flight has settled.
   */
  async writeRound(requests: readonly WriteRequest[]): Promise<void> {
    const batches: WriteRequest[][] = [];
    for (let b = 0; b < requests.length; b += BATCH_SIZE) batches.push(requests.slice(b, b + BATCH_SIZE));
    await settleAll(batches, this.options.concurrency ?? 4, (batch) => this.writeBatch(batch));
  }

  /** Writes rounds one after another, so the writes of one key reach the table in order. */
  async writeRounds(rounds: readonly WriteRequest[][]): Promise<void> {
    for (const round of rounds) await this.writeRound(round);
  }

  private async writeBatch(batch: WriteRequest[]): Promise<void> {
    const { dynamodb, tableName } = this.options;
    const maxAttempts = this.options.maxAttempts ?? Infinity;
    const maxTransient = this.options.maxTransientAttempts ?? DEFAULT_MAX_TRANSIENT_ATTEMPTS;
    const baseDelayMs = this.options.baseDelayMs ?? 50;
    const maxDelayMs = this.options.maxDelayMs ?? 5000;
    let pending = batch;
    let transientFailures = 0;
    for (let attempt = 1; ; attempt++) {
      await this.limiter.acquire(pending.length);
      let unprocessed: WriteRequest[];
      this.stats.calls += 1;
      try {
        const out = await dynamodb.send(
          new BatchWriteItemCommand({ RequestItems: { [tableName]: pending } }),
        );
        unprocessed = out.UnprocessedItems?.[tableName] ?? [];
      } catch (err) {
        if (isRejection(err)) return this.findRejected(pending, err);
        if (!isTransientError(err) || attempt >= maxAttempts) throw err;
        if (!isThrottlingError(err) && ++transientFailures >= maxTransient) {
          throw new TransientAwsError(
            `BatchWriteItem to ${tableName} failed ${transientFailures} times with transient errors; last: ${errorName(err)}: ${errorMessage(err)}`,
            errorName(err),
          );
        }
        unprocessed = pending;
      }
      const done = pending.length - unprocessed.length;
      this.stats.written += done;
      if (done > 0) this.options.onWritten?.(done);
      if (unprocessed.length === 0) return;
      if (attempt >= maxAttempts) {
        throw new Error(
          `${unprocessed.length} writes to ${tableName} still unprocessed after ${attempt} attempts`,
        );
      }
      pending = unprocessed;
      this.stats.retries += 1;
      // Full jitter would be kinder to a shared table, but a deterministic delay keeps tests exact.
      await this.sleep(Math.min(baseDelayMs * 2 ** Math.min(attempt - 1, 20), maxDelayMs));
    }
  }

  /**
   * A batch DynamoDB refused as invalid: DynamoDB does not say which write, so each is written alone
   * (in any order: a round holds each key once). The first refused alone is the rejected write; when
   * every write succeeds alone, the batch as a whole was wrong and its error is thrown unchanged.
   */
  private async findRejected(batch: WriteRequest[], error: unknown): Promise<void> {
    if (batch.length === 1)
      throw new WriteRejectedError(this.describe(batch[0]), `${errorName(error)}: ${errorMessage(error)}`);
    for (const request of batch) await this.writeBatch([request]);
    throw error;
  }

  private describe(request: WriteRequest): string {
    const keyAttributes = this.options.keyAttributes;
    const item = (request.PutRequest?.Item ?? request.DeleteRequest?.Key ?? {}) as Item;
    try {
      return JSON.stringify(itemToJson(keyAttributes ? keyOf(item, keyAttributes) : item)).slice(0, 400);
    } catch {
      return JSON.stringify(Object.keys(item));
    }
  }
}
