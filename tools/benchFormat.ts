/**
 * `npm run bench:format`: how fast the export reader reads a data file and how much memory it
 * needs. A DYNAMODB_JSON data file of at least 200 MB uncompressed (`--mb N` to change) is
 * generated at run time into a temporary directory (deleted at the end), then read:
 *
 * - by the format module's streaming reader (gzip stream, line by line, MD5 checked while
 *   streaming, every line parsed into SDK attribute values), with peak RSS and heap measured;
 * - by the baseline in the same run: `zlib.gunzip` of the whole file and `JSON.parse` of every line.
 *
 * Each read runs in a fresh child process, so its peak RSS is its own (not the generator's or
 * another read's). A smaller ION file is read too, for the ION throughput. Figures only, no
 * assertions.
 */
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { createGzip, gunzip } from 'node:zlib';
import { checkDataFile, itemLine, type ExportFormatName, type Item, type S3Sender } from '../format';

const MB = 1024 * 1024;

function argMb(): number {
  const i = process.argv.indexOf('--mb');
  const value = i >= 0 ? Number(process.argv[i + 1]) : 200;
  if (!(value > 0)) throw new Error('--mb takes a positive number of megabytes');
  return value;
}

/** A deterministic item with most attribute types, about 300 bytes as DynamoDB JSON. */
function item(i: number): Item {
  const h = createHash('sha1').update(String(i)).digest('hex');
  return {
    pk: { S: `customer#${i % 100_000}` },
    sk: { N: String(i) },
    name: { S: `name ${h.slice(0, 12)}` },
    amount: { N: `${i % 99_999}.${i % 97}` },
    active: { BOOL: i % 2 === 0 },
    tags: { SS: [`t${i % 7}`, `u${i % 11}`] },
    blob: { B: Buffer.from(h.slice(0, 16), 'hex') },
    address: { M: { city: { S: `city ${i % 500}` }, zip: { S: h.slice(12, 17) } } },
    history: { L: [{ N: String(i % 13) }, { S: h.slice(20, 28) }, { NULL: true }] },
  };
}

interface Generated {
  path: string;
  items: number;
  uncompressedBytes: number;
  compressedBytes: number;
  md5: string;
}

/** Writes gzip JSON Lines (or Ion lines) until `mb` megabytes of uncompressed text. */
async function generate(dir: string, name: string, format: ExportFormatName, mb: number): Promise<Generated> {
  const path = join(dir, name);
  let items = 0;
  let bytes = 0;
  const target = mb * MB;
  async function* lines() {
    while (bytes < target) {
      let chunk = '';
      for (let j = 0; j < 500; j++) chunk += `${itemLine(item(items++), format)}\n`;
      bytes += Buffer.byteLength(chunk);
      yield chunk;
    }
  }
  await pipeline(Readable.from(lines()), createGzip({ level: 1 }), createWriteStream(path));
  const md5 = createHash('md5');
  for await (const chunk of createReadStream(path)) md5.update(chunk as Buffer);
  return {
    path,
    items,
    uncompressedBytes: bytes,
    compressedBytes: statSync(path).size,
    md5: md5.digest('base64'),
  };
}

/** An S3 whose objects are local files, streamed as a real GetObject body is. */
function fileS3(path: string): S3Sender {
  return { send: async () => ({ Body: createReadStream(path) }) };
}

interface Measured {
  seconds: number;
  items: number;
  /** Sampled every 5 ms (streaming reader only). */
  peakHeapMb?: number;
  peakRssMb: number;
}

/** Runs one measurement in a fresh process (same loader, same file) and returns its figures. */
function measureInChild(kind: 'module' | 'baseline', file: Generated, format: ExportFormatName): Measured {
  const child = spawnSync(
    process.execPath,
    [...process.execArgv, __filename, '--measure', kind, format, JSON.stringify(file)],
    { encoding: 'utf8', maxBuffer: 16 * MB },
  );
  if (child.status !== 0) throw new Error(`measurement ${kind} ${format} failed: ${child.stderr}`);
  return JSON.parse(child.stdout.trim().split('\n').pop()!) as Measured;
}

async function readWithModule(file: Generated, format: ExportFormatName): Promise<Measured> {
  let peakHeap = 0;
  const sample = () => (peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed));
  const timer = setInterval(sample, 5);
  const started = process.hrtime.bigint();
  const stats = await checkDataFile(
    fileS3(file.path),
    'bench',
    { itemCount: file.items, md5Checksum: file.md5, etag: '', dataFileS3Key: file.path },
    { verifyChecksums: true, format },
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  clearInterval(timer);
  sample();
  return {
    seconds,
    items: stats.lines,
    peakHeapMb: peakHeap / MB,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
  };
}

async function readBaseline(file: Generated): Promise<Measured> {
  const started = process.hrtime.bigint();
  const text = (await promisify(gunzip)(readFileSync(file.path))).toString('utf8');
  let items = 0;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    JSON.parse(line);
    items++;
  }
  return {
    seconds: Number(process.hrtime.bigint() - started) / 1e9,
    items,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
  };
}

function row(label: string, file: Generated, m: Measured): string {
  const mbps = file.uncompressedBytes / MB / m.seconds;
  const heap = m.peakHeapMb === undefined ? '' : `peak heap ${m.peakHeapMb.toFixed(0)} MB, `;
  const memory = ` | ${heap}peak RSS ${m.peakRssMb.toFixed(0)} MB`;
  return `${label.padEnd(44)} ${m.seconds.toFixed(2).padStart(7)} s | ${mbps.toFixed(1).padStart(6)} MB/s | ${Math.round(
    m.items / m.seconds,
  )
    .toLocaleString('en-US')
    .padStart(9)} items/s${memory}`;
}

async function main(): Promise<void> {
  const mb = argMb();
  const dir = mkdtempSync(join(tmpdir(), 'dce-bench-format-'));
  try {
    process.stdout.write(`generating a ${mb} MB (uncompressed) DYNAMODB_JSON data file in ${dir} ...\n`);
    const json = await generate(dir, 'data.json.gz', 'DYNAMODB_JSON', mb);
    const ionMb = Math.max(1, Math.round(mb / 10));
    const ion = await generate(dir, 'data.ion.gz', 'ION', ionMb);
    const describe = (f: Generated) =>
      `${(f.uncompressedBytes / MB).toFixed(0)} MB uncompressed, ${(f.compressedBytes / MB).toFixed(0)} MB gzip, ${f.items.toLocaleString('en-US')} items`;
    process.stdout.write(`DYNAMODB_JSON file: ${describe(json)}\nION file: ${describe(ion)}\n\n`);
    const reader = measureInChild('module', json, 'DYNAMODB_JSON');
    const ionReader = measureInChild('module', ion, 'ION');
    const baseline = measureInChild('baseline', json, 'DYNAMODB_JSON');
    process.stdout.write(
      [
        row('format reader, DYNAMODB_JSON (stream, MD5, parse)', json, reader),
        row('format reader, ION (stream, MD5, parse)', ion, ionReader),
        row('baseline: zlib.gunzip + JSON.parse per line', json, baseline),
        '',
        `format reader: ${((reader.items / reader.seconds / (baseline.items / baseline.seconds)) * 100).toFixed(0)}% of the baseline's items/s, at ${((reader.peakRssMb / baseline.peakRssMb) * 100).toFixed(0)}% of its peak memory`,
      ].join('\n') + '\n',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `--measure <module|baseline> <format> <file json>`: one measurement, printed as JSON. */
async function measure(args: string[]): Promise<void> {
  const [kind, format, fileJson] = args;
  const file = JSON.parse(fileJson) as Generated;
  const m =
    kind === 'baseline' ? await readBaseline(file) : await readWithModule(file, format as ExportFormatName);
  process.stdout.write(`${JSON.stringify(m)}\n`);
}

const measureAt = process.argv.indexOf('--measure');
(measureAt >= 0 ? measure(process.argv.slice(measureAt + 1)) : main()).catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
