import { expect } from 'chai';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { SendClient } from '../../../sim/machines/localRun';
import { EXPORT_WRITER_ATTEMPTS, retryingExportWrites } from '../../../sim/simulation/s3Clients';

/** A client that fails its first `failures` calls with `error`, then answers. */
function flaky(failures: number, error: Error): SendClient & { calls: number } {
  const client = {
    calls: 0,
    async send(): Promise<never> {
      client.calls += 1;
      if (client.calls <= failures) throw error;
      return { ETag: '"x"' } as never;
    },
  };
  return client;
}

const hangUp = () => Object.assign(new Error('socket hang up'), { name: 'TimeoutError', code: 'ECONNRESET' });
const put = () => new PutObjectCommand({ Bucket: 'b', Key: 'k', Body: 'x' });

describe('the export engine S3 writer', () => {
  it('sends a request again after a reset connection, at most EXPORT_WRITER_ATTEMPTS times', async () => {
    const recovering = flaky(EXPORT_WRITER_ATTEMPTS - 1, hangUp());
    expect(await retryingExportWrites(recovering).send(put())).to.deep.equal({ ETag: '"x"' });
    expect(recovering.calls).to.equal(EXPORT_WRITER_ATTEMPTS);

    const broken = flaky(EXPORT_WRITER_ATTEMPTS, hangUp());
    const error = await retryingExportWrites(broken)
      .send(put())
      .then(
        () => undefined,
        (e: Error) => e,
      );
    expect(error?.message).to.equal('socket hang up');
    expect(broken.calls).to.equal(EXPORT_WRITER_ATTEMPTS);
  });

  it('does not send again after an error that is not transient', async () => {
    const denied = flaky(1, Object.assign(new Error('Access Denied'), { name: 'AccessDenied' }));
    const error = await retryingExportWrites(denied)
      .send(put())
      .then(
        () => undefined,
        (e: Error) => e,
      );
    expect(error?.name).to.equal('AccessDenied');
    expect(denied.calls).to.equal(1);
  });
});
