/**
 * The memory figure of `npm run bench:replica`: the heap an apply takes per 1,000 items of 1 KB and
 * of 400 KB, side by side. Each is one invocation in a worker thread whose heap is capped at the
 * replica apply Lambda's memory size (sim/machines/lambdaWorker.ts), running the replica's apply path over a
 * full export held in memory (sim/largeItemsApply.ts) into the bench's local DynamoDB server: the
 * worker's heap holds the apply and nothing of the bench or the server.
 */
import path from 'node:path';
import { bufferBudgetBytes } from '../apply';
import { REPLICA_APPLY_HANDLER } from '../functions/shared/lambdaHandlers';
import { invokeInWorker } from '../sim/machines/lambdaWorker';
import type { LargeItemsApplyEvent, LargeItemsApplyResult } from '../sim/largeItemsApply';

const ITEMS = 1000;
/** DynamoDB's limit is 400 KB including names and keys: a blob of 399 KB leaves room for them. */
const SIZES = [
  { label: '1 KB', itemKb: 1 },
  { label: '~400 KB', itemKb: 399 },
];
const MB = 1024 * 1024;

export interface MemoryRow {
  label: string;
  itemKb: number;
  result: LargeItemsApplyResult;
  seconds: number;
}

/** One apply per item size, one after another, each into a new table made by `newTable`. */
export async function measureApplyMemory(
  endpoint: string,
  newTable: (name: string) => Promise<void>,
): Promise<MemoryRow[]> {
  const rows: MemoryRow[] = [];
  const memorySizeMb = REPLICA_APPLY_HANDLER.memorySizeMb;
  for (const { label, itemKb } of SIZES) {
    const table = `memory-${itemKb}kb`;
    await newTable(table);
    const event: LargeItemsApplyEvent = {
      endpoint,
      table,
      items: ITEMS,
      itemKb,
      itemsPerFile: ITEMS,
      type: 'FULL_EXPORT',
      budgetMemorySizeMb: memorySizeMb,
    };
    const started = performance.now();
    const result = (await invokeInWorker({
      module: path.join(__dirname, '..', 'sim', 'largeItemsApply.ts'),
      exportName: 'applyLargeItemsExport',
      event,
      memorySizeMb,
      timeoutSeconds: REPLICA_APPLY_HANDLER.timeoutSeconds,
    })) as LargeItemsApplyResult;
    if (result.writes !== ITEMS)
      throw new Error(`the ${label} apply wrote ${result.writes} of ${ITEMS} items`);
    rows.push({ label, itemKb, result, seconds: (performance.now() - started) / 1000 });
  }
  return rows;
}

function mb(bytes: number): string {
  return `${(bytes / MB).toFixed(1)} MB`;
}

export function printApplyMemory(rows: MemoryRow[]): void {
  const memorySizeMb = REPLICA_APPLY_HANDLER.memorySizeMb;
  console.log(
    `\nMemory per ${ITEMS.toLocaleString('en-US')} items applied (one full export of one data file, replica apply path, worker heap capped at ${memorySizeMb} MB; records held at most ${mb(bufferBudgetBytes(memorySizeMb))}):`,
  );
  const widths = [10, 12, 12, 14, 22, 8];
  const line = (cells: string[]) =>
    console.log(cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '));
  line(['item size', 'items', 'peak heap', 'heap growth', 'records held (est.)', 'time']);
  for (const { label, itemKb, result, seconds } of rows) {
    line([
      label,
      mb(ITEMS * itemKb * 1024),
      mb(result.peakHeapBytes),
      mb(result.peakHeapBytes - result.heapBeforeBytes),
      mb(result.peakBufferedBytes),
      `${seconds.toFixed(1)} s`,
    ]);
  }
}
