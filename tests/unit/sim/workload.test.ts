import { expect } from 'chai';
import fc from 'fast-check';
import { canonicalItem, keyString, type Item } from '../../../format';
import {
  LARGE_ITEM_BLOB_CHARACTERS,
  Prng,
  SyntheticTable,
  canonicalTable,
  generateWorkload,
} from '../../../sim/workload';

const T0 = Date.UTC(2026, 10, 1) / 1000;
const KEYS = ['pk', 'sk'];

/** Applies compacted change records to a snapshot, the way a consumer of incremental exports does. */
function applyChanges(items: Item[], table: SyntheticTable, from: number, to: number): Item[] {
  const byKey = new Map(items.map((i) => [keyString(i, KEYS), i]));
  for (const c of table.changesBetween(from, to)) {
    const k = keyString(c.keys, KEYS);
    if (c.newImage) byKey.set(k, c.newImage);
    else byKey.delete(k);
  }
  return [...byKey.values()];
}

/** Straightforward reference: the last write at or before (or strictly before) a time, per key. */
function naiveState(
  writes: { t: number; key: string; image: Item | null }[],
  limit: number,
  strict: boolean,
) {
  const state = new Map<string, Item | null>();
  for (const w of writes) if (strict ? w.t < limit : w.t <= limit) state.set(w.key, w.image);
  return state;
}

describe('synthetic source table (sim/workload.ts)', () => {
  it('PRNG is deterministic per seed and spread over [0, 1)', () => {
    const a = new Prng(42);
    const b = new Prng(42);
    const c = new Prng(43);
    const xs = Array.from({ length: 1000 }, () => a.next());
    expect(Array.from({ length: 1000 }, () => b.next())).to.deep.equal(xs);
    expect(Array.from({ length: 1000 }, () => c.next())).not.to.deep.equal(xs);
    expect(Math.min(...xs)).to.be.at.least(0);
    expect(Math.max(...xs)).to.be.below(1);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(mean).to.be.within(0.45, 0.55);
  });

  it('the same options give the same table; another seed gives another', () => {
    const opts = { from: T0, to: T0 + 6 * 3600, writesPerMinute: 5, seed: 7, keySpace: 50 };
    const a = generateWorkload(opts);
    const b = generateWorkload(opts);
    const c = generateWorkload({ ...opts, seed: 8 });
    const at = T0 + 3 * 3600;
    expect(canonicalTable(b.snapshotAt(at))).to.deep.equal(canonicalTable(a.snapshotAt(at)));
    expect(canonicalTable(c.snapshotAt(at))).not.to.deep.equal(canonicalTable(a.snapshotAt(at)));
    expect(a.writeCount).to.equal(6 * 60 * 5);
  });

  it('snapshotAt and changesBetween agree with a naive replay of the history', () => {
    const op = fc.record({
      dt: fc.integer({ min: 0, max: 3 }),
      key: fc.integer({ min: 0, max: 4 }),
      del: fc.boolean(),
      v: fc.integer({ min: 0, max: 9 }),
    });
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 40 }),
        fc.integer({ min: -2, max: 60 }),
        fc.integer({ min: 0, max: 40 }),
        (ops, from, length) => {
          const table = new SyntheticTable(KEYS);
          const writes: { t: number; key: string; image: Item | null }[] = [];
          let t = 0;
          for (const o of ops) {
            t += o.dt;
            const keys: Item = { pk: { S: `k${o.key}` }, sk: { N: '1' } };
            const image = o.del ? null : { ...keys, v: { N: String(o.v) } };
            if (image) table.put((T0 + t) * 1e6, image);
            else table.delete((T0 + t) * 1e6, keys);
            writes.push({ t, key: keyString(keys, KEYS), image });
          }
          const to = from + length;
          const canon = (m: Map<string, Item | null>) =>
            [...m.values()]
              .filter((i): i is Item => i !== null)
              .map(canonicalItem)
              .sort();
          expect(
            table
              .snapshotAt(T0 + from)
              .map(canonicalItem)
              .sort(),
          ).to.deep.equal(canon(naiveState(writes, from, false)));
          expect(
            table
              .snapshotBefore(T0 + from)
              .map(canonicalItem)
              .sort(),
          ).to.deep.equal(canon(naiveState(writes, from, true)));

          const changes = table.changesBetween(T0 + from, T0 + to);
          const before = naiveState(writes, from, true);
          const after = naiveState(writes, to, true);
          const changedKeys = new Set(writes.filter((w) => w.t >= from && w.t < to).map((w) => w.key));
          expect(changes.map((c) => keyString(c.keys, KEYS)).sort()).to.deep.equal([...changedKeys].sort());
          for (const c of changes) {
            const k = keyString(c.keys, KEYS);
            expect(c.oldImage ?? null).to.deep.equal(before.get(k) ?? null);
            expect(c.newImage ?? null).to.deep.equal(after.get(k) ?? null);
            const lastWrite = Math.max(
              ...writes.filter((w) => w.key === k && w.t >= from && w.t < to).map((w) => w.t),
            );
            expect(c.writeTimeMicros).to.equal((T0 + lastWrite) * 1e6);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a snapshot plus contiguous compacted changes gives the later snapshot', () => {
    const table = generateWorkload({
      from: T0,
      to: T0 + 12 * 3600,
      writesPerMinute: 10,
      seed: 3,
      keySpace: 120,
    });
    const start = T0 + 2 * 3600;
    let items = table.snapshotAt(start);
    for (let from = start; from < T0 + 12 * 3600; from += 900) {
      items = applyChanges(items, table, from, from + 900);
      expect(canonicalTable(items)).to.deep.equal(canonicalTable(table.snapshotBefore(from + 900)));
    }
  });

  it('generates inserts, updates, deletes and re-inserts with every attribute type', () => {
    const from = T0;
    const to = T0 + 24 * 3600;
    const table = generateWorkload({ from, to, writesPerMinute: 4, seed: 11, keySpace: 80 });
    const changes = table.changesBetween(from, to);
    const hourly = Array.from({ length: 24 }, (_, h) =>
      table.changesBetween(from + h * 3600, from + (h + 1) * 3600),
    ).flat();
    expect(
      hourly.some((c) => !c.oldImage && c.newImage),
      'insert',
    ).to.equal(true);
    expect(
      hourly.some((c) => c.oldImage && c.newImage),
      'update',
    ).to.equal(true);
    expect(
      hourly.some((c) => c.oldImage && !c.newImage),
      'delete',
    ).to.equal(true);
    // A re-insert: a key deleted in one hour and present again in a later one.
    const deletedAt = new Map<string, number>();
    let reinserted = false;
    hourly.forEach((c, i) => {
      const k = keyString(c.keys, KEYS);
      if (!c.newImage) deletedAt.set(k, i);
      else if (deletedAt.has(k) && deletedAt.get(k)! < i) reinserted = true;
    });
    expect(reinserted, 're-insert').to.equal(true);
    expect(changes.length).to.be.at.most(80);

    const seen = new Set<string>();
    const walk = (v: any) => {
      const tag = Object.keys(v)[0];
      seen.add(tag);
      if (tag === 'M') Object.values(v.M).forEach(walk);
      if (tag === 'L') v.L.forEach(walk);
      if (tag === 'N' && v.N.replace('-', '').length === 38) seen.add('N38');
      if (tag === 'N' && v.N.startsWith('-')) seen.add('Nneg');
    };
    for (const item of table.snapshotAt(to)) Object.values(item).forEach(walk);
    for (const tag of ['S', 'N', 'B', 'BOOL', 'NULL', 'M', 'L', 'SS', 'NS', 'BS', 'N38', 'Nneg']) {
      expect(seen.has(tag), tag).to.equal(true);
    }
  });

  it('rejects writes out of time order', () => {
    const table = new SyntheticTable(KEYS);
    table.put(2_000_000, { pk: { S: 'a' }, sk: { N: '1' } });
    expect(() => table.put(1_000_000, { pk: { S: 'b' }, sk: { N: '1' } })).to.throw(/time order/);
    expect(() => table.put(2_000_000, { pk: { S: 'b' } })).to.throw(/key attribute sk/);
  });

  it('loads initial items (some large) at the start and writes a burst of distinct changes in its span', () => {
    const burst = { from: T0 + 3600, to: T0 + 3720, changes: 300 };
    const table = generateWorkload({
      from: T0,
      to: T0 + 7200,
      writesPerMinute: 2,
      seed: 9,
      keySpace: 500,
      initialItems: 500,
      largeItems: 3,
      burst,
    });
    const initial = table.snapshotAt(T0);
    expect(initial).to.have.length(500);
    const large = initial.filter((i) => i.blob !== undefined);
    expect(large).to.have.length(3);
    for (const item of large)
      expect((item.blob as { S: string }).S).to.have.length(LARGE_ITEM_BLOB_CHARACTERS);
    // The burst's records, plus the few ordinary writes of those two minutes.
    const changes = table.changesBetween(burst.from, burst.to);
    expect(changes.length).to.be.within(300, 310);
    expect(table.changesBetween(burst.from - 600, burst.from).length).to.be.below(30);
  });
});
