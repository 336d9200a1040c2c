/**
 * DynamoDB numbers: checked against DynamoDB's limits and converted exactly between the string form
 * of DynamoDB JSON (`{"N": "..."}`) and a sign, an integer coefficient and a power of ten (the form
 * of an Ion decimal). Numbers never pass through a JavaScript number: DynamoDB keeps up to 38
 * significant digits.
 */

/** A decimal number as sign, coefficient and exponent: `(-1)^negative * coefficient * 10^exponent`. */
export interface DecimalParts {
  negative: boolean;
  coefficient: bigint;
  exponent: number;
}

const NUMBER = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/** DynamoDB's documented limits: 38 significant digits, magnitudes from 1E-130 to below 1E+126. */
const MAX_DIGITS = 38;
const MIN_ADJUSTED_EXPONENT = -130;
const MAX_ADJUSTED_EXPONENT = 125;

/**
 * Parses a DynamoDB number string; throws a message saying why it is not a valid DynamoDB number
 * (not numeric, more than 38 significant digits, or out of DynamoDB's range).
 */
export function parseDynamoDbNumber(text: string): DecimalParts {
  const m = NUMBER.exec(text);
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) throw new Error(`"${text}" is not a number`);
  const fraction = m[3] ?? '';
  const allDigits = `${m[2]}${fraction}`;
  const exponent = Number(m[4] ?? '0') - fraction.length;
  const significant = allDigits.replace(/^0+/, '');
  if (significant === '') return { negative: false, coefficient: 0n, exponent: 0 };
  const trimmed = significant.replace(/0+$/, '');
  if (trimmed.length > MAX_DIGITS) {
    throw new Error(
      `"${text}" has ${trimmed.length} significant digits; DynamoDB keeps at most ${MAX_DIGITS}`,
    );
  }
  const adjusted = exponent + significant.length - 1;
  if (adjusted < MIN_ADJUSTED_EXPONENT || adjusted > MAX_ADJUSTED_EXPONENT) {
    throw new Error(`"${text}" is outside DynamoDB's number range (1E-130 to 9.99...E+125)`);
  }
  const zeros = significant.length - trimmed.length;
  return { negative: m[1] === '-', coefficient: BigInt(trimmed), exponent: exponent + zeros };
}

/** Plain decimal text (no exponent) of a number; `0` for zero. */
export function formatDecimal(parts: DecimalParts): string {
  if (parts.coefficient === 0n) return '0';
  const digits = parts.coefficient.toString();
  let body: string;
  if (parts.exponent >= 0) {
    body = digits + '0'.repeat(parts.exponent);
  } else {
    const point = digits.length + parts.exponent;
    body =
      point > 0 ? `${digits.slice(0, point)}.${digits.slice(point)}` : `0.${'0'.repeat(-point)}${digits}`;
    body = body.replace(/\.?0+$/, '');
  }
  return parts.negative ? `-${body}` : body;
}

/** `parseDynamoDbNumber` with an error naming the attribute path. */
export function parseNumberAttribute(text: string, path: string): DecimalParts {
  try {
    return parseDynamoDbNumber(text);
  } catch (err) {
    throw new Error(`attribute ${path}: not a valid DynamoDB number: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/**
 * One text for every spelling of a DynamoDB number (`10`, `1E+1`, `10.0`; `2.50`, `2.5`), as DynamoDB
 * compares them: keys that differ only in how their numbers are written are one key to DynamoDB, and
 * BatchWriteItem refuses a batch that holds both. Text that is not a valid number is returned as it is
 * (DynamoDB rejects the write that carries it).
 */
export function canonicalNumber(text: string): string {
  let parts: DecimalParts;
  try {
    parts = parseDynamoDbNumber(text);
  } catch {
    return text;
  }
  if (parts.coefficient === 0n) return '0';
  return `${parts.negative ? '-' : ''}${parts.coefficient}E${parts.exponent}`;
}
