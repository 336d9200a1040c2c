/**
 * Data file lines of the DYNAMODB_JSON output format (reference sheet, section 4):
 *
 *   full export:        {"Item":{...}}
 *   incremental export: {"Metadata":{"WriteTimestampMicros":{"N":"<micros>"}},"Keys":{...},
 *                        "OldImage":{...},"NewImage":{...}}   (OldImage only with NEW_AND_OLD_IMAGES;
 *                                                              no NewImage for a delete)
 *
 * Unknown top-level fields are ignored.
 */
import { itemFromJson, itemToJson } from './attributeValues';
import { ExportFormatError } from './errors';
import type { ChangeLineRecord, ChangeRecord, ExportRecord, ExportViewType, Item } from './types';

/** Decimal digits of a microsecond timestamp. */
const MICROS = /^\d+$/;

/** A write time as the exact decimal string of its microseconds. */
export function microsText(micros: number | bigint): string {
  if (typeof micros === 'bigint') return micros.toString();
  if (!Number.isSafeInteger(micros) || micros < 0)
    throw new Error(`write time ${micros} is not a whole number of microseconds`);
  return String(micros);
}

/** One full-export line for an item. */
export function itemLineJson(item: Item): string {
  return JSON.stringify({ Item: itemToJson(item) });
}

/** One incremental-export line for a change record. */
export function changeLineJson(record: ChangeRecord, viewType: ExportViewType): string {
  const line: Record<string, unknown> = {
    Metadata: { WriteTimestampMicros: { N: microsText(record.writeTimeMicros) } },
    Keys: itemToJson(record.keys),
  };
  if (record.oldImage && viewType !== 'NEW_IMAGE') line.OldImage = itemToJson(record.oldImage);
  if (record.newImage) line.NewImage = itemToJson(record.newImage);
  return JSON.stringify(line);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `Metadata.WriteTimestampMicros` as an exact integer; undefined when absent. */
export function writeTimestampFromJson(metadata: unknown): bigint | undefined {
  if (!isObject(metadata) || metadata.WriteTimestampMicros === undefined) return undefined;
  const value = metadata.WriteTimestampMicros;
  if (!isObject(value) || typeof value.N !== 'string' || !MICROS.test(value.N)) {
    throw new Error('Metadata.WriteTimestampMicros must be {"N": "<whole microseconds>"}');
  }
  return BigInt(value.N);
}

/** Parses one DYNAMODB_JSON data-file line (trimmed, not blank); errors name the file and line. */
export function parseJsonLine(text: string, file: string, line: number): ExportRecord {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ExportFormatError(file, line, `invalid JSON (${(err as Error).message})`);
  }
  if (!isObject(json)) throw new ExportFormatError(file, line, 'not a JSON object');
  try {
    if ('Item' in json) return { kind: 'item', item: itemFromJson(json.Item, '$.Item'), file, line };
    if ('Keys' in json) {
      const record: ChangeLineRecord = {
        kind: 'change',
        keys: itemFromJson(json.Keys, '$.Keys'),
        file,
        line,
      };
      if (json.NewImage !== undefined && json.NewImage !== null) {
        record.newImage = itemFromJson(json.NewImage, '$.NewImage');
      }
      if (json.OldImage !== undefined && json.OldImage !== null) {
        record.oldImage = itemFromJson(json.OldImage, '$.OldImage');
      }
      const micros = writeTimestampFromJson(json.Metadata);
      if (micros !== undefined) record.writeTimestampMicros = micros;
      return record;
    }
  } catch (err) {
    throw new ExportFormatError(file, line, (err as Error).message);
  }
  throw new ExportFormatError(
    file,
    line,
    `unknown record shape with fields ${JSON.stringify(Object.keys(json))}`,
  );
}
