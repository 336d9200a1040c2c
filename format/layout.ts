/**
 * Where DynamoDB puts the files of an export (the reference sheet, section 4, "S3 layout"):
 *
 *   <prefix>/AWSDynamoDB/<ExportId>/_started, manifest-summary.json, manifest-files.json and their
 *                                   checksum files, for every export
 *   <prefix>/AWSDynamoDB/<ExportId>/data/   data files of a full export
 *   <prefix>/AWSDynamoDB/data/              data files of every incremental export (one shared folder)
 *
 * Readers never derive data file keys from this layout: they take them from manifest-files.json.
 */
import { createHash } from 'node:crypto';
import type { ExportFormatName, ExportSpec } from './types';

function root(prefix: string): string {
  return prefix === '' ? 'AWSDynamoDB/' : `${prefix}/AWSDynamoDB/`;
}

/** `<prefix>/AWSDynamoDB/<exportId>/`: manifests, checksums and `_started` of one export. */
export function exportFolder(prefix: string, exportId: string): string {
  return `${root(prefix)}${exportId}/`;
}

/** Key of an export's `manifest-summary.json`. */
export function manifestSummaryKey(prefix: string, exportId: string): string {
  return `${exportFolder(prefix, exportId)}manifest-summary.json`;
}

/** The folder of an export's data files: its own for a full export, the shared one for an incremental one. */
export function dataFolder(prefix: string, exportId: string, type: ExportSpec['type']): string {
  return type === 'INCREMENTAL_EXPORT' ? `${root(prefix)}data/` : `${exportFolder(prefix, exportId)}data/`;
}

/** Data file suffix per output format. */
export function dataFileSuffix(format: ExportFormatName): string {
  return format === 'ION' ? '.ion.gz' : '.json.gz';
}

/**
 * Data file names look random on AWS; here they derive from the export id and index, so a rerun
 * writes the same keys and two incremental exports never collide in the shared data folder.
 */
export function dataFileName(exportId: string, index: number): string {
  const digest = createHash('sha256').update(`${exportId}:${index}`).digest();
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  let name = '';
  for (let i = 0; i < 26; i++) name += alphabet[digest[i] % 32];
  return name;
}

/** The export folder of a summary key (`.../AWSDynamoDB/<id>/`). */
export function folderOfSummaryKey(summaryKey: string): string {
  return summaryKey.slice(0, summaryKey.lastIndexOf('/') + 1);
}
