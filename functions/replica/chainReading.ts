/**
 * Reads what the replica planner needs from the chain manifest (functions/shared/chainManifest.ts): the
 * live epoch, the followed epoch's HEAD, and the entries after the last applied one. Entry keys start
 * with the zero-padded sequence, so the entries from sequence N on are found by listing the prefixes
 * of their hundreds (`<epoch>/000123`) instead of the whole epoch, however long the chain grows.
 *
 * S3 is read only through the format module's helpers (GetObject, ListObjectsV2), so the replica's
 * AWS calls stay those listed in `REPLICA_SDK_CALLS`.
 */
import { S3ObjectMissingError, getText, listAllKeys, type S3Sender } from '../../format/s3io';
import { chainCurrentKey, chainEpochPrefix, chainHeadKey, type ChainEntry } from '../shared/chainManifest';
import type { ChainView, PlannedEntry } from './planner';

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

function plannedEntry(json: Partial<ChainEntry>, key: string): PlannedEntry {
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

/**
 * The chain as the planner sees it. `followedEpoch` is the replica's epoch (null before its first
 * entry); entries are read from `fromSequence` on, at most `maxEntries` of them.
 */
export async function readChainView(
  s3: S3Sender,
  bucket: string,
  prefix: string,
  followedEpoch: string | null,
  fromSequence: number,
  maxEntries: number,
): Promise<ChainView> {
  const current = await readJsonIfExists(s3, bucket, chainCurrentKey(prefix));
  if (!current) return { currentEpoch: followedEpoch ?? '', entries: [] };
  if (typeof current.epoch !== 'string') throw new Error(`${chainCurrentKey(prefix)}: no epoch`);
  const currentEpoch = current.epoch;
  // A new epoch: the planner halts or rebaselines; the old epoch's entries are not needed.
  if (followedEpoch !== null && followedEpoch !== currentEpoch) return { currentEpoch, entries: [] };
  const head = await readJsonIfExists(s3, bucket, chainHeadKey(prefix, currentEpoch));
  if (!head) return { currentEpoch, entries: [] };
  if (typeof head.lastSequence !== 'number' || typeof head.watermark !== 'string') {
    throw new Error(`${chainHeadKey(prefix, currentEpoch)}: not a chain HEAD`);
  }
  const last = Math.min(head.lastSequence, fromSequence + maxEntries - 1);
  const epochPrefix = chainEpochPrefix(prefix, currentEpoch);
  const keys: string[] = [];
  for (let hundred = Math.floor(fromSequence / 100); hundred <= Math.floor(last / 100); hundred++) {
    const listPrefix = `${epochPrefix}${String(hundred).padStart(6, '0')}`;
    for (const key of await listAllKeys(s3, bucket, listPrefix)) {
      const match = ENTRY_NAME.exec(key.slice(epochPrefix.length));
      if (!match) continue;
      const sequence = Number(match[1]);
      if (sequence >= fromSequence && sequence <= last) keys.push(key);
    }
  }
  const entries: PlannedEntry[] = [];
  for (const key of keys) {
    const json = await readJsonIfExists(s3, bucket, key);
    if (json) entries.push(plannedEntry(json as Partial<ChainEntry>, key));
  }
  entries.sort((a, b) => a.sequence - b.sequence);
  return {
    currentEpoch,
    head: { lastSequence: head.lastSequence, watermark: head.watermark },
    entries,
  };
}
