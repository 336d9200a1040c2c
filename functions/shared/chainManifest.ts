/**
 * The chain manifest: what consumers read to follow the chain without talking to DynamoDB.
 *
 * Layout under the table's prefix:
 *   <prefix>/chain/CURRENT.json                      { schemaVersion, epoch } of the live epoch
 *   <prefix>/chain/<epoch>/HEAD.json                 the committed watermark of that epoch
 *   <prefix>/chain/<epoch>/<seq>_<from>_<to>.json    one entry per COMPLETED export, in chain order
 *   <prefix>/chain/run-failures.json                 the workflow's own note, not the chain's
 *                                                    (`runFailureMarker.ts`)
 *
 * `<seq>` is zero-padded so that a plain lexicographic listing is the chain order; sequence 0 is the
 * full export (its from and to are both its export time). Every key and body is a pure function of
 * the export it describes, so writing an entry twice writes the same bytes (idempotent).
 */

export const CHAIN_SCHEMA_VERSION = 1;

export type ChainExportType = 'FULL' | 'INCREMENTAL';

export interface ChainEntry {
  schemaVersion: typeof CHAIN_SCHEMA_VERSION;
  /** Epoch id: the UTC time the epoch began, `YYYYMMDDTHHMMSSZ`. A RESET or PITR gap starts a new one. */
  epoch: string;
  /** 0 for the full export, then 1, 2, ... for incremental exports. */
  sequence: number;
  type: ChainExportType;
  /** Inclusive start of the window (ISO 8601); the export time for the full export. */
  from: string;
  /** Exclusive end of the window (ISO 8601); the export time for the full export. */
  to: string;
  exportArn: string;
  /** Bucket that holds the export. */
  bucket: string;
  /** Key of the export's `manifest-summary.json`. */
  manifestSummaryKey: string;
  itemCount: number;
  billedSizeBytes: number;
  /** When DynamoDB finished the export (its EndTime), ISO 8601. */
  completedAt: string;
  exportFormat: string;
  /** View type of incremental exports; absent for the full export. */
  exportViewType?: string;
  /** Account that owns the bucket, when the export was requested with one (cross-account bucket). */
  bucketOwnerAccountId?: string;
}

export interface ChainHead {
  schemaVersion: typeof CHAIN_SCHEMA_VERSION;
  epoch: string;
  /** Export time of the epoch's full export: the chain starts here. */
  chainStart: string;
  /** End of the contiguous run of completed exports: data up to (not including) this time is exported. */
  watermark: string;
  lastSequence: number;
  lastEntryKey: string;
}

export interface ChainCurrent {
  schemaVersion: typeof CHAIN_SCHEMA_VERSION;
  epoch: string;
}

/** `2026-11-24T23:55:00.000Z` -> `20261124T235500Z`: sortable, and safe in S3 keys. */
export function compactTime(epochSeconds: number): string {
  return new Date(epochSeconds * 1000)
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
}

/** Inverse of `compactTime`. */
export function parseCompactTime(text: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!m) throw new Error(`not a compact UTC time: ${JSON.stringify(text)}`);
  return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) / 1000;
}

/** ISO 8601 time of epoch seconds, as chain objects write it (the one `iso` of `time.ts`). */
export { iso as isoTime } from './time';

function base(prefix: string): string {
  return prefix === '' ? 'chain' : `${prefix}/chain`;
}

export function chainCurrentKey(prefix: string): string {
  return `${base(prefix)}/CURRENT.json`;
}

export function chainEpochPrefix(prefix: string, epoch: string): string {
  return `${base(prefix)}/${epoch}/`;
}

export function chainHeadKey(prefix: string, epoch: string): string {
  return `${chainEpochPrefix(prefix, epoch)}HEAD.json`;
}

/** Key of one entry; from/to in epoch seconds. */
export function chainEntryKey(
  prefix: string,
  epoch: string,
  sequence: number,
  from: number,
  to: number,
): string {
  const seq = String(sequence).padStart(8, '0');
  return `${chainEpochPrefix(prefix, epoch)}${seq}_${compactTime(from)}_${compactTime(to)}.json`;
}

/** Where DynamoDB puts an export's files: `<prefix>/AWSDynamoDB/<exportId>/`. */
export function exportDataPrefix(prefix: string, exportArn: string): string {
  const exportId = exportArn.split('/').pop();
  if (!exportId || !exportArn.includes('/export/')) throw new Error(`not an export ARN: ${exportArn}`);
  return prefix === '' ? `AWSDynamoDB/${exportId}/` : `${prefix}/AWSDynamoDB/${exportId}/`;
}

/** Stable JSON body for any chain object: the same object always gives the same bytes. */
export function chainObjectBody(value: ChainEntry | ChainHead | ChainCurrent): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
