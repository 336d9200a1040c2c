/**
 * The exact text of numbers: what an ION export's decimals read as (the text DynamoDB gives for the
 * same number in DynamoDB JSON: plain digits, no exponent, no trailing zeros after the point, a
 * leading `0` before it, no `-0`), and what the number module parses, prints and compares by. Every
 * expected text is written out by hand.
 */
import { expect } from 'chai';
import { parseIonLine, type Item } from '../../../format';
import {
  canonicalNumber,
  formatDecimal,
  parseDynamoDbNumber,
  parseNumberAttribute,
} from '../../../format/numbers';

/** The `n` attribute of an ION item line whose `n` is the Ion value `ion`, as the reader gives it. */
function readIon(ion: string): Item['n'] {
  const record = parseIonLine(`$ion_1_0 {Item:{pk:"a",n:${ion}}}`, 'data/x.ion', 1);
  if (record.kind !== 'item') throw new Error('expected an item');
  return record.item.n;
}

const ZEROS_125 = '0'.repeat(125);
const DIGITS_38 = '12345678901234567890123456789012345678';

/** Ion value -> DynamoDB's text of that number. */
const ION_NUMBERS: [string, string][] = [
  ['0.5', '0.5'],
  ['5d-1', '0.5'],
  ['-0.5', '-0.5'],
  ['0.05', '0.05'],
  ['-0.00123', '-0.00123'],
  ['1.23d-5', '0.0000123'],
  ['1.', '1'],
  ['1.0', '1'],
  ['1.50', '1.5'],
  ['-2.500', '-2.5'],
  ['10.', '10'],
  ['100.00', '100'],
  ['1d2', '100'],
  ['1.5d1', '15'],
  ['123.456d3', '123456'],
  ['123.456d1', '1234.56'],
  ['-7d0', '-7'],
  ['0.', '0'],
  ['0d5', '0'],
  ['-0.', '0'],
  ['-0.000', '0'],
  ['42', '42'],
  ['-42', '-42'],
  ['0', '0'],
  [`${DIGITS_38}.`, DIGITS_38],
  [`-${DIGITS_38}.`, `-${DIGITS_38}`],
  [`0.${DIGITS_38}`, `0.${DIGITS_38}`],
  [`1.${DIGITS_38.slice(1)}`, `1.${DIGITS_38.slice(1)}`],
  ['9007199254740993.', '9007199254740993'],
  ['1d125', `1${ZEROS_125}`],
  ['9.9d125', `99${ZEROS_125.slice(1)}`],
  ['1d-130', `0.${'0'.repeat(129)}1`],
  ['-1.5d-129', `-0.${'0'.repeat(128)}15`],
];

describe('number text', () => {
  it('an ION decimal or integer reads as the exact text DynamoDB gives for that number', () => {
    const wrong = ION_NUMBERS.map(([ion, text]) => [ion, readIon(ion)?.N, text]).filter(
      ([, got, text]) => got !== text,
    );
    expect(wrong).to.deep.equal([]);
  });

  it('an ION number beyond what DynamoDB keeps is refused, naming the attribute', () => {
    for (const ion of [`${DIGITS_38}9.`, '1d126', '1d-131', '-1d126'])
      expect(() => readIon(ion), ion).to.throw(/\$\.Item\.n/);
    expect(() => readIon('1e0'), 'a float').to.throw(/expected an Ion decimal, got float/);
  });

  it('prints plain decimal text from sign, coefficient and exponent', () => {
    const cases: [boolean, bigint, number, string][] = [
      [false, 5n, -1, '0.5'],
      [true, 5n, -1, '-0.5'],
      [false, 5n, -3, '0.005'],
      [false, 15n, -1, '1.5'],
      [false, 1500n, -3, '1.5'],
      [false, 1500n, -2, '15'],
      [false, 1500n, 0, '1500'],
      [false, 15n, 2, '1500'],
      [true, 1n, 0, '-1'],
      [false, 0n, 7, '0'],
      [true, 0n, -3, '0'],
      [false, 123n, -3, '0.123'],
      [false, 1230n, -4, '0.123'],
      [false, 10n, -1, '1'],
    ];
    for (const [negative, coefficient, exponent, text] of cases)
      expect(formatDecimal({ negative, coefficient, exponent }), `${coefficient}E${exponent}`).to.equal(text);
  });

  it('parses every spelling into sign, the shortest coefficient and its exponent', () => {
    const cases: [string, boolean, bigint, number][] = [
      ['0.5', false, 5n, -1],
      ['.5', false, 5n, -1],
      ['5.', false, 5n, 0],
      ['-0.50', true, 5n, -1],
      ['+2.5E3', false, 25n, 2],
      ['2.5e-3', false, 25n, -4],
      ['1500', false, 15n, 2],
      ['001500.00', false, 15n, 2],
      ['-0', false, 0n, 0],
      ['0.000', false, 0n, 0],
      ['0E99', false, 0n, 0],
      [DIGITS_38, false, BigInt(DIGITS_38), 0],
      [`${DIGITS_38}000`, false, BigInt(DIGITS_38), 3],
      ['1E125', false, 1n, 125],
      ['9.99E125', false, 999n, 123],
      ['1E-130', false, 1n, -130],
    ];
    for (const [text, negative, coefficient, exponent] of cases)
      expect(parseDynamoDbNumber(text), text).to.deep.equal({ negative, coefficient, exponent });
  });

  it('refuses what is not a DynamoDB number, saying why', () => {
    for (const text of ['', '.', '-', 'e5', '1e', '1.2.3', 'abc', '1 ', ' 1', '0x10', 'Infinity', 'NaN'])
      expect(() => parseDynamoDbNumber(text), JSON.stringify(text)).to.throw(`"${text}" is not a number`);
    expect(() => parseDynamoDbNumber(`${DIGITS_38}9`)).to.throw(
      `"${DIGITS_38}9" has 39 significant digits; DynamoDB keeps at most 38`,
    );
    // Trailing zeros are not significant; leading zeros neither.
    expect(parseDynamoDbNumber(`0.000${DIGITS_38}0000`).coefficient).to.equal(BigInt(DIGITS_38));
    for (const text of ['1E126', '10E125', '1E-131', '0.1E-130'])
      expect(() => parseDynamoDbNumber(text), text).to.throw(
        `"${text}" is outside DynamoDB's number range (1E-130 to 9.99...E+125)`,
      );
    expect(() => parseNumberAttribute('x', '$.Item.n')).to.throw(
      'attribute $.Item.n: not a valid DynamoDB number: "x" is not a number',
    );
    expect(parseNumberAttribute('1.0', '$.Item.n')).to.deep.equal({
      negative: false,
      coefficient: 1n,
      exponent: 0,
    });
  });

  it('an attribute that is not a number keeps the parse error as its cause', () => {
    let thrown: unknown;
    try {
      parseNumberAttribute('1.2.3', '$.Item.n');
    } catch (err) {
      thrown = err;
    }
    expect(thrown).to.be.instanceOf(Error);
    const cause = (thrown as Error).cause;
    expect(cause).to.be.instanceOf(Error);
    expect((cause as Error).message).to.equal('"1.2.3" is not a number');
  });

  it('compares by one exact text per value; text that is not a number is kept as it is', () => {
    const cases: [string, string][] = [
      ['10', '1E1'],
      ['1E+1', '1E1'],
      ['10.00', '1E1'],
      ['0.5', '5E-1'],
      ['-0.50', '-5E-1'],
      ['0', '0'],
      ['-0.0', '0'],
      ['0E10', '0'],
      ['123.456', '123456E-3'],
      ['x', 'x'],
      ['1E999', '1E999'],
    ];
    for (const [text, canonical] of cases) expect(canonicalNumber(text), text).to.equal(canonical);
  });
});
