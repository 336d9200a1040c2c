/**
 * A handler module for sim/machines/lambdaWorker.ts: one invocation writes an export of large items into an
 * S3 in memory (sim/largeItemsExport.ts) and applies it as the replica's apply Lambda does
 * (`applyEntries`, latest write per key, no read-ahead) into a DynamoDB endpoint (the local server),
 * sampling the worker's heap as it goes. Run in a worker whose heap is capped at a memory size, it
 * shows whether the apply engine's memory stays within that size (tests/integration/limits.lambda.test.ts) and
 * how much heap an apply takes (`npm run bench:replica`).
 */
import { getHeapStatistics } from 'node:v8';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { applyEntries } from '../apply';
import { objectsInMemory, writeLargeItemsExport, type LargeItemsExportOptions } from './largeItemsExport';

export interface LargeItemsApplyEvent extends LargeItemsExportOptions {
  /** The DynamoDB endpoint and the table (keys `pk` S, `sk` N) to apply into. */
  endpoint: string;
  table: string;
  /** The memory size the engine derives its budget from: the worker's own, or another to compare. */
  budgetMemorySizeMb: number;
}

export interface LargeItemsApplyResult {
  records: number;
  writes: number;
  filesApplied: number;
  /** The engine's own count of the bytes of records it held at most (estimated). */
  peakBufferedBytes: number;
  /** The worker's V8 heap in use once the export is written, before the apply. */
  heapBeforeBytes: number;
  /** The most heap in use seen during the apply (sampled every millisecond and after every batch). */
  peakHeapBytes: number;
}

/** Samples the heap in use until stopped; `peak` is the most seen. */
function heapSampler(): { sample: () => void; stop: () => number } {
  let peak = 0;
  const sample = () => {
    peak = Math.max(peak, getHeapStatistics().used_heap_size);
  };
  const timer = setInterval(sample, 1);
  return {
    sample,
    stop: () => {
      clearInterval(timer);
      sample();
      return peak;
    },
  };
}

/** The invocation; see the module comment. */
export async function applyLargeItemsExport(event: LargeItemsApplyEvent): Promise<LargeItemsApplyResult> {
  const s3 = objectsInMemory();
  const entry = await writeLargeItemsExport(s3, event);
  const dynamodb = new DynamoDBClient({
    endpoint: event.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const heapBeforeBytes = getHeapStatistics().used_heap_size;
  const heap = heapSampler();
  try {
    const result = await applyEntries([entry], {
      s3,
      dynamodb,
      targetTable: event.table,
      keyAttributes: ['pk', 'sk'],
      memorySizeMb: event.budgetMemorySizeMb,
      onWritten: heap.sample,
    });
    return {
      records: result.records,
      writes: result.writes,
      filesApplied: result.filesApplied,
      peakBufferedBytes: result.peakBufferedBytes,
      heapBeforeBytes,
      peakHeapBytes: heap.stop(),
    };
  } finally {
    heap.stop();
    dynamodb.destroy();
  }
}
