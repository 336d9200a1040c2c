/**
 * One classification of transient AWS errors (format/transientErrors.ts) for every AWS call: the
 * export tick's retry policy and the apply engine's batch writer agree on every error.
 */
import { expect } from 'chai';
import { BatchWriteItemCommand, type WriteRequest } from '@aws-sdk/client-dynamodb';
import { BatchWriter, WriteRejectedError, type DynamoDbSender } from '../../../apply';
import { TransientAwsError, isThrottlingError, isTransientError } from '../../../format';
import { isTransientError as retryPolicyIsTransient, withRetry } from '../../../functions/shared/retry';

const TABLE = 'target';
const noSleep = async () => undefined;

const named = (name: string, extra: object = {}) => Object.assign(new Error(name), { name, ...extra });
const NETWORK_ERRORS = [
  named('TimeoutError', { message: 'Connection timed out after 2000 ms' }),
  Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }),
  // Node's HTTP agent: no name of its own, no code.
  new Error('socket hang up'),
];

const put = (pk: string, extra: Record<string, unknown> = {}): WriteRequest => ({
  PutRequest: { Item: { pk: { S: pk }, ...(extra as object) } },
});

/** A table that fails calls as `fail` says (by call number), and records what it accepted. */
class ScriptedTable implements DynamoDbSender {
  calls = 0;
  readonly written: string[] = [];
  constructor(private readonly fail: (call: number, requests: WriteRequest[]) => Error | undefined) {}
  async send(command: unknown): Promise<never> {
    if (!(command instanceof BatchWriteItemCommand)) throw new Error('unexpected command');
    const requests = command.input.RequestItems![TABLE];
    const error = this.fail(++this.calls, requests);
    if (error) throw error;
    for (const r of requests) this.written.push(r.PutRequest!.Item!.pk.S!);
    return { UnprocessedItems: {} } as never;
  }
}

describe('transient AWS errors: one classification for every call (format/transientErrors.ts)', () => {
  it('a timeout, a reset connection and "socket hang up" are transient, and not throttling', () => {
    for (const error of NETWORK_ERRORS) {
      expect(isTransientError(error), error.message).to.equal(true);
      expect(retryPolicyIsTransient(error), error.message).to.equal(true);
      expect(isThrottlingError(error), error.message).to.equal(false);
    }
    expect(isThrottlingError(named('ProvisionedThroughputExceededException'))).to.equal(true);
    expect(isTransientError(named('ValidationException', { $metadata: { httpStatusCode: 400 } }))).to.equal(
      false,
    );
    expect(isTransientError(named('AccessDeniedException'))).to.equal(false);
  });

  it('the retry policy and the batch writer retry the same network errors', async () => {
    for (const error of NETWORK_ERRORS) {
      let tries = 0;
      const out = await withRetry(
        'call',
        async () => {
          if (++tries === 1) throw error;
          return 'done';
        },
        { sleep: noSleep },
      );
      expect(out).to.equal('done');
      const table = new ScriptedTable((call) => (call <= 2 ? error : undefined));
      const writer = new BatchWriter({ dynamodb: table, tableName: TABLE, sleep: noSleep });
      await writer.writeRound([put('a'), put('b')]);
      expect(table.written, error.message).to.deep.equal(['a', 'b']);
      expect(writer.stats.retries).to.equal(2);
    }
  });

  it('a network error that persists ends in TransientAwsError after maxTransientAttempts; throttling never ends', async () => {
    const down = new ScriptedTable(() => NETWORK_ERRORS[0]);
    const writer = new BatchWriter({
      dynamodb: down,
      tableName: TABLE,
      sleep: noSleep,
      maxTransientAttempts: 5,
    });
    const error = await writer.writeRound([put('a')]).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(TransientAwsError);
    expect((error as Error).message).to.contain('TimeoutError');
    expect(down.calls).to.equal(5);
    // Throttling for 500 calls, then written: it only slows the writer down.
    const throttled = new ScriptedTable((call) => (call <= 500 ? named('ThrottlingException') : undefined));
    await new BatchWriter({
      dynamodb: throttled,
      tableName: TABLE,
      sleep: noSleep,
      maxTransientAttempts: 5,
    }).writeRound([put('a')]);
    expect(throttled.written).to.deep.equal(['a']);
  });

  it('a write the table rejects is named by its key (each write of the batch tried alone) and never retried', async () => {
    const rejected = named('ValidationException', {
      message:
        'One or more parameter values were invalid: Type mismatch for Index Key g Expected: S Actual: N',
      $metadata: { httpStatusCode: 400 },
    });
    const table = new ScriptedTable((_, requests) =>
      requests.some((r) => r.PutRequest?.Item?.g?.N !== undefined) ? rejected : undefined,
    );
    const writer = new BatchWriter({
      dynamodb: table,
      tableName: TABLE,
      sleep: noSleep,
      keyAttributes: ['pk'],
    });
    const error = await writer
      .writeRound([put('a'), put('bad', { g: { N: '5' } }), put('c')])
      .catch((e: unknown) => e);
    expect(error).to.be.instanceOf(WriteRejectedError);
    expect((error as WriteRejectedError).key).to.equal('{"pk":{"S":"bad"}}');
    expect((error as WriteRejectedError).reason).to.contain('Type mismatch for Index Key g');
    // The batch once, then each write alone until the rejected one: nothing sent again.
    expect(table.calls).to.equal(3);
    expect(table.written).to.deep.equal(['a']);
  });

  it('a batch rejected as a whole while each write alone is accepted fails with its own error', async () => {
    const wholeBatch = named('ValidationException', {
      message: 'Provided list of item keys contains duplicates',
    });
    const table = new ScriptedTable((_, requests) => (requests.length > 1 ? wholeBatch : undefined));
    const error = await new BatchWriter({ dynamodb: table, tableName: TABLE, sleep: noSleep })
      .writeRound([put('a'), put('b')])
      .catch((e: unknown) => e);
    expect(error).to.equal(wholeBatch);
  });
});
