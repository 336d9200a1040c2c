/**
 * A small table with its full write history, for tests: append writes at simulated times, then ask for
 * the snapshot at a time or the compacted changes over a window, as an export would see them.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { ChangeRecord, Item, TableSource } from './contracts';

interface Write {
  /** Epoch seconds; fractions allowed. */
  t: number;
  key: string;
  keys: Item;
  /** `null` for a delete. */
  item: Item | null;
}

export class SimpleTable implements TableSource {
  private readonly writes: Write[] = [];

  constructor(readonly keyAttributes: readonly string[] = ['pk']) {}

  /** Writes (puts) an item at time `t` (epoch seconds); writes must be appended in time order. */
  put(t: number, item: Item): void {
    this.append(t, item, item);
  }

  /** Deletes the item with these keys at time `t`. */
  delete(t: number, keys: Item): void {
    this.append(t, keys, null);
  }

  /** Convenience: a string-keyed item `{ pk: {S: pk}, ...attrs }`. */
  static item(pk: string, attributes: Record<string, AttributeValue> = {}): Item {
    return { pk: { S: pk }, ...attributes };
  }

  get size(): number {
    return this.writes.length;
  }

  snapshotAt(t: number): Item[] {
    const state = new Map<string, Item | null>();
    for (const w of this.writes) {
      if (w.t > t) break;
      state.set(w.key, w.item);
    }
    return [...state.values()].filter((i): i is Item => i !== null);
  }

  changesBetween(from: number, to: number): ChangeRecord[] {
    const before = new Map<string, Item | null>();
    const changed = new Map<string, { keys: Item; last: Write }>();
    for (const w of this.writes) {
      if (w.t >= to) break;
      if (w.t < from) before.set(w.key, w.item);
      else changed.set(w.key, { keys: w.keys, last: w });
    }
    return [...changed.entries()].map(([key, { keys, last }]) => {
      const record: ChangeRecord = { keys, writeTimeMicros: Math.round(last.t * 1e6) };
      if (last.item) record.newImage = last.item;
      const old = before.get(key);
      if (old) record.oldImage = old;
      return record;
    });
  }

  private append(t: number, source: Item, item: Item | null): void {
    const last = this.writes[this.writes.length - 1];
    if (last && t < last.t) throw new Error(`writes must be appended in time order (${t} < ${last.t})`);
    const keys: Item = {};
    for (const k of this.keyAttributes) {
      if (!(k in source)) throw new Error(`item lacks key attribute ${k}`);
      keys[k] = source[k];
    }
    this.writes.push({ t, key: JSON.stringify(this.keyAttributes.map((k) => keys[k])), keys, item });
  }
}
