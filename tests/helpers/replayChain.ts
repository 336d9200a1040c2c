/**
 * The chain the replay tests rebuild a table from: a full export an hour into a seeded workload,
 * then six contiguous 30-minute incremental windows. Shared so that the replay tests of every format
 * and file size replay the same history.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { replayChain, type ReplayOptions, type ReplayReport } from '../../cli/replay';
import type { Item } from '../../format';
import { startLocalDynamoDb, type LocalDynamoDb } from '../../sim/servers';
import { generateWorkload } from '../../sim/workload';
import { contiguousWindows, writeChain, type MemoryS3, type WriteChainOptions } from './exportChain';
import { newWorkloadTable, scanTable } from './localTables';

export const REPLAY_BUCKET = 'replay-bucket';
export const REPLAY_PREFIX = 'exports/orders';
export const HOUR = 3600;
/** Start of the workload's traffic, epoch seconds. */
export const T0 = Date.UTC(2026, 10, 3, 0, 0, 0) / 1000;
/** Time of the full export. */
export const START = T0 + HOUR;
export const WINDOWS = contiguousWindows(START, 30 * 60, 6);
/** End of the last incremental window: the table replayed in full equals the source just before. */
export const END = WINDOWS[WINDOWS.length - 1][1];

/** Traffic from an hour before the full export to the end of the last window. */
export function replaySource(seed = 99) {
  return generateWorkload({ from: T0, to: END, writesPerMinute: 8, seed, keySpace: 80 });
}

/**
 * Writes the replay tests' chain of `table` into `s3`: the bucket, prefix, full export time and
 * windows above, unless `options` says otherwise.
 */
export function writeReplayChain(
  s3: MemoryS3,
  table: WriteChainOptions['table'],
  options: Partial<WriteChainOptions> = {},
): ReturnType<typeof writeChain> {
  return writeChain({
    s3,
    bucket: REPLAY_BUCKET,
    prefix: REPLAY_PREFIX,
    table,
    start: START,
    windows: WINDOWS,
    ...options,
  });
}

/**
 * A dynalite server for the `describe` block this is called in (started before its tests, stopped
 * after), with what the replay tests do on it: make an empty target table, replay the test chain into
 * one, and read one back whole.
 */
export function useReplayTarget(tableNamePrefix: string) {
  let ddb: LocalDynamoDb | undefined;
  let tables = 0;
  before(async () => {
    ddb = await startLocalDynamoDb();
  });
  after(async () => {
    await ddb?.stop();
  });
  const client = (): DynamoDBClient => {
    if (!ddb) throw new Error('the local DynamoDB server is started by a before hook');
    return ddb.client;
  };
  return {
    get client(): DynamoDBClient {
      return client();
    },
    newTable: (): Promise<string> => newWorkloadTable(client(), `${tableNamePrefix}${++tables}`),
    /** Replays the test chain in `s3` into `targetTable`. */
    replayInto: (
      s3: MemoryS3,
      targetTable: string,
      options: Partial<ReplayOptions> = {},
    ): Promise<ReplayReport> =>
      replayChain({
        s3,
        dynamodb: client(),
        bucket: REPLAY_BUCKET,
        prefix: REPLAY_PREFIX,
        targetTable,
        ...options,
      }),
    scanAll: (tableName: string): Promise<Item[]> => scanTable(client(), tableName),
  };
}
