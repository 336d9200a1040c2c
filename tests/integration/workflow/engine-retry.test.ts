import { expect } from 'chai';
import FakeTimers from '@sinonjs/fake-timers';
import {
  TransientAwsError,
  backoffDelayMs,
  isTransientError,
  withRetry,
} from '../../../functions/shared/retry';

function awsError(name: string, status = 400): Error {
  return Object.assign(new Error(`${name} happened`), { name, $metadata: { httpStatusCode: status } });
}

describe('retry policy', () => {
  let clock: ReturnType<typeof FakeTimers.install>;
  before(() => {
    clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  });
  after(() => clock.uninstall());

  it('classifies throttling, 5xx, limits and network errors as transient, and nothing else', () => {
    for (const name of [
      'ThrottlingException',
      'ProvisionedThroughputExceededException',
      'TooManyRequestsException',
      'RequestLimitExceeded',
      'LimitExceededException',
      'InternalServerError',
      'ServiceUnavailable',
      'TimeoutError',
      'NetworkingError',
      'SdkClientException',
      // SSM: concurrent updates of one parameter
      'TooManyUpdates',
    ]) {
      expect(isTransientError(awsError(name)), name).to.equal(true);
    }
    expect(isTransientError(awsError('SomethingNew', 503))).to.equal(true);
    expect(isTransientError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))).to.equal(
      true,
    );
    for (const name of [
      'ValidationException',
      'AccessDeniedException',
      'InvalidExportTimeException',
      'ParameterAlreadyExists',
    ]) {
      expect(isTransientError(awsError(name)), name).to.equal(false);
    }
    expect(isTransientError(new Error('plain'))).to.equal(false);
  });

  it('full jitter stays under the exponential cap', () => {
    expect(backoffDelayMs(0, { random: () => 0.999 })).to.be.lessThan(200);
    expect(backoffDelayMs(3, { random: () => 0.999 })).to.be.lessThan(1600);
    expect(backoffDelayMs(20, { random: () => 0.999 })).to.be.lessThan(5000);
    expect(backoffDelayMs(3, { random: () => 0 })).to.equal(0);
  });

  it('retries transient errors and returns the first success', async () => {
    let calls = 0;
    const p = withRetry('Test', async () => {
      calls++;
      if (calls < 3) throw awsError('ThrottlingException');
      return 'ok';
    });
    await clock.runAllAsync();
    expect(await p).to.equal('ok');
    expect(calls).to.equal(3);
  });

  it('ends with TransientAwsError after the attempts are used', async () => {
    let calls = 0;
    const p = withRetry(
      'DescribeExport',
      async () => {
        calls++;
        throw awsError('InternalServerError', 500);
      },
      { attempts: 4 },
    ).catch((e: unknown) => e);
    await clock.runAllAsync();
    const error = (await p) as Error;
    expect(error).to.be.instanceOf(TransientAwsError);
    expect(error.name).to.equal('TransientAwsError');
    expect(error.message).to.contain('DescribeExport').and.contain('InternalServerError');
    expect(calls).to.equal(4);
  });

  it('throws other errors at once', async () => {
    let calls = 0;
    const error = await withRetry('Put', async () => {
      calls++;
      throw awsError('AccessDeniedException');
    }).catch((e: unknown) => e as Error);
    expect(error.name).to.equal('AccessDeniedException');
    expect(calls).to.equal(1);
  });
});
