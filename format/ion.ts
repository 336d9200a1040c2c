/**
 * Data file lines of the ION output format, read and written with ion-js (Amazon's Ion library).
 *
 * From AWS's documented example [C DG-OUT]: text Ion, one item per line, each line starting with the
 * version marker: `$ion_1_0 {Item:{pk:"user#1",n:3.,tags:$dynamodb_SS::["a","b"]}}`; N is an Ion
 * decimal, B a blob, SS/NS/BS lists annotated `$dynamodb_SS`/`$dynamodb_NS`/`$dynamodb_BS`, M a
 * struct. Inferred, not yet seen in AWS output [U]: L as an Ion list, NULL as Ion `null`, BOOL as an
 * Ion bool, and incremental exports using the JSON record shape
 * `{Metadata:{WriteTimestampMicros:<decimal>},Keys:{...},OldImage:{...},NewImage:{...}}`.
 * The reader is lenient where the guess could be off: integers are read as numbers as well as
 * decimals, any typed null is NULL, and WriteTimestampMicros may be an integer, a decimal or a
 * DynamoDB-JSON style `{N:"..."}` struct.
 */
import {
  Decimal,
  IonTypes,
  makeReader,
  makeTextWriter,
  type IonType,
  type Reader,
  type Writer,
} from 'ion-js';
import { taggedAttribute } from './attributeValues';
import { ExportFormatError } from './errors';
import { formatDecimal, parseNumberAttribute } from './numbers';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { ChangeLineRecord, ChangeRecord, ExportRecord, ExportViewType, Item } from './types';
import { microsText } from './dynamodbJson';

const VERSION_MARKER = '$ion_1_0';
const SET_ANNOTATION = { SS: '$dynamodb_SS', NS: '$dynamodb_NS', BS: '$dynamodb_BS' } as const;

function decimalOf(text: string, path: string): Decimal {
  const parts = parseNumberAttribute(text, path);
  return new Decimal(parts.coefficient, parts.exponent, parts.negative);
}

function writeAttribute(w: Writer, value: AttributeValue, path: string): void {
  const { tag, v } = taggedAttribute(value, path);
  switch (tag) {
    case 'S':
      return w.writeString(v);
    case 'N':
      return w.writeDecimal(decimalOf(v, path));
    case 'B':
      return w.writeBlob(v);
    case 'BOOL':
      return w.writeBoolean(v);
    case 'NULL':
      return w.writeNull(IonTypes.NULL);
    case 'SS':
    case 'NS':
    case 'BS': {
      w.setAnnotations([SET_ANNOTATION[tag]]);
      w.stepIn(IonTypes.LIST);
      if (tag === 'BS') v.forEach((e) => w.writeBlob(e));
      else if (tag === 'SS') v.forEach((e) => w.writeString(e));
      else v.forEach((e, i) => w.writeDecimal(decimalOf(e, `${path}[${i}]`)));
      return w.stepOut();
    }
    case 'L':
      w.stepIn(IonTypes.LIST);
      (v as AttributeValue[]).forEach((e, i) => writeAttribute(w, e, `${path}[${i}]`));
      return w.stepOut();
    case 'M':
      return writeItem(w, v, path);
  }
}

function writeItem(w: Writer, item: Item, path: string): void {
  w.stepIn(IonTypes.STRUCT);
  for (const [name, value] of Object.entries(item)) {
    w.writeFieldName(name);
    writeAttribute(w, value, `${path}.${name}`);
  }
  w.stepOut();
}

function line(write: (w: Writer) => void): string {
  const w = makeTextWriter();
  write(w);
  w.close();
  return `${VERSION_MARKER} ${Buffer.from(w.getBytes()).toString('utf8')}`;
}

/** One full-export Ion line: `$ion_1_0 {Item:{...}}`. */
export function itemLineIon(item: Item): string {
  return line((w) => {
    w.stepIn(IonTypes.STRUCT);
    w.writeFieldName('Item');
    writeItem(w, item, '$.Item');
    w.stepOut();
  });
}

/** One incremental-export Ion line, the JSON record shape with Ion values (see the module comment). */
export function changeLineIon(record: ChangeRecord, viewType: ExportViewType): string {
  return line((w) => {
    w.stepIn(IonTypes.STRUCT);
    w.writeFieldName('Metadata');
    w.stepIn(IonTypes.STRUCT);
    w.writeFieldName('WriteTimestampMicros');
    w.writeDecimal(new Decimal(BigInt(microsText(record.writeTimeMicros)), 0));
    w.stepOut();
    w.writeFieldName('Keys');
    writeItem(w, record.keys, '$.Keys');
    if (record.oldImage && viewType !== 'NEW_IMAGE') {
      w.writeFieldName('OldImage');
      writeItem(w, record.oldImage, '$.OldImage');
    }
    if (record.newImage) {
      w.writeFieldName('NewImage');
      writeItem(w, record.newImage, '$.NewImage');
    }
    w.stepOut();
  });
}

// ---- reading --------------------------------------------------------------------------------------

function numberText(r: Reader, type: IonType, path: string): string {
  let text: string;
  if (type === IonTypes.DECIMAL) {
    const d = r.decimalValue()!;
    const coefficient = d.getCoefficient();
    text = formatDecimal({
      negative: d.isNegative(),
      coefficient: coefficient < 0n ? -coefficient : coefficient,
      exponent: d.getExponent(),
    });
  } else if (type === IonTypes.INT) {
    text = r.bigIntValue()!.toString();
  } else {
    throw new Error(`attribute ${path}: expected an Ion decimal, got ${type.name}`);
  }
  parseNumberAttribute(text, path);
  return text;
}

function blobValue(r: Reader, type: IonType, path: string): Uint8Array {
  if (type !== IonTypes.BLOB) throw new Error(`attribute ${path}: expected an Ion blob, got ${type.name}`);
  return new Uint8Array(r.uInt8ArrayValue()!);
}

function readList<T>(r: Reader, path: string, read: (type: IonType, path: string) => T): T[] {
  const out: T[] = [];
  r.stepIn();
  for (let type = r.next(), i = 0; type !== null; type = r.next(), i++) out.push(read(type, `${path}[${i}]`));
  r.stepOut();
  return out;
}

/** The attribute value at the reader's current position. */
function readAttribute(r: Reader, type: IonType, path: string): AttributeValue {
  const annotations = r.annotations();
  if (r.isNull()) {
    if (annotations.length > 0) throw new Error(`attribute ${path}: annotated null`);
    return { NULL: true };
  }
  if (annotations.length > 0) {
    if (type !== IonTypes.LIST || annotations.length !== 1) {
      throw new Error(`attribute ${path}: unknown attribute type ${annotations.join('::')}::${type.name}`);
    }
    switch (annotations[0]) {
      case SET_ANNOTATION.SS:
        return {
          SS: readList(r, path, (t, p) => {
            if (t !== IonTypes.STRING) throw new Error(`attribute ${p}: SS member must be a string`);
            return r.stringValue()!;
          }),
        };
      case SET_ANNOTATION.NS:
        return { NS: readList(r, path, (t, p) => numberText(r, t, p)) };
      case SET_ANNOTATION.BS:
        return { BS: readList(r, path, (t, p) => blobValue(r, t, p)) };
      default:
        throw new Error(`attribute ${path}: unknown attribute type annotation ${annotations[0]}`);
    }
  }
  switch (type) {
    case IonTypes.STRING:
      return { S: r.stringValue()! };
    case IonTypes.DECIMAL:
    case IonTypes.INT:
    case IonTypes.FLOAT: // refused by numberText: a binary float cannot carry DynamoDB's digits
      return { N: numberText(r, type, path) };
    case IonTypes.BLOB:
      return { B: blobValue(r, type, path) };
    case IonTypes.BOOL:
      return { BOOL: r.booleanValue()! };
    case IonTypes.LIST:
      return { L: readList(r, path, (t, p) => readAttribute(r, t, p)) };
    case IonTypes.STRUCT:
      return { M: readStructItem(r, path) };
    default:
      throw new Error(`attribute ${path}: unknown attribute type (Ion ${type.name})`);
  }
}

/** An item from the struct at the reader's current position (stepping in and out). */
function readStructItem(r: Reader, path: string): Item {
  const out: Item = {};
  r.stepIn();
  for (let type = r.next(); type !== null; type = r.next()) {
    const name = r.fieldName()!;
    const value = readAttribute(r, type, `${path}.${name}`);
    if (name === '__proto__') {
      Object.defineProperty(out, name, { value, enumerable: true, writable: true, configurable: true });
    } else {
      out[name] = value;
    }
  }
  r.stepOut();
  return out;
}

function expectStruct(r: Reader, type: IonType, path: string): void {
  if (type !== IonTypes.STRUCT || r.isNull()) throw new Error(`${path}: not an Ion struct`);
}

function writeTimestampFromIon(r: Reader, type: IonType): bigint {
  const path = '$.Metadata.WriteTimestampMicros';
  let text: string;
  if (type === IonTypes.STRUCT) {
    // Tolerated in case AWS keeps the DynamoDB-JSON shape {N:"..."} inside Ion [U].
    const nested = readStructItem(r, path);
    if (!nested.N || typeof nested.N.S !== 'string') throw new Error(`${path}: expected a number`);
    text = nested.N.S;
  } else {
    text = numberText(r, type, path);
  }
  if (!/^\d+$/.test(text)) throw new Error(`${path}: ${text} is not a whole number of microseconds`);
  return BigInt(text);
}

/** Parses one Ion data-file line (trimmed, not blank); errors name the file and line. */
export function parseIonLine(text: string, file: string, line: number): ExportRecord {
  try {
    const r = makeReader(text);
    const top = r.next();
    if (top === null) throw new Error('no Ion value on the line');
    expectStruct(r, top, '$');
    const fields: { item?: Item; keys?: Item; newImage?: Item; oldImage?: Item; micros?: bigint } = {};
    r.stepIn();
    for (let type = r.next(); type !== null; type = r.next()) {
      const name = r.fieldName();
      if (name === 'Item' || name === 'Keys' || name === 'NewImage' || name === 'OldImage') {
        if (r.isNull()) continue;
        expectStruct(r, type, `$.${name}`);
        const item = readStructItem(r, `$.${name}`);
        if (name === 'Item') fields.item = item;
        else if (name === 'Keys') fields.keys = item;
        else if (name === 'NewImage') fields.newImage = item;
        else fields.oldImage = item;
      } else if (name === 'Metadata' && type === IonTypes.STRUCT && !r.isNull()) {
        r.stepIn();
        for (let t = r.next(); t !== null; t = r.next()) {
          if (r.fieldName() === 'WriteTimestampMicros') fields.micros = writeTimestampFromIon(r, t);
        }
        r.stepOut();
      } // other fields: ignored
    }
    r.stepOut();
    if (r.next() !== null) throw new Error('more than one Ion value on the line');
    if (fields.item) return { kind: 'item', item: fields.item, file, line };
    if (fields.keys) {
      const record: ChangeLineRecord = { kind: 'change', keys: fields.keys, file, line };
      if (fields.newImage) record.newImage = fields.newImage;
      if (fields.oldImage) record.oldImage = fields.oldImage;
      if (fields.micros !== undefined) record.writeTimestampMicros = fields.micros;
      return record;
    }
    throw new Error('unknown record shape: neither Item nor Keys');
  } catch (err) {
    if (err instanceof ExportFormatError) throw err;
    throw new ExportFormatError(file, line, `invalid Ion record: ${(err as Error).message}`);
  }
}
