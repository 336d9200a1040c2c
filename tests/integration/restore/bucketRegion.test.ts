/**
 * A restore reads the chain from a bucket that may be in another Region than the new table (`--region`
 * names the table's): S3 answers a client signing for another Region with 301 PermanentRedirect and
 * the bucket's Region in `x-amz-bucket-region`. The operator's S3 client (cli/target.ts `buildClients`)
 * follows it. A local server plays S3 here, answering only requests signed for its own Region.
 */
import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { buildClients } from '../../../cli/target';

const BUCKET_REGION = 'eu-central-1';

function signedRegion(authorization: string | undefined): string | undefined {
  // AWS4-HMAC-SHA256 Credential=<id>/<date>/<region>/s3/aws4_request, ...
  return /Credential=[^/]+\/\d{8}\/([^/]+)\/s3\//.exec(authorization ?? '')?.[1];
}

describe('the operator S3 client and a bucket in another Region (cli/target.ts)', () => {
  let server: Server;
  let endpoint: string;
  const seen: (string | undefined)[] = [];

  before(async () => {
    server = createServer((req, res) => {
      const region = signedRegion(req.headers.authorization);
      seen.push(region);
      if (region !== BUCKET_REGION) {
        res.writeHead(301, { 'content-type': 'application/xml', 'x-amz-bucket-region': BUCKET_REGION });
        res.end(
          '<?xml version="1.0" encoding="UTF-8"?><Error><Code>PermanentRedirect</Code>' +
            '<Message>The bucket you are attempting to access must be addressed using the specified endpoint.</Message></Error>',
        );
        return;
      }
      res.writeHead(200, { 'content-type': 'application/xml' });
      res.end(
        '<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>copy</Name><Prefix>exports/</Prefix>' +
          '<KeyCount>1</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>' +
          '<Contents><Key>exports/CURRENT.json</Key><Size>10</Size></Contents></ListBucketResult>',
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("follows S3's redirect to the bucket's Region when the table's Region is another", async () => {
    // No credentials in the environment: the local endpoint gets the client's dummy pair.
    const { s3 } = buildClients({ region: 'us-west-2', s3EndpointUrl: endpoint }, {});
    const out = await s3.send(new ListObjectsV2Command({ Bucket: 'copy', Prefix: 'exports/' }));
    expect(out.Contents?.map((c) => c.Key)).to.deep.equal(['exports/CURRENT.json']);
    // First signed for the table's Region and redirected, then for the bucket's.
    expect(seen[0]).to.equal('us-west-2');
    expect(seen[seen.length - 1]).to.equal(BUCKET_REGION);
  });
});
