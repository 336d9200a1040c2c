/**
 * docs/consume.md works as printed: its DuckDB fold, its Athena query (Trino grammar, then run on
 * DuckDB with the offline Athena's shims) and its Python script, each over a chain the format module
 * writes into a temporary directory laid out like the bucket, give the source table as of the
 * watermark. The chain has an exported entry past HEAD (not committed yet), an empty window, several
 * data files per export, deletes and re-inserts, every attribute type, and a sort key.
 */
import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import { HiveSQL, TrinoSQL } from 'dt-sql-parser';
import { canonicalItem, itemFromJson, putObject, type Item } from '../../format';
import { chainHeadKey, chainObjectBody, type ChainHead } from '../../functions/shared/chainManifest';
import { SHIMS } from '../../sim/athenaDuck';
import { SimpleTable } from '../../sim/simpleTable';
import { MemoryS3, writeChain } from '../helpers/exportChain';
import { REPO_ROOT } from '../helpers/repoRoot';

const DOC = readFileSync(join(REPO_ROOT, 'docs', 'consume.md'), 'utf8');
const BUCKET = 'my-bucket';
const T0 = Date.UTC(2026, 10, 24) / 1000;
const WINDOW = 900;

/** The fenced block right after the `<!-- tested: ... -->` comment that names `what`. */
function testedBlock(what: RegExp): string {
  const pattern = /<!-- tested: ([^>]*)-->\s*```(\w+)\n([\s\S]*?)```/g;
  const blocks = [...DOC.matchAll(pattern)].filter((m) => what.test(m[1]));
  expect(blocks, `one tested block matching ${what} in docs/consume.md`).to.have.length(1);
  return blocks[0][3];
}

/** Replaces `from` in `text`, failing if it is not there (so the doc cannot drift from the test). */
function replaceOnce(text: string, from: string | RegExp, to: string): string {
  const found = typeof from === 'string' ? text.includes(from) : from.test(text);
  expect(found, `docs/consume.md still holds ${String(from)}`).to.equal(true);
  return text.replace(from, to);
}

const RICH: Item = {
  s: { S: 'text with "quotes" and ünïcode' },
  n: { N: '-1.5E+10' },
  b: { B: new Uint8Array([1, 2, 255]) },
  t: { BOOL: true },
  z: { NULL: true },
  m: { M: { inner: { L: [{ S: 'x' }, { N: '3' }] } } },
  ss: { SS: ['a', 'b'] },
  ns: { NS: ['1', '2.5'] },
  bs: { BS: [new Uint8Array([1]), new Uint8Array([255])] },
};

/** A table's history around T0: before the full export, then changes in windows 1, 2 and 4 (3 is empty), 5 past HEAD. */
function history(sorted: boolean): SimpleTable {
  const table = new SimpleTable(sorted ? ['pk', 'sk'] : ['pk']);
  const item = (pk: string, sk: number, v: number, extra: Item = {}): Item => ({
    pk: { S: pk },
    ...(sorted ? { sk: { N: String(sk) } } : {}),
    v: { N: String(v) },
    ...extra,
  });
  const keys = (pk: string, sk: number): Item => ({
    pk: { S: pk },
    ...(sorted ? { sk: { N: String(sk) } } : {}),
  });
  for (let i = 0; i < 30; i++) table.put(T0 - 100 + i, item(`k${i % 15}`, i, i, i === 3 ? RICH : {}));
  for (let i = 0; i < 60; i++) {
    const t = T0 + 7 + i * 29; // windows 1 and 2
    if (i % 6 === 0) table.delete(t, keys(`k${i % 15}`, i % 30));
    else table.put(t, item(`k${i % 20}`, i % 30, 100 + i, i % 7 === 0 ? RICH : {}));
  }
  table.put(T0 + 3 * WINDOW + 11, item('k1', 1, 999)); // window 4: a re-insert
  table.delete(T0 + 3 * WINDOW + 12, keys('k2', 2));
  table.put(T0 + 4 * WINDOW + 5, item('late', 0, 1)); // window 5: exported, not committed
  return table;
}

/** The chain in a temporary directory laid out like the bucket; HEAD stops one entry short. */
async function chainOnDisk(root: string, table: SimpleTable, prefix: string) {
  const s3 = new MemoryS3();
  const windows: [number, number][] = [1, 2, 3, 4, 5].map((i) => [T0 + (i - 1) * WINDOW, T0 + i * WINDOW]);
  const chain = await writeChain({
    s3,
    bucket: BUCKET,
    prefix,
    table,
    start: T0,
    windows,
    sink: { itemsPerFile: 4 },
  });
  const last = chain.entries[chain.entries.length - 2];
  const head: ChainHead = {
    ...chain.head,
    watermark: last.entry.to,
    lastSequence: last.entry.sequence,
    lastEntryKey: last.key,
  };
  await putObject(s3, BUCKET, chainHeadKey(prefix, chain.epoch), chainObjectBody(head));
  for (const [id, bytes] of s3.objects) {
    const path = join(root, id);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, bytes);
  }
  const expected = table
    .snapshotAt(Date.parse(head.watermark) / 1000 - 0.001)
    .map(canonicalItem)
    .sort();
  return { head, expected, entries: chain.entries.map((e) => e.entry) };
}

function canonicalLines(jsonTexts: string[]): string[] {
  return jsonTexts.map((text) => canonicalItem(itemFromJson(JSON.parse(text)))).sort();
}

async function duckRows(statements: string, query: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
  const connection = await instance.connect();
  try {
    await connection.run(`SET TimeZone = 'UTC'`);
    await connection.run(statements);
    return (await connection.runAndReadAll(query)).getRowObjects();
  } finally {
    connection.closeSync();
  }
}

/** Every line of the gzip files directly in `dir` (what an Athena table with that LOCATION reads). */
function linesIn(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((f) => f.isFile())
    .flatMap((f) =>
      gunzipSync(readFileSync(join(dir, f.name)))
        .toString('utf8')
        .split('\n'),
    )
    .filter((line) => line.trim() !== '');
}

const sqlString = (text: string) => `'${text.replace(/'/g, "''")}'`;

describe('docs/consume.md', () => {
  let root: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'dce-consume-'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  describe('the DuckDB fold', () => {
    const fold = testedBlock(/runs this block/);

    for (const [sorted, prefix] of [
      [false, 'exports/orders'],
      [true, ''],
    ] as const) {
      it(`gives the source as of HEAD's watermark (${sorted ? 'pk and sk, no prefix' : 'pk, prefix'})`, async () => {
        const dir = join(root, `duck-${sorted}`);
        const { expected } = await chainOnDisk(dir, history(sorted), prefix);
        let sql = replaceOnce(fold, `'s3://my-bucket'`, sqlString(join(dir, BUCKET)));
        sql = replaceOnce(sql, `'exports/orders'`, sqlString(prefix));
        if (sorted) sql = replaceOnce(sql, `['pk']`, `['pk', 'sk']`);
        const rows = await duckRows(sql, 'SELECT item::VARCHAR AS item FROM orders');
        expect(canonicalLines(rows.map((r) => String(r.item)))).to.deep.equal(expected);
        expect(expected.length).to.be.greaterThan(10);
      });
    }
  });

  describe('the Athena query', () => {
    const ddl = DOC.match(/```sql\n(CREATE EXTERNAL TABLE orders_snapshot[\s\S]*?)```/)?.[1] ?? '';
    const query = testedBlock(/Trino grammar/);

    it('parses: the tables with a Hive grammar, the query with a Trino grammar', () => {
      const hive = new HiveSQL();
      const statements = replaceOnce(ddl, '<full export id>', '01763942460000-0a1b2c3d')
        .split(/;\s*/)
        .filter((s) => s.trim());
      expect(statements).to.have.length(2);
      for (const statement of statements) expect(hive.validate(statement), statement).to.deep.equal([]);
      expect(new TrinoSQL().validate(query)).to.deep.equal([]);
    });

    it('run over the tables as Athena reads them, gives the source as of the watermark', async () => {
      const dir = join(root, 'athena');
      const { head, expected, entries } = await chainOnDisk(dir, history(false), 'exports/orders');
      const exportsDir = join(dir, BUCKET, 'exports/orders/AWSDynamoDB');
      const fullId = entries[0].exportArn.split('/').pop()!;
      const load = (table: string, lines: string[]) =>
        `CREATE TABLE ${table} (line VARCHAR);` +
        (lines.length
          ? `INSERT INTO ${table} VALUES ${lines.map((l) => `(${sqlString(l)})`).join(',')};`
          : '');
      const setup = [
        // Trino's functions, to_unixtime included (seconds since the epoch as a double).
        ...SHIMS.map((s) => `${s};`),
        load('orders_snapshot', linesIn(join(exportsDir, fullId, 'data'))),
        load('orders_changes', linesIn(join(exportsDir, 'data'))),
      ].join('\n');
      let sql = replaceOnce(query, `'2026-11-24T00:00:11.000Z'`, sqlString(head.chainStart));
      sql = replaceOnce(sql, `'2026-11-24T12:00:00.000Z'`, sqlString(head.watermark));
      const rows = await duckRows(setup, sql);
      expect(canonicalLines(rows.map((r) => String(r.item)))).to.deep.equal(expected);
      // The uncommitted entry's write is in the files Athena reads, and left out by the watermark.
      expect(linesIn(join(exportsDir, 'data')).some((l) => l.includes('"late"'))).to.equal(true);
    });
  });

  describe('the Python script', () => {
    const script = testedBlock(/runs this script/);
    const python = spawnSync('python3', ['--version']).status === 0 ? 'python3' : undefined;

    it('compiles (python3 -m py_compile)', function () {
      if (!python) this.skip(); // no python3 on this machine: the script is not checked
      const file = join(root, 'fold_chain.py');
      writeFileSync(file, script);
      execFileSync(python!, ['-m', 'py_compile', file]);
    });

    for (const [sorted, prefix] of [
      [false, 'exports/orders'],
      [true, ''],
    ] as const) {
      it(`run with a stand-in boto3 over the directory, prints the source (${sorted ? 'pk sk' : 'pk'})`, async function () {
        if (!python) this.skip();
        const dir = join(root, `python-${sorted}`);
        const { head, expected } = await chainOnDisk(dir, history(sorted), prefix);
        const file = join(root, 'fold_chain.py');
        writeFileSync(file, script);
        const stub = join(root, 'stub', 'boto3');
        mkdirSync(stub, { recursive: true });
        writeFileSync(join(stub, '__init__.py'), BOTO3_STAND_IN);
        const out = execFileSync(python!, [file, BUCKET, prefix, 'pk', ...(sorted ? ['sk'] : [])], {
          env: { ...process.env, PYTHONPATH: dirname(stub), FOLD_TEST_ROOT: dir },
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        expect(canonicalLines(out.split('\n').filter((l) => l.trim()))).to.deep.equal(expected);
        const run = spawnSync(python!, [file, BUCKET, prefix, 'pk'], {
          env: { ...process.env, PYTHONPATH: dirname(stub), FOLD_TEST_ROOT: dir },
          encoding: 'utf8',
        });
        expect(run.stderr).to.include(`as of ${head.watermark}`);
      });
    }
  });
});

/**
 * boto3's S3 client as the script uses it, over a directory holding one folder per bucket: GetObject,
 * and ListObjectsV2 through a paginator with pages of two keys (so pagination is exercised).
 */
const BOTO3_STAND_IN = `
import io
import os

ROOT = os.environ["FOLD_TEST_ROOT"]


class _Paginator:
    def paginate(self, Bucket, Prefix):
        base = os.path.join(ROOT, Bucket)
        keys = sorted(
            os.path.relpath(os.path.join(d, f), base).replace(os.sep, "/")
            for d, _, files in os.walk(base)
            for f in files
        )
        keys = [k for k in keys if k.startswith(Prefix)]
        for i in range(0, len(keys), 2):
            yield {"Contents": [{"Key": k} for k in keys[i : i + 2]]}


class _S3:
    def get_object(self, Bucket, Key):
        with open(os.path.join(ROOT, Bucket, Key), "rb") as f:
            return {"Body": io.BytesIO(f.read())}

    def get_paginator(self, name):
        assert name == "list_objects_v2", name
        return _Paginator()


def client(name):
    assert name == "s3", name
    return _S3()
`;
