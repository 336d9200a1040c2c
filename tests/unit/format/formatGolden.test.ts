/**
 * Fixed data-file lines for every record shape, in both formats and both view types, written from
 * the facts of the reference sheet (docs/export-format.md gives the sources): the writer must
 * produce exactly these lines and the reader must read them back.
 */
import { expect } from 'chai';
import {
  ExportFormatError,
  changeLine,
  itemLine,
  parseIonLine,
  parseJsonLine,
  type ChangeRecord,
  type ExportRecord,
  type Item,
} from '../../../format';

const MICROS = 1727900000123456;
const KEYS: Item = { pk: { S: 'a' } };
const V1: Item = { pk: { S: 'a' }, v: { N: '1' } };
const V2: Item = { pk: { S: 'a' }, v: { N: '2' } };

const insert: ChangeRecord = { keys: KEYS, newImage: V1, writeTimeMicros: MICROS };
const update: ChangeRecord = { keys: KEYS, oldImage: V1, newImage: V2, writeTimeMicros: MICROS };
const remove: ChangeRecord = { keys: KEYS, oldImage: V2, writeTimeMicros: MICROS };

const META_JSON = `{"Metadata":{"WriteTimestampMicros":{"N":"${MICROS}"}}`;
const META_ION = `$ion_1_0 {Metadata:{WriteTimestampMicros:${MICROS}.}`;

/** [name, record, view, DYNAMODB_JSON line, ION line]. */
const CHANGE_GOLDEN: [string, ChangeRecord, 'NEW_AND_OLD_IMAGES' | 'NEW_IMAGE', string, string][] = [
  [
    'NEW_AND_OLD_IMAGES insert',
    insert,
    'NEW_AND_OLD_IMAGES',
    `${META_JSON},"Keys":{"pk":{"S":"a"}},"NewImage":{"pk":{"S":"a"},"v":{"N":"1"}}}`,
    `${META_ION},Keys:{pk:"a"},NewImage:{pk:"a",v:1.}}`,
  ],
  [
    'NEW_AND_OLD_IMAGES update',
    update,
    'NEW_AND_OLD_IMAGES',
    `${META_JSON},"Keys":{"pk":{"S":"a"}},"OldImage":{"pk":{"S":"a"},"v":{"N":"1"}},"NewImage":{"pk":{"S":"a"},"v":{"N":"2"}}}`,
    `${META_ION},Keys:{pk:"a"},OldImage:{pk:"a",v:1.},NewImage:{pk:"a",v:2.}}`,
  ],
  [
    'NEW_AND_OLD_IMAGES delete',
    remove,
    'NEW_AND_OLD_IMAGES',
    `${META_JSON},"Keys":{"pk":{"S":"a"}},"OldImage":{"pk":{"S":"a"},"v":{"N":"2"}}}`,
    `${META_ION},Keys:{pk:"a"},OldImage:{pk:"a",v:2.}}`,
  ],
  [
    'NEW_IMAGE insert',
    insert,
    'NEW_IMAGE',
    `${META_JSON},"Keys":{"pk":{"S":"a"}},"NewImage":{"pk":{"S":"a"},"v":{"N":"1"}}}`,
    `${META_ION},Keys:{pk:"a"},NewImage:{pk:"a",v:1.}}`,
  ],
  [
    'NEW_IMAGE update',
    update,
    'NEW_IMAGE',
    `${META_JSON},"Keys":{"pk":{"S":"a"}},"NewImage":{"pk":{"S":"a"},"v":{"N":"2"}}}`,
    `${META_ION},Keys:{pk:"a"},NewImage:{pk:"a",v:2.}}`,
  ],
  [
    'NEW_IMAGE delete',
    remove,
    'NEW_IMAGE',
    `${META_JSON},"Keys":{"pk":{"S":"a"}}}`,
    `${META_ION},Keys:{pk:"a"}}`,
  ],
];

/** The full-export example of the reference sheet, in both formats (the ION one is AWS's documented example). */
const FULL_ITEM: Item = { pk: { S: 'user#1' }, n: { N: '3' }, tags: { SS: ['a', 'b'] } };
const FULL_JSON = '{"Item":{"pk":{"S":"user#1"},"n":{"N":"3"},"tags":{"SS":["a","b"]}}}';
const FULL_ION = '$ion_1_0 {Item:{pk:"user#1",n:3.,tags:$dynamodb_SS::["a","b"]}}';

function parse(format: 'DYNAMODB_JSON' | 'ION', text: string): ExportRecord {
  return format === 'ION' ? parseIonLine(text, 'data/x', 7) : parseJsonLine(text, 'data/x', 7);
}

describe('export format: golden lines (format/)', () => {
  it('writes and reads the full-export line of the reference sheet in both formats', () => {
    for (const [format, golden] of [
      ['DYNAMODB_JSON', FULL_JSON],
      ['ION', FULL_ION],
    ] as const) {
      expect(itemLine(FULL_ITEM, format)).to.equal(golden);
      expect(parse(format, golden)).to.deep.equal({ kind: 'item', item: FULL_ITEM, file: 'data/x', line: 7 });
    }
  });

  for (const [name, record, view, json, ion] of CHANGE_GOLDEN) {
    it(`writes and reads the ${name} record in both formats`, () => {
      for (const [format, golden] of [
        ['DYNAMODB_JSON', json],
        ['ION', ion],
      ] as const) {
        expect(changeLine(record, format, view)).to.equal(golden);
        const read = parse(format, golden);
        const expected: ExportRecord = {
          kind: 'change',
          keys: KEYS,
          file: 'data/x',
          line: 7,
          writeTimestampMicros: BigInt(MICROS),
        };
        if (record.newImage) expected.newImage = record.newImage;
        if (record.oldImage && view === 'NEW_AND_OLD_IMAGES') expected.oldImage = record.oldImage;
        expect(read).to.deep.equal(expected);
      }
    });
  }

  it('exposes WriteTimestampMicros exactly, beyond the range of a JavaScript number', () => {
    const line = '{"Metadata":{"WriteTimestampMicros":{"N":"9007199254740993123"}},"Keys":{"pk":{"S":"a"}}}';
    const read = parseJsonLine(line, 'k', 1);
    expect(read.kind === 'change' && read.writeTimestampMicros).to.equal(9007199254740993123n);
    const ion = parseIonLine(
      '$ion_1_0 {Metadata:{WriteTimestampMicros:9007199254740993123},Keys:{pk:"a"}}',
      'k',
      1,
    );
    expect(ion.kind === 'change' && ion.writeTimestampMicros).to.equal(9007199254740993123n);
  });

  it('ignores unknown fields at the top level and in Metadata, in both formats', () => {
    const json = parseJsonLine(
      '{"Metadata":{"WriteTimestampMicros":{"N":"5"},"Other":{"S":"x"}},"Keys":{"pk":{"S":"a"}},"Future":[1]}',
      'k',
      1,
    );
    expect(json).to.deep.equal({ kind: 'change', keys: KEYS, writeTimestampMicros: 5n, file: 'k', line: 1 });
    const ion = parseIonLine(
      '$ion_1_0 {Metadata:{WriteTimestampMicros:5.,Other:"x"},Keys:{pk:"a"},Future:[1]}',
      'k',
      1,
    );
    expect(ion).to.deep.equal(json);
  });

  it('maps every DynamoDB type to Ion as documented: decimal, blob, annotated sets, struct, list, null, bool', () => {
    const item: Item = {
      n: { N: '-0.00123' },
      b: { B: new Uint8Array([1, 2, 3]) },
      ss: { SS: ['x'] },
      ns: { NS: ['1', '2.5'] },
      bs: { BS: [new Uint8Array([255])] },
      m: { M: { k: { BOOL: false } } },
      l: { L: [{ NULL: true }, { S: '' }] },
    };
    const line = itemLine(item, 'ION');
    expect(line).to.equal(
      '$ion_1_0 {Item:{n:-0.00123,b:{{AQID}},ss:$dynamodb_SS::["x"],ns:$dynamodb_NS::[1.,2.5],bs:$dynamodb_BS::[{{/w==}}],m:{k:false},l:[null,""]}}',
    );
    expect(parseIonLine(line, 'k', 1)).to.deep.equal({ kind: 'item', item, file: 'k', line: 1 });
  });

  it('names the key and line of a damaged line, an unknown type and an invalid number, in both formats', () => {
    const cases: [() => unknown, RegExp][] = [
      [() => parseJsonLine('{"Item":{"pk":', 'data/f.json.gz', 3), /^data\/f\.json\.gz line 3: invalid JSON/],
      [
        () => parseJsonLine('{"Item":{"pk":{"X":"a"}}}', 'data/f.json.gz', 4),
        /line 4: attribute \$\.Item\.pk/,
      ],
      [
        () => parseJsonLine(`{"Item":{"n":{"N":"${'9'.repeat(39)}"}}}`, 'data/f.json.gz', 5),
        /line 5: attribute \$\.Item\.n: not a valid DynamoDB number/,
      ],
      [
        () => parseJsonLine('{"Metadata":{"WriteTimestampMicros":12},"Keys":{"pk":{"S":"a"}}}', 'd', 6),
        /^d line 6: Metadata\.WriteTimestampMicros must be/,
      ],
      [
        () => parseIonLine('$ion_1_0 {Item:{pk:"a"', 'data/f.ion.gz', 3),
        /^data\/f\.ion\.gz line 3: invalid Ion record/,
      ],
      [
        () => parseIonLine('$ion_1_0 {Item:{pk:$dynamodb_XS::["a"]}}', 'data/f.ion.gz', 4),
        /line 4: .*unknown attribute type annotation \$dynamodb_XS/,
      ],
      [
        () => parseIonLine('$ion_1_0 {Item:{pk:1.5e0}}', 'data/f.ion.gz', 5),
        /line 5: .*\$\.Item\.pk: expected an Ion decimal, got float/,
      ],
      [
        () => parseIonLine('$ion_1_0 {Item:{n:1d200}}', 'data/f.ion.gz', 6),
        /line 6: .*not a valid DynamoDB number: .*outside DynamoDB's number range/,
      ],
      [() => parseIonLine('$ion_1_0 {Other:1}', 'data/f.ion.gz', 7), /line 7: .*unknown record shape/],
    ];
    for (const [run, pattern] of cases) {
      let caught: unknown;
      try {
        run();
      } catch (err) {
        caught = err;
      }
      expect(caught, String(pattern)).to.be.instanceOf(ExportFormatError);
      expect((caught as Error).message).to.match(pattern);
    }
  });
});
