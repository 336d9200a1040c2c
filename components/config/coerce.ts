/**
 * Text that `pulumi config set --path` stored as a number: it turns `12345` into a number, so a table
 * named 12345 or an account id arrives as one. Every field the schema reads as text is turned back
 * into text before the schema sees it (a new section's text fields included).
 */
import { z } from 'zod';
import { innermost } from './fields';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * `value` with every number in a text field turned back into text, following `schema`. Records the
 * paths it changed in `coerced` with the number Pulumi stored, so a value that is still invalid is
 * reported with `--type string` as the way out. A number too large to be read exactly cannot be turned
 * back and is left as it is (the schema then rejects it).
 */
export function coerceNumbers(
  value: unknown,
  schema: z.ZodType,
  path: string,
  coerced: Map<string, unknown>,
): unknown {
  const inner = innermost(schema);
  if (inner instanceof z.ZodString) {
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) return value;
    coerced.set(path, value);
    return String(value);
  }
  if (inner instanceof z.ZodObject && isRecord(value)) {
    const shape = inner.shape as Record<string, z.ZodType>;
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [
        k,
        shape[k] ? coerceNumbers(v, shape[k], `${path}.${k}`, coerced) : v,
      ]),
    );
  }
  if (inner instanceof z.ZodRecord && isRecord(value)) {
    const values = inner.valueType as z.ZodType;
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, coerceNumbers(v, values, `${path}.${k}`, coerced)]),
    );
  }
  if (inner instanceof z.ZodArray && Array.isArray(value)) {
    const element = inner.element as z.ZodType;
    return value.map((v, i) => coerceNumbers(v, element, `${path}[${i}]`, coerced));
  }
  return value;
}
