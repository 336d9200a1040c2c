/**
 * The apply engine's memory budget: how many bytes of records it may hold, derived from the memory
 * size of the process (a Lambda function's memory size, or the Node.js heap limit for `dce replay`),
 * and the decisions that keep what it holds within that budget. Counting records instead does not
 * bound memory: an item is up to 400 KB and a NEW_AND_OLD_IMAGES record holds two images, so 2,000
 * writes of such items are 800 MB and a data file of 20,000 records up to 16 GB.
 *
 * What the engine holds at once, at most: the group being written, the group being gathered, the
 * data file being added to it, the data files read ahead, and the lists of data files of the entries
 * read ahead. The budget is split so that their sum stays within it:
 *
 *   2 × groupBytes + (dataFileReadAhead + 1) × fileBytes + manifestBytes ≤ budget
 *
 * A group is written before an addition that would take it past its share, so a group exceeds its
 * share only when the records of one decoded chunk of a streamed file do (one record over the share:
 * a budget smaller than an item). Outside the budget (so the budget is only a share of the memory
 * size): the records of that one chunk as they are parsed, the list of data files of the entry being
 * applied (about 300 bytes a file), the requests being sent (the SDK's serialised copies of at most
 * `concurrency` batches of 25 writes), the runtime, the SDK and the garbage collector's headroom.
 * Sizes are estimates (recordBytes.ts). The decisions are pure.
 */
import { getHeapStatistics } from 'node:v8';

export const MIB = 1024 * 1024;

/**
 * The share of the memory size the engine's records may take. The rest is the runtime, the AWS SDK,
 * the requests in flight (up to 4 × 25 items of 400 KB, about 40 MB, copied as they are serialised)
 * and room for the garbage collector, which slows down sharply as a heap nears its limit.
 */
export const BUFFER_SHARE_OF_MEMORY = 1 / 4;

/** The share of the budget for lists of data files read ahead (when manifests are read ahead at all). */
export const MANIFEST_SHARE_OF_BUDGET = 1 / 8;

/** Bytes of records the engine may hold for a process of `memorySizeMb`. */
export function bufferBudgetBytes(memorySizeMb: number): number {
  if (!(memorySizeMb > 0)) throw new Error(`memory size must be positive, got ${memorySizeMb} MB`);
  return Math.floor(memorySizeMb * MIB * BUFFER_SHARE_OF_MEMORY);
}

/** The memory size `dce replay` (and any caller that gives none) assumes: the V8 heap limit, in MB. */
export function heapLimitMb(): number {
  return getHeapStatistics().heap_size_limit / MIB;
}

/** The budget split over what the engine holds at once (see the module comment). */
export interface BufferShares {
  /**
   * A data file is held between its check and its writes while its records take at most this;
   * else it is streamed twice.
   */
  fileBytes: number;
  /** A group is written once what it gathered reaches this. */
  groupBytes: number;
  /** Lists of data files read ahead of the entries being read take at most this. */
  manifestBytes: number;
}

/**
 * Splits `budgetBytes`: the files read ahead and the file being added are held at once, each up to
 * `fileBytes`.
 */
export function bufferShares(
  budgetBytes: number,
  readAhead: { manifestReadAhead: number; dataFileReadAhead: number },
): BufferShares {
  const manifestBytes =
    readAhead.manifestReadAhead > 0 ? Math.floor(budgetBytes * MANIFEST_SHARE_OF_BUDGET) : 0;
  // Two groups (written and gathered) and the files held: equal shares, so a held file always fits a group.
  const share = Math.floor((budgetBytes - manifestBytes) / (2 + readAhead.dataFileReadAhead + 1));
  return { fileBytes: share, groupBytes: share, manifestBytes };
}

/** Whether a data file whose records read so far take `heldBytes` may still be held (else it is streamed). */
export function holdsFile(heldBytes: number, shares: Pick<BufferShares, 'fileBytes'>): boolean {
  return heldBytes <= shares.fileBytes;
}

/**
 * Whether the group gathered must be written before records (a held file, a streamed batch) are
 * added to it: adding them would take it past its share. An empty group takes them whatever their
 * size: they have to go somewhere, and a held file fits a group's share anyway.
 */
export function flushBeforeAdding(gatheredBytes: number, addingBytes: number, shares: BufferShares): boolean {
  return gatheredBytes > 0 && gatheredBytes + addingBytes > shares.groupBytes;
}

/** Whether the group gathered is to be written now: its share of bytes reached, or `groupWrites` writes. */
export function groupIsFull(
  gathered: { writes: number; bytes: number },
  groupWrites: number,
  shares: BufferShares,
): boolean {
  return gathered.writes >= groupWrites || gathered.bytes >= shares.groupBytes;
}

/**
 * Whether another entry's manifest may be read ahead, when the lists read ahead (and those being
 * read, counted as large as the largest read so far) take `aheadBytes`.
 */
export function readsManifestAhead(aheadBytes: number, shares: BufferShares): boolean {
  return aheadBytes < shares.manifestBytes;
}

/** Bytes of records held at a time (files read and groups), and the most held: for reports and tests. */
export class BufferedBytes {
  held = 0;
  peak = 0;

  change(bytes: number): void {
    this.held += bytes;
    if (this.held > this.peak) this.peak = this.held;
  }
}
