/**
 * A synthetic source table that keeps its whole write history, so the simulated export engine can
 * answer "the table as of t" (full exports) and "the compacted changes in [from, to)" (incremental
 * exports), plus a seeded workload generator that fills it with realistic traffic.
 */
import type { AttributeDefinition, AttributeValue, KeySchemaElement } from '@aws-sdk/client-dynamodb';
import { canonicalAttribute, keyOf, keyString } from '../format/attributeValues';
import type { ChangeRecord, Item, TableSource } from './contracts';

/** Small, fast, seedable PRNG (mulberry32); the simulation must never depend on Math.random. */
export class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  pick<T>(values: readonly T[]): T {
    return values[Math.floor(this.next() * values.length)];
  }

  chance(p: number): boolean {
    return this.next() < p;
  }
}

interface ItemHistory {
  keys: Item;
  /** Write times in microseconds, non-decreasing. */
  times: number[];
  /** Image after each write; null for a delete. */
  images: (Item | null)[];
}

/** Index of the last write with time <= limit (or < limit when `strict`), -1 when none. */
function lastWriteIndex(times: number[], limit: number, strict: boolean): number {
  let lo = 0;
  let hi = times.length; // first index whose time is beyond the limit
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const beyond = strict ? times[mid] >= limit : times[mid] > limit;
    if (beyond) hi = mid;
    else lo = mid + 1;
  }
  return lo - 1;
}

/** Seconds to integer microseconds without floating-point drift for whole and fractional seconds. */
function toMicros(seconds: number): number {
  return Math.round(seconds * 1_000_000);
}

/** A table with its full write history. Times passed to the query methods are epoch seconds. */
export class SyntheticTable implements TableSource {
  private readonly items = new Map<string, ItemHistory>();
  private lastTimeMicros = -Infinity;
  private writes = 0;

  /** @param keyAttributes names of the key attributes, partition key first. */
  constructor(readonly keyAttributes: readonly string[]) {}

  /** Number of writes recorded. */
  get writeCount(): number {
    return this.writes;
  }

  /** Puts (inserts or replaces) a whole item at `timeMicros`. Writes must come in time order. */
  put(timeMicros: number, item: Item): void {
    this.record(timeMicros, keyOf(item, this.keyAttributes), item);
  }

  /** Deletes the item with these key attributes at `timeMicros`. */
  delete(timeMicros: number, keys: Item): void {
    this.record(timeMicros, keyOf(keys, this.keyAttributes), null);
  }

  private record(timeMicros: number, keys: Item, image: Item | null): void {
    if (!Number.isInteger(timeMicros)) throw new Error('write times are integer microseconds');
    if (timeMicros < this.lastTimeMicros) throw new Error('writes must be recorded in time order');
    this.lastTimeMicros = timeMicros;
    const id = keyString(keys, this.keyAttributes);
    let h = this.items.get(id);
    if (!h) {
      h = { keys, times: [], images: [] };
      this.items.set(id, h);
    }
    h.times.push(timeMicros);
    h.images.push(image);
    this.writes++;
  }

  /** The current image of an item (after every recorded write), or undefined. */
  latest(keys: Item): Item | undefined {
    const h = this.items.get(keyString(keys, this.keyAttributes));
    return h?.images[h.images.length - 1] ?? undefined;
  }

  private snapshot(limitMicros: number, strict: boolean): Item[] {
    const out: Item[] = [];
    for (const h of this.items.values()) {
      const i = lastWriteIndex(h.times, limitMicros, strict);
      const image = i >= 0 ? h.images[i] : null;
      if (image) out.push(image);
    }
    return out;
  }

  /** Every item as of `t`: writes at or before `t` are visible. */
  snapshotAt(t: number): Item[] {
    return this.snapshot(toMicros(t), false);
  }

  /** Every item as of just before `t`: what a chain whose watermark is `t` must reproduce. */
  snapshotBefore(t: number): Item[] {
    return this.snapshot(toMicros(t), true);
  }

  /**
   * One record per item with at least one write in `[from, to)`: OldImage is the state just before
   * `from`, NewImage the state just before `to` (absent when deleted), WriteTime the last write in
   * the window. An item inserted and deleted inside the window still appears (as a delete with no
   * images): whether AWS omits such items is not documented, and a consumer deleting a missing
   * item is harmless either way.
   */
  changesBetween(from: number, to: number): ChangeRecord[] {
    const fromMicros = toMicros(from);
    const toMicrosExclusive = toMicros(to);
    const out: ChangeRecord[] = [];
    for (const h of this.items.values()) {
      const last = lastWriteIndex(h.times, toMicrosExclusive, true);
      if (last < 0 || h.times[last] < fromMicros) continue;
      const before = lastWriteIndex(h.times, fromMicros, true);
      const record: ChangeRecord = { keys: h.keys, writeTimeMicros: h.times[last] };
      const newImage = h.images[last];
      const oldImage = before >= 0 ? h.images[before] : null;
      if (newImage) record.newImage = newImage;
      if (oldImage) record.oldImage = oldImage;
      out.push(record);
    }
    return out;
  }
}

/** Parameters of `generateWorkload`. */
export interface WorkloadOptions {
  /** Start of the traffic, epoch seconds. */
  from: number;
  /** End of the traffic (exclusive), epoch seconds. */
  to: number;
  writesPerMinute: number;
  seed: number;
  /** Number of distinct item keys the traffic touches. */
  keySpace: number;
  /** Items put at `from`, before any traffic (keys 0..n-1): a table that starts large. */
  initialItems?: number;
  /** How many of the initial items carry a `blob` of `LARGE_ITEM_BLOB_CHARACTERS`, near the item limit. */
  largeItems?: number;
  /** One update of each of `changes` distinct live items, spread over `[from, to)`: a hot window. */
  burst?: { from: number; to: number; changes: number };
}

/** Characters of a large item's `blob`: with its other attributes the item is just under 400 KB. */
export const LARGE_ITEM_BLOB_CHARACTERS = 395_000;

const WORDS = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'ümlaut', '日本'];

/**
 * Numbers in the form DynamoDB returns them (normalised: no exponent, no leading or trailing zeros),
 * so items read back from a table compare equal to the generated ones.
 */
function randomNumber(rng: Prng): string {
  switch (rng.int(0, 4)) {
    case 0:
      return String(rng.int(0, 1000));
    case 1:
      return String(-rng.int(1, 1_000_000));
    case 2: {
      // 38 significant digits, the most DynamoDB keeps.
      let digits = String(rng.int(1, 9));
      while (digits.length < 38) digits += String(rng.int(0, 9));
      return rng.chance(0.5) ? digits : `-${digits}`;
    }
    case 3:
      return `${rng.int(0, 99999)}.${String(rng.int(1, 999)).padStart(3, '0').replace(/0+$/, '') || '5'}`;
    default:
      return `0.000${rng.int(1, 9)}${rng.int(1, 9)}`;
  }
}

function randomBytes(rng: Prng, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = rng.int(0, 255);
  return out;
}

function uniqueBy<T>(values: T[], keyFn: (v: T) => string): T[] {
  const seen = new Set<string>();
  return values.filter((v) => {
    const k = keyFn(v);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function randomScalar(rng: Prng): AttributeValue {
  switch (rng.int(0, 4)) {
    case 0:
      return { S: `${rng.pick(WORDS)}-${rng.int(0, 999)}` };
    case 1:
      return { N: randomNumber(rng) };
    case 2:
      return { BOOL: rng.chance(0.5) };
    case 3:
      return { NULL: true };
    default:
      return { B: randomBytes(rng, rng.int(1, 8)) };
  }
}

function randomValue(rng: Prng, depth: number): AttributeValue {
  const kind = depth >= 2 ? 0 : rng.int(0, 5);
  switch (kind) {
    case 1: {
      const m: Record<string, AttributeValue> = {};
      for (let i = rng.int(0, 3); i > 0; i--) m[`f${rng.int(0, 9)}`] = randomValue(rng, depth + 1);
      return { M: m };
    }
    case 2: {
      const l: AttributeValue[] = [];
      for (let i = rng.int(0, 4); i > 0; i--) l.push(randomValue(rng, depth + 1));
      return { L: l };
    }
    case 3:
      return {
        SS: uniqueBy(
          Array.from({ length: rng.int(1, 4) }, () => rng.pick(WORDS)),
          (s) => s,
        ),
      };
    case 4:
      return {
        NS: uniqueBy(
          Array.from({ length: rng.int(1, 4) }, () => String(rng.int(-50, 50))),
          (s) => s,
        ),
      };
    case 5:
      return {
        BS: uniqueBy(
          Array.from({ length: rng.int(1, 3) }, () => randomBytes(rng, rng.int(1, 4))),
          (b) => Buffer.from(b).toString('base64'),
        ),
      };
    default:
      return randomScalar(rng);
  }
}

/** Key attribute names of generated tables: a string partition key and a number sort key. */
export const WORKLOAD_KEY_ATTRIBUTES = ['pk', 'sk'] as const;

/** The workload table's key schema and key attribute definitions (pk S HASH, sk N RANGE). */
export const WORKLOAD_KEY_SCHEMA: KeySchemaElement[] = [
  { AttributeName: 'pk', KeyType: 'HASH' },
  { AttributeName: 'sk', KeyType: 'RANGE' },
];
export const WORKLOAD_ATTRIBUTE_DEFINITIONS: AttributeDefinition[] = [
  { AttributeName: 'pk', AttributeType: 'S' },
  { AttributeName: 'sk', AttributeType: 'N' },
];

function keyFor(index: number): Item {
  return { pk: { S: `item#${Math.floor(index / 4)}` }, sk: { N: String(index % 4) } };
}

function freshItem(rng: Prng, index: number): Item {
  const item: Item = {
    ...keyFor(index),
    kind: { S: rng.pick(['order', 'user', 'event']) },
    version: { N: '1' },
    amount: { N: randomNumber(rng) },
    payload: { B: randomBytes(rng, rng.int(1, 16)) },
  };
  for (let i = rng.int(1, 4); i > 0; i--) item[`a${rng.int(0, 9)}`] = randomValue(rng, 0);
  return item;
}

/** A blob that differs per item but compresses, so large items keep export files moderate. */
function largeBlob(rng: Prng): AttributeValue {
  const unit = `${rng.pick(WORDS)}-${rng.int(0, 999_999)};`;
  return {
    S: unit.repeat(Math.ceil(LARGE_ITEM_BLOB_CHARACTERS / unit.length)).slice(0, LARGE_ITEM_BLOB_CHARACTERS),
  };
}

function updatedItem(rng: Prng, previous: Item): Item {
  const version = Number((previous.version as { N?: string } | undefined)?.N ?? '0');
  const removable = Object.keys(previous).filter((n) => /^a\d$/.test(n));
  // Built fresh rather than with `delete`, which makes V8 slow down every later access to the object.
  const removed = removable.length > 0 && rng.chance(0.3) ? rng.pick(removable) : undefined;
  const item: Item = {};
  for (const name of Object.keys(previous)) if (name !== removed) item[name] = previous[name];
  item.version = { N: String(version + 1) };
  for (let i = rng.int(1, 2); i > 0; i--) item[`a${rng.int(0, 9)}`] = randomValue(rng, 0);
  return item;
}

/**
 * Generates traffic over `[from, to)`: inserts, updates (new version, attributes added and removed),
 * whole-item replacements, deletes and re-inserts of deleted keys, with every attribute type.
 * The same options always give the same table.
 */
export function generateWorkload(options: WorkloadOptions): SyntheticTable {
  const { from, to, writesPerMinute, seed, keySpace } = options;
  if (!(to > from)) throw new Error('workload needs to > from');
  if (!(keySpace >= 1)) throw new Error('keySpace must be at least 1');
  const rng = new Prng(seed);
  const table = new SyntheticTable(WORKLOAD_KEY_ATTRIBUTES);
  const total = Math.round(((to - from) / 60) * writesPerMinute);
  const startMicros = toMicros(from);
  const spanMicros = toMicros(to) - startMicros;
  const live = new Map<number, Item>();
  for (let index = 0; index < (options.initialItems ?? 0); index++) {
    const item = freshItem(rng, index);
    if (index < (options.largeItems ?? 0)) item.blob = largeBlob(rng);
    table.put(startMicros, item);
    live.set(index, item);
  }
  let burst = options.burst;
  let lastTime = startMicros;
  for (let i = 0; i < total; i++) {
    // Evenly spread with jitter, strictly inside [from, to), never going backwards.
    const slot = Math.floor(((i + rng.next()) * spanMicros) / total);
    let time = Math.max(lastTime, startMicros + Math.min(slot, spanMicros - 1));
    if (burst && time >= toMicros(burst.from)) {
      // The burst's writes come before this one; the traffic then goes on after the burst's last.
      lastTime = writeBurst(table, rng, live, burst);
      time = Math.max(lastTime, time);
      burst = undefined;
    }
    lastTime = time;
    const index = rng.int(0, keySpace - 1);
    const current = live.get(index);
    if (!current) {
      const item = freshItem(rng, index);
      table.put(time, item);
      live.set(index, item);
      continue;
    }
    const roll = rng.next();
    if (roll < 0.6) {
      const item = updatedItem(rng, current);
      table.put(time, item);
      live.set(index, item);
    } else if (roll < 0.75) {
      const item = freshItem(rng, index);
      table.put(time, item);
      live.set(index, item);
    } else {
      table.delete(time, keyFor(index));
      live.delete(index);
    }
  }
  return table;
}

/** Updates `changes` distinct live items, evenly over the burst's span; returns the last write's time. */
function writeBurst(
  table: SyntheticTable,
  rng: Prng,
  live: Map<number, Item>,
  burst: NonNullable<WorkloadOptions['burst']>,
): number {
  const fromMicros = toMicros(burst.from);
  const spanMicros = toMicros(burst.to) - fromMicros;
  const indexes = [...live.keys()].slice(0, burst.changes);
  let time = fromMicros;
  indexes.forEach((index, i) => {
    time = fromMicros + Math.floor((i * spanMicros) / indexes.length);
    const item = updatedItem(rng, live.get(index) as Item);
    table.put(time, item);
    live.set(index, item);
  });
  return time;
}

/** Canonical texts of a list of items, sorted: two tables hold the same data iff these are equal. */
export function canonicalTable(items: Item[]): string[] {
  return items
    .map((item) =>
      Object.keys(item)
        .sort()
        .map((n) => `${JSON.stringify(n)}:${canonicalAttribute(item[n])}`)
        .join(','),
    )
    .sort();
}
