/**
 * A number key written `10` in one export and `1E+1` in another (or `2.50` and `2.5`) is one item to
 * DynamoDB: every comparison and de-duplication of keys must treat it as one.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { applyEntries, type ApplyEntry } from '../../../apply';
import { canonicalNumber, keyString, type ChangeRecord, type Item } from '../../../format';
import type { TableSource } from '../../../sim/contracts';
import { canonicalTable } from '../../../sim/workload';
import { MemoryS3, writeChain } from '../../helpers/exportChain';
import { REPLAY_BUCKET as BUCKET, REPLAY_PREFIX as PREFIX, useReplayTarget } from '../../helpers/replayChain';

const KEYS = ['pk', 'sk'];
const START = Date.UTC(2026, 10, 3, 1, 0, 0) / 1000;
const WINDOWS: [number, number][] = [
  [START, START + 1800],
  [START + 1800, START + 3600],
];
const item = (pk: string, sk: string, v: string): Item => ({ pk: { S: pk }, sk: { N: sk }, v: { S: v } });

/**
 * A table whose exports spell the same number keys differently: the full export writes `10` and
 * `2.50`, the first window `1E+1` and `2.5`, the second deletes `2.500` and writes `1.0E1` again.
 */
const spelledTable: TableSource = {
  keyAttributes: KEYS,
  snapshotAt: () => [item('a', '10', 'full'), item('b', '2.50', 'full')],
  changesBetween: (from): ChangeRecord[] =>
    from === START
      ? [
          {
            keys: { pk: { S: 'a' }, sk: { N: '1E+1' } },
            newImage: item('a', '1E+1', 'first'),
            writeTimeMicros: 1,
          },
          {
            keys: { pk: { S: 'b' }, sk: { N: '2.5' } },
            newImage: item('b', '2.5', 'first'),
            writeTimeMicros: 2,
          },
        ]
      : [
          { keys: { pk: { S: 'b' }, sk: { N: '2.500' } }, writeTimeMicros: 3 },
          {
            keys: { pk: { S: 'a' }, sk: { N: '1.0E1' } },
            newImage: item('a', '1.0E1', 'second'),
            writeTimeMicros: 4,
          },
        ],
};

describe('number keys are compared by value, not by spelling', () => {
  it('canonicalNumber gives one text for every spelling of a value, and different texts for different values (property)', () => {
    const spellings = (coefficient: bigint, exponent: number, negative: boolean): string[] => {
      const sign = negative ? '-' : '';
      const digits = coefficient.toString();
      const point = digits.length + exponent;
      const plain =
        exponent >= 0
          ? digits + '0'.repeat(exponent)
          : point > 0
            ? `${digits.slice(0, point)}.${digits.slice(point)}`
            : `0.${'0'.repeat(-point)}${digits}`;
      return [
        `${sign}${plain}`,
        `${sign}${digits}E${exponent}`,
        `${sign}${digits}e${exponent >= 0 ? '+' : ''}${exponent}`,
        `${sign}${digits}00E${exponent - 2}`,
        `${sign}${plain}${plain.includes('.') ? '' : '.'}000`,
        `${sign}00${plain}`,
      ];
    };
    const value = fc.record({
      coefficient: fc.bigInt({ min: 1n, max: 10n ** 20n }),
      exponent: fc.integer({ min: -30, max: 30 }),
      negative: fc.boolean(),
    });
    fc.assert(
      fc.property(value, value, (a, b) => {
        const textsA = spellings(a.coefficient, a.exponent, a.negative).map(canonicalNumber);
        expect(new Set(textsA).size, textsA.join(' ')).to.equal(1);
        const textB = canonicalNumber(spellings(b.coefficient, b.exponent, b.negative)[1]);
        const same =
          a.negative === b.negative &&
          BigInt(a.coefficient) * 10n ** BigInt(Math.max(0, a.exponent - b.exponent)) ===
            BigInt(b.coefficient) * 10n ** BigInt(Math.max(0, b.exponent - a.exponent));
        expect(textsA[0] === textB).to.equal(same);
      }),
    );
    expect(canonicalNumber('0')).to.equal(canonicalNumber('-0.000E5'));
  });

  it('keyString identifies 10 and 1E+1, 2.50 and 2.5 as one key; a string key stays as written', () => {
    expect(keyString(item('a', '10', 'x'), KEYS)).to.equal(keyString(item('a', '1E+1', 'y'), KEYS));
    expect(keyString(item('b', '2.50', 'x'), KEYS)).to.equal(keyString(item('b', '2.5', 'y'), KEYS));
    expect(keyString(item('b', '2.5', 'x'), KEYS)).not.to.equal(keyString(item('b', '25', 'x'), KEYS));
    const s = (v: string): Item => ({ pk: { S: v }, sk: { N: '1' } });
    expect(keyString(s('10'), KEYS)).not.to.equal(keyString(s('1E+1'), KEYS));
  });

  describe('into dynalite, with exports that spell one key differently', () => {
    const dynalite = useReplayTarget('number-keys-');
    let s3: MemoryS3;
    let entries: ApplyEntry[];
    before(async () => {
      s3 = new MemoryS3();
      const chain = await writeChain({
        s3,
        bucket: BUCKET,
        prefix: PREFIX,
        table: spelledTable,
        start: START,
        windows: WINDOWS,
      });
      entries = chain.entries.map((e) => e.entry);
    });
    const expected = canonicalTable([item('a', '10', 'second')]);

    it('replay writes every record, one key once per round, and ends with the last write of each item', async () => {
      const table = await dynalite.newTable();
      await dynalite.replayInto(s3, table);
      expect(canonicalTable(await dynalite.scanAll(table))).to.deep.equal(expected);
    });

    it('the grouped apply (latest record per key across entries) writes each item once', async () => {
      const table = await dynalite.newTable();
      const result = await applyEntries(entries, {
        s3,
        dynamodb: dynalite.client,
        targetTable: table,
        keyAttributes: KEYS,
        sleep: async () => undefined,
      });
      expect(result.writes).to.equal(2);
      expect(canonicalTable(await dynalite.scanAll(table))).to.deep.equal(expected);
    });
  });
});
