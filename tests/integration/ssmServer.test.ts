import { expect } from 'chai';
import {
  DeleteParameterCommand,
  GetParameterCommand,
  GetParametersCommand,
  ParameterAlreadyExists,
  ParameterNotFound,
  PutParameterCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { startSsmServer, type SsmServer } from '../../sim/ssmServer';

/** A small parameter store with SSM's semantics for the four calls (versions, overwrite, not found). */
class MemoryParameters {
  readonly values = new Map<
    string,
    { Value: string; Type: string; Version: number; LastModifiedDate: Date }
  >();
  commands: string[] = [];
  failNext: Error | null = null;

  async send(command: any): Promise<any> {
    const name = command.constructor.name as string;
    this.commands.push(name);
    if (this.failNext) {
      const error = this.failNext;
      this.failNext = null;
      throw error;
    }
    const input = command.input;
    const notFound = (n: string) =>
      Object.assign(new Error(`Parameter ${n} not found.`), { name: 'ParameterNotFound' });
    const view = (n: string) => ({
      Name: n,
      ...this.values.get(n)!,
      ARN: `arn:aws:ssm:local:0:parameter${n}`,
    });
    switch (name) {
      case 'GetParameterCommand':
        if (!this.values.has(input.Name)) throw notFound(input.Name);
        return { Parameter: view(input.Name) };
      case 'GetParametersCommand':
        return {
          Parameters: input.Names.filter((n: string) => this.values.has(n)).map(view),
          InvalidParameters: input.Names.filter((n: string) => !this.values.has(n)),
        };
      case 'PutParameterCommand': {
        const existing = this.values.get(input.Name);
        if (existing && !input.Overwrite) {
          throw Object.assign(new Error('The parameter already exists.'), { name: 'ParameterAlreadyExists' });
        }
        const Version = (existing?.Version ?? 0) + 1;
        this.values.set(input.Name, {
          Value: input.Value,
          Type: input.Type ?? existing?.Type ?? 'String',
          Version,
          LastModifiedDate: new Date(1_700_000_000_000 + Version * 1000),
        });
        return { Version, Tier: 'Standard' };
      }
      case 'DeleteParameterCommand':
        if (!this.values.delete(input.Name)) throw notFound(input.Name);
        return {};
      default:
        throw Object.assign(new Error(`${name} not supported`), { name: 'UnsupportedOperation' });
    }
  }
}

describe('local SSM endpoint (sim/ssmServer.ts) with a real SSMClient', () => {
  let store: MemoryParameters;
  let server: SsmServer;
  let client: SSMClient;

  beforeEach(async () => {
    store = new MemoryParameters();
    server = await startSsmServer(store);
    client = new SSMClient({
      endpoint: server.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
      maxAttempts: 1,
    });
  });

  afterEach(async () => {
    client.destroy();
    await server.close();
  });

  it('listens on 127.0.0.1 on an ephemeral port', () => {
    expect(server.endpoint).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.port).to.be.greaterThan(0);
  });

  it('round-trips PutParameter and GetParameter, with versions and timestamps decoded by the SDK', async () => {
    const put1 = await client.send(
      new PutParameterCommand({ Name: '/a/action', Value: 'RUN', Type: 'String' }),
    );
    expect(put1.Version).to.equal(1);
    const put2 = await client.send(
      new PutParameterCommand({ Name: '/a/action', Value: 'PAUSE', Type: 'String', Overwrite: true }),
    );
    expect(put2.Version).to.equal(2);
    const got = await client.send(new GetParameterCommand({ Name: '/a/action' }));
    expect(got.Parameter?.Value).to.equal('PAUSE');
    expect(got.Parameter?.Version).to.equal(2);
    expect(got.Parameter?.LastModifiedDate).to.be.instanceOf(Date);
    expect(got.Parameter?.LastModifiedDate?.getTime()).to.equal(
      store.values.get('/a/action')!.LastModifiedDate.getTime(),
    );
    expect(store.commands).to.deep.equal([
      'PutParameterCommand',
      'PutParameterCommand',
      'GetParameterCommand',
    ]);
    expect(server.requests).to.deep.equal({ PutParameter: 2, GetParameter: 1 });
  });

  it('returns modelled errors the SDK turns into its own exception classes', async () => {
    const missing = await client.send(new GetParameterCommand({ Name: '/nope' })).catch((e) => e);
    expect(missing).to.be.instanceOf(ParameterNotFound);
    expect(missing.message).to.contain('/nope');
    expect(missing.$metadata.httpStatusCode).to.equal(400);

    await client.send(new PutParameterCommand({ Name: '/p', Value: '1', Type: 'String' }));
    const exists = await client
      .send(new PutParameterCommand({ Name: '/p', Value: '2', Type: 'String' }))
      .catch((e) => e);
    expect(exists).to.be.instanceOf(ParameterAlreadyExists);
    expect(store.values.get('/p')!.Value).to.equal('1');
  });

  it('serves GetParameters and DeleteParameter', async () => {
    await client.send(new PutParameterCommand({ Name: '/x', Value: 'one', Type: 'String' }));
    const both = await client.send(new GetParametersCommand({ Names: ['/x', '/y'] }));
    expect(both.Parameters?.map((p) => p.Value)).to.deep.equal(['one']);
    expect(both.InvalidParameters).to.deep.equal(['/y']);
    await client.send(new DeleteParameterCommand({ Name: '/x' }));
    expect(store.values.has('/x')).to.equal(false);
    const again = await client.send(new DeleteParameterCommand({ Name: '/x' })).catch((e) => e);
    expect(again.name).to.equal('ParameterNotFound');
  });

  it('answers operations it does not serve with UnknownOperationException, without calling the store', async () => {
    const response = await fetch(server.endpoint, {
      method: 'POST',
      headers: {
        'x-amz-target': 'AmazonSSM.DescribeParameters',
        'content-type': 'application/x-amz-json-1.1',
      },
      body: '{}',
    });
    expect(response.status).to.equal(400);
    expect(await response.json()).to.include({ __type: 'UnknownOperationException' });
    expect(store.commands).to.deep.equal([]);
  });

  it('reports an unexpected store failure as a server error (status 500)', async () => {
    store.failNext = new Error('disk on fire');
    const error = await client.send(new GetParameterCommand({ Name: '/a' })).catch((e) => e);
    expect(error.$metadata.httpStatusCode).to.equal(500);
    expect(error.message).to.contain('disk on fire');
  });

  it('rejects a body that is not JSON', async () => {
    const response = await fetch(server.endpoint, {
      method: 'POST',
      headers: { 'x-amz-target': 'AmazonSSM.GetParameter' },
      body: '{nope',
    });
    expect(response.status).to.equal(400);
    expect(await response.json()).to.include({ __type: 'SerializationException' });
  });

  it('frees its port on close', async () => {
    const other = await startSsmServer(store);
    await other.close();
    const error = await fetch(other.endpoint, { method: 'POST' }).catch((e) => e);
    expect(error).to.be.instanceOf(Error);
  });
});
