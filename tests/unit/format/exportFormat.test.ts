import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import {
  ExportFormatError,
  S3ExportSink,
  attributeFromJson,
  attributeToJson,
  canonicalAttribute,
  canonicalItem,
  itemFromJson,
  itemToJson,
  listExportDataFiles,
  readDataFile,
  readExportRecords,
  readExportSummary,
  type ChangeRecord,
  type ExportRecord,
  type ExportSpec,
  type Item,
} from '../../../format';
import { attributeValue, dynamoNumberAnyForm } from '../../helpers/formatArbitraries';
import { MemoryS3, TABLE_ARN } from '../../helpers/exportChain';

const BUCKET = 'exports-bucket';
const T = Date.UTC(2026, 10, 1, 12, 0, 0) / 1000;

function spec(overrides: Partial<ExportSpec> = {}): ExportSpec {
  const exportId = overrides.exportId ?? '01761998400000-a1b2c3d4';
  return {
    exportArn: `${TABLE_ARN}/export/${exportId}`,
    exportId,
    type: 'FULL_EXPORT',
    tableArn: TABLE_ARN,
    bucket: BUCKET,
    prefix: 'tables/orders',
    exportFormat: 'DYNAMODB_JSON',
    exportTime: T,
    startTime: T + 60,
    endTime: T + 600,
    ...overrides,
  };
}

/** An item holding every attribute type, with the awkward number forms DynamoDB accepts. */
function everyTypeItem(pk: string): Item {
  return {
    pk: { S: pk },
    str: { S: 'héllo "quoted" \n newline 日本' },
    big: { N: '12345678901234567890123456789012345678' },
    negative: { N: '-98765.4321' },
    exponent: { N: '1.5E+10' },
    tiny: { N: '-1e-130' },
    bin: { B: new Uint8Array([0, 1, 2, 250, 255]) },
    yes: { BOOL: true },
    no: { BOOL: false },
    nothing: { NULL: true },
    map: {
      M: {
        inner: { M: { deep: { L: [{ N: '1' }, { S: 'x' }, { B: new Uint8Array([9]) }] } } },
        flag: { BOOL: false },
      },
    },
    list: { L: [{ S: 'a' }, { N: '-0.5' }, { M: { k: { SS: ['p', 'q'] } } }, { L: [] }, { NULL: true }] },
    ss: { SS: ['red', 'green', 'blue'] },
    ns: { NS: ['1', '-2.5', '3E+2', '99999999999999999999999999999999999999'] },
    bs: { BS: [new Uint8Array([1, 2]), new Uint8Array([255])] },
    emptyMap: { M: {} },
  };
}

async function collect(iter: AsyncIterable<ExportRecord>): Promise<ExportRecord[]> {
  const out: ExportRecord[] = [];
  for await (const r of iter) out.push(r);
  return out;
}

async function expectError(promise: Promise<unknown>, ...patterns: RegExp[]): Promise<Error> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  expect(caught, 'expected an error').to.be.instanceOf(Error);
  for (const p of patterns) expect((caught as Error).message).to.match(p);
  return caught as Error;
}

const b64md5 = (bytes: Uint8Array | string) => createHash('md5').update(bytes).digest('base64');

/** Any DynamoDB attribute value, numbers in any form DynamoDB accepts. */
const attribute = attributeValue(dynamoNumberAnyForm);

describe('export format: attribute values', () => {
  it('round-trips every attribute type through the JSON text of an export line', () => {
    fc.assert(
      fc.property(attribute, (value) => {
        const back = attributeFromJson(JSON.parse(JSON.stringify(attributeToJson(value))));
        expect(canonicalAttribute(back)).to.equal(canonicalAttribute(value));
        expect(back).to.deep.equal(value);
      }),
      { numRuns: 300 },
    );
  });

  it('carries binary as base64 and numbers as the exact strings given', () => {
    const json = itemToJson(everyTypeItem('k')) as any;
    expect(json.bin).to.deep.equal({ B: Buffer.from([0, 1, 2, 250, 255]).toString('base64') });
    expect(json.big).to.deep.equal({ N: '12345678901234567890123456789012345678' });
    expect(json.exponent).to.deep.equal({ N: '1.5E+10' });
    expect(json.bs.BS).to.deep.equal(['AQI=', '/w==']);
  });

  it('rejects malformed attribute values with the attribute path', () => {
    expect(() => itemFromJson({ a: { N: 12 } })).to.throw(/\$\.a: N must be a numeric string/);
    expect(() => itemFromJson({ a: { N: 'abc' } })).to.throw(/\$\.a/);
    expect(() => itemFromJson({ a: { S: 'x', N: '1' } })).to.throw(/exactly one type/);
    expect(() => itemFromJson({ a: { X: 'x' } })).to.throw(/exactly one type/);
    expect(() => itemFromJson({ a: { M: { b: { L: [{ B: 'not base64!' }] } } } })).to.throw(/\$\.a\.b\[0\]/);
    expect(() => itemFromJson({ a: { NULL: false } })).to.throw(/NULL must be true/);
    expect(() => itemFromJson({ a: { N: '1'.repeat(39) } })).to.throw(
      /\$\.a: not a valid DynamoDB number: .*39 significant digits/,
    );
    expect(() => itemFromJson({ a: { NS: ['1', '1E+126'] } })).to.throw(
      /\$\.a\[1\]: not a valid DynamoDB number/,
    );
    expect(() => itemFromJson({ a: { N: '1E-131' } })).to.throw(/outside DynamoDB's number range/);
    expect(
      itemFromJson({ a: { N: '-1E-130' }, b: { N: '9.9999999999999999999999999999999999999E+125' } }),
    ).to.have.keys('a', 'b');
  });
});

describe('export format: writer and reader', () => {
  it('writes a full export in the AWS layout and reads every item back unchanged', async () => {
    const s3 = new MemoryS3();
    const items = [everyTypeItem('a'), everyTypeItem('b'), { pk: { S: 'c' } }];
    const outcome = await new S3ExportSink(s3).writeFull(spec(), items);
    const folder = 'tables/orders/AWSDynamoDB/01761998400000-a1b2c3d4/';
    expect(outcome.manifestSummaryKey).to.equal(`${folder}manifest-summary.json`);
    expect(outcome.itemCount).to.equal(3);

    // Order: _started first, manifest-summary.json last.
    expect(s3.writes[0]).to.equal(`${folder}_started`);
    expect(s3.get(BUCKET, `${folder}_started`)!.byteLength).to.equal(0);
    expect(s3.writes[s3.writes.length - 1]).to.equal(`${folder}manifest-summary.json`);

    const summaryText = Buffer.from(s3.get(BUCKET, `${folder}manifest-summary.json`)!).toString();
    const summary = JSON.parse(summaryText);
    expect(summary).to.include({
      version: '2020-06-30',
      exportArn: `${TABLE_ARN}/export/01761998400000-a1b2c3d4`,
      tableArn: TABLE_ARN,
      exportTime: new Date(T * 1000).toISOString(),
      startTime: new Date((T + 60) * 1000).toISOString(),
      endTime: new Date((T + 600) * 1000).toISOString(),
      s3Bucket: BUCKET,
      s3Prefix: 'tables/orders',
      s3SseAlgorithm: 'AES256',
      s3SseKmsKeyId: null,
      manifestFilesS3Key: `${folder}manifest-files.json`,
      itemCount: 3,
      outputFormat: 'DYNAMODB_JSON',
    });
    expect(summary.tableId).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(summary).not.to.have.property('exportFromTime');
    expect(Buffer.from(s3.get(BUCKET, `${folder}manifest-summary.md5`)!).toString()).to.equal(
      b64md5(summaryText),
    );

    const filesText = Buffer.from(s3.get(BUCKET, `${folder}manifest-files.json`)!).toString();
    expect(Buffer.from(s3.get(BUCKET, `${folder}manifest-files.md5`)!).toString()).to.equal(
      b64md5(filesText),
    );
    const lines = filesText
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).to.have.length(1);
    expect(lines[0].dataFileS3Key).to.match(new RegExp(`^${folder}data/[a-z2-7]{26}\\.json\\.gz$`));
    const gz = s3.get(BUCKET, lines[0].dataFileS3Key)!;
    expect(lines[0].md5Checksum).to.equal(b64md5(gz));
    expect(lines[0].etag).to.equal(createHash('md5').update(gz).digest('hex'));
    expect(lines[0].itemCount).to.equal(3);
    const dataLines = gunzipSync(gz).toString().trim().split('\n');
    expect(Object.keys(JSON.parse(dataLines[0]))).to.deep.equal(['Item']);

    const records = await collect(
      readExportRecords(s3, BUCKET, outcome.manifestSummaryKey, { verifyChecksums: true }),
    );
    expect(records.map((r) => r.kind)).to.deep.equal(['item', 'item', 'item']);
    expect(records.map((r) => (r.kind === 'item' ? r.item : undefined))).to.deep.equal(items);
    expect(records.map((r) => r.line)).to.deep.equal([1, 2, 3]);
  });

  it('reads back exactly the items written, whatever their content and the file size', async () => {
    const itemArb = fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), attribute, { maxKeys: 5 });
    await fc.assert(
      fc.asyncProperty(
        fc.array(itemArb, { maxLength: 12 }),
        fc.integer({ min: 1, max: 5 }),
        async (bodies, perFile) => {
          const items = bodies.map((body, i) => ({ ...body, pk: { S: `k${i}` } }));
          const s3 = new MemoryS3();
          const outcome = await new S3ExportSink(s3, { itemsPerFile: perFile }).writeFull(spec(), items);
          const read = await collect(
            readExportRecords(s3, BUCKET, outcome.manifestSummaryKey, { verifyChecksums: true }),
          );
          expect(read.map((r) => (r.kind === 'item' ? canonicalItem(r.item) : ''))).to.deep.equal(
            items.map(canonicalItem),
          );
          const files = await listExportDataFiles(s3, BUCKET, outcome.manifestSummaryKey);
          expect(files).to.have.length(Math.max(1, Math.ceil(items.length / perFile)));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('splits large exports into several data files with per-file counts', async () => {
    const s3 = new MemoryS3();
    const items = Array.from({ length: 7 }, (_, i) => ({ pk: { S: `k${i}` }, n: { N: String(i) } }));
    const outcome = await new S3ExportSink(s3, { itemsPerFile: 3 }).writeFull(spec(), items);
    const files = await listExportDataFiles(s3, BUCKET, outcome.manifestSummaryKey, {
      verifyChecksums: true,
    });
    expect(files.map((f) => f.itemCount)).to.deep.equal([3, 3, 1]);
    expect(new Set(files.map((f) => f.dataFileS3Key)).size).to.equal(3);
    const records = await collect(
      readExportRecords(s3, BUCKET, outcome.manifestSummaryKey, { verifyChecksums: true }),
    );
    expect(records.map((r) => (r.kind === 'item' ? r.item.pk.S : ''))).to.deep.equal(
      items.map((i) => i.pk.S),
    );
    expect(records[3].file).to.equal(files[1].dataFileS3Key);
    expect(records[3].line).to.equal(1);
  });

  it('writes _started before any other file and manifest-summary.json after every other file has landed', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 12 }),
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 20 }),
        async (itemCount, itemsPerFile, delays) => {
          const memory = new MemoryS3();
          // Writes complete out of order: each waits a few event-loop turns, varying per call.
          const events: string[] = [];
          let call = 0;
          const slow = {
            async send(command: any) {
              const key: string = command.input.Key;
              events.push(`start ${key}`);
              const turns = delays[call++ % delays.length];
              for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r));
              const out = await memory.send(command);
              events.push(`end ${key}`);
              return out;
            },
          };
          const items = Array.from({ length: itemCount }, (_, i) => ({ pk: { S: `k${i}` } }));
          const outcome = await new S3ExportSink(slow, { itemsPerFile }).writeFull(spec(), items);
          const summaryKey = outcome.manifestSummaryKey;
          expect(events[0]).to.match(/_started$/);
          expect(events[1])
            .to.match(/_started$/)
            .and.to.match(/^end /);
          expect(events[events.length - 2]).to.equal(`start ${summaryKey}`);
          expect(events[events.length - 1]).to.equal(`end ${summaryKey}`);
          // Every other file was written once, and finished before the summary started.
          const others = memory.writes.filter((k) => !k.endsWith('_started') && k !== summaryKey);
          expect(new Set(others).size).to.equal(others.length);
          expect(others.length).to.equal(Math.max(1, Math.ceil(itemCount / itemsPerFile)) + 3);
          for (const key of others) {
            expect(events.indexOf(`end ${key}`)).to.be.below(events.indexOf(`start ${summaryKey}`));
          }
          const read = await collect(
            readExportRecords(memory, BUCKET, summaryKey, { verifyChecksums: true }),
          );
          expect(read.map((r) => (r.kind === 'item' ? r.item.pk.S : ''))).to.deep.equal(
            items.map((i) => i.pk.S),
          );
        },
      ),
      { numRuns: 40 },
    );
  });

  it('writes the same keys and bytes when an export is written twice', async () => {
    const a = new MemoryS3();
    const b = new MemoryS3();
    const items = [everyTypeItem('x')];
    await new S3ExportSink(a).writeFull(spec(), items);
    await new S3ExportSink(b).writeFull(spec(), items);
    expect(a.keys(BUCKET)).to.deep.equal(b.keys(BUCKET));
    for (const key of a.keys(BUCKET)) expect(a.get(BUCKET, key)).to.deep.equal(b.get(BUCKET, key));
  });

  it('writes one empty data file for an empty export, and reads it as no records', async () => {
    const s3 = new MemoryS3();
    const outcome = await new S3ExportSink(s3).writeFull(spec({ prefix: '' }), []);
    expect(outcome.manifestSummaryKey).to.match(/^AWSDynamoDB\//);
    const files = await listExportDataFiles(s3, BUCKET, outcome.manifestSummaryKey, {
      verifyChecksums: true,
    });
    expect(files).to.have.length(1);
    expect(files[0].itemCount).to.equal(0);
    expect(files[0].dataFileS3Key).to.match(/^AWSDynamoDB\/01761998400000-a1b2c3d4\/data\//);
    const summary = await readExportSummary(s3, BUCKET, outcome.manifestSummaryKey);
    expect(summary.s3Prefix).to.equal(null);
    expect(summary.itemCount).to.equal(0);
    expect(
      await collect(readExportRecords(s3, BUCKET, outcome.manifestSummaryKey, { verifyChecksums: true })),
    ).to.deep.equal([]);
  });

  it('writes incremental records with Keys, NewImage and OldImage per view type', async () => {
    const before = everyTypeItem('u');
    const after = { ...before, str: { S: 'changed' } };
    const records: ChangeRecord[] = [
      {
        keys: { pk: { S: 'i' } },
        newImage: { pk: { S: 'i' }, v: { N: '1' } },
        writeTimeMicros: T * 1e6 + 123456,
      },
      { keys: { pk: { S: 'u' } }, oldImage: before, newImage: after, writeTimeMicros: T * 1e6 + 5 },
      { keys: { pk: { S: 'd' } }, oldImage: { pk: { S: 'd' }, v: { N: '2' } }, writeTimeMicros: T * 1e6 + 7 },
    ];
    const incremental = spec({ type: 'INCREMENTAL_EXPORT', exportTime: undefined, from: T, to: T + 900 });
    for (const viewType of ['NEW_AND_OLD_IMAGES', 'NEW_IMAGE'] as const) {
      const s3 = new MemoryS3();
      const outcome = await new S3ExportSink(s3).writeIncremental(
        { ...incremental, exportViewType: viewType },
        records,
      );
      const summary = await readExportSummary(s3, BUCKET, outcome.manifestSummaryKey);
      expect(summary.exportType).to.equal('INCREMENTAL_EXPORT');
      expect(summary.outputView).to.equal(viewType);
      expect(outcome.manifestSummaryKey).to.equal(
        'tables/orders/AWSDynamoDB/01761998400000-a1b2c3d4/manifest-summary.json',
      );
      const files = await listExportDataFiles(s3, BUCKET, summary);
      // Incremental data files go to the folder shared by every incremental export.
      expect(files[0].dataFileS3Key).to.match(/^tables\/orders\/AWSDynamoDB\/data\/[a-z2-7]{26}\.json\.gz$/);
      const raw = gunzipSync(s3.get(BUCKET, files[0].dataFileS3Key)!)
        .toString()
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(raw[0].Metadata).to.deep.equal({ WriteTimestampMicros: { N: String(T * 1e6 + 123456) } });
      expect(raw[2]).not.to.have.property('NewImage');
      if (viewType === 'NEW_IMAGE') {
        expect(raw.some((r) => 'OldImage' in r)).to.equal(false);
      } else {
        expect(raw[1].OldImage.str).to.deep.equal({ S: before.str.S });
      }
      const read = await collect(
        readExportRecords(s3, BUCKET, outcome.manifestSummaryKey, { verifyChecksums: true }),
      );
      expect(read.every((r) => r.kind === 'change')).to.equal(true);
      const changes = read.map((r) => (r.kind === 'change' ? r : undefined)!);
      expect(changes.map((c) => c.keys)).to.deep.equal(records.map((r) => r.keys));
      expect(changes.map((c) => c.newImage)).to.deep.equal(records.map((r) => r.newImage));
      expect(changes.map((c) => c.writeTimestampMicros)).to.deep.equal(
        records.map((r) => BigInt(r.writeTimeMicros)),
      );
      expect(changes.map((c) => c.oldImage)).to.deep.equal(
        viewType === 'NEW_IMAGE' ? [undefined, undefined, undefined] : records.map((r) => r.oldImage),
      );
    }
  });
});

describe('export format: reading what AWS writes', () => {
  const folder = 'p/AWSDynamoDB/01700000000000-deadbeef/';
  const summaryKey = `${folder}manifest-summary.json`;

  /** Lays down an export by hand, as AWS might: `.checksum` names, empty files, blank lines. */
  function handWritten(dataFiles: { name: string; bytes: Uint8Array; itemCount: number; md5?: string }[]) {
    const s3 = new MemoryS3();
    const manifest = dataFiles
      .map((f) =>
        JSON.stringify({
          itemCount: f.itemCount,
          md5Checksum: f.md5 ?? b64md5(f.bytes),
          etag: 'abc-1',
          dataFileS3Key: `${folder}data/${f.name}`,
        }),
      )
      .join('\n');
    for (const f of dataFiles) s3.set(BUCKET, `${folder}data/${f.name}`, f.bytes);
    s3.set(BUCKET, `${folder}manifest-files.json`, manifest);
    s3.set(BUCKET, `${folder}manifest-files.checksum`, b64md5(manifest));
    const summary = JSON.stringify({
      version: '2020-06-30',
      exportArn: `${TABLE_ARN}/export/01700000000000-deadbeef`,
      manifestFilesS3Key: `${folder}manifest-files.json`,
      itemCount: dataFiles.reduce((n, f) => n + f.itemCount, 0),
      outputFormat: 'DYNAMODB_JSON',
    });
    s3.set(BUCKET, summaryKey, summary);
    s3.set(BUCKET, `${folder}manifest-summary.checksum`, b64md5(summary));
    return s3;
  }

  const gz = (text: string) => new Uint8Array(gzipSync(text));

  it('accepts .checksum files, zero-byte and empty gzip data files, blank lines, deletes and NEW_IMAGE records', async () => {
    const text = [
      '{"Metadata":{"WriteTimestampMicros":{"N":"1700000000000001"}},"Keys":{"pk":{"S":"a"}},"NewImage":{"pk":{"S":"a"},"v":{"N":"1"}}}',
      '',
      '{"Metadata":{"WriteTimestampMicros":{"N":"1700000000000002"}},"Keys":{"pk":{"S":"b"}},"Extra":{"x":1}}',
      '{"Keys":{"pk":{"S":"c"}},"OldImage":{"pk":{"S":"c"}}}',
      '',
    ].join('\r\n');
    const s3 = handWritten([
      { name: 'zero.json.gz', bytes: new Uint8Array(), itemCount: 0 },
      { name: 'empty.json.gz', bytes: gz(''), itemCount: 0 },
      { name: 'some.json.gz', bytes: gz(text), itemCount: 3 },
    ]);
    const records = await collect(readExportRecords(s3, BUCKET, summaryKey, { verifyChecksums: true }));
    expect(records.map((r) => r.line)).to.deep.equal([1, 3, 4]);
    const [insert, del, delOld] = records.map((r) => (r.kind === 'change' ? r : undefined)!);
    expect(insert.newImage).to.deep.equal({ pk: { S: 'a' }, v: { N: '1' } });
    expect(insert.oldImage).to.equal(undefined);
    expect(del.newImage).to.equal(undefined);
    expect(del.writeTimestampMicros).to.equal(1700000000000002n);
    expect(delOld.oldImage).to.deep.equal({ pk: { S: 'c' } });
    expect(delOld.writeTimestampMicros).to.equal(undefined);
  });

  it('names the key and line of a bad JSON line', async () => {
    const s3 = handWritten([
      { name: 'bad.json.gz', bytes: gz('{"Item":{"pk":{"S":"a"}}}\n{"Item":{"pk":\n'), itemCount: 2 },
    ]);
    const err = await expectError(
      collect(readExportRecords(s3, BUCKET, summaryKey)),
      /data\/bad\.json\.gz line 2: invalid JSON/,
    );
    expect(err).to.be.instanceOf(ExportFormatError);
  });

  it('names the key and line of an unknown record shape and of a malformed attribute', async () => {
    const s3 = handWritten([
      { name: 'odd.json.gz', bytes: gz('{"Item":{"pk":{"S":"a"}}}\n{"Something":1}\n'), itemCount: 2 },
    ]);
    await expectError(
      collect(readExportRecords(s3, BUCKET, summaryKey)),
      /odd\.json\.gz line 2: unknown record shape/,
    );
    const s3b = handWritten([
      { name: 'attr.json.gz', bytes: gz('\n\n{"Item":{"pk":{"Q":"a"}}}\n'), itemCount: 1 },
    ]);
    await expectError(
      collect(readExportRecords(s3b, BUCKET, summaryKey)),
      /attr\.json\.gz line 3: attribute \$\.Item\.pk/,
    );
  });

  it('rejects bad gzip and truncated gzip naming the data file', async () => {
    const full = gz('{"Item":{"pk":{"S":"a"}}}\n'.repeat(50));
    for (const bytes of [
      new Uint8Array(Buffer.from('not gzip at all')),
      full.subarray(0, full.byteLength - 10),
    ]) {
      const s3 = handWritten([{ name: 'broken.json.gz', bytes, itemCount: 50 }]);
      await expectError(
        collect(readExportRecords(s3, BUCKET, summaryKey)),
        /data\/broken\.json\.gz line \d+: not valid gzip/,
      );
    }
  });

  it('rejects a data file whose MD5 differs from manifest-files.json once it is read (readDataFile: before returning any record)', async () => {
    const s3 = handWritten([
      { name: 'good.json.gz', bytes: gz('{"Item":{"pk":{"S":"a"}}}\n'), itemCount: 1 },
      {
        name: 'tampered.json.gz',
        bytes: gz('{"Item":{"pk":{"S":"b"}}}\n'),
        itemCount: 1,
        md5: b64md5('other'),
      },
    ]);
    const seen: ExportRecord[] = [];
    const err = await expectError(
      (async () => {
        for await (const r of readExportRecords(s3, BUCKET, summaryKey, { verifyChecksums: true }))
          seen.push(r);
      })(),
      /tampered\.json\.gz: MD5 checksum does not match/,
    );
    expect(err).to.be.instanceOf(ExportFormatError);
    // Streamed: the checksum is known at the end of the file, after its records.
    expect(seen.map((r) => r.file)).to.deep.equal([
      `${folder}data/good.json.gz`,
      `${folder}data/tampered.json.gz`,
    ]);
    const files = await listExportDataFiles(s3, BUCKET, summaryKey);
    await expectError(
      readDataFile(s3, BUCKET, files[1], { verifyChecksums: true }),
      /tampered\.json\.gz: MD5 checksum/,
    );
    // Without verification the file is read as it is.
    expect(await collect(readExportRecords(s3, BUCKET, summaryKey))).to.have.length(2);
  });

  it('rejects a manifest-files.json that does not match its checksum file, and a wrong per-file count', async () => {
    const s3 = handWritten([{ name: 'a.json.gz', bytes: gz('{"Item":{"pk":{"S":"a"}}}\n'), itemCount: 1 }]);
    s3.set(BUCKET, `${folder}manifest-files.checksum`, b64md5('something else'));
    await expectError(
      listExportDataFiles(s3, BUCKET, summaryKey, { verifyChecksums: true }),
      /manifest-files\.json: checksum mismatch/,
    );
    const s3b = handWritten([{ name: 'a.json.gz', bytes: gz('{"Item":{"pk":{"S":"a"}}}\n'), itemCount: 2 }]);
    await expectError(
      collect(readExportRecords(s3b, BUCKET, summaryKey, { verifyChecksums: true })),
      /a\.json\.gz: holds 1 records, manifest-files\.json says 2/,
    );
  });

  it('reports a missing manifest summary, manifest files list or data file by key', async () => {
    await expectError(
      readExportSummary(new MemoryS3(), BUCKET, summaryKey),
      /manifest-summary\.json: missing manifest summary/,
    );
    const s3 = handWritten([{ name: 'a.json.gz', bytes: gz(''), itemCount: 0 }]);
    s3.objects.delete(`${BUCKET}/${folder}manifest-files.json`);
    await expectError(
      listExportDataFiles(s3, BUCKET, summaryKey),
      /manifest-files\.json: missing manifest files list/,
    );
    const s3b = handWritten([{ name: 'a.json.gz', bytes: gz(''), itemCount: 0 }]);
    s3b.objects.delete(`${BUCKET}/${folder}data/a.json.gz`);
    await expectError(
      collect(readExportRecords(s3b, BUCKET, summaryKey)),
      /data\/a\.json\.gz: missing data file/,
    );
  });

  it('reports an unknown output format, and keeps unknown summary fields', async () => {
    const s3 = handWritten([]);
    const summary = JSON.parse(Buffer.from(s3.get(BUCKET, summaryKey)!).toString());
    s3.set(BUCKET, summaryKey, JSON.stringify({ ...summary, outputFormat: 'PARQUET' }));
    await expectError(readExportSummary(s3, BUCKET, summaryKey), /unknown output format "PARQUET"/);
    s3.set(
      BUCKET,
      summaryKey,
      JSON.stringify({ ...summary, exportType: 'INCREMENTAL_EXPORT', somethingNew: [1] }),
    );
    expect(await readExportSummary(s3, BUCKET, summaryKey)).to.include({ exportType: 'INCREMENTAL_EXPORT' });
    expect((await readExportSummary(s3, BUCKET, summaryKey)).somethingNew).to.deep.equal([1]);
  });
});
