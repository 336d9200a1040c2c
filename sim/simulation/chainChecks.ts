/**
 * The checks after a simulation run, for real against the local servers: `verify --deep` reads the
 * chain, `replay` writes it into a local DynamoDB table, and that table is compared item by item with
 * the source table as of the watermark.
 */
import { CreateTableCommand, paginateScan, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import type { Item } from '../contracts';
import {
  canonicalTable,
  WORKLOAD_KEY_ATTRIBUTES,
  type SyntheticTable,
  WORKLOAD_KEY_SCHEMA,
  WORKLOAD_ATTRIBUTE_DEFINITIONS,
} from '../workload';
import type { SimulationAccount } from './account';
import type { OperatorTools } from './operatorTools';
import { tableDifferences, type ChainOutcome, type ReplayOutcome, type SimulationProgress } from './report';

/** The table the chain is replayed into. */
export function replayTableName(alias: string): string {
  return `${alias}-replayed`;
}

/** Creates an empty table with the workload's key schema on the local DynamoDB. */
export async function createReplayTable(
  client: SimulationAccount['dynamodb']['client'],
  name: string,
): Promise<void> {
  await client.send(
    new CreateTableCommand({
      TableName: name,
      AttributeDefinitions: WORKLOAD_ATTRIBUTE_DEFINITIONS,
      KeySchema: WORKLOAD_KEY_SCHEMA,
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  // dynalite activates a new table on a 0 ms timer: at once, unless the machine is busy.
  await waitUntilTableExists({ client, maxWaitTime: 30, minDelay: 1 }, { TableName: name });
}

/** `verify --deep` of the live epoch; an unreadable chain is a problem, not an exception. */
export async function verifyRunChain(
  account: SimulationAccount,
  tools: OperatorTools,
  end: number,
  progress: (p: Pick<SimulationProgress, 'phase' | 'verify'>) => void = () => undefined,
): Promise<ChainOutcome> {
  const { bucket, prefix } = account.settings;
  try {
    const v = await tools.verifyChain({
      s3: account.readS3,
      bucket,
      prefix,
      deep: true,
      onProgress: (p) =>
        progress({
          phase: 'verifying',
          verify: { exportsChecked: p.entriesDone, exports: p.entriesTotal, filesRead: p.filesRead },
        }),
    });
    const watermarkSeconds = v.watermark ? Date.parse(v.watermark) / 1000 : null;
    return {
      ok: v.ok,
      epoch: v.epoch,
      entries: v.entries,
      chainStart: v.chainStart ?? null,
      watermark: v.watermark ?? null,
      lagSeconds: watermarkSeconds === null ? null : end - watermarkSeconds,
      problems: v.problems,
    };
  } catch (error) {
    return {
      ok: false,
      epoch: null,
      entries: 0,
      chainStart: null,
      watermark: null,
      lagSeconds: null,
      problems: [{ kind: 'unreadable', key: `${prefix}/chain/`, message: (error as Error).message }],
    };
  }
}

/** The key of a workload item as readable text, e.g. `pk="a" sk="3"`. */
function keyText(item: Item): string {
  return WORKLOAD_KEY_ATTRIBUTES.map((k) => {
    const value = item[k] as { S?: string; N?: string } | undefined;
    return `${k}=${JSON.stringify(value?.S ?? value?.N)}`;
  }).join(' ');
}

/** Items as canonical texts by their key. */
export function canonicalByKey(items: Item[]): Map<string, string> {
  return new Map(items.map((item) => [keyText(item), canonicalTable([item])[0]]));
}

/** A local table against the source as of `watermark` (ISO 8601; null: the empty table). */
export interface SourceComparison {
  items: number;
  expectedItems: number;
  identical: boolean;
  firstDifferences: string[];
}

/**
 * Compares a local table item by item with the source table as of `watermark`; `label` names the
 * table in the differences (`replayed`, `replica`).
 */
export async function compareWithSource(
  client: SimulationAccount['dynamodb']['client'],
  tableName: string,
  source: SyntheticTable,
  watermark: string | null,
  label: string,
): Promise<SourceComparison> {
  const found: Item[] = [];
  for await (const page of paginateScan({ client }, { TableName: tableName })) {
    found.push(...((page.Items ?? []) as Item[]));
  }
  const expectedItems = watermark === null ? [] : source.snapshotBefore(Date.parse(watermark) / 1000);
  const expected = canonicalByKey(expectedItems);
  const actual = canonicalByKey(found);
  const firstDifferences = tableDifferences(expected, actual, 5, label);
  return {
    items: found.length,
    expectedItems: expectedItems.length,
    identical: firstDifferences.length === 0 && expected.size === actual.size,
    firstDifferences,
  };
}

/** Replays the chain into a fresh local table and compares it with the source as of the watermark. */
export async function replayRunChain(params: {
  account: SimulationAccount;
  tools: OperatorTools;
  source: SyntheticTable;
  progress: (p: Pick<SimulationProgress, 'phase' | 'replay'>) => void;
}): Promise<ReplayOutcome> {
  const { account, tools, source } = params;
  const { bucket, prefix, alias } = account.settings;
  const client = account.dynamodb.client;
  const targetTable = replayTableName(alias);
  try {
    await createReplayTable(client, targetTable);
    const r = await tools.replayChain({
      s3: account.readS3,
      dynamodb: client,
      bucket,
      prefix,
      targetTable,
      concurrency: 8,
      onProgress: (p) =>
        params.progress({
          phase: 'replaying',
          replay: { exportsApplied: p.entriesDone, exports: p.entriesTotal, items: p.itemsApplied },
        }),
    });
    params.progress({ phase: 'comparing' });
    const { items, expectedItems, identical, firstDifferences } = await compareWithSource(
      client,
      targetTable,
      source,
      r.watermark ?? null,
      'replayed',
    );
    const watermark = r.watermark ? Date.parse(r.watermark) / 1000 : null;
    return {
      ok: identical && watermark !== null,
      items,
      expectedItems,
      exportsApplied: r.entriesApplied,
      puts: r.puts,
      deletes: r.deletes,
      watermark: r.watermark ?? null,
      identical,
      firstDifferences,
    };
  } catch (error) {
    return {
      ok: false,
      items: 0,
      expectedItems: 0,
      exportsApplied: 0,
      puts: 0,
      deletes: 0,
      watermark: null,
      identical: false,
      firstDifferences: [],
      error: (error as Error).message,
    };
  }
}
