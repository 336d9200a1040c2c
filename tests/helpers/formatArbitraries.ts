/**
 * fast-check arbitraries for DynamoDB attribute values and items: every attribute type, nested maps
 * and lists, binary, sets, numbers with up to 38 significant digits across DynamoDB's whole range,
 * empty strings and unicode names.
 */
import fc from 'fast-check';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { formatDecimal, type Item } from '../../format';

/** A valid DynamoDB number in its plain normalised form (as DynamoDB returns it), e.g. `-0.00123`. */
export const dynamoNumber: fc.Arbitrary<string> = fc
  .tuple(fc.boolean(), fc.stringMatching(/^[1-9](\d{0,36}[1-9])?$/), fc.integer({ min: -130, max: 125 }))
  .map(([negative, digits, adjusted]) =>
    formatDecimal({ negative, coefficient: BigInt(digits), exponent: adjusted - (digits.length - 1) }),
  );

/** The same numbers written in any form DynamoDB accepts: exponent, sign, leading and trailing zeros. */
export const dynamoNumberAnyForm: fc.Arbitrary<string> = fc.oneof(
  dynamoNumber,
  fc
    .tuple(
      fc.boolean(),
      fc.stringMatching(/^[1-9]\d{0,20}$/),
      fc.integer({ min: -100, max: 100 }),
      fc.constantFrom('e', 'E'),
    )
    .map(
      ([neg, digits, exp, e]) =>
        `${neg ? '-' : ''}${digits[0]}.${digits.slice(1) || '0'}${e}${exp >= 0 ? '+' : ''}${exp}`,
    ),
  fc.integer({ min: 0, max: 1000 }).map((n) => `00${n}.500`),
);

/** Attribute names: unicode, punctuation, names that mean something to Ion or JavaScript. */
export const attributeName: fc.Arbitrary<string> = fc.oneof(
  fc.string({ minLength: 1, maxLength: 8, unit: 'grapheme' }),
  fc.constantFrom('__proto__', '$10', "it's", 'a b', 'Item', 'Keys', '日本語', '{}', 'null'),
);

/** Any attribute value, nested up to a small depth. `numbers` chooses the number texts used. */
export function attributeValue(numbers: fc.Arbitrary<string> = dynamoNumber): fc.Arbitrary<AttributeValue> {
  return fc.letrec<{ value: AttributeValue }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.string({ unit: 'grapheme' }).map((S) => ({ S })),
      numbers.map((N) => ({ N })),
      fc.uint8Array({ maxLength: 20 }).map((B) => ({ B })),
      fc.boolean().map((BOOL) => ({ BOOL })),
      fc.constant({ NULL: true as const }),
      fc.uniqueArray(fc.string({ unit: 'grapheme' }), { minLength: 1, maxLength: 4 }).map((SS) => ({ SS })),
      fc.uniqueArray(numbers, { minLength: 1, maxLength: 4 }).map((NS) => ({ NS })),
      fc
        .array(fc.uint8Array({ minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 3 })
        .map((BS) => ({ BS })),
      fc.array(tie('value'), { maxLength: 4 }).map((L) => ({ L })),
      fc.dictionary(attributeName, tie('value'), { maxKeys: 4 }).map((M) => ({ M })),
    ),
  })).value;
}

/** An item with a string partition key `pk` and up to five other attributes. */
export function itemArbitrary(numbers?: fc.Arbitrary<string>): fc.Arbitrary<Item> {
  return fc
    .tuple(
      fc.string({ unit: 'grapheme' }),
      fc.dictionary(attributeName, attributeValue(numbers), { maxKeys: 5 }),
    )
    .map(([pk, body]) => {
      const item: Item = {};
      for (const [k, v] of Object.entries(body)) {
        if (k === '__proto__')
          Object.defineProperty(item, k, { value: v, enumerable: true, writable: true, configurable: true });
        else item[k] = v;
      }
      item.pk = { S: `k${pk}` };
      return item;
    });
}
