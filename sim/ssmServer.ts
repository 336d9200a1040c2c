/**
 * A local SSM endpoint. No SSM server exists in npm, so this one speaks just enough of the AWS JSON 1.1
 * protocol (`POST /`, `X-Amz-Target: AmazonSSM.<Operation>`, JSON in and out) for the parameter calls
 * the workflow and `dce` make, and forwards each to a backing object with `send(command)`: the
 * in-process fake SSM of the simulation, or anything else with that shape. A real `SSMClient` with
 * `endpoint` pointed here then talks to the fake, so the CLI is exercised over real HTTP.
 *
 * Request signatures are not checked (any credentials work). Binds to 127.0.0.1 only.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as ssm from '@aws-sdk/client-ssm';
import type { SsmSender } from '../functions/shared/awsClients';

/** Operations served; others answer `UnknownOperationException` as AWS does for unknown targets. */
export const SSM_SERVER_OPERATIONS = [
  'GetParameter',
  'GetParameters',
  'PutParameter',
  'DeleteParameter',
  'DeleteParameters',
  'GetParametersByPath',
] as const;

/** The backing store: any object with the SDK v3 SSM client's `send(command)` method. */
export type SsmBackend = SsmSender;

/** What a thrown SDK or fake error may carry. */
interface ErrorLike {
  name?: unknown;
  message?: unknown;
  $fault?: unknown;
  $metadata?: { httpStatusCode?: unknown };
}

/** A command class of the SSM client, by operation name. */
type CommandClass = new (
  input: unknown,
) => ssm.$Command<
  ssm.ServiceInputTypes,
  ssm.ServiceOutputTypes,
  unknown,
  ssm.ServiceInputTypes,
  ssm.ServiceOutputTypes
>;

/** A running server. */
export interface SsmServer {
  /** `http://127.0.0.1:<port>`, for `new SSMClient({ endpoint })`. */
  endpoint: string;
  port: number;
  /** Requests served, by operation (for reports and tests). */
  requests: Record<string, number>;
  close(): Promise<void>;
}

/** Dates go out as epoch seconds, as the JSON 1.1 protocol encodes timestamps. */
function encode(value: unknown): string {
  return JSON.stringify(value, function replacer(this: Record<string, unknown>, key: string, v: unknown) {
    const original = key === '' ? value : this[key];
    if (original instanceof Date) return original.getTime() / 1000;
    return v;
  });
}

function send(res: ServerResponse, status: number, body: string, errorType?: string): void {
  const headers: Record<string, string | number> = {
    'content-type': 'application/x-amz-json-1.1',
    'content-length': Buffer.byteLength(body),
    'x-amzn-requestid': `local-${Date.now().toString(36)}`,
  };
  if (errorType) headers['x-amzn-errortype'] = errorType;
  res.writeHead(status, headers);
  res.end(body);
}

function sendError(res: ServerResponse, status: number, type: string, message: string): void {
  send(res, status, JSON.stringify({ __type: type, message }), type);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Client errors keep their name as `__type`; anything unexpected is a 500 the SDK will retry. */
function errorStatus(error: ErrorLike | undefined): number {
  const fault = error?.$fault;
  if (fault === 'server') return 500;
  if (fault === 'client') return 400;
  const status = error?.$metadata?.httpStatusCode;
  if (typeof status === 'number' && status >= 400) return status;
  // Errors from a fake carry no $fault; a named error is the caller's problem (e.g. ParameterNotFound).
  return typeof error?.name === 'string' && error.name !== 'Error' ? 400 : 500;
}

/** Starts the server on 127.0.0.1 and an ephemeral port (or `port`). */
export async function startSsmServer(
  backend: SsmBackend,
  options: { port?: number } = {},
): Promise<SsmServer> {
  const requests: Record<string, number> = {};
  const server: Server = createServer((req, res) => {
    void (async () => {
      if (req.method !== 'POST') {
        sendError(res, 405, 'MethodNotAllowed', `${req.method} is not supported; the SSM API is POST /`);
        return;
      }
      const target = String(req.headers['x-amz-target'] ?? '');
      const m = /^AmazonSSM\.([A-Za-z]+)$/.exec(target);
      const body = await readBody(req);
      if (!m) {
        sendError(
          res,
          400,
          'UnknownOperationException',
          `missing or unknown X-Amz-Target: ${JSON.stringify(target)}`,
        );
        return;
      }
      const operation = m[1];
      const Command = (ssm as unknown as Record<string, CommandClass | undefined>)[`${operation}Command`];
      if (
        !(SSM_SERVER_OPERATIONS as readonly string[]).includes(operation) ||
        typeof Command !== 'function'
      ) {
        sendError(
          res,
          400,
          'UnknownOperationException',
          `operation ${operation} is not served by the local SSM endpoint`,
        );
        return;
      }
      let input: unknown;
      try {
        input = body === '' ? {} : JSON.parse(body);
      } catch {
        sendError(res, 400, 'SerializationException', 'request body is not JSON');
        return;
      }
      requests[operation] = (requests[operation] ?? 0) + 1;
      try {
        const output: object | undefined = await backend.send(new Command(input));
        const rest: Record<string, unknown> = { ...(output ?? {}) };
        delete rest.$metadata;
        send(res, 200, encode(rest));
      } catch (thrown) {
        const error = thrown as ErrorLike | undefined;
        sendError(
          res,
          errorStatus(error),
          typeof error?.name === 'string' ? error.name : 'InternalServerError',
          typeof error?.message === 'string' ? error.message : String(thrown),
        );
      }
    })().catch((error) => {
      if (!res.headersSent) sendError(res, 500, 'InternalServerError', String(error));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections?.();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
