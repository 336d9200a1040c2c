/**
 * The table `dce replay` writes into: the key schema the chain needs, whether the target has it, and
 * with `--create-table` creating it (on-demand billing). A missing or wrongly keyed target is named
 * with the key schema it needs before anything is written, instead of an SDK error on the first write.
 *
 * The key schema comes from the source table (DescribeTable of the table ARN in the full export's
 * manifest summary) when the caller may read it; otherwise from the `Keys` of the first incremental
 * record: their names and types, in the order the record lists them. That order standing for partition
 * key first is [U] (no source says so), and the message says which way the schema was learned.
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  type AttributeDefinition,
  type KeySchemaElement,
} from '@aws-sdk/client-dynamodb';
import { readExportRecords, readExportSummary, type S3Sender } from '../format';
import type { DynamoDbSender } from '../apply';
import type { ChainEntryObject } from './chainReader';

/** One key attribute: its name, role and type. */
export interface KeyAttribute {
  name: string;
  keyType: 'HASH' | 'RANGE';
  type: 'S' | 'N' | 'B';
}

/** The key schema a target needs, and how it was learned. */
export interface NeededKeySchema {
  keys: KeyAttribute[];
  /** `source table <arn>` or `the chain's first change record`. */
  learnedFrom: string;
}

/** `pk (HASH, S), sk (RANGE, N)`. */
export function formatKeySchema(keys: readonly KeyAttribute[]): string {
  return keys.map((k) => `${k.name} (${k.keyType}, ${k.type})`).join(', ');
}

/** The `aws dynamodb create-table` line that creates a target with this key schema, on demand. */
export function createTableCommandLine(table: string, keys: readonly KeyAttribute[]): string {
  const definitions = keys.map((k) => `AttributeName=${k.name},AttributeType=${k.type}`).join(' ');
  const schema = keys.map((k) => `AttributeName=${k.name},KeyType=${k.keyType}`).join(' ');
  return (
    `aws dynamodb create-table --table-name ${table} --billing-mode PAY_PER_REQUEST ` +
    `--attribute-definitions ${definitions} --key-schema ${schema}`
  );
}

/** Key attributes from a DescribeTable reply, partition key first; [] when it has none. */
export function keysOfDescription(
  keySchema: readonly KeySchemaElement[] | undefined,
  definitions: readonly AttributeDefinition[] | undefined,
): KeyAttribute[] {
  const typeOf = new Map((definitions ?? []).map((d) => [d.AttributeName, d.AttributeType]));
  return [...(keySchema ?? [])]
    .sort((a, b) => (a.KeyType === b.KeyType ? 0 : a.KeyType === 'HASH' ? -1 : 1))
    .map((k) => ({
      name: k.AttributeName ?? '?',
      keyType: k.KeyType === 'RANGE' ? 'RANGE' : 'HASH',
      type: (typeOf.get(k.AttributeName) ?? 'S') as KeyAttribute['type'],
    }));
}

/**
 * Why a target keyed by `actual` cannot take the chain, or null when it can: the names, roles and
 * types must be the source's.
 */
export function keySchemaProblem(
  table: string,
  needed: NeededKeySchema,
  actual: readonly KeyAttribute[],
): string | null {
  const same =
    actual.length === needed.keys.length &&
    needed.keys.every(
      (k, i) => actual[i]?.name === k.name && actual[i]?.keyType === k.keyType && actual[i]?.type === k.type,
    );
  if (same) return null;
  return (
    `table ${table} is keyed by ${formatKeySchema(actual) || 'nothing'}, but the chain needs ${formatKeySchema(needed.keys)} ` +
    `(from ${needed.learnedFrom}): replay into a table with that key schema, e.g. a new one with --create-table`
  );
}

/** Whether an SDK error says the table does not exist. */
export function isTableMissing(error: unknown): boolean {
  return (error as { name?: string } | null)?.name === 'ResourceNotFoundException';
}

/** The key schema of the source table named by the full export, or undefined when it cannot be read. */
async function sourceTableKeys(
  s3: S3Sender,
  dynamodb: DynamoDbSender,
  bucket: string,
  full: ChainEntryObject | undefined,
): Promise<NeededKeySchema | undefined> {
  if (!full) return undefined;
  const { tableArn } = await readExportSummary(s3, bucket, full.entry.manifestSummaryKey);
  try {
    const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: tableArn }));
    const keys = keysOfDescription(Table?.KeySchema, Table?.AttributeDefinitions);
    return keys.length > 0 ? { keys, learnedFrom: `source table ${tableArn}` } : undefined;
  } catch {
    // Another account or Region, no permission, or a table since deleted: the records still tell.
    return undefined;
  }
}

/** The type tag of a DynamoDB-JSON key value. */
function keyTypeOf(value: unknown): KeyAttribute['type'] {
  const tag = Object.keys((value ?? {}) as object)[0];
  return tag === 'N' || tag === 'B' ? tag : 'S';
}

/** Key attributes from the first change record of the first incremental exports that hold one. */
async function recordKeys(
  s3: S3Sender,
  bucket: string,
  entries: readonly ChainEntryObject[],
): Promise<NeededKeySchema | undefined> {
  const withChanges = entries.filter((e) => e.entry.type === 'INCREMENTAL' && e.entry.itemCount > 0);
  for (const e of withChanges.slice(0, 5)) {
    for await (const record of readExportRecords(s3, bucket, e.entry.manifestSummaryKey)) {
      if (record.kind !== 'change') break;
      const names = Object.keys(record.keys);
      const keys = names.map((name, i) => ({
        name,
        keyType: i === 0 ? ('HASH' as const) : ('RANGE' as const),
        type: keyTypeOf(record.keys[name]),
      }));
      return { keys, learnedFrom: `the Keys of ${record.file} line ${record.line}` };
    }
  }
  return undefined;
}

/** The key schema the chain's target needs; undefined when neither the source nor a record tells. */
export async function neededKeySchema(options: {
  s3: S3Sender;
  dynamodb: DynamoDbSender;
  bucket: string;
  entries: readonly ChainEntryObject[];
}): Promise<NeededKeySchema | undefined> {
  const { s3, dynamodb, bucket, entries } = options;
  const full = entries.find((e) => e.entry.type === 'FULL');
  return (await sourceTableKeys(s3, dynamodb, bucket, full)) ?? (await recordKeys(s3, bucket, entries));
}

/** The target's key attributes, or null when the table does not exist. */
export async function targetKeys(dynamodb: DynamoDbSender, table: string): Promise<KeyAttribute[] | null> {
  try {
    const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: table }));
    return keysOfDescription(Table?.KeySchema, Table?.AttributeDefinitions);
  } catch (error) {
    if (isTableMissing(error)) return null;
    throw error;
  }
}

/** Creates the target with the needed key schema, on-demand billing, and waits until it is ACTIVE. */
export async function createTargetTable(
  dynamodb: DynamoDbSender,
  table: string,
  keys: readonly KeyAttribute[],
  wait: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
): Promise<void> {
  await dynamodb.send(
    new CreateTableCommand({
      TableName: table,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: keys.map((k) => ({ AttributeName: k.name, AttributeType: k.type })),
      KeySchema: keys.map((k) => ({ AttributeName: k.name, KeyType: k.keyType })),
    }),
  );
  // A new table takes seconds to become ACTIVE on AWS; writes before that are refused.
  for (let i = 0; i < 600; i++) {
    const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: table }));
    if (Table?.TableStatus === 'ACTIVE') return;
    await wait(1000);
  }
  throw new Error(`table ${table} was created but is not ACTIVE after 10 minutes`);
}

/** What to do about the target before replaying: go ahead, create it, or refuse with the reason. */
export type TargetDecision = { kind: 'ready' } | { kind: 'create' } | { kind: 'refuse'; message: string };

/**
 * Pure: a missing target is created only with `--create-table`, otherwise refused naming the key
 * schema and the command that creates it; an existing one must have the needed key schema, and
 * `--create-table` never writes into a table that already exists.
 */
export function decideTarget(options: {
  table: string;
  needed: NeededKeySchema | undefined;
  /** The target's key attributes; null when it does not exist. */
  actual: KeyAttribute[] | null;
  createTable: boolean;
}): TargetDecision {
  const { table, needed, actual, createTable } = options;
  if (actual === null) {
    if (!needed) {
      return {
        kind: 'refuse',
        message: `table ${table} does not exist, and the chain does not tell its key schema (no readable source table, no change record yet): create it with the source table's key schema`,
      };
    }
    if (createTable) return { kind: 'create' };
    return {
      kind: 'refuse',
      message:
        `table ${table} does not exist; it needs the key schema ${formatKeySchema(needed.keys)} (from ${needed.learnedFrom}). ` +
        `Pass --create-table to create it (on-demand billing), or: ${createTableCommandLine(table, needed.keys)}`,
    };
  }
  if (createTable) {
    return {
      kind: 'refuse',
      message: `--create-table: table ${table} already exists; name a new table, or drop --create-table to replay into this one`,
    };
  }
  const problem = needed ? keySchemaProblem(table, needed, actual) : null;
  return problem ? { kind: 'refuse', message: problem } : { kind: 'ready' };
}
