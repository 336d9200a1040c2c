/**
 * DynamoDB attribute values in the export files' JSON form ("DynamoDB JSON") and back, and the
 * canonical text used to compare items and identify them by key.
 *
 * In memory an item is the SDK v3 shape (`B`/`BS` as `Uint8Array`); in the files binary values are
 * base64 strings. Numbers stay strings both ways: DynamoDB numbers carry up to 38 significant digits,
 * which a JavaScript number cannot hold.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { parseNumberAttribute } from './numbers';
import type { Item } from './types';

export const ATTRIBUTE_TYPES = ['S', 'N', 'B', 'BOOL', 'NULL', 'M', 'L', 'SS', 'NS', 'BS'] as const;
export type AttributeType = (typeof ATTRIBUTE_TYPES)[number];

export function attributeTypeOf(value: AttributeValue, path: string): AttributeType {
  const present = ATTRIBUTE_TYPES.filter((t) => (value as any)[t] !== undefined);
  if (present.length !== 1) {
    throw new Error(`attribute ${path}: expected exactly one type among ${ATTRIBUTE_TYPES.join(', ')}`);
  }
  return present[0];
}

function bytesToBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function base64ToBytes(text: unknown, path: string): Uint8Array {
  if (typeof text !== 'string' || text.length % 4 !== 0 || !BASE64.test(text)) {
    throw new Error(`attribute ${path}: binary value is not base64`);
  }
  return new Uint8Array(Buffer.from(text, 'base64'));
}

/** One attribute value to its JSON-ready form. */
export function attributeToJson(value: AttributeValue, path = '$'): unknown {
  const tag = attributeTypeOf(value, path);
  const v = (value as any)[tag];
  switch (tag) {
    case 'S':
    case 'N':
    case 'BOOL':
    case 'NULL':
      return { [tag]: v };
    case 'B':
      return { B: bytesToBase64(v) };
    case 'SS':
    case 'NS':
      return { [tag]: [...v] };
    case 'BS':
      return { BS: (v as Uint8Array[]).map(bytesToBase64) };
    case 'L':
      return { L: (v as AttributeValue[]).map((e, i) => attributeToJson(e, `${path}[${i}]`)) };
    case 'M':
      return { M: itemToJson(v, path) };
  }
}

/** A whole item (or key, or map body) to its JSON-ready form. */
export function itemToJson(item: Item, path = '$'): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(item))
    setOwn(out, name, attributeToJson(value, `${path}.${name}`));
  return out;
}

/** Sets an own property even for the name `__proto__`, a legal DynamoDB attribute name. */
function setOwn(target: Record<string, unknown>, name: string, value: unknown): void {
  if (name === '__proto__') {
    Object.defineProperty(target, name, { value, enumerable: true, writable: true, configurable: true });
  } else {
    target[name] = value;
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringArray(v: unknown, path: string, tag: string): string[] {
  if (!Array.isArray(v) || v.some((e) => typeof e !== 'string')) {
    throw new Error(`attribute ${path}: ${tag} must be an array of strings`);
  }
  return v as string[];
}

/** Checks a DynamoDB number string; the message names the attribute and why it is not valid. */
function checkNumber(v: unknown, path: string): string {
  if (typeof v !== 'string') throw new Error(`attribute ${path}: N must be a numeric string`);
  parseNumberAttribute(v, path);
  return v;
}

/** Parses one attribute value from the export JSON; throws naming the attribute path when malformed. */
export function attributeFromJson(json: unknown, path = '$'): AttributeValue {
  if (!isPlainObject(json)) throw new Error(`attribute ${path}: not an object`);
  const keys = Object.keys(json);
  if (keys.length !== 1 || !(ATTRIBUTE_TYPES as readonly string[]).includes(keys[0])) {
    throw new Error(
      `attribute ${path}: expected exactly one type among ${ATTRIBUTE_TYPES.join(', ')}, got ${JSON.stringify(keys)}`,
    );
  }
  const tag = keys[0] as AttributeType;
  const v = json[tag];
  switch (tag) {
    case 'S':
      if (typeof v !== 'string') throw new Error(`attribute ${path}: S must be a string`);
      return { S: v };
    case 'N':
      return { N: checkNumber(v, path) };
    case 'BOOL':
      if (typeof v !== 'boolean') throw new Error(`attribute ${path}: BOOL must be a boolean`);
      return { BOOL: v };
    case 'NULL':
      if (v !== true) throw new Error(`attribute ${path}: NULL must be true`);
      return { NULL: true };
    case 'B':
      return { B: base64ToBytes(v, path) };
    case 'SS':
      return { SS: stringArray(v, path, 'SS') };
    case 'NS': {
      const ns = stringArray(v, path, 'NS');
      return { NS: ns.map((n, i) => checkNumber(n, `${path}[${i}]`)) };
    }
    case 'BS':
      return { BS: stringArray(v, path, 'BS').map((e, i) => base64ToBytes(e, `${path}[${i}]`)) };
    case 'L':
      if (!Array.isArray(v)) throw new Error(`attribute ${path}: L must be an array`);
      return { L: v.map((e, i) => attributeFromJson(e, `${path}[${i}]`)) };
    case 'M':
      return { M: itemFromJson(v, path) };
  }
}

/** Parses an item (or key, or map body) from the export JSON. */
export function itemFromJson(json: unknown, path = '$'): Item {
  if (!isPlainObject(json)) throw new Error(`${path}: not an object`);
  const out: Item = {};
  for (const [name, value] of Object.entries(json))
    setOwn(out, name, attributeFromJson(value, `${path}.${name}`));
  return out;
}

/**
 * Canonical text of an attribute value: map keys and set members sorted, binary as base64, so two
 * values that DynamoDB considers equal give the same text (set order is not significant).
 * Numbers are compared as written; DynamoDB itself returns them normalised.
 */
export function canonicalAttribute(value: AttributeValue): string {
  const tag = attributeTypeOf(value, '$');
  const v = (value as any)[tag];
  switch (tag) {
    case 'S':
    case 'N':
    case 'BOOL':
    case 'NULL':
      return JSON.stringify({ [tag]: v });
    case 'B':
      return JSON.stringify({ B: bytesToBase64(v) });
    case 'SS':
    case 'NS':
      return JSON.stringify({ [tag]: [...v].sort() });
    case 'BS':
      return JSON.stringify({ BS: (v as Uint8Array[]).map(bytesToBase64).sort() });
    case 'L':
      return `{"L":[${(v as AttributeValue[]).map(canonicalAttribute).join(',')}]}`;
    case 'M':
      return `{"M":${canonicalItem(v)}}`;
  }
}

/** Canonical text of an item; see `canonicalAttribute`. */
export function canonicalItem(item: Item): string {
  const names = Object.keys(item).sort();
  return `{${names.map((n) => `${JSON.stringify(n)}:${canonicalAttribute(item[n])}`).join(',')}}`;
}

/** Identity of an item by its key attributes, usable as a Map key. */
export function keyString(item: Item, keyAttributes: readonly string[]): string {
  return keyAttributes
    .map((name) => {
      const value = item[name];
      if (!value) throw new Error(`item has no key attribute ${name}`);
      return canonicalAttribute(value);
    })
    .join('|');
}

/** The key attributes of an item. */
export function keyOf(item: Item, keyAttributes: readonly string[]): Item {
  const out: Item = {};
  for (const name of keyAttributes) {
    const value = item[name];
    if (!value) throw new Error(`item has no key attribute ${name}`);
    out[name] = value;
  }
  return out;
}
