/**
 * A local STS endpoint answering AssumeRole, for `dce restore --role-arn` offline: no STS server exists
 * in npm, so this one speaks just enough of STS's Query protocol (`POST /`, a form body with
 * `Action=AssumeRole`, an XML answer; the STS API Reference, "AssumeRole") for the SDK's
 * `fromTemporaryCredentials`. Each call is decided by `decide` (who may assume which role; by default
 * anyone any role), and each granted call answers new temporary credentials whose access key id is
 * recorded, so a test can tell the calls made with them from the others by their signature.
 *
 * Signatures are not checked; the caller is known by the access key id in its Authorization header.
 * Binds to 127.0.0.1 only.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One AssumeRole request, as the server saw it. */
export interface AssumeRoleCall {
  roleArn: string;
  roleSessionName: string;
  /** The caller's access key id (from its signature), or '' when unsigned. */
  callerAccessKeyId: string;
  durationSeconds?: number;
}

/** What the server answered: the temporary credentials, or the refusal. */
export type AssumeRoleAnswer =
  | { granted: true; accessKeyId: string; secretAccessKey: string; sessionToken: string; expiration: string }
  | { granted: false; message: string };

export interface StsServer {
  /** `http://127.0.0.1:<port>`: the endpoint of `new STSClient` (`--sts-endpoint-url`). */
  endpoint: string;
  calls: { call: AssumeRoleCall; answer: AssumeRoleAnswer }[];
  close(): Promise<void>;
}

export interface StsServerOptions {
  /** Whether `call` may assume its role: true, or the reason it may not. @default every call may */
  decide?: (call: AssumeRoleCall) => true | string;
  /** Epoch milliseconds, for the credentials' expiration. @default Date.now */
  now?: () => number;
}

const XMLNS = 'https://sts.amazonaws.com/doc/2011-06-15/';

const escapeXml = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The caller's access key id: `Authorization: AWS4-HMAC-SHA256 Credential=<id>/<date>/...`. */
export function callerAccessKeyId(authorization: string | undefined): string {
  return /Credential=([^/,\s]+)\//.exec(authorization ?? '')?.[1] ?? '';
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, xml: string): void {
  res.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': randomBytes(8).toString('hex') });
  res.end(xml);
}

function errorXml(type: string, code: string, message: string): string {
  return `<ErrorResponse xmlns="${XMLNS}"><Error><Type>${type}</Type><Code>${code}</Code><Message>${escapeXml(message)}</Message></Error><RequestId>local</RequestId></ErrorResponse>`;
}

function credentialsXml(call: AssumeRoleCall, answer: Extract<AssumeRoleAnswer, { granted: true }>): string {
  const [, , , , account, resource] = call.roleArn.split(':');
  const roleName = resource.slice('role/'.length).split('/').pop();
  return (
    `<AssumeRoleResponse xmlns="${XMLNS}"><AssumeRoleResult>` +
    `<Credentials><AccessKeyId>${answer.accessKeyId}</AccessKeyId><SecretAccessKey>${answer.secretAccessKey}</SecretAccessKey>` +
    `<SessionToken>${answer.sessionToken}</SessionToken><Expiration>${answer.expiration}</Expiration></Credentials>` +
    `<AssumedRoleUser><AssumedRoleId>AROALOCAL:${escapeXml(call.roleSessionName)}</AssumedRoleId>` +
    `<Arn>arn:aws:sts::${account}:assumed-role/${escapeXml(roleName ?? '')}/${escapeXml(call.roleSessionName)}</Arn></AssumedRoleUser>` +
    `</AssumeRoleResult><ResponseMetadata><RequestId>local</RequestId></ResponseMetadata></AssumeRoleResponse>`
  );
}

const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;

/** Starts the endpoint on 127.0.0.1 (a free port). */
export async function startStsServer(options: StsServerOptions = {}): Promise<StsServer> {
  const calls: StsServer['calls'] = [];
  const now = options.now ?? Date.now;
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const form = new URLSearchParams(await readBody(req));
    if (req.method !== 'POST' || form.get('Action') !== 'AssumeRole')
      return send(
        res,
        400,
        errorXml('Sender', 'InvalidAction', `not served: ${form.get('Action') ?? req.method}`),
      );
    const roleArn = form.get('RoleArn') ?? '';
    const roleSessionName = form.get('RoleSessionName') ?? '';
    if (!ROLE_ARN.test(roleArn) || !/^[\w+=,.@-]{2,64}$/.test(roleSessionName))
      return send(
        res,
        400,
        errorXml('Sender', 'ValidationError', `invalid RoleArn or RoleSessionName: ${roleArn}`),
      );
    const duration = form.get('DurationSeconds');
    const call: AssumeRoleCall = {
      roleArn,
      roleSessionName,
      callerAccessKeyId: callerAccessKeyId(req.headers.authorization),
      ...(duration ? { durationSeconds: Number(duration) } : {}),
    };
    const decided = (options.decide ?? (() => true))(call);
    if (decided !== true) {
      calls.push({ call, answer: { granted: false, message: decided } });
      return send(res, 403, errorXml('Sender', 'AccessDenied', decided));
    }
    const answer = {
      granted: true as const,
      accessKeyId: `ASIA${randomBytes(8).toString('hex').toUpperCase()}`,
      secretAccessKey: randomBytes(20).toString('base64'),
      sessionToken: randomBytes(32).toString('base64'),
      expiration: new Date(now() + (call.durationSeconds ?? 3600) * 1000).toISOString(),
    };
    calls.push({ call, answer });
    send(res, 200, credentialsXml(call, answer));
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: Error) =>
      send(res, 500, errorXml('Receiver', 'InternalFailure', error.message)),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    close: () => new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve()))),
  };
}
