/**
 * Where a `dce` command acts: which table (alias), which bucket and prefix hold its exports, and which
 * SSM parameters hold its state and operator action. Resolved either from the stack output
 * (`pulumi stack output --json`, a file or `-` for stdin) or from explicit flags, then turned into AWS
 * SDK clients that honour the standard credential chain and the endpoint overrides used against
 * local servers.
 */
import { readFileSync } from 'node:fs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
import { readTableOutputSchema, STACK_OUTPUTS, type ReadTableOutput } from '../components/stackOutput';
import type { DynamoDBSender, S3Sender, SsmSender } from '../functions/shared/awsClients';
import type { StatesSender } from './restore/restoreDistributed';
import { PARAMETER_ROOT, chainParameterNames, stackOfParameter } from '../functions/shared/names';

/** Root of every parameter the workflow keeps: `/dynamodb-continuous-exports/<stack>`. */
export { PARAMETER_ROOT };

/** A bad flag or flag value: the command exits with code 2 and this message. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * One table's entry in the `tables` stack output, as the CLI reads it (components/stackOutput.ts):
 * every field is optional, as older stacks lack some.
 */
export type StackTableOutput = ReadTableOutput;

/** The resolved target of a command. */
export interface Target {
  alias: string;
  /** Stack name, when known (explicit `--stack`, or read from a parameter name). */
  stack?: string;
  bucket?: string;
  /** Key prefix without leading or trailing slash ('' for the bucket root). */
  prefix?: string;
  actionParameterName?: string;
  stateParameterName?: string;
  lockParameterName?: string;
  /** Normal incremental window, when the stack output says; used to estimate the next due window. */
  windowMinutes?: number;
  /** The stack output entry, as read (empty for explicit flags). */
  output: StackTableOutput;
}

/** Flags shared by every command that acts on one table. */
export interface TargetOptions {
  stackOutput?: string;
  alias?: string;
  stack?: string;
  bucket?: string;
  prefix?: string;
  windowMinutes?: string | number;
}

/** Flags that choose the AWS Region, credentials and endpoints. */
export interface ClientOptions {
  region?: string;
  profile?: string;
  endpointUrl?: string;
  s3EndpointUrl?: string;
  ssmEndpointUrl?: string;
  dynamodbEndpointUrl?: string;
  /** Step Functions endpoint (`dce restore --distributed`). */
  statesEndpointUrl?: string;
  /** STS endpoint, for the AssumeRole of `--role-arn`. */
  stsEndpointUrl?: string;
}

/** The SDK clients a command uses; any object with the client's `send` works (tests pass fakes). */
export interface Clients {
  s3: S3Sender;
  ssm: SsmSender;
  dynamodb: DynamoDBSender;
  /** Step Functions, for the commands that start executions (`dce restore --distributed`). */
  states?: StatesSender;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Unwraps the several shapes a stack output can take: `pulumi stack output --json` (all outputs, with
 * `tables` among them), `pulumi stack output tables --json` (the map itself), `{ value: ... }` wrappers
 * (stack exports), or a list of entries each with an `alias`. Returns alias -> entry.
 */
export function parseStackOutput(
  text: string,
  source = 'the stack output',
): Record<string, StackTableOutput> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--stack-output ${source}: not JSON (${(error as Error).message})`);
  }
  const unwrap = (value: unknown): unknown =>
    isRecord(value) && 'value' in value && Object.keys(value).every((k) => k === 'value' || k === 'secret')
      ? value.value
      : value;
  raw = unwrap(raw);
  const name = STACK_OUTPUTS.tables;
  let tables: unknown = isRecord(raw) && name in raw ? unwrap(raw[name]) : raw;
  if (typeof tables === 'string') {
    try {
      tables = JSON.parse(tables);
    } catch {
      /* reported below */
    }
  }
  const entries = new Map<string, Record<string, unknown>>();
  if (Array.isArray(tables)) {
    for (const entry of tables) {
      if (isRecord(entry) && typeof entry.alias === 'string') entries.set(entry.alias, entry);
    }
  } else if (isRecord(tables)) {
    for (const [alias, entry] of Object.entries(tables)) {
      if (isRecord(entry)) entries.set(alias, entry);
    }
  }
  if (entries.size === 0) {
    throw new UsageError(
      `--stack-output ${source}: no tables found (expected the output of 'pulumi stack output --json' with a '${name}' object keyed by alias)`,
    );
  }
  return checkTableOutputs(entries, source);
}

/** `tables.orders.replicas[0].stateParameterName` */
function outputPath(alias: string, path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (out, part) => (typeof part === 'number' ? `${out}[${part}]` : `${out}.${String(part)}`),
    `${STACK_OUTPUTS.tables}.${alias}`,
  );
}

/** Each entry checked against the stack-output contract; one usage error names every wrong field. */
function checkTableOutputs(
  entries: Map<string, Record<string, unknown>>,
  source: string,
): Record<string, StackTableOutput> {
  const out: Record<string, StackTableOutput> = {};
  const problems: string[] = [];
  for (const [alias, entry] of entries) {
    const parsed = readTableOutputSchema.safeParse(entry);
    if (parsed.success) out[alias] = parsed.data;
    else
      problems.push(
        ...parsed.error.issues.map(
          (issue) => `${outputPath(alias, issue.path)}: ${issue.message.replace(/^Invalid input: /, '')}`,
        ),
      );
  }
  if (problems.length > 0) {
    throw new UsageError(
      `--stack-output ${source}: not the stack output this dce reads: ${problems.join('; ')}`,
    );
  }
  return out;
}

/** `s3://bucket/some/prefix/` -> { bucket, prefix: 'some/prefix' }. */
export function parseS3Uri(uri: string): { bucket: string; prefix: string } | undefined {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (!m) return undefined;
  return { bucket: m[1], prefix: m[2].replace(/^\/+|\/+$/g, '') };
}

/** The table's prefix from a URI that ends in `/<leaf>/` (its exports or chain folder). */
export function tablePrefixFromUri(
  uri: string,
  leaf: string,
): { bucket: string; prefix: string } | undefined {
  const parsed = parseS3Uri(uri);
  if (!parsed) return undefined;
  const parts = parsed.prefix === '' ? [] : parsed.prefix.split('/');
  if (parts[parts.length - 1] === leaf) parts.pop();
  return { bucket: parsed.bucket, prefix: parts.join('/') };
}

/** Strips the slashes a user may type around a prefix. */
export function normalizePrefix(prefix: string): string {
  return prefix.replace(/^\/+|\/+$/g, '');
}

/** `/dynamodb-continuous-exports/<stack>/<alias>/<name>` for explicit flags. */
export function parameterName(stack: string, alias: string, name: 'state' | 'action' | 'lock'): string {
  return chainParameterNames(stack, alias)[name];
}

function parseWindowMinutes(value: string | number | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1440) {
    throw new UsageError(
      `--window-minutes ${JSON.stringify(String(value))}: expected a whole number of minutes, 1..1440`,
    );
  }
  return n;
}

/**
 * Resolves the target from the stack output or explicit flags. Explicit flags override what the stack
 * output says (for example `--prefix` to look at a copy of the exports).
 */
export function resolveTarget(
  options: TargetOptions,
  readInput: (source: string) => string = readSource,
): Target {
  const windowFlag = parseWindowMinutes(options.windowMinutes);
  if (options.stackOutput !== undefined) {
    const source = options.stackOutput;
    let text: string;
    try {
      text = readInput(source);
    } catch (error) {
      throw new UsageError(
        `--stack-output ${JSON.stringify(source)}: cannot read it (${(error as Error).message})`,
      );
    }
    const tables = parseStackOutput(text, JSON.stringify(source));
    const aliases = Object.keys(tables).sort();
    let alias = options.alias;
    if (alias === undefined) {
      if (aliases.length !== 1) {
        throw new UsageError(
          `--alias is required: the stack output has ${aliases.length} tables (${aliases.join(', ')})`,
        );
      }
      alias = aliases[0];
    }
    const entry = tables[alias];
    if (!entry) {
      throw new UsageError(
        `--alias ${JSON.stringify(alias)}: no such table in the stack output (known: ${aliases.join(', ')})`,
      );
    }
    // exportsUri is `s3://<bucket>/<prefix>/AWSDynamoDB/`, chainManifestUri `s3://<bucket>/<prefix>/chain/`.
    const fromUri =
      (typeof entry.exportsUri === 'string' && tablePrefixFromUri(entry.exportsUri, 'AWSDynamoDB')) ||
      (typeof entry.chainManifestUri === 'string' && tablePrefixFromUri(entry.chainManifestUri, 'chain')) ||
      undefined;
    const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
    const bucket = options.bucket ?? str(entry.bucket) ?? fromUri?.bucket;
    const prefix: string | undefined =
      options.prefix ?? (typeof entry.prefix === 'string' ? entry.prefix : undefined) ?? fromUri?.prefix;
    // Parameter names: `parameters: { action, state, lock }` (the Pulumi program), or flat fields.
    const nested: Record<string, unknown> = isRecord(entry.parameters) ? entry.parameters : {};
    const actionParameterName = str(nested.action) ?? str(entry.actionParameterName);
    const stateParameterName = str(nested.state) ?? str(entry.stateParameterName);
    const lockParameterName = str(nested.lock) ?? str(entry.lockParameterName);
    const stackFromParameter = stateParameterName ? stackOfParameter(stateParameterName) : undefined;
    const stack = options.stack ?? stackFromParameter;
    const windowMinutes =
      windowFlag ?? (typeof entry.windowMinutes === 'number' ? entry.windowMinutes : undefined);
    return {
      alias,
      stack,
      bucket,
      prefix: prefix === undefined ? undefined : normalizePrefix(prefix),
      actionParameterName: actionParameterName ?? (stack ? parameterName(stack, alias, 'action') : undefined),
      stateParameterName: stateParameterName ?? (stack ? parameterName(stack, alias, 'state') : undefined),
      lockParameterName: lockParameterName ?? (stack ? parameterName(stack, alias, 'lock') : undefined),
      windowMinutes,
      output: entry,
    };
  }
  if (options.alias === undefined) {
    throw new UsageError(
      'no target: pass --stack-output <file|-> (from `pulumi stack output --json`), or --alias with --stack and/or --bucket',
    );
  }
  if (!/^[A-Za-z0-9_.-]+$/.test(options.alias)) {
    throw new UsageError(`--alias ${JSON.stringify(options.alias)}: letters, digits, '.', '_' and '-' only`);
  }
  const stack = options.stack;
  return {
    alias: options.alias,
    stack,
    bucket: options.bucket,
    prefix: options.prefix === undefined ? undefined : normalizePrefix(options.prefix),
    actionParameterName: stack ? parameterName(stack, options.alias, 'action') : undefined,
    stateParameterName: stack ? parameterName(stack, options.alias, 'state') : undefined,
    lockParameterName: stack ? parameterName(stack, options.alias, 'lock') : undefined,
    windowMinutes: windowFlag,
    output: {},
  };
}

/** Reads a file, or stdin for `-`. */
export function readSource(source: string): string {
  return readFileSync(source === '-' ? 0 : source, 'utf8');
}

/** The bucket and prefix, or a usage error naming the flags that would supply them. */
export function requireExports(target: Target): { bucket: string; prefix: string } {
  if (!target.bucket) {
    throw new UsageError(
      `no bucket for table ${JSON.stringify(target.alias)}: pass --bucket, or --stack-output with a 'bucket' field`,
    );
  }
  return { bucket: target.bucket, prefix: target.prefix ?? '' };
}

/** The SSM parameter names, or a usage error naming the flags that would supply them. */
export function requireParameters(target: Target): { action: string; state: string } {
  if (!target.actionParameterName || !target.stateParameterName) {
    throw new UsageError(
      `no SSM parameter names for table ${JSON.stringify(target.alias)}: pass --stack (with --alias), or --stack-output`,
    );
  }
  return { action: target.actionParameterName, state: target.stateParameterName };
}

/**
 * The error for an action parameter that does not exist, shared by every command that reads or
 * writes it: the usual cause is a wrong --stack or --alias, not a missing deployment.
 */
export function missingActionParameterError(parameterName: string): UsageError {
  return new UsageError(
    `the action parameter ${parameterName} does not exist: check --stack/--alias (or --stack-output), or run 'pulumi up'`,
  );
}

function checkUrl(flag: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  try {
    const url = new URL(value);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http(s)');
  } catch {
    throw new UsageError(`${flag} ${JSON.stringify(value)}: not an http(s) URL`);
  }
  return value;
}

/**
 * Real SDK clients. Region and credentials come from the standard chain (environment, shared config
 * and credentials files, SSO, container and instance roles); `--profile` selects a shared-config
 * profile the same way AWS_PROFILE does. A per-service endpoint beats `--endpoint-url`. Against a local
 * endpoint with no credentials configured, dummy static credentials are used, since local servers do
 * not check signatures (s3rver wants its own `S3RVER` pair).
 */
export function buildClients(options: ClientOptions, env: NodeJS.ProcessEnv = process.env): Clients {
  const common = checkUrl('--endpoint-url', options.endpointUrl);
  const s3Endpoint = checkUrl('--s3-endpoint-url', options.s3EndpointUrl) ?? common;
  const ssmEndpoint = checkUrl('--ssm-endpoint-url', options.ssmEndpointUrl) ?? common;
  const ddbEndpoint = checkUrl('--dynamodb-endpoint-url', options.dynamodbEndpointUrl) ?? common;
  const statesEndpoint = checkUrl('--states-endpoint-url', options.statesEndpointUrl) ?? common;
  const region = options.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  const hasCredentials =
    options.profile !== undefined || env.AWS_ACCESS_KEY_ID !== undefined || env.AWS_PROFILE !== undefined;
  const local = (endpoint: string | undefined, id: string, secret: string) =>
    endpoint && !hasCredentials ? { credentials: { accessKeyId: id, secretAccessKey: secret } } : {};
  const base = {
    ...(region
      ? { region }
      : endpointsAllLocal([s3Endpoint, ssmEndpoint, ddbEndpoint])
        ? { region: 'us-east-1' }
        : {}),
    ...(options.profile ? { profile: options.profile } : {}),
  };
  return {
    s3: new S3Client({
      ...base,
      // The chain's bucket may be in another Region than the table (a restore from the primary bucket
      // into the DR Region, or from a copy): S3 answers 301 PermanentRedirect to a client of another
      // Region, which the SDK follows to the bucket's own Region with this set.
      followRegionRedirects: true,
      ...(s3Endpoint ? { endpoint: s3Endpoint, forcePathStyle: true } : {}),
      ...local(s3Endpoint, 'S3RVER', 'S3RVER'),
    }),
    ssm: new SSMClient({
      ...base,
      ...(ssmEndpoint ? { endpoint: ssmEndpoint } : {}),
      ...local(ssmEndpoint, 'local', 'local'),
    }),
    dynamodb: new DynamoDBClient({
      ...base,
      ...(ddbEndpoint ? { endpoint: ddbEndpoint } : {}),
      ...local(ddbEndpoint, 'local', 'local'),
    }),
    states: new SFNClient({
      ...base,
      ...(statesEndpoint ? { endpoint: statesEndpoint } : {}),
      ...local(statesEndpoint, 'local', 'local'),
    }) as unknown as StatesSender,
  };
}

/** With every endpoint overridden and no Region configured, any Region will do. */
function endpointsAllLocal(endpoints: (string | undefined)[]): boolean {
  return endpoints.every((e) => e !== undefined);
}

/**
 * Checks that an epoch named with `--epoch` has a chain under the prefix, so a mistyped epoch is a
 * usage error (exit 2) that lists the epochs there are, not a chain with problems (exit 1).
 */
export async function requireEpoch(
  s3: Clients['s3'],
  bucket: string,
  prefix: string,
  epoch: string,
): Promise<void> {
  const chainRoot = `${prefix === '' ? '' : `${prefix}/`}chain/`;
  const found = await s3.send(
    new ListObjectsV2Command({ Bucket: bucket, Prefix: `${chainRoot}${epoch}/`, MaxKeys: 1 }),
  );
  if ((found.Contents ?? []).length > 0) return;
  // With Delimiter, S3 answers with one common prefix per epoch; a store that ignores it lists keys.
  const listed = await s3.send(
    new ListObjectsV2Command({ Bucket: bucket, Prefix: chainRoot, Delimiter: '/', MaxKeys: 1000 }),
  );
  const names = [
    ...(listed.CommonPrefixes ?? []).map((p: { Prefix?: string }) => p.Prefix ?? ''),
    ...(listed.Contents ?? []).map((o: { Key?: string }) => o.Key ?? ''),
  ];
  const epochs = [
    ...new Set(
      names
        .map((n) => /^(\d{8}T\d{6}Z)\//.exec(n.slice(chainRoot.length))?.[1])
        .filter((e): e is string => e !== undefined),
    ),
  ].sort();
  throw new UsageError(
    `--epoch ${epoch}: no chain for this epoch under s3://${bucket}/${chainRoot}` +
      (epochs.length > 0 ? ` (epochs there: ${epochs.join(', ')})` : ' (no epochs there)'),
  );
}
