/**
 * Reading the chain from a consumer's cursor: what every consumer of the chain (the replica, the
 * Iceberg feed) needs from the chain manifest (functions/shared/chainManifest.ts) to plan its next
 * step: the live epoch, the followed epoch's HEAD, and the committed entries after the last one it
 * applied. Entry keys start with the zero-padded sequence, so the entries from sequence N on are found
 * by listing the prefixes of their hundreds (`<epoch>/000123`) instead of the whole epoch, however
 * long the chain grows.
 *
 * S3 is read only through the format module's helpers (GetObject, ListObjectsV2), so a consumer's AWS
 * calls stay those listed for it in functions/shared/awsActions.ts.
 */
import { S3ObjectMissingError, getText, listAllKeys, type S3Sender } from '../../../format/s3io';
import { chainCurrentKey, chainEpochPrefix, chainHeadKey, type ChainEntry } from '../chainManifest';

/** A committed chain entry as a consumer plans with it (the fields of the chain manifest it needs). */
export interface ConsumerEntry {
  sequence: number;
  type: 'FULL' | 'INCREMENTAL';
  /** Window end (the export time of a FULL export), ISO 8601. */
  to: string;
  itemCount: number;
  exportArn: string;
  bucket: string;
  manifestSummaryKey: string;
}

/** The chain as read for one plan. */
export interface ConsumerChainView<E = ConsumerEntry> {
  /** The live epoch (CURRENT.json); the followed epoch (or '') before the chain has one. */
  currentEpoch: string;
  /** HEAD.json of the followed epoch (undefined before its first commit). */
  head?: { lastSequence: number; watermark: string };
  /** Entries of that epoch from the cursor on, in sequence order (may stop early). */
  entries: E[];
}

/** Where a consumer reads the chain from: its position and how many entries it plans with at most. */
export interface ChainCursor {
  /** The consumer's epoch; null before its first entry. */
  followedEpoch: string | null;
  /** The first sequence wanted: the one after the last applied. */
  fromSequence: number;
  maxEntries: number;
}

/** Entry keys: `<seq 8 digits>_<from>_<to>.json`. */
const ENTRY_NAME = /^(\d{8})_\d{8}T\d{6}Z_\d{8}T\d{6}Z\.json$/;

async function readJsonIfExists(
  s3: S3Sender,
  bucket: string,
  key: string,
): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await getText(s3, bucket, key);
  } catch (err) {
    if (err instanceof S3ObjectMissingError) return undefined;
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`${key}: invalid JSON (${(err as Error).message})`, { cause: err });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new Error(`${key}: not a JSON object`);
  return json as Record<string, unknown>;
}

function consumerEntry(json: Partial<ChainEntry>, key: string): ConsumerEntry {
  const ok =
    typeof json.sequence === 'number' &&
    (json.type === 'FULL' || json.type === 'INCREMENTAL') &&
    typeof json.to === 'string' &&
    typeof json.itemCount === 'number' &&
    typeof json.exportArn === 'string' &&
    typeof json.bucket === 'string' &&
    typeof json.manifestSummaryKey === 'string';
  if (!ok) throw new Error(`${key}: not a chain entry`);
  return {
    sequence: json.sequence!,
    type: json.type!,
    to: json.to!,
    itemCount: json.itemCount!,
    exportArn: json.exportArn!,
    bucket: json.bucket!,
    manifestSummaryKey: json.manifestSummaryKey!,
  };
}

/** Keys of the entries `from`..`last` of one epoch, found by listing the hundreds they are in. */
async function entryKeys(s3: S3Sender, bucket: string, epochPrefix: string, from: number, last: number) {
  const keys: string[] = [];
  for (let hundred = Math.floor(from / 100); hundred <= Math.floor(last / 100); hundred++) {
    const listPrefix = `${epochPrefix}${String(hundred).padStart(6, '0')}`;
    for (const key of await listAllKeys(s3, bucket, listPrefix)) {
      const match = ENTRY_NAME.exec(key.slice(epochPrefix.length));
      if (!match) continue;
      const sequence = Number(match[1]);
      if (sequence >= from && sequence <= last) keys.push(key);
    }
  }
  return keys;
}

/**
 * The chain from a consumer's cursor. A chain without CURRENT.json reads as the followed epoch with no
 * entries; a new epoch reads with its HEAD but without entries (the consumer halts or starts over: the
 * old epoch's entries are not needed, but a lag measured against HEAD keeps growing while it is
 * halted); a CURRENT or HEAD that is not one is an error, never an empty chain.
 */
export async function readChainFrom(
  s3: S3Sender,
  chain: { bucket: string; prefix: string },
  cursor: ChainCursor,
): Promise<ConsumerChainView> {
  const { bucket, prefix } = chain;
  const { followedEpoch, fromSequence, maxEntries } = cursor;
  const current = await readJsonIfExists(s3, bucket, chainCurrentKey(prefix));
  if (!current) return { currentEpoch: followedEpoch ?? '', entries: [] };
  if (typeof current.epoch !== 'string') throw new Error(`${chainCurrentKey(prefix)}: no epoch`);
  const currentEpoch = current.epoch;
  const head = await readJsonIfExists(s3, bucket, chainHeadKey(prefix, currentEpoch));
  if (!head) return { currentEpoch, entries: [] };
  if (typeof head.lastSequence !== 'number' || typeof head.watermark !== 'string') {
    throw new Error(`${chainHeadKey(prefix, currentEpoch)}: not a chain HEAD`);
  }
  const committed = { lastSequence: head.lastSequence, watermark: head.watermark };
  if (followedEpoch !== null && followedEpoch !== currentEpoch)
    return { currentEpoch, head: committed, entries: [] };
  const last = Math.min(head.lastSequence, fromSequence + maxEntries - 1);
  const keys = await entryKeys(s3, bucket, chainEpochPrefix(prefix, currentEpoch), fromSequence, last);
  const entries: ConsumerEntry[] = [];
  for (const key of keys) {
    const json = await readJsonIfExists(s3, bucket, key);
    if (json) entries.push(consumerEntry(json as Partial<ChainEntry>, key));
  }
  entries.sort((a, b) => a.sequence - b.sequence);
  return { currentEpoch, head: committed, entries };
}
