import { expect } from 'chai';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import {
  CHAIN_SCHEMA_VERSION,
  chainCurrentKey,
  chainHeadKey,
  chainObjectBody,
  isoTime,
  type ChainEntry,
} from '../../functions/shared/chainManifest';
import { ChainReadError, readChain } from '../../cli/chainReader';
import { listExportDataFiles, putObject } from '../../format';
import { runDce } from '../../cli/dce';
import { chainOrderProblems, createVerifyProgress, verifyChain, type ProblemKind } from '../../cli/verify';
import { startLocalS3, type LocalS3 } from '../../sim/servers';
import { generateWorkload } from '../../sim/workload';
import { MemoryS3, contiguousWindows, writeChain } from '../helpers/exportChain';
import { capturedIo } from '../helpers/capturedIo';

const BUCKET = 'chain-bucket';
const PREFIX = 'tables/orders';
const T0 = Date.UTC(2026, 10, 2, 0, 0, 0) / 1000;
const HOUR = 3600;
const table = generateWorkload({
  from: T0 - 2 * HOUR,
  to: T0 + 8 * HOUR,
  writesPerMinute: 6,
  seed: 21,
  keySpace: 60,
});

const md5 = (bytes: Uint8Array | string) => createHash('md5').update(bytes).digest('base64');

function kinds(problems: { kind: ProblemKind }[]): ProblemKind[] {
  return [...new Set(problems.map((p) => p.kind))].sort();
}

async function chainIn(
  s3: MemoryS3 | LocalS3['client'],
  windows: [number, number][],
  extra: { head?: boolean; prefix?: string; format?: 'DYNAMODB_JSON' | 'ION' } = {},
) {
  return writeChain({
    s3,
    bucket: BUCKET,
    prefix: PREFIX,
    table,
    start: T0,
    windows,
    sink: { itemsPerFile: 20 },
    ...extra,
  });
}

describe('chain reading and verification (cli/chainReader.ts, cli/verify.ts)', () => {
  describe('against s3rver', () => {
    let local: LocalS3;
    before(async function () {
      this.timeout(20000);
      local = await startLocalS3();
      await local.createBucket(BUCKET);
    });
    after(async () => local?.stop());

    it('reads a healthy chain in order and finds no problem, deep included', async () => {
      const written = await chainIn(local.client, contiguousWindows(T0, HOUR, 4));
      const chain = await readChain(local.client, BUCKET, PREFIX);
      expect(chain.epoch).to.equal(written.epoch);
      expect(chain.entries.map((e) => e.key)).to.deep.equal(written.entries.map((e) => e.key));
      expect(chain.entries.map((e) => e.entry.sequence)).to.deep.equal([0, 1, 2, 3, 4]);
      expect(chain.head.watermark).to.equal(isoTime(T0 + 4 * HOUR));

      const report = await verifyChain({ s3: local.client, bucket: BUCKET, prefix: PREFIX, deep: true });
      expect(report.problems).to.deep.equal([]);
      expect(report).to.include({
        ok: true,
        epoch: written.epoch,
        entries: 5,
        watermark: isoTime(T0 + 4 * HOUR),
        chainStart: isoTime(T0),
      });
    });

    it('detects a deleted manifest summary and a corrupted data file', async () => {
      const prefix = 'tables/damaged';
      const written = await chainIn(local.client, contiguousWindows(T0, HOUR, 3), { prefix });
      const [, second, third] = written.entries;
      await local.client.send(
        new DeleteObjectCommand({ Bucket: BUCKET, Key: second.entry.manifestSummaryKey }),
      );
      const files = await listExportDataFiles(local.client, BUCKET, third.entry.manifestSummaryKey);
      await putObject(
        local.client,
        BUCKET,
        files[0].dataFileS3Key,
        gzipSync('{"Item":{"pk":{"S":"forged"}}}\n'),
      );

      const shallow = await verifyChain({ s3: local.client, bucket: BUCKET, prefix });
      expect(shallow.ok).to.equal(false);
      expect(shallow.problems).to.deep.equal([
        {
          kind: 'missing-export',
          key: second.entry.manifestSummaryKey,
          message: `${second.entry.manifestSummaryKey}: manifest summary of ${second.key} is missing`,
        },
      ]);

      const deep = await verifyChain({ s3: local.client, bucket: BUCKET, prefix, deep: true });
      expect(kinds(deep.problems)).to.deep.equal(['data-checksum', 'missing-export']);
      expect(deep.problems.find((p) => p.kind === 'data-checksum')!.key).to.equal(files[0].dataFileS3Key);
    });
  });

  describe('in memory', () => {
    it('detects a gap between two windows', async () => {
      const s3 = new MemoryS3();
      await chainIn(s3, [
        [T0, T0 + HOUR],
        [T0 + HOUR + 60, T0 + 2 * HOUR],
      ]);
      const report = await verifyChain({ s3, bucket: BUCKET, prefix: PREFIX });
      expect(report.ok).to.equal(false);
      expect(kinds(report.problems)).to.deep.equal(['gap']);
      expect(report.problems[0].message).to.contain(isoTime(T0 + HOUR));
    });

    it('detects an overlap between two windows', async () => {
      const s3 = new MemoryS3();
      await chainIn(s3, [
        [T0, T0 + HOUR],
        [T0 + 30 * 60, T0 + 2 * HOUR],
      ]);
      const report = await verifyChain({ s3, bucket: BUCKET, prefix: PREFIX, deep: true });
      expect(kinds(report.problems)).to.deep.equal(['overlap']);
    });

    it('detects windows shorter than 15 minutes or longer than 24 hours', async () => {
      const s3 = new MemoryS3();
      await chainIn(s3, [
        [T0, T0 + 10 * 60],
        [T0 + 10 * 60, T0 + 10 * 60 + 25 * HOUR],
      ]);
      const report = await verifyChain({ s3, bucket: BUCKET, prefix: PREFIX });
      expect(report.problems.map((p) => p.kind)).to.deep.equal(['window-length', 'window-length']);
    });

    it('detects a chain not starting with the full export, and a sequence that skips', async () => {
      const s3 = new MemoryS3();
      const written = await chainIn(s3, contiguousWindows(T0, HOUR, 3));
      // Remove the full export's entry: the chain now starts with an incremental at sequence 1.
      await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: written.entries[0].key }));
      const report = await verifyChain({ s3, bucket: BUCKET, prefix: PREFIX });
      expect(kinds(report.problems)).to.deep.equal(['first-not-full', 'head-mismatch']);

      const s3b = new MemoryS3();
      const w2 = await chainIn(s3b, contiguousWindows(T0, HOUR, 3));
      await s3b.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: w2.entries[2].key }));
      const report2 = await verifyChain({ s3: s3b, bucket: BUCKET, prefix: PREFIX });
      expect(kinds(report2.problems)).to.deep.equal(['gap', 'sequence']);
    });

    it('detects a HEAD whose watermark or last entry disagrees, and a missing HEAD', async () => {
      const s3 = new MemoryS3();
      const written = await chainIn(s3, contiguousWindows(T0, HOUR, 2));
      const headKey = chainHeadKey(PREFIX, written.epoch);
      await putObject(
        s3,
        BUCKET,
        headKey,
        chainObjectBody({
          ...written.head,
          watermark: isoTime(T0 + 5 * HOUR),
          lastEntryKey: `${PREFIX}/chain/${written.epoch}/00000009_x.json`,
        }),
      );
      const report = await verifyChain({ s3, bucket: BUCKET, prefix: PREFIX });
      expect(report.problems.map((p) => p.kind)).to.deep.equal(['head-mismatch', 'head-mismatch']);
      expect(report.problems.every((p) => p.key === headKey)).to.equal(true);

      s3.objects.delete(`${BUCKET}/${headKey}`);
      const report2 = await verifyChain({ s3, bucket: BUCKET, prefix: PREFIX });
      expect(kinds(report2.problems)).to.deep.equal(['head-missing']);
      expect(report2.ok).to.equal(false);
    });

    it('deep: detects a summary that disagrees with its entry and a tampered manifest-files.json', async () => {
      const s3 = new MemoryS3();
      const written = await chainIn(s3, contiguousWindows(T0, HOUR, 2));
      const entry = written.entries[1].entry;
      const summary = JSON.parse(Buffer.from(s3.get(BUCKET, entry.manifestSummaryKey)!).toString());
      s3.set(
        BUCKET,
        entry.manifestSummaryKey,
        JSON.stringify({ ...summary, itemCount: summary.itemCount + 1 }),
      );
      const filesKey = summary.manifestFilesS3Key;
      s3.set(BUCKET, filesKey, `${Buffer.from(s3.get(BUCKET, filesKey)!).toString()}\n`);
      const report = await verifyChain({ s3, bucket: BUCKET, prefix: PREFIX, deep: true });
      expect(kinds(report.problems)).to.deep.equal(['item-count', 'manifest-checksum', 'summary-mismatch']);
      const shallow = await verifyChain({ s3, bucket: BUCKET, prefix: PREFIX });
      expect(shallow.ok).to.equal(true);
    });

    it('deep: reads an ION chain, and reports damaged lines, unknown types and bad numbers by key and line, not as missing', async () => {
      const s3 = new MemoryS3();
      const written = await chainIn(s3, contiguousWindows(T0, HOUR, 3), { format: 'ION' });
      const progress: { entriesDone: number; filesRead: number }[] = [];
      const healthy = await verifyChain({
        s3,
        bucket: BUCKET,
        prefix: PREFIX,
        deep: true,
        onProgress: (p) => progress.push(p),
      });
      expect(healthy.problems).to.deep.equal([]);
      expect(healthy.ok).to.equal(true);
      expect(progress[progress.length - 1].entriesDone).to.equal(4);
      expect(progress.some((p) => p.filesRead > 0)).to.equal(true);

      // Three damaged files, each with one bad line after a good one; checksums made to match,
      // so only the content is wrong.
      const damage = [
        '$ion_1_0 {Item:{pk:"x"',
        '$ion_1_0 {Keys:{pk:$dynamodb_QS::["x"]}}',
        `$ion_1_0 {Keys:{pk:"x",sk:1d300}}`,
      ];
      const damagedKeys: string[] = [];
      for (const [i, badLine] of damage.entries()) {
        const entry = written.entries[i + 1].entry;
        const files = await listExportDataFiles(s3, BUCKET, entry.manifestSummaryKey);
        const gz = gzipSync(`$ion_1_0 {Keys:{pk:"ok"}}\n${badLine}\n`);
        s3.set(BUCKET, files[0].dataFileS3Key, gz);
        const summary = JSON.parse(Buffer.from(s3.get(BUCKET, entry.manifestSummaryKey)!).toString());
        const list = Buffer.from(s3.get(BUCKET, summary.manifestFilesS3Key)!)
          .toString()
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l));
        list[0] = { ...list[0], md5Checksum: md5(gz), itemCount: 2 };
        const text = list.map((l) => `${JSON.stringify(l)}\n`).join('');
        s3.set(BUCKET, summary.manifestFilesS3Key, text);
        s3.set(BUCKET, summary.manifestFilesS3Key.replace(/\.json$/, '.md5'), md5(text));
        const total = list.reduce((n: number, l: { itemCount: number }) => n + l.itemCount, 0);
        s3.set(BUCKET, entry.manifestSummaryKey, JSON.stringify({ ...summary, itemCount: total }));
        damagedKeys.push(files[0].dataFileS3Key);
      }
      const report = await verifyChain({ s3, bucket: BUCKET, prefix: PREFIX, deep: true });
      const invalid = report.problems.filter((p) => p.kind === 'data-invalid');
      expect(invalid.map((p) => p.key)).to.deep.equal(damagedKeys);
      expect(invalid[0].message).to.match(/ line 2: invalid Ion record/);
      expect(invalid[1].message).to.match(/ line 2: .*unknown attribute type annotation \$dynamodb_QS/);
      expect(invalid[2].message).to.match(/ line 2: .*not a valid DynamoDB number/);
      expect(report.problems.some((p) => p.kind === 'missing-export')).to.equal(false);
    });

    it('dce verify --deep exits 1 for a damaged ION data file and names its key and line', async () => {
      const s3 = new MemoryS3();
      const written = await chainIn(s3, contiguousWindows(T0, HOUR, 2), { format: 'ION' });
      const files = await listExportDataFiles(s3, BUCKET, written.entries[1].entry.manifestSummaryKey);
      const damaged = files[0].dataFileS3Key;
      const text = gunzipSync(s3.get(BUCKET, damaged)!).toString().split('\n');
      text[0] = text[0].replace(/\}\}$/, ',n:1d999}}');
      s3.set(BUCKET, damaged, gzipSync(text.join('\n')));
      const { io, stdout } = capturedIo({ now: () => T0 + 3 * HOUR });
      const argv = [
        'verify',
        '--deep',
        '--json',
        '--alias',
        'orders',
        '--bucket',
        BUCKET,
        '--prefix',
        PREFIX,
      ];
      const clients = () => ({ s3, ssm: { send: async () => ({}) }, dynamodb: { send: async () => ({}) } });
      expect(await runDce(argv, io, { clients: clients as any })).to.equal(1);
      const report = JSON.parse(stdout());
      const problem = report.problems.find((p: { key: string }) => p.key === damaged);
      expect(problem.kind).to.equal('data-invalid');
      expect(problem.message).to.match(/ line 1: .*not a valid DynamoDB number/);
      expect(report.problems.some((p: { kind: string }) => p.kind === 'missing-export')).to.equal(false);
    });

    it('deep: an unreadable manifest summary is a damaged export, a deleted one a missing export', async () => {
      const s3 = new MemoryS3();
      const written = await chainIn(s3, contiguousWindows(T0, HOUR, 2));
      s3.set(BUCKET, written.entries[1].entry.manifestSummaryKey, '{"exportArn": truncated');
      s3.objects.delete(`${BUCKET}/${written.entries[2].entry.manifestSummaryKey}`);
      const report = await verifyChain({ s3, bucket: BUCKET, prefix: PREFIX, deep: true });
      expect(report.problems.map((p) => [p.kind, p.key])).to.deep.equal([
        ['data-invalid', written.entries[1].entry.manifestSummaryKey],
        ['missing-export', written.entries[2].entry.manifestSummaryKey],
      ]);
      expect(report.problems[0].message).to.match(/invalid JSON/);
    });

    it('names the key of an invalid entry; readChain throws, verify reports it', async () => {
      const s3 = new MemoryS3();
      const written = await chainIn(s3, contiguousWindows(T0, HOUR, 2));
      const bad = written.entries[1];
      await putObject(s3, BUCKET, bad.key, JSON.stringify({ ...bad.entry, itemCount: 'many' }));
      let caught: unknown;
      try {
        await readChain(s3, BUCKET, PREFIX);
      } catch (err) {
        caught = err;
      }
      expect(caught).to.be.instanceOf(ChainReadError);
      expect((caught as Error).message)
        .to.contain(bad.key)
        .and.to.contain('itemCount');

      const report = await verifyChain({ s3, bucket: BUCKET, prefix: PREFIX });
      expect(report.problems[0]).to.include({ kind: 'invalid-object', key: bad.key });
      expect(kinds(report.problems)).to.include('gap');
    });

    it('reports a missing CURRENT.json by key, and reads a given epoch without it', async () => {
      const s3 = new MemoryS3();
      const written = await chainIn(s3, contiguousWindows(T0, HOUR, 1), { head: false });
      let caught: unknown;
      try {
        await verifyChain({ s3, bucket: BUCKET, prefix: PREFIX });
      } catch (err) {
        caught = err;
      }
      expect((caught as Error).message).to.equal(`${chainCurrentKey(PREFIX)}: missing`);
      const report = await verifyChain({ s3, bucket: BUCKET, prefix: PREFIX, epoch: written.epoch });
      expect(kinds(report.problems)).to.deep.equal(['head-missing']);
      expect(report.entries).to.equal(2);
    });

    it('follows ListObjectsV2 pagination over long chains', async () => {
      const s3 = new MemoryS3();
      const original = s3.send.bind(s3);
      let lists = 0;
      s3.send = async (command: any) => {
        if (command.constructor.name === 'ListObjectsV2Command') {
          lists++;
          command.input.MaxKeys = 3;
        }
        return original(command);
      };
      await chainIn(s3, contiguousWindows(T0, HOUR, 7));
      const report = await verifyChain({ s3, bucket: BUCKET, prefix: PREFIX });
      expect(report.ok).to.equal(true);
      expect(report.entries).to.equal(8);
      expect(lists).to.be.greaterThan(2);
    });
  });

  describe('progress display (createVerifyProgress)', () => {
    it('writes a plain line every interval and always the last one when not on a terminal', () => {
      const lines: string[] = [];
      let t = 0;
      const progress = createVerifyProgress(
        { write: (text: string) => lines.push(text) },
        { intervalMs: 1000, now: () => t },
      );
      const at = (ms: number, entriesDone: number, filesRead: number) => {
        t = ms;
        progress.update({ entriesTotal: 3, entriesDone, filesRead, bytesRead: filesRead * 1024 * 1024 });
      };
      at(0, 0, 1);
      at(400, 0, 2);
      at(1200, 1, 3);
      at(1300, 3, 4);
      progress.stop();
      expect(lines).to.deep.equal([
        'verify: 0/3 exports, 1 data files, 1.0 MB read\n',
        'verify: 1/3 exports, 3 data files, 3.0 MB read\n',
        'verify: 3/3 exports, 4 data files, 4.0 MB read\n',
      ]);
    });

    it('draws a bar on a terminal, fed by a deep verify', async () => {
      const s3 = new MemoryS3();
      await chainIn(s3, contiguousWindows(T0, HOUR, 2));
      let out = '';
      const stream = { isTTY: true, columns: 100, write: (text: string) => ((out += text), true) };
      const progress = createVerifyProgress(stream);
      const report = await verifyChain({
        s3,
        bucket: BUCKET,
        prefix: PREFIX,
        deep: true,
        onProgress: progress.update,
      });
      progress.stop();
      expect(report.ok).to.equal(true);
      expect(out).to.match(/verify \[.*\] 3\/3 exports \| \d+ data files \| [\d.]+ MB read/);
    });
  });

  describe('chainOrderProblems (pure)', () => {
    function entriesFor(boundaries: number[]) {
      return boundaries.map((to, i) => {
        const from = i === 0 ? to : boundaries[i - 1];
        const entry: ChainEntry = {
          schemaVersion: CHAIN_SCHEMA_VERSION,
          epoch: '20261102T000000Z',
          sequence: i,
          type: i === 0 ? 'FULL' : 'INCREMENTAL',
          from: isoTime(from),
          to: isoTime(to),
          exportArn: `arn:aws:dynamodb:us-east-1:1:table/t/export/${i}`,
          bucket: BUCKET,
          manifestSummaryKey: `k${i}`,
          itemCount: 0,
          billedSizeBytes: 0,
          completedAt: isoTime(to),
          exportFormat: 'DYNAMODB_JSON',
        };
        return { key: `e${i}`, entry };
      });
    }
    const chainArb = fc
      .array(fc.integer({ min: 15 * 60, max: 24 * HOUR }), { minLength: 1, maxLength: 20 })
      .map((lengths) => lengths.reduce<number[]>((acc, l) => [...acc, acc[acc.length - 1] + l], [T0]));

    it('finds nothing in any contiguous chain of valid windows', () => {
      fc.assert(
        fc.property(chainArb, (b) => {
          expect(chainOrderProblems(entriesFor(b))).to.deep.equal([]);
        }),
      );
    });

    it('finds a gap or an overlap wherever one boundary moves', () => {
      fc.assert(
        fc.property(
          chainArb,
          fc.nat(),
          fc.integer({ min: -600, max: 600 }).filter((d) => d !== 0),
          (b, pick, delta) => {
            const entries = entriesFor(b);
            const i = 1 + (pick % (entries.length - 1 || 1));
            if (i >= entries.length) return;
            const moved = entries[i].entry;
            entries[i] = {
              ...entries[i],
              entry: { ...moved, from: isoTime(Date.parse(moved.from) / 1000 + delta) },
            };
            const found = chainOrderProblems(entries)
              .filter((p) => p.key === `e${i}`)
              .map((p) => p.kind);
            expect(found).to.include(delta > 0 ? 'gap' : 'overlap');
          },
        ),
      );
    });
  });
});
