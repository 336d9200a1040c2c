/**
 * Building blocks of the config schema, and how the rest of the config reads the schema back.
 *
 * Every field says what it accepts, in words, with `.describe()`: error messages quote that text
 * (`allowedAt`), so the rule and its wording are written once, next to each other. Defaults are
 * `.default()` on the field; `asWritten` gives the schema of a value as the user wrote it (no default
 * applied yet), which is what `defaults` and a table entry are checked against before they are merged.
 */
import { z } from 'zod';

/** `['a']` -> "a", `['a', 'b']` -> "a or b", `['a', 'b', 'c']` -> "a, b or c". */
export function words(values: readonly string[]): string {
  if (values.length <= 1) return values.join('');
  return `${values.slice(0, -1).join(', ')} or ${values[values.length - 1]}`;
}

/** An integer from `min` to `max`; `description` replaces the words when a bound depends on another field. */
export function int(min: number, max: number, description = `an integer from ${min} to ${max}`) {
  return z.number().int().min(min).max(max).describe(description);
}

/** One of `values`, each optionally explained in the error message ("write (into an existing ...)"). */
export function oneOf<const T extends readonly [string, ...string[]]>(
  values: T,
  explain: Partial<Record<T[number], string>> = {},
) {
  const explained = values.map((v) => {
    const why = (explain as Record<string, string | undefined>)[v];
    return why ? `${v} (${why})` : v;
  });
  return z.enum(values).describe(words(explained));
}

export const flag = () => z.boolean().describe('true or false');

const TABLE_NAME_WORDS = 'a DynamoDB table name: 3-255 characters a-z, A-Z, 0-9, "_", "-", "."';

/** A DynamoDB table name. */
export const tableName = () =>
  z
    .string()
    .min(3)
    .max(255)
    .regex(/^[a-zA-Z0-9_.-]+$/)
    .describe(TABLE_NAME_WORDS);

/** An alias: used in resource names, so lower-case, digits and '-' only. */
export const ALIAS_PATTERN = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;
export const ALIAS_WORDS = 'lower-case letters, digits and "-", starting and ending with a letter or digit';

/** A list of addresses, each once: a repeated address would be subscribed twice. */
export const emailList = () =>
  z
    .array(z.email())
    .superRefine((list, ctx) => {
      const seen = new Set<string>();
      list.forEach((address, index) => {
        const key = address.toLowerCase();
        if (seen.has(key))
          ctx.addIssue({
            code: 'custom',
            path: [index],
            input: address,
            message: `lists ${address} a second time`,
          });
        seen.add(key);
      });
    })
    .describe('a list of email addresses');

// ---- reading the schema back ----------------------------------------------------------------------

type Schema = z.ZodType;

/** The schema inside the wrappers that do not change what a value is (default, optional, transform). */
function unwrapOnce(schema: Schema): Schema | undefined {
  if (schema instanceof z.ZodDefault || schema instanceof z.ZodPrefault || schema instanceof z.ZodOptional)
    return schema.unwrap() as Schema;
  if (schema instanceof z.ZodPipe) return schema.in as Schema;
  return undefined;
}

/** The schema inside every wrapper: what a value of `schema` is. */
export function innermost(schema: Schema): Schema {
  let at = schema;
  for (let next = unwrapOnce(at); next; next = unwrapOnce(at)) at = next;
  return at;
}

/** Each schema met on the way from `root` to the value at `path`, wrappers included. */
function schemasAlong(root: Schema, path: readonly PropertyKey[]): Schema[] {
  const along: Schema[] = [];
  let at: Schema | undefined = root;
  const descend = () => {
    for (let s = at; s; s = unwrapOnce(s)) {
      along.push(s);
      at = s;
    }
  };
  descend();
  for (const key of path) {
    if (at instanceof z.ZodObject && typeof key === 'string') at = at.shape[key] as Schema | undefined;
    else if (at instanceof z.ZodArray) at = at.element as Schema;
    else if (at instanceof z.ZodRecord) at = at.valueType as Schema;
    else at = undefined;
    if (!at) break;
    descend();
  }
  return along;
}

/** What the field at `path` accepts, in words: the nearest description on the way to it. */
export function allowedAt(root: Schema, path: readonly PropertyKey[]): string | undefined {
  const along = schemasAlong(root, path);
  for (let i = along.length - 1; i >= 0; i--) {
    if (along[i].description) return along[i].description;
  }
  return undefined;
}

/** The fields of the object at `path` (for "unknown field; allowed fields: ..."). */
export function fieldsAt(root: Schema, path: readonly PropertyKey[]): string[] {
  const along = schemasAlong(root, path);
  const object = [...along].reverse().find((s) => s instanceof z.ZodObject) as z.ZodObject | undefined;
  return object ? Object.keys(object.shape) : [];
}

function described<S extends Schema>(schema: S, like: Schema): S {
  return like.description ? (schema.describe(like.description) as S) : schema;
}

/**
 * The schema of a value as written: defaults are not applied (a field with one is optional),
 * transforms are dropped, and rules across the fields of an object (its `.superRefine`) are left for
 * the merged value. Checks on single fields stay.
 */
export function asWritten<S extends Schema>(schema: S): z.ZodType<z.input<S>, z.input<S>> {
  // The rebuilt schema accepts what `schema` accepts, and gives it back as written.
  return writtenForm(schema) as z.ZodType<z.input<S>, z.input<S>>;
}

function writtenForm(schema: Schema): Schema {
  if (schema instanceof z.ZodDefault || schema instanceof z.ZodPrefault || schema instanceof z.ZodOptional)
    return described(writtenForm(schema.unwrap() as Schema).optional(), schema);
  if (schema instanceof z.ZodPipe) return described(writtenForm(schema.in as Schema), schema);
  if (schema instanceof z.ZodObject) {
    const shape = Object.fromEntries(
      Object.entries(schema.shape as Record<string, Schema>).map(([k, s]) => [k, writtenForm(s)]),
    );
    return described(z.strictObject(shape), schema);
  }
  if (schema instanceof z.ZodArray) {
    const element = writtenForm(schema.element as Schema);
    return element === schema.element ? schema : described(z.array(element), schema);
  }
  return schema;
}

/** The default of each field of `shape` that has one. */
export function defaultsOf(shape: Record<string, Schema>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(shape)) {
    if (field instanceof z.ZodDefault || field instanceof z.ZodPrefault) out[key] = field.parse(undefined);
  }
  return out;
}

/** `value` with every field of `shape` present, `undefined` where it has no value, so that
 * resolved settings always have the same keys. */
export function withEveryKey<T extends object>(shape: Record<string, unknown>, value: T): T {
  const out: Record<string, unknown> = Object.fromEntries(Object.keys(shape).map((k) => [k, undefined]));
  return Object.assign(out, value) as T;
}
