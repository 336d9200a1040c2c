/**
 * Local S3 (s3rver) and DynamoDB (dynalite) servers for offline runs and tests. Both bind to
 * 127.0.0.1 on an ephemeral port and must be stopped by the caller.
 *
 * s3rver runs in a child Node process started with `--openssl-legacy-provider`: s3rver 3.7.1 builds
 * ListObjectsV2 continuation tokens with single DES, which the OpenSSL 3 of Node 17+ only offers
 * through the legacy provider. In-process, any listing longer than one page fails with a 500.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, statfsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

/** A running local S3 server. */
export interface LocalS3 {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  /** Client configured for the server (path-style, its fixed credentials). */
  client: S3Client;
  createBucket(name: string): Promise<void>;
  /** Stops the server and removes its directory. */
  stop(): Promise<void>;
}

/** A running local DynamoDB server. */
export interface LocalDynamoDb {
  endpoint: string;
  client: DynamoDBClient;
  stop(): Promise<void>;
}

/** s3rver's fixed access key and secret. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

// Runs in the child: start s3rver, report the port, stop when told to or when the parent goes away.
const S3_CHILD_SCRIPT = `
const S3rver = require(process.env.DCE_S3RVER_MODULE);
const server = new S3rver({ address: '127.0.0.1', port: 0, directory: process.env.DCE_S3RVER_DIR, silent: true });
server.run().then(
  (addr) => process.send({ port: addr.port }),
  (err) => { process.send({ error: String(err && err.stack || err) }); process.exit(1); },
);
const stop = () => server.close().finally(() => process.exit(0));
process.on('message', (m) => { if (m === 'stop') stop(); });
process.on('disconnect', stop);
`;

function waitForExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Asks a server child to stop (over IPC when still connected) and waits; killed after 5 s. */
async function stopChild(child: ChildProcess): Promise<void> {
  const exited = waitForExit(child);
  if (child.connected) child.send('stop');
  else child.kill();
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** The port a server child process reports over IPC once it listens (`{ port }` or `{ error }`). */
function childPort(child: ChildProcess, server: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    child.once('message', (message: { port?: number; error?: string } | undefined) =>
      message?.port ? resolve(message.port) : reject(new Error(`${server} failed: ${message?.error}`)),
    );
    child.once('exit', (code) => reject(new Error(`${server} exited before listening (code ${code})`)));
    child.once('error', reject);
  });
}

/** Free space a RAM-backed directory needs before s3rver may use it. */
const MIN_RAM_DISK_BYTES = 2 * 1024 ** 3;

/**
 * Where s3rver keeps its objects: a RAM-backed directory (/dev/shm on Linux) when there is a
 * writable one with room to spare, else the temporary directory. s3rver writes two files per object and a long run
 * writes tens of thousands of objects; on a RAM file system each request is cheaper.
 */
export function s3rverParentDirectory(): string {
  for (const candidate of ['/dev/shm']) {
    try {
      if (!statSync(candidate).isDirectory()) continue;
      accessSync(candidate, constants.W_OK);
      // A small RAM disk (containers often get 64 MB) would fill up on a long run: use the disk then.
      const { bavail, bsize } = statfsSync(candidate);
      if (bavail * bsize < MIN_RAM_DISK_BYTES) continue;
      return candidate;
    } catch {
      // not there or not writable: try the next one
    }
  }
  return tmpdir();
}

/** Starts s3rver on 127.0.0.1 (ephemeral port) over a fresh temporary directory. */
export async function startLocalS3(): Promise<LocalS3> {
  const directory = mkdtempSync(join(s3rverParentDirectory(), 'dce-s3-'));
  const child = spawn(process.execPath, ['--openssl-legacy-provider', '-e', S3_CHILD_SCRIPT], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    env: { ...process.env, DCE_S3RVER_MODULE: require.resolve('s3rver'), DCE_S3RVER_DIR: directory },
  });
  let port: number;
  try {
    port = await childPort(child, 's3rver');
  } catch (err) {
    child.kill();
    rmSync(directory, { recursive: true, force: true });
    throw err;
  }
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new S3Client({
    endpoint,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: S3RVER_CREDENTIALS,
    // Resolve the middleware stack once per command type rather than per call.
    cacheMiddleware: true,
  });
  let stopped = false;
  return {
    endpoint,
    client,
    async createBucket(name: string) {
      await client.send(new CreateBucketCommand({ Bucket: name }));
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      client.destroy();
      await stopChild(child);
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

// Runs in the child: start dynalite in memory, report the port, stop when told to or orphaned.
const DYNALITE_CHILD_SCRIPT = `
const dynalite = require(process.env.DCE_DYNALITE_MODULE);
const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
server.once('error', (err) => { process.send({ error: String(err && err.stack || err) }); process.exit(1); });
server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
const stop = () => server.close(() => process.exit(0));
process.on('message', (m) => { if (m === 'stop') stop(); });
process.on('disconnect', stop);
`;

/** Options of `startLocalDynamoDb`. */
export interface LocalDynamoDbOptions {
  /**
   * Run dynalite in a child Node process instead of this one. Large replays go about twice as fast
   * on two or more cores, since the server's work no longer shares a thread with the client's; it
   * costs a few hundred milliseconds to start. @default false
   */
  childProcess?: boolean;
}

/** Starts dynalite in memory on 127.0.0.1 (ephemeral port); tables become ACTIVE immediately. */
export async function startLocalDynamoDb(options: LocalDynamoDbOptions = {}): Promise<LocalDynamoDb> {
  let port: number;
  let close: () => Promise<void>;
  if (options.childProcess) {
    const child = spawn(process.execPath, ['-e', DYNALITE_CHILD_SCRIPT], {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      env: { ...process.env, DCE_DYNALITE_MODULE: require.resolve('dynalite') },
    });
    try {
      port = await childPort(child, 'dynalite');
    } catch (err) {
      child.kill();
      throw err;
    }
    close = () => stopChild(child);
  } else {
    // dynalite has no type declarations.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const dynalite = require('dynalite');
    const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    port = (server.address() as AddressInfo).port;
    close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  }
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    cacheMiddleware: true,
  });
  let stopped = false;
  return {
    endpoint,
    client,
    async stop() {
      if (stopped) return;
      stopped = true;
      client.destroy();
      await close();
    },
  };
}
