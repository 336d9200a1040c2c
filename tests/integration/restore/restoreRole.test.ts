/**
 * `dce restore --role-arn` against a local STS endpoint (sim/stsServer.ts): the role is assumed once,
 * every call to the new table is signed with the credentials AssumeRole returned (a recording proxy in
 * front of the local DynamoDB sees their access key), and a refused AssumeRole stops the restore
 * before anything is read or written, saying so.
 */
import { expect } from 'chai';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runDce } from '../../../cli/dce';
import { callerAccessKeyId, startStsServer, type StsServer } from '../../../sim/stsServer';
import { startLocalDynamoDb, type LocalDynamoDb } from '../../../sim/servers';
import { canonicalTable, generateWorkload } from '../../../sim/workload';
import { MemoryS3, writeCliChain } from '../../helpers/exportChain';
import { newWorkloadTable, scanTable } from '../../helpers/localTables';
import { capturedIo } from '../../helpers/capturedIo';

const ROLE = 'arn:aws:iam::210987654321:role/dce-restore-writer';

const capture = () => capturedIo();

/** A proxy in front of the local DynamoDB recording the access key id each request is signed with. */
async function recordingProxy(target: string): Promise<{ endpoint: string; keys: string[]; server: Server }> {
  const upstream = new URL(target);
  const keys: string[] = [];
  const server = createServer((req, res) => {
    keys.push(callerAccessKeyId(req.headers.authorization));
    const up = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        path: req.url,
        method: req.method,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 500, answer.headers);
        answer.pipe(res);
      },
    );
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, keys, server };
}

describe('dce restore --role-arn against a local STS endpoint', () => {
  const START = 1_790_000_000;
  const source = generateWorkload({
    from: START - 3600,
    to: START + 4 * 900,
    writesPerMinute: 6,
    seed: 9,
    keySpace: 40,
  });
  const s3 = new MemoryS3();
  let ddb: LocalDynamoDb;
  let dir: string;
  let proxy: Awaited<ReturnType<typeof recordingProxy>>;
  const servers: StsServer[] = [];
  // The operator's own clients: the chain is read with them; the new table must never be reached by them.
  const clients = () => ({
    s3,
    ssm: { send: async () => ({}) },
    dynamodb: {
      send: async () => {
        throw new Error('the target was reached without the assumed role');
      },
    },
  });
  const argv = (sts: string, table: string, state: string) => [
    'restore',
    ...['--alias', 'orders', '--bucket', 'exports', '--prefix', 'dce/orders'],
    ...['--to', '3', '--table', table, '--bootstrap', 'write', '--state', join(dir, state)],
    ...['--role-arn', ROLE, '--region', 'us-west-2'],
    ...['--dynamodb-endpoint-url', proxy.endpoint, '--sts-endpoint-url', sts],
  ];

  before(async () => {
    ddb = await startLocalDynamoDb();
    proxy = await recordingProxy(ddb.endpoint);
    dir = mkdtempSync(join(tmpdir(), 'dce-restore-role-'));
    await writeCliChain(s3, source, START);
  });
  after(async () => {
    for (const s of servers) await s.close();
    await new Promise((r) => proxy.server.close(r));
    await ddb.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("assumes the role once and signs every call to the new table with the role's credentials", async () => {
    const sts = await startStsServer();
    servers.push(sts);
    await newWorkloadTable(ddb.client, 'orders-role');
    proxy.keys.length = 0;
    const c = capture();
    expect(
      await runDce(argv(sts.endpoint, 'orders-role', 's1.json'), c.io, { clients: clients as never }),
      c.stderr(),
    ).to.equal(0);
    expect(sts.calls.map((x) => x.call)).to.deep.equal([
      { roleArn: ROLE, roleSessionName: 'dce-restore', callerAccessKeyId: 'local' },
    ]);
    const granted = sts.calls[0].answer;
    if (!granted.granted) throw new Error('refused');
    expect(proxy.keys.length).to.be.greaterThan(1);
    expect(new Set(proxy.keys)).to.deep.equal(new Set([granted.accessKeyId]));
    expect(canonicalTable(await scanTable(ddb.client, 'orders-role'))).to.deep.equal(
      canonicalTable(source.snapshotBefore(START + 3 * 900)),
    );
  });

  it('a refused AssumeRole stops the restore at once with exit 2, naming the role and what STS said', async () => {
    const sts = await startStsServer({
      decide: (call) =>
        `User: arn:aws:iam::123456789012:user/operator is not authorized to perform: sts:AssumeRole on resource: ${call.roleArn}`,
    });
    servers.push(sts);
    proxy.keys.length = 0;
    const c = capture();
    expect(
      await runDce(argv(sts.endpoint, 'orders-refused', 's2.json'), c.io, { clients: clients as never }),
    ).to.equal(2);
    expect(c.stderr()).to.contain(
      `--role-arn ${ROLE}: AssumeRole was refused (AccessDenied: User: arn:aws:iam::123456789012:user/operator is not authorized to perform: sts:AssumeRole on resource: ${ROLE})`,
    );
    expect(sts.calls).to.have.length(1);
    expect(proxy.keys).to.deep.equal([]);
  });
});
