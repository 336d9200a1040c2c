/**
 * The reader streams data files: it pulls a file's bytes as it parses them (so memory holds a
 * bounded window of the file, not the file), hashes them on the way and names the line where a
 * stream breaks. Throughput and peak memory figures are in `npm run bench:format`.
 */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { createGzip, gzipSync } from 'node:zlib';
import {
  ExportFormatError,
  checkDataFile,
  streamDataFile,
  type DataFileEntry,
  type S3Sender,
} from '../../../format';

const KEY = 'p/AWSDynamoDB/data/big.json.gz';

function line(i: number): string {
  const filler = createHash('sha256').update(String(i)).digest('hex');
  return `{"Item":{"pk":{"S":"item#${i}"},"n":{"N":"${i}"},"filler":{"S":"${filler}"}}}\n`;
}

/** An S3 whose one object is a gzip stream generated on demand; counts the lines produced so far. */
function lazyObject(totalLines: number) {
  const produced = { lines: 0 };
  const s3: S3Sender = {
    async send() {
      async function* lines() {
        for (let i = 0; i < totalLines; i += 100) {
          let chunk = '';
          for (let j = i; j < Math.min(i + 100, totalLines); j++) chunk += line(j);
          produced.lines = Math.min(i + 100, totalLines);
          yield chunk;
        }
      }
      const body = new PassThrough();
      Readable.from(lines()).pipe(createGzip()).pipe(body);
      return { Body: body };
    },
  };
  return { s3, produced };
}

describe('export format: streaming reader (format/lineReader.ts)', () => {
  it('pulls a large data file as it reads it: never more than a small window ahead of the parser', async () => {
    const total = 200_000; // about 24 MB uncompressed
    const { s3, produced } = lazyObject(total);
    const entry: DataFileEntry = { itemCount: total, md5Checksum: '', etag: '', dataFileS3Key: KEY };
    let consumed = 0;
    let maxAhead = 0;
    for await (const batch of streamDataFile(s3, 'b', entry)) {
      consumed += batch.length;
      maxAhead = Math.max(maxAhead, produced.lines - consumed);
      const last = batch[batch.length - 1];
      expect(last.line).to.equal(consumed);
    }
    expect(consumed).to.equal(total);
    // The window is a few zlib and stream buffers (tens of KB), far below the file.
    expect(maxAhead).to.be.below(total / 10);
  });

  it('computes the MD5 of the compressed bytes while streaming, and checks it and the count', async () => {
    const text = Array.from({ length: 500 }, (_, i) => line(i)).join('');
    const gz = gzipSync(text);
    const s3: S3Sender = {
      send: async () => ({ Body: Readable.from([gz.subarray(0, 100), gz.subarray(100)]) }),
    };
    const md5 = createHash('md5').update(gz).digest('base64');
    const stats = await checkDataFile(
      s3,
      'b',
      { itemCount: 500, md5Checksum: md5, etag: '', dataFileS3Key: KEY },
      { verifyChecksums: true },
    );
    expect(stats).to.deep.equal({
      md5Base64: md5,
      compressedBytes: gz.byteLength,
      uncompressedBytes: Buffer.byteLength(text),
      lines: 500,
    });
    let caught: unknown;
    try {
      await checkDataFile(
        s3,
        'b',
        { itemCount: 500, md5Checksum: 'AAAA', etag: '', dataFileS3Key: KEY },
        { verifyChecksums: true },
      );
    } catch (err) {
      caught = err;
    }
    expect(caught).to.be.instanceOf(ExportFormatError);
    expect((caught as Error).message).to.equal(`${KEY}: MD5 checksum does not match manifest-files.json`);
  });

  it('names the line reached when a gzip stream is truncated, and splits lines across chunk and UTF-8 boundaries', async () => {
    const text = Array.from({ length: 2000 }, (_, i) => `{"Item":{"pk":{"S":"é日本${i}"}}}\n`).join('');
    const gz = gzipSync(text);
    // One byte per chunk for the first 300 bytes: every boundary is crossed somewhere.
    const chunks = [...Array.from({ length: 300 }, (_, i) => gz.subarray(i, i + 1)), gz.subarray(300)];
    const whole: S3Sender = { send: async () => ({ Body: Readable.from(chunks) }) };
    const entry: DataFileEntry = { itemCount: 2000, md5Checksum: '', etag: '', dataFileS3Key: KEY };
    const names: string[] = [];
    for await (const batch of streamDataFile(whole, 'b', entry)) {
      for (const r of batch) if (r.kind === 'item') names.push(r.item.pk.S!);
    }
    expect(names).to.deep.equal(Array.from({ length: 2000 }, (_, i) => `é日本${i}`));

    const truncated: S3Sender = {
      send: async () => ({ Body: Readable.from([gz.subarray(0, gz.byteLength - 20)]) }),
    };
    let caught: unknown;
    try {
      await checkDataFile(truncated, 'b', entry);
    } catch (err) {
      caught = err;
    }
    expect(caught).to.be.instanceOf(ExportFormatError);
    expect((caught as Error).message).to.match(
      new RegExp(`^${KEY} line \\d+: not valid gzip \\(unexpected end of file\\)`),
    );
  });
});
