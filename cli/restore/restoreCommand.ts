/**
 * `dce restore` as a command: the flags checked (`--to` a sequence or an ISO time with its zone, the
 * key schema of an import), the target's DynamoDB client (its Region, and a role to assume in its
 * account), the restore run with a progress display, and the report printed.
 */
import { DescribeTableCommand, DynamoDBClient, type TableDescription } from '@aws-sdk/client-dynamodb';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import { operatorMessage, table, formatDuration, type Io, type Output } from '../output';
import { createProgressDisplay, silentProgress } from '../progress';
import { parseUntil, ChainProblemError } from '../replayCommand';
import type { RestoreProgress, RestoreReport } from './restore';
import type { RestoreTarget } from './restorePoint';
import { UsageError, type Clients, type ClientOptions } from '../target';

/** The flags of `dce restore`, as commander parses them. */
export interface RestoreFlags {
  to: string;
  table: string;
  bootstrap?: string;
  keySchema?: string;
  roleArn?: string;
  bucketOwner?: string;
  state?: string;
  resume?: boolean;
  epoch?: string;
  concurrency?: string;
  /** Run the restore as one-shot executions of a replica's machine (cli/restore/restoreDistributed.ts). */
  distributed?: boolean;
  /** The replica (deployed with `schedule: false`) whose machine restores. */
  replica?: string;
}

/** `--to`: digits are a sequence; anything else an ISO 8601 time with its zone. */
export function parseRestoreTarget(value: string): RestoreTarget {
  if (/^\d+$/.test(value)) return { sequence: Number(value) };
  try {
    return { time: parseUntil(value) };
  } catch (error) {
    throw new UsageError(`--to: ${(error as Error).message.replace(/^--until /, '')}; or a sequence number`);
  }
}

const ATTRIBUTE_TYPES = new Set(['S', 'N', 'B']);

/**
 * `--key-schema pk:S[,sk:N]`: the partition key, then the optional sort key, each with its type. The
 * table ImportTable creates is on demand, with no secondary index (add them after the restore).
 */
export function parseKeySchema(value: string): TableDescription {
  const parts = value.split(',').map((p) => p.trim());
  const fail = (why: string) =>
    new UsageError(
      `--key-schema ${JSON.stringify(value)}: ${why}; expected <partition key>:<S|N|B>[,<sort key>:<S|N|B>]`,
    );
  if (parts.length < 1 || parts.length > 2) throw fail('one or two keys');
  const keys = parts.map((p) => {
    const m = /^([^:]{1,255}):([SNB])$/.exec(p);
    if (!m || !ATTRIBUTE_TYPES.has(m[2])) throw fail(`"${p}" is not name:type`);
    return { name: m[1], type: m[2] as 'S' | 'N' | 'B' };
  });
  if (keys.length === 2 && keys[0].name === keys[1].name) throw fail('the two keys have one name');
  return {
    KeySchema: keys.map((k, i) => ({ AttributeName: k.name, KeyType: i === 0 ? 'HASH' : 'RANGE' })),
    AttributeDefinitions: keys.map((k) => ({ AttributeName: k.name, AttributeType: k.type })),
    BillingModeSummary: { BillingMode: 'PAY_PER_REQUEST' },
  };
}

/** The new table's client: the flags' Region and endpoint, as `--role-arn` when given. */
export function targetDynamoDb(
  clients: Clients,
  options: ClientOptions & { roleArn?: string },
  env: NodeJS.ProcessEnv = process.env,
): Clients['dynamodb'] {
  if (!options.roleArn) return clients.dynamodb;
  if (!/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/.test(options.roleArn))
    throw new UsageError(`--role-arn ${JSON.stringify(options.roleArn)}: not an IAM role ARN`);
  const endpoint = options.dynamodbEndpointUrl ?? options.endpointUrl;
  const sts = options.stsEndpointUrl ?? options.endpointUrl;
  // Against a local STS endpoint with no credentials configured, the caller signs with dummy ones,
  // as the other clients do against local endpoints (cli/target.ts).
  const configured =
    options.profile !== undefined || env.AWS_ACCESS_KEY_ID !== undefined || env.AWS_PROFILE !== undefined;
  return new DynamoDBClient({
    ...(options.region ? { region: options.region } : {}),
    ...(endpoint ? { endpoint } : {}),
    credentials: fromTemporaryCredentials({
      params: { RoleArn: options.roleArn, RoleSessionName: 'dce-restore' },
      clientConfig: {
        ...(options.region ? { region: options.region } : {}),
        ...(sts ? { endpoint: sts } : {}),
        ...(options.profile ? { profile: options.profile } : {}),
      },
      ...(sts && !configured
        ? { masterCredentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
        : {}),
    }),
  });
}

/**
 * Assumes `--role-arn` before anything else, so a refused AssumeRole stops the restore at once with
 * what STS said, instead of failing at the first write after the chain was read and checked.
 */
export async function assumeTargetRole(
  dynamodb: Clients['dynamodb'],
  roleArn: string | undefined,
): Promise<void> {
  if (!roleArn) return;
  const provider = (dynamodb as DynamoDBClient).config?.credentials;
  if (typeof provider !== 'function') return;
  try {
    await provider();
  } catch (error) {
    const e = error as Error & { Code?: string };
    throw new UsageError(
      `--role-arn ${roleArn}: AssumeRole was refused (${e.name === 'Error' && e.Code ? e.Code : e.name}: ${e.message}); the caller must be allowed sts:AssumeRole on it, and the role must trust the caller`,
    );
  }
}

/** Loads the restore library on first use, as replay does. */
function restoreLibrary(): typeof import('./restore') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('./restore');
}

/** The source table's description (its key schema), when no `--key-schema` is given. */
async function describeSource(
  sourceDynamoDb: Clients['dynamodb'] | undefined,
  tableName: string | undefined,
): Promise<TableDescription> {
  if (!sourceDynamoDb || !tableName)
    throw new UsageError(
      '--bootstrap import needs --key-schema <pk:S[,sk:N]> (or the source table to describe)',
    );
  try {
    const out = await sourceDynamoDb.send(new DescribeTableCommand({ TableName: tableName }));
    if (!out.Table) throw new Error('no table description');
    return out.Table;
  } catch (error) {
    throw new UsageError(
      `cannot describe the source table ${tableName} for its key schema (${operatorMessage(error as Error)}); pass --key-schema <pk:S[,sk:N]>`,
    );
  }
}

/** Runs the restore with a progress display; prints the report. */
export async function runRestoreCommand(
  options: RestoreFlags & {
    io: Io;
    out: Output;
    s3: Clients['s3'];
    dynamodb: Clients['dynamodb'];
    /** DynamoDB of the source's Region, to describe the source table when no key schema is given. */
    sourceDynamoDb?: Clients['dynamodb'];
    sourceTableName?: string;
    bucket: string;
    prefix: string;
    /** `--region`: the new table's Region (else the environment's). */
    region?: string;
  },
): Promise<RestoreReport> {
  const { io, out } = options;
  const to = parseRestoreTarget(options.to);
  const bootstrap = options.bootstrap ?? 'import';
  if (bootstrap !== 'import' && bootstrap !== 'write')
    throw new UsageError(`--bootstrap ${JSON.stringify(bootstrap)}: expected import or write`);
  if (!/^[A-Za-z0-9_.-]{3,255}$/.test(options.table))
    throw new UsageError(`--table ${JSON.stringify(options.table)}: not a valid DynamoDB table name`);
  const concurrency = options.concurrency === undefined ? undefined : Number(options.concurrency);
  if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256))
    throw new UsageError(
      `--concurrency ${JSON.stringify(options.concurrency)}: expected a whole number 1..256`,
    );
  if (options.bucketOwner !== undefined && !/^\d{12}$/.test(options.bucketOwner))
    throw new UsageError(
      `--bucket-owner ${JSON.stringify(options.bucketOwner)}: expected a 12-digit account id`,
    );
  // On --resume the table description is needed only if the import was never recorded as sent: a
  // given --key-schema is passed on, the source table is not read.
  const source =
    bootstrap === 'import'
      ? options.keySchema
        ? parseKeySchema(options.keySchema)
        : options.resume
          ? undefined
          : await describeSource(options.sourceDynamoDb, options.sourceTableName)
      : undefined;
  const tableRegion = options.region ?? io.env.AWS_REGION ?? io.env.AWS_DEFAULT_REGION;
  const progress = createRestoreProgress(io, out.json);
  let report: RestoreReport;
  try {
    report = await restoreLibrary().restoreTable({
      s3: options.s3,
      dynamodb: options.dynamodb,
      bucket: options.bucket,
      prefix: options.prefix,
      ...(options.bucketOwner ? { bucketOwnerAccountId: options.bucketOwner } : {}),
      targetTable: options.table,
      to,
      ...(options.epoch ? { epoch: options.epoch } : {}),
      bootstrap,
      ...(source ? { source } : {}),
      targetPlace: {
        ...(tableRegion ? { region: tableRegion } : {}),
        ...(options.roleArn ? { accountId: options.roleArn.split(':')[4] } : {}),
      },
      stateFile: options.state ?? `dce-restore-${options.table}.json`,
      resume: Boolean(options.resume),
      ...(concurrency !== undefined ? { concurrency } : {}),
      onProgress: progress.update,
    });
  } catch (error) {
    const e = error as Error & { $metadata?: unknown; $response?: unknown };
    if (e.name === 'RestorePointError') throw new UsageError(`--to ${options.to}: ${e.message}`);
    if (e.$metadata === undefined && e.$response === undefined && !(error instanceof UsageError))
      throw new ChainProblemError(`restore failed: ${operatorMessage(e)}`);
    throw error;
  } finally {
    progress.stop();
  }
  out.result(report, () => formatRestoreReport(report));
  return report;
}

function formatRestoreReport(report: RestoreReport): string {
  const rows: [string, string][] = [
    ['table', report.targetTable],
    ['epoch', report.epoch],
    ['restored to', `sequence ${report.point.sequence}: every write before ${report.point.asOf}`],
    [
      'bootstrap',
      report.import
        ? `import ${report.import.importArn} (${report.import.importedItemCount ?? '?'} items)`
        : 'write',
    ],
    ['exports applied', String(report.apply.entriesApplied)],
    ['items', `${report.apply.itemsApplied} (${report.apply.puts} puts, ${report.apply.deletes} deletes)`],
    ['duration', formatDuration(report.durationMs / 1000)],
  ];
  if (report.point.roundedDown)
    rows.push(['note', 'the time given is inside a window: restored to the boundary before it']);
  if (report.resumed) rows.push(['resumed', 'yes']);
  return table(rows);
}

/** The import's status while it runs, then a bar of exports applied. */
function createRestoreProgress(io: Io, json: boolean) {
  if (json) return silentProgress<RestoreProgress>();
  const apply = createProgressDisplay<Extract<RestoreProgress, { phase: 'apply' }>>(io.stderr, {
    barFormat: ' restore [{bar}] {value}/{total} exports | {items} items | {speed} items/s',
    done: (p) => p.entriesDone,
    total: (p) => p.entriesTotal,
    payload: (p) => ({ items: p.itemsApplied, speed: Math.round(p.itemsPerSecond) }),
    line: (p) =>
      `restore: ${p.entriesDone}/${p.entriesTotal} exports, ${p.itemsApplied} items, ${Math.round(p.itemsPerSecond)} items/s`,
  });
  let lastStatus = '';
  return {
    update: (p: RestoreProgress) => {
      if (p.phase === 'apply') return apply.update(p);
      const line = `restore: import ${p.status}${p.importedItemCount !== undefined ? ` (${p.importedItemCount} items)` : ''}`;
      if (line !== lastStatus) io.stderr.write(`${line}\n`);
      lastStatus = line;
    },
    stop: () => apply.stop(),
  };
}
