/**
 * Reads the chain manifest (see functions/shared/chainManifest.ts) the way a consumer does: CURRENT.json,
 * then the epoch's HEAD.json and every entry in key order.
 */
import { z } from 'zod';
import {
  CHAIN_SCHEMA_VERSION,
  chainCurrentKey,
  chainEpochPrefix,
  chainHeadKey,
  type ChainCurrent,
  type ChainEntry,
  type ChainHead,
} from '../functions/shared/chainManifest';
import { S3ObjectMissingError, getText, listAllKeys, type S3Sender } from '../format/s3io';

const isoString = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'not an ISO 8601 time');
const epochString = z.string().regex(/^\d{8}T\d{6}Z$/, 'not an epoch id (YYYYMMDDTHHMMSSZ)');

const CurrentSchema = z.object({ schemaVersion: z.literal(CHAIN_SCHEMA_VERSION), epoch: epochString });

const HeadSchema = z.object({
  schemaVersion: z.literal(CHAIN_SCHEMA_VERSION),
  epoch: epochString,
  chainStart: isoString,
  watermark: isoString,
  lastSequence: z.number().int().min(0),
  lastEntryKey: z.string().min(1),
});

const EntrySchema = z.object({
  schemaVersion: z.literal(CHAIN_SCHEMA_VERSION),
  epoch: epochString,
  sequence: z.number().int().min(0),
  type: z.enum(['FULL', 'INCREMENTAL']),
  from: isoString,
  to: isoString,
  exportArn: z.string().min(1),
  bucket: z.string().min(1),
  manifestSummaryKey: z.string().min(1),
  itemCount: z.number().int().min(0),
  billedSizeBytes: z.number().min(0),
  completedAt: isoString,
  exportFormat: z.string().min(1),
  exportViewType: z.string().optional(),
  /** The bucket's owner when the chain is in another account's bucket (functions/shared/chainManifest.ts). */
  bucketOwnerAccountId: z
    .string()
    .regex(/^\d{12}$/)
    .optional(),
});

/** Entry keys: `<seq 8 digits>_<from>_<to>.json`. */
const ENTRY_NAME = /^(\d{8})_(\d{8}T\d{6}Z)_(\d{8}T\d{6}Z)\.json$/;

/** A chain object that is missing or does not parse; the message names its key. */
export class ChainReadError extends Error {
  constructor(
    readonly key: string,
    detail: string,
  ) {
    super(`${key}: ${detail}`);
    this.name = 'ChainReadError';
  }
}

/** One entry with the key it was read from. */
export interface ChainEntryObject {
  key: string;
  entry: ChainEntry;
}

/** The chain of one epoch as stored. */
export interface ChainSnapshot {
  epoch: string;
  /** CURRENT.json when it was read (absent when an epoch was given explicitly). */
  current?: ChainCurrent;
  /** HEAD.json; undefined when the epoch has no HEAD yet. */
  head?: ChainHead;
  headKey: string;
  /** Valid entries in key order (which is chain order). */
  entries: ChainEntryObject[];
  /** Objects under the epoch that failed to parse or validate. */
  invalid: { key: string; message: string }[];
}

function describeZodError(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}

async function readJson<T>(s3: S3Sender, bucket: string, key: string, schema: z.ZodType<T>): Promise<T> {
  let text: string;
  try {
    text = await getText(s3, bucket, key);
  } catch (err) {
    if (err instanceof S3ObjectMissingError) throw new ChainReadError(key, 'missing');
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ChainReadError(key, `invalid JSON (${(err as Error).message})`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new ChainReadError(key, describeZodError(parsed.error));
  return parsed.data;
}

/** The live epoch named by CURRENT.json. */
export async function readCurrent(s3: S3Sender, bucket: string, prefix: string): Promise<ChainCurrent> {
  return (await readJson(s3, bucket, chainCurrentKey(prefix), CurrentSchema)) as ChainCurrent;
}

/**
 * Reads an epoch's chain and keeps going past bad objects, recording them in `invalid`, so verify
 * can report every problem at once. CURRENT.json must be readable when no epoch is given.
 */
export async function loadChain(
  s3: S3Sender,
  bucket: string,
  prefix: string,
  epoch?: string,
): Promise<ChainSnapshot> {
  let current: ChainCurrent | undefined;
  if (epoch === undefined) {
    current = await readCurrent(s3, bucket, prefix);
    epoch = current.epoch;
  }
  const epochPrefix = chainEpochPrefix(prefix, epoch);
  const headKey = chainHeadKey(prefix, epoch);
  const keys = await listAllKeys(s3, bucket, epochPrefix);
  const invalid: { key: string; message: string }[] = [];
  let head: ChainHead | undefined;
  if (keys.includes(headKey)) {
    try {
      head = (await readJson(s3, bucket, headKey, HeadSchema)) as ChainHead;
      if (head.epoch !== epoch)
        invalid.push({ key: headKey, message: `${headKey}: names epoch ${head.epoch}` });
    } catch (err) {
      if (!(err instanceof ChainReadError)) throw err;
      invalid.push({ key: headKey, message: err.message });
    }
  }
  // Entry objects are fetched a bounded number at a time (one GET each, thousands for a long
  // chain) and then judged in key order, so entries and problems come out as a sequential read's.
  const entryKeys = keys.sort().filter((key) => key !== headKey);
  const reads = new Map<string, Promise<ChainEntry | ChainReadError>>();
  let nextRead = 0;
  const readAhead = () => {
    while (nextRead < entryKeys.length && reads.size < ENTRY_READ_AHEAD) {
      const key = entryKeys[nextRead++];
      if (!ENTRY_NAME.test(key.slice(epochPrefix.length))) continue;
      const read = readJson(s3, bucket, key, EntrySchema).then(
        (entry) => entry as ChainEntry,
        (err: unknown) => {
          if (err instanceof ChainReadError) return err;
          throw err;
        },
      );
      read.catch(() => undefined); // awaited below, in order; not an unhandled rejection meanwhile
      reads.set(key, read);
    }
  };
  const entries: ChainEntryObject[] = [];
  for (const key of entryKeys) {
    readAhead();
    const name = key.slice(epochPrefix.length);
    const m = ENTRY_NAME.exec(name);
    if (!m) {
      invalid.push({ key, message: `${key}: not a chain entry name (<seq>_<from>_<to>.json)` });
      continue;
    }
    const read = await reads.get(key)!;
    reads.delete(key);
    try {
      if (read instanceof ChainReadError) throw read;
      const entry = read;
      const mismatch = entryKeyMismatch(entry, epoch, m);
      if (mismatch) throw new ChainReadError(key, mismatch);
      // The exports of an entry are beside its chain, in the bucket read: in a copy of the chain (S3
      // replication, docs/disaster-recovery.md) the entry still names the primary bucket, which may be
      // out of reach; the keys are the same in both.
      entries.push({ key, entry: entry.bucket === bucket ? entry : { ...entry, bucket } });
    } catch (err) {
      if (!(err instanceof ChainReadError)) throw err;
      invalid.push({ key, message: err.message });
    }
  }
  return { epoch, current, head, headKey, entries, invalid };
}

/** Chain entry objects read at once while loading a chain. */
const ENTRY_READ_AHEAD = 16;

function compact(iso: string): string {
  return new Date(iso)
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
}

/** The key encodes sequence, from and to; an entry whose body disagrees is not trustworthy. */
function entryKeyMismatch(entry: ChainEntry, epoch: string, m: RegExpExecArray): string | undefined {
  if (entry.epoch !== epoch) return `body names epoch ${entry.epoch}, key is under ${epoch}`;
  if (Number(m[1]) !== entry.sequence) return `body has sequence ${entry.sequence}, key says ${Number(m[1])}`;
  if (compact(entry.from) !== m[2] || compact(entry.to) !== m[3]) {
    return `body window ${entry.from}..${entry.to} does not match the key`;
  }
  return undefined;
}

/**
 * Reads CURRENT.json (unless `epoch` is given), the epoch's HEAD.json and every entry in key order.
 * Throws `ChainReadError` naming the key of the first missing or invalid object.
 */
export async function readChain(
  s3: S3Sender,
  bucket: string,
  prefix: string,
  epoch?: string,
): Promise<ChainSnapshot & { head: ChainHead }> {
  const chain = await loadChain(s3, bucket, prefix, epoch);
  if (chain.invalid.length > 0) {
    const first = chain.invalid[0];
    throw new ChainReadError(first.key, first.message.replace(`${first.key}: `, ''));
  }
  if (!chain.head) throw new ChainReadError(chain.headKey, 'missing');
  return chain as ChainSnapshot & { head: ChainHead };
}
