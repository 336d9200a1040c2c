/**
 * DynamoDB attribute values in the export files' JSON form ("DynamoDB JSON") and back, and the
 * canonical text used to compare items and identify them by key.
 *
 * In memory an item is the SDK v3 shape (`B`/`BS` as `Uint8Array`); in the files binary values are
 * base64 strings. Numbers stay strings both ways: DynamoDB numbers carry up to 38 significant digits,
 * which a JavaScript number cannot hold.
 *
 * Not `@aws-sdk/util-dynamodb`: its marshall/unmarshall convert between attribute values and plain
 * JavaScript values, while everything here stays in attribute-value form (what the files hold and
 * BatchWriteItem takes); it would add a round trip that loses exact numbers unless wrapped, and it
 * does not check a value against DynamoDB's number rules or name the path of a bad one.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { canonicalNumber, parseDynamoDbNumber } from './numbers';
import type { Item } from './types';

export const ATTRIBUTE_TYPES = ['S', 'N', 'B', 'BOOL', 'NULL', 'M', 'L', 'SS', 'NS', 'BS'] as const;
export type AttributeType = (typeof ATTRIBUTE_TYPES)[number];

export function attributeTypeOf(value: AttributeValue, path: string): AttributeType {
  const present = ATTRIBUTE_TYPES.filter((t) => value[t] !== undefined);
  if (present.length !== 1) {
    throw new Error(`attribute ${path}: expected exactly one type among ${ATTRIBUTE_TYPES.join(', ')}`);
  }
  return present[0];
}

/** An attribute value as its type tag and the value under that tag, typed together. */
export type TaggedAttribute =
  | { tag: 'S' | 'N'; v: string }
  | { tag: 'B'; v: Uint8Array }
  | { tag: 'BOOL' | 'NULL'; v: boolean }
  | { tag: 'M'; v: Record<string, AttributeValue> }
  | { tag: 'L'; v: AttributeValue[] }
  | { tag: 'SS' | 'NS'; v: string[] }
  | { tag: 'BS'; v: Uint8Array[] };

/** The value's one type tag (see `attributeTypeOf`) and what it holds under it. */
export function taggedAttribute(value: AttributeValue, path: string): TaggedAttribute {
  const tag = attributeTypeOf(value, path);
  // The union pairs each tag with the type DynamoDB gives its value, which indexing by a tag that is
  // only known at run time cannot show the compiler; attributeTypeOf found the tag present.
  return { tag, v: (value as Record<AttributeType, unknown>)[tag] } as TaggedAttribute;
}

function bytesToBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** One attribute value to its JSON-ready form. */
export function attributeToJson(value: AttributeValue, path = '$'): unknown {
  const { tag, v } = taggedAttribute(value, path);
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

/**
 * A malformed value found while parsing; the path is assembled on the way out (each container
 * adds its segment), so parsing a well-formed item builds no path strings: this is the reader's
 * hot path, once per attribute of every record.
 */
class MalformedAttribute extends Error {
  readonly segments: string[] = [];
}

function malformed(detail: string): MalformedAttribute {
  return new MalformedAttribute(detail);
}

/** Runs `parse`, adding `segment` to the path of a malformed value it reports. */
function within<T>(segment: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof MalformedAttribute) err.segments.unshift(segment);
    throw err;
  }
}

function stringArray(v: unknown, tag: string): string[] {
  if (!Array.isArray(v) || v.some((e) => typeof e !== 'string'))
    throw malformed(`${tag} must be an array of strings`);
  return v as string[];
}

function bytesOf(text: unknown): Uint8Array {
  if (typeof text !== 'string' || text.length % 4 !== 0 || !BASE64.test(text)) {
    throw malformed('binary value is not base64');
  }
  return new Uint8Array(Buffer.from(text, 'base64'));
}

/** A DynamoDB number string, checked against DynamoDB's limits. */
function numberOf(v: unknown): string {
  if (typeof v !== 'string') throw malformed('N must be a numeric string');
  try {
    parseDynamoDbNumber(v);
  } catch (err) {
    throw malformed(`not a valid DynamoDB number: ${(err as Error).message}`);
  }
  return v;
}

const TYPE_SET: ReadonlySet<string> = new Set(ATTRIBUTE_TYPES);

function valueFromJson(json: unknown): AttributeValue {
  if (!isPlainObject(json)) throw malformed('not an object');
  // The single type tag, found without allocating the list of keys.
  let tag: string | undefined;
  let count = 0;
  for (const k in json) {
    tag = k;
    count++;
  }
  if (count !== 1 || !TYPE_SET.has(tag!)) {
    throw malformed(
      `expected exactly one type among ${ATTRIBUTE_TYPES.join(', ')}, got ${JSON.stringify(Object.keys(json))}`,
    );
  }
  const v = json[tag!];
  switch (tag as AttributeType) {
    case 'S':
      if (typeof v !== 'string') throw malformed('S must be a string');
      return { S: v };
    case 'N':
      return { N: numberOf(v) };
    case 'BOOL':
      if (typeof v !== 'boolean') throw malformed('BOOL must be a boolean');
      return { BOOL: v };
    case 'NULL':
      if (v !== true) throw malformed('NULL must be true');
      return { NULL: true };
    case 'B':
      return { B: bytesOf(v) };
    case 'SS':
      return { SS: stringArray(v, 'SS') };
    case 'NS':
      return { NS: stringArray(v, 'NS').map((n, i) => within(`[${i}]`, () => numberOf(n))) };
    case 'BS':
      return { BS: stringArray(v, 'BS').map((e, i) => within(`[${i}]`, () => bytesOf(e))) };
    case 'L':
      if (!Array.isArray(v)) throw malformed('L must be an array');
      return { L: v.map((e, i) => within(`[${i}]`, () => valueFromJson(e))) };
    case 'M':
      return { M: mapFromJson(v) };
  }
}

function mapFromJson(json: unknown): Item {
  if (!isPlainObject(json)) throw malformed('not an object');
  const out: Item = {};
  for (const name of Object.keys(json)) {
    const value = json[name];
    let parsed: AttributeValue;
    try {
      parsed = valueFromJson(value);
    } catch (err) {
      if (err instanceof MalformedAttribute) err.segments.unshift(`.${name}`);
      throw err;
    }
    setOwn(out, name, parsed);
  }
  return out;
}

/** Turns a malformed-value report into an error naming the attribute path. */
function withPath<T>(path: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (!(err instanceof MalformedAttribute)) throw err;
    throw new Error(`attribute ${path}${err.segments.join('')}: ${err.message}`, { cause: err });
  }
}

/** Parses one attribute value from the export JSON; throws naming the attribute path when malformed. */
export function attributeFromJson(json: unknown, path = '$'): AttributeValue {
  return withPath(path, () => valueFromJson(json));
}

/** Parses an item (or key, or map body) from the export JSON. */
export function itemFromJson(json: unknown, path = '$'): Item {
  return withPath(path, () => mapFromJson(json));
}

/**
 * Canonical text of an attribute value: map keys and set members sorted, binary as base64, so two
 * values that DynamoDB considers equal give the same text (set order is not significant).
 * Numbers are compared as written; DynamoDB itself returns them normalised.
 */
export function canonicalAttribute(value: AttributeValue): string {
  const { tag, v } = taggedAttribute(value, '$');
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

/**
 * Identity of an item by its key attributes, usable as a Map key. A number key is identified by its
 * value, not its spelling (`canonicalNumber`): DynamoDB holds `10` and `1E+1` as one item, so every
 * comparison and de-duplication of keys must too.
 */
export function keyString(item: Item, keyAttributes: readonly string[]): string {
  return keyAttributes
    .map((name) => {
      const value = item[name];
      if (!value) throw new Error(`item has no key attribute ${name}`);
      if (typeof value.N === 'string') return JSON.stringify({ N: canonicalNumber(value.N) });
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
