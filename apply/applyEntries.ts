/**
 * The replica's entry points into the apply engine (applyEngine.ts): its Distributed Map workers call
 * `applyDataFiles` for a slice of one export's data files; its small-entry step calls `applyEntries`
 * for several entries at once.
 *
 * Writes are gathered latest-per-key in chain order, so a group of entries costs one write per key
 * however often the key changed, and the table ends as if every record had been applied one by one.
 * Re-applying an entry, or any suffix of the entries, gives the same table: puts write whole images
 * and deletes of absent items are no-ops, so a crash anywhere is repaired by applying again from the
 * last saved position. Reads are not run ahead (a worker's memory holds one data file at a time).
 *
 * What the engine holds is bounded by the function's memory size (memoryBudget.ts): the Lambda runtime
 * gives it in `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`; elsewhere (the simulation, tests) the apply Lambda's
 * deployed size is assumed.
 */
import type { DataFileEntry, ExportFormatName, S3Sender } from '../format';
import { applyChainEntries, type ApplyEngineOptions } from './applyEngine';
import type { BatchWriterOptions } from './batchWriter';
import type { ApplyEntry } from './entryFiles';
import type { EntryToApply } from './readAhead';

export { entryDataFiles, type ApplyEntry } from './entryFiles';

export interface ApplyOptions extends Omit<BatchWriterOptions, 'tableName'> {
  s3: S3Sender;
  targetTable: string;
  /** The target's key attributes, partition key first (see `targetKeyAttributes`). */
  keyAttributes: readonly string[];
  /** Distinct keys gathered before they are written. @default 2000 */
  groupWrites?: number;
  /**
   * The function's memory size in MB; the engine holds at most a quarter of it in records.
   * @default `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`, else `REPLICA_MEMORY_SIZE_MB`
   */
  memorySizeMb?: number;
  /** Called after each entry is completely written, in chain order. */
  onEntryApplied?: (entry: ApplyEntry) => void | Promise<void>;
  /**
   * Called once everything up to the end of a data file is written: `filesApplied` of `entry`, in
   * manifest order (where an apply stopped before its end can go on from). Groups still span files.
   */
  onFileApplied?: (entry: ApplyEntry, filesApplied: number) => void | Promise<void>;
}

export interface ApplyResult {
  /** Records read (puts + deletes before latest-per-key). */
  records: number;
  puts: number;
  deletes: number;
  /** Writes sent after keeping the latest per key. */
  writes: number;
  filesApplied: number;
  entriesApplied: number;
  /** Sequence of the last entry applied completely; undefined when none. */
  lastSequence?: number;
  batchWriteCalls: number;
  retries: number;
  /** The most bytes of records held at once (estimated; see `ApplyEngineResult`). */
  peakBufferedBytes: number;
}

const DEFAULT_GROUP_WRITES = 2000;

/** The replica apply Lambda's memory size as deployed (functions/shared/lambdaHandlers.ts), in MB. */
export const REPLICA_MEMORY_SIZE_MB = 1024;

/** The memory size the Lambda runtime reports for the function, else the apply Lambda's deployed size. */
export function lambdaMemorySizeMb(env: Record<string, string | undefined>): number {
  const reported = Number(env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE);
  return reported > 0 ? reported : REPLICA_MEMORY_SIZE_MB;
}

async function applyForReplica(
  entries: readonly EntryToApply[],
  options: ApplyOptions,
): Promise<ApplyResult> {
  let entriesApplied = 0;
  let lastSequence: number | undefined;
  const { onEntryApplied, onWritten, groupWrites, memorySizeMb, ...rest } = options;
  const engineOptions: ApplyEngineOptions<ApplyEntry> = {
    ...rest,
    memorySizeMb: memorySizeMb ?? lambdaMemorySizeMb(process.env),
    keep: 'latest-per-key',
    groupWrites: groupWrites ?? DEFAULT_GROUP_WRITES,
    // Groups span entries unless the caller observes each entry's end.
    endGroupAtEntry: onEntryApplied !== undefined,
    onReadFailure: 'drop-gathered',
    typedMissingFiles: true,
    onWritten: onWritten && ((count) => onWritten(count)),
    onEntryApplied: async (entry) => {
      await onEntryApplied?.(entry);
      entriesApplied += 1;
      lastSequence = entry.sequence;
    },
  };
  const result = await applyChainEntries(entries, engineOptions);
  return { ...result, entriesApplied, ...(lastSequence === undefined ? {} : { lastSequence }) };
}

/**
 * Applies consecutive entries in chain order. Writes are gathered across entries (latest per key
 * wins), so an entry counts as applied (`onEntryApplied`) only once everything gathered up to its end
 * is written.
 */
export async function applyEntries(
  entries: readonly ApplyEntry[],
  options: ApplyOptions,
): Promise<ApplyResult> {
  return applyForReplica(
    entries.map((entry) => ({ entry })),
    options,
  );
}

/**
 * Applies some data files of one entry (a Distributed Map worker's share). Within one export each
 * key appears at most once, so the files of an entry may be applied in any order and in parallel.
 */
export async function applyDataFiles(
  entry: ApplyEntry,
  files: readonly DataFileEntry[],
  format: ExportFormatName,
  options: ApplyOptions,
): Promise<ApplyResult> {
  const result = await applyForReplica([{ entry, dataFiles: { files, format } }], {
    ...options,
    onEntryApplied: undefined,
  });
  // A worker applies a share of an entry, never the entry as a whole.
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  const { lastSequence, ...share } = result;
  return { ...share, entriesApplied: 0 };
}
