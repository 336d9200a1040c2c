/**
 * How many bytes of memory a record, a write or a list of data files takes once read, estimated from
 * its contents: what the apply engine's memory budget (memoryBudget.ts) counts. Strings count their
 * UTF-8 length, as DynamoDB sizes an item (an item is at most 400 KB that way; V8 holds ASCII and
 * Latin-1 text in one byte a character and other text in two, never more than its UTF-8 length but
 * for text mixing ASCII with characters beyond Latin-1), binary values their bytes, and every object
 * a fixed overhead, so many small attributes or records cost what they hold, not nothing. Pure.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { DataFileEntry, ExportRecord, Item } from '../format';

/**
 * What V8 spends on a small object beyond its contents (header, properties, the slot holding it),
 * rounded up: an attribute value is an object in an object, measured at 80 to 120 bytes.
 */
export const OBJECT_BYTES = 64;

/**
 * A record, or a write, beyond its items: the record or write object, its key string, the request
 * wrappers and the slot holding it.
 */
export const RECORD_BYTES = 4 * OBJECT_BYTES;

function stringBytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

function valueBytes(value: AttributeValue): number {
  if (value.S !== undefined) return OBJECT_BYTES + stringBytes(value.S);
  if (value.N !== undefined) return OBJECT_BYTES + value.N.length;
  if (value.B !== undefined) return OBJECT_BYTES + value.B.byteLength;
  if (value.M !== undefined) return OBJECT_BYTES + itemBytes(value.M as Item);
  if (value.L !== undefined) return value.L.reduce((n, v) => n + valueBytes(v), 2 * OBJECT_BYTES);
  if (value.SS !== undefined)
    return value.SS.reduce((n, s) => n + OBJECT_BYTES + stringBytes(s), 2 * OBJECT_BYTES);
  if (value.NS !== undefined) return value.NS.reduce((n, s) => n + OBJECT_BYTES + s.length, 2 * OBJECT_BYTES);
  if (value.BS !== undefined)
    return value.BS.reduce((n, b) => n + OBJECT_BYTES + b.byteLength, 2 * OBJECT_BYTES);
  return OBJECT_BYTES; // BOOL, NULL
}

/** An item (or a key, or a map's body): its attributes' names and values. */
export function itemBytes(item: Item): number {
  let bytes = OBJECT_BYTES;
  for (const name in item) bytes += name.length + valueBytes(item[name]);
  return bytes;
}

/** A record as read from a data file: every image it holds (a NEW_AND_OLD_IMAGES change holds two). */
export function recordBytes(record: ExportRecord): number {
  if (record.kind === 'item') return RECORD_BYTES + itemBytes(record.item);
  return (
    RECORD_BYTES +
    itemBytes(record.keys) +
    (record.newImage ? itemBytes(record.newImage) : 0) +
    (record.oldImage ? itemBytes(record.oldImage) : 0)
  );
}

/** A write gathered into a group: its key string and the item it puts, or the key it deletes. */
export function writeBytes(op: {
  key: string;
  request: { PutRequest?: { Item?: unknown }; DeleteRequest?: { Key?: unknown } };
}): number {
  const { PutRequest, DeleteRequest } = op.request;
  const item = (PutRequest?.Item ?? DeleteRequest?.Key ?? {}) as Item;
  return RECORD_BYTES + op.key.length + itemBytes(item);
}

/** An entry's list of data files as read from its manifest. */
export function dataFileListBytes(files: readonly DataFileEntry[]): number {
  let bytes = OBJECT_BYTES;
  for (const file of files) {
    bytes += 2 * OBJECT_BYTES + file.dataFileS3Key.length + file.md5Checksum.length + file.etag.length;
  }
  return bytes;
}
