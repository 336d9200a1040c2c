/**
 * Reads what the Iceberg planner needs from the chain manifest (functions/shared/chainManifest.ts): the
 * live epoch, its HEAD, and the entries from a sequence on. Entry keys start with the zero-padded
 * sequence, so only the prefixes of the hundreds needed (`<epoch>/000123`) are listed, however long the
 * chain grows. S3 is read through the format module's helpers (GetObject, ListObjectsV2).
 */
import { S3ObjectMissingError, getText, listAllKeys, type S3Sender } from '../../format';
import { chainCurrentKey, chainEpochPrefix, chainHeadKey, type ChainEntry } from '../shared/chainManifest';
import type { IcebergChainView, IcebergEntry } from './planner';

const ENTRY_NAME = /^(\d{8})_\d{8}T\d{6}Z_\d{8}T\d{6}Z\.json$/;

async function readJson(
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
  const json: unknown = JSON.parse(text);
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new Error(`${key}: not a JSON object`);
  return json as Record<string, unknown>;
}

function entryOf(json: Partial<ChainEntry>, key: string): IcebergEntry {
  const ok =
    typeof json.sequence === 'number' &&
    (json.type === 'FULL' || json.type === 'INCREMENTAL') &&
    typeof json.to === 'string' &&
    typeof json.exportArn === 'string' &&
    typeof json.bucket === 'string' &&
    typeof json.manifestSummaryKey === 'string';
  if (!ok) throw new Error(`${key}: not a chain entry`);
  return {
    sequence: json.sequence!,
    type: json.type!,
    to: json.to!,
    exportArn: json.exportArn!,
    bucket: json.bucket!,
    manifestSummaryKey: json.manifestSummaryKey!,
  };
}

/** The chain from `fromSequence` on (at most `maxEntries` entries) of the live epoch. */
export async function readIcebergChain(
  s3: S3Sender,
  bucket: string,
  prefix: string,
  followedEpoch: string | null,
  fromSequence: number,
  maxEntries: number,
): Promise<IcebergChainView> {
  const current = await readJson(s3, bucket, chainCurrentKey(prefix));
  if (!current || typeof current.epoch !== 'string')
    return { currentEpoch: followedEpoch ?? '', entries: [] };
  const currentEpoch = current.epoch;
  if (followedEpoch !== null && followedEpoch !== currentEpoch) return { currentEpoch, entries: [] };
  const head = await readJson(s3, bucket, chainHeadKey(prefix, currentEpoch));
  if (!head || typeof head.lastSequence !== 'number' || typeof head.watermark !== 'string')
    return { currentEpoch, entries: [] };
  const last = Math.min(head.lastSequence, fromSequence + maxEntries - 1);
  const epochPrefix = chainEpochPrefix(prefix, currentEpoch);
  const entries: IcebergEntry[] = [];
  for (let hundred = Math.floor(fromSequence / 100); hundred <= Math.floor(last / 100); hundred++) {
    for (const key of await listAllKeys(s3, bucket, `${epochPrefix}${String(hundred).padStart(6, '0')}`)) {
      const match = ENTRY_NAME.exec(key.slice(epochPrefix.length));
      const sequence = match ? Number(match[1]) : -1;
      if (sequence < fromSequence || sequence > last) continue;
      const json = await readJson(s3, bucket, key);
      if (json) entries.push(entryOf(json as Partial<ChainEntry>, key));
    }
  }
  entries.sort((a, b) => a.sequence - b.sequence);
  return { currentEpoch, head: { lastSequence: head.lastSequence, watermark: head.watermark }, entries };
}
