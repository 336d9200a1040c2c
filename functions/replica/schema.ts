/**
 * Whether the target table can hold the source's items one for one (pure; the apply Lambda describes
 * both tables). A target keyed otherwise than the source silently merges items (keyed on `pk` alone,
 * two source items `pk=a, sk=1` and `pk=a, sk=2` become one) or rejects them, so the replica halts
 * `TARGET_SCHEMA_MISMATCH` before it writes rather than report a table that is not the source's.
 *
 * The key schema must be the source's: the same attribute names, types and roles (HASH, RANGE). An
 * index of the target may be keyed on any attribute, but where the source defines that attribute's
 * type (a key of the source table or of one of its indexes) the index must use the same type, or
 * every item carrying it is rejected. An index on an attribute the source leaves untyped can still
 * reject an item; that shows at the write (`WRITE_REJECTED`).
 */
import type { TableDescription } from '@aws-sdk/client-dynamodb';

export interface KeyAttribute {
  name: string;
  /** S, N or B; undefined when the description gives no definition for it. */
  type: string | undefined;
  role: 'HASH' | 'RANGE';
}

/** What the comparison needs of a table: its key, its indexes' keys and the types it defines. */
export interface TableKeys {
  table: string;
  /** Partition key first. */
  keys: KeyAttribute[];
  indexes: { name: string; keys: KeyAttribute[] }[];
}

/** Longest detail recorded in the state (an SSM parameter holds at most 4 KB). */
const MAX_DETAIL = 1000;

function keyAttributes(
  schema: { AttributeName?: string; KeyType?: string }[] | undefined,
  types: Map<string, string>,
): KeyAttribute[] {
  const element = (role: 'HASH' | 'RANGE') =>
    (schema ?? [])
      .filter((k) => k.KeyType === role && k.AttributeName)
      .map((k) => ({ name: k.AttributeName!, type: types.get(k.AttributeName!), role }));
  return [...element('HASH'), ...element('RANGE')];
}

/** The keys of a described table (DescribeTable's `Table`). */
export function tableKeys(table: string, description: TableDescription | undefined): TableKeys {
  const types = new Map<string, string>();
  for (const d of description?.AttributeDefinitions ?? [])
    if (d.AttributeName && d.AttributeType) types.set(d.AttributeName, d.AttributeType);
  const indexes = [
    ...(description?.GlobalSecondaryIndexes ?? []),
    ...(description?.LocalSecondaryIndexes ?? []),
  ].map((i) => ({ name: i.IndexName ?? '?', keys: keyAttributes(i.KeySchema, types) }));
  return { table, keys: keyAttributes(description?.KeySchema, types), indexes };
}

/** `pk (S, HASH), sk (N, RANGE)`. */
export function formatKeys(keys: readonly KeyAttribute[]): string {
  if (keys.length === 0) return '(no key)';
  return keys.map((k) => `${k.name} (${k.type ?? '?'}, ${k.role})`).join(', ');
}

function sameKey(a: KeyAttribute, b: KeyAttribute): boolean {
  // A type the description left out is not held against the table: only a known difference counts.
  return (
    a.name === b.name &&
    a.role === b.role &&
    (a.type === undefined || b.type === undefined || a.type === b.type)
  );
}

/** The types the source gives its attributes: its key's and its indexes' keys'. */
function sourceTypes(source: TableKeys): Map<string, string> {
  const types = new Map<string, string>();
  for (const k of [...source.keys, ...source.indexes.flatMap((i) => i.keys)])
    if (k.type !== undefined) types.set(k.name, k.type);
  return types;
}

/**
 * Why the target cannot hold the source's items one for one, naming both schemas; undefined when it
 * can.
 */
export function schemaMismatch(source: TableKeys, target: TableKeys): string | undefined {
  const problems: string[] = [];
  const keysMatch =
    source.keys.length === target.keys.length && source.keys.every((k, i) => sameKey(k, target.keys[i]));
  if (!keysMatch) {
    problems.push(
      `target table ${target.table} is keyed ${formatKeys(target.keys)}, source table ${source.table} is keyed ${formatKeys(source.keys)}: the target's key schema must be the source's, or items are merged or rejected`,
    );
  }
  const types = sourceTypes(source);
  for (const index of target.indexes) {
    for (const k of index.keys) {
      const expected = types.get(k.name);
      if (expected !== undefined && k.type !== undefined && expected !== k.type) {
        problems.push(
          `index ${index.name} of target table ${target.table} keys ${k.name} as ${k.type}, source table ${source.table} defines ${k.name} as ${expected}: every item carrying ${k.name} would be rejected`,
        );
      }
    }
  }
  if (problems.length === 0) return undefined;
  const detail = problems.join('; ');
  return detail.length > MAX_DETAIL ? `${detail.slice(0, MAX_DETAIL - 1)}…` : detail;
}
