/**
 * Round trips through the format module: arbitrary items and change records written by the S3
 * export writer in each output format and read back by the streaming reader, unchanged.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import {
  S3ExportSink,
  changeLine,
  itemLine,
  parseIonLine,
  parseJsonLine,
  readExportRecords,
  readExportSummary,
  type ChangeRecord,
  type ExportFormatName,
  type ExportRecord,
  type ExportSpec,
} from '../../../format';
import { MemoryS3, TABLE_ARN } from '../../helpers/exportChain';
import { dynamoNumber, dynamoNumberAnyForm, itemArbitrary } from '../../helpers/formatArbitraries';

const BUCKET = 'round-trip';
const T = Date.UTC(2026, 10, 1, 12, 0, 0) / 1000;

function spec(format: ExportFormatName, overrides: Partial<ExportSpec> = {}): ExportSpec {
  const exportId = '01761998400000-a1b2c3d4';
  return {
    exportArn: `${TABLE_ARN}/export/${exportId}`,
    exportId,
    type: 'FULL_EXPORT',
    tableArn: TABLE_ARN,
    bucket: BUCKET,
    prefix: 'p',
    exportFormat: format,
    exportTime: T,
    startTime: T + 60,
    endTime: T + 600,
    ...overrides,
  };
}

async function collect(iter: AsyncIterable<ExportRecord>): Promise<ExportRecord[]> {
  const out: ExportRecord[] = [];
  for await (const r of iter) out.push(r);
  return out;
}

/**
 * Numbers per format: DYNAMODB_JSON carries the number text as given, so any accepted form round
 * trips exactly; ION carries a decimal value, so numbers round trip in DynamoDB's normalised form
 * (the form DynamoDB itself stores and returns).
 */
const NUMBERS: Record<ExportFormatName, fc.Arbitrary<string>> = {
  DYNAMODB_JSON: dynamoNumberAnyForm,
  ION: dynamoNumber,
};

const microsArb = fc.oneof(
  fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  fc.bigInt({ min: 0n, max: 2n ** 70n }),
);

for (const format of ['DYNAMODB_JSON', 'ION'] as const) {
  describe(`export format round trip: ${format} (format/)`, () => {
    const items = fc.array(itemArbitrary(NUMBERS[format]), { maxLength: 10 });

    it('reads back every line exactly as written, for any item', () => {
      fc.assert(
        fc.property(itemArbitrary(NUMBERS[format]), (item) => {
          const line = itemLine(item, format);
          expect(line).not.to.include('\n');
          const read = format === 'ION' ? parseIonLine(line, 'k', 1) : parseJsonLine(line, 'k', 1);
          expect(read).to.deep.equal({ kind: 'item', item, file: 'k', line: 1 });
        }),
        { numRuns: 300 },
      );
    });

    it('reads back a full export exactly as written, whatever the data file size', async () => {
      await fc.assert(
        fc.asyncProperty(items, fc.integer({ min: 1, max: 4 }), async (written, itemsPerFile) => {
          const s3 = new MemoryS3();
          const outcome = await new S3ExportSink(s3, { itemsPerFile }).writeFull(spec(format), written);
          const summary = await readExportSummary(s3, BUCKET, outcome.manifestSummaryKey);
          expect(summary.outputFormat).to.equal(format);
          const read = await collect(
            readExportRecords(s3, BUCKET, outcome.manifestSummaryKey, { verifyChecksums: true }),
          );
          expect(read.map((r) => (r.kind === 'item' ? r.item : undefined))).to.deep.equal(written);
          const suffix = format === 'ION' ? '.ion.gz' : '.json.gz';
          expect(read.every((r) => r.file.endsWith(suffix))).to.equal(true);
        }),
        { numRuns: 40 },
      );
    });

    it('reads back an incremental export exactly as written, in both views', async () => {
      const record = fc
        .tuple(
          itemArbitrary(NUMBERS[format]),
          fc.option(itemArbitrary(NUMBERS[format]), { nil: undefined }),
          fc.boolean(),
          microsArb,
        )
        .map(([image, old, deleted, micros]): ChangeRecord => {
          const keys = { pk: image.pk };
          const r: ChangeRecord = { keys, writeTimeMicros: micros };
          if (!deleted) r.newImage = image;
          if (old || deleted) r.oldImage = { ...(old ?? {}), pk: image.pk };
          return r;
        });
      await fc.assert(
        fc.asyncProperty(
          fc.array(record, { maxLength: 8 }),
          fc.constantFrom('NEW_AND_OLD_IMAGES' as const, 'NEW_IMAGE' as const),
          async (records, view) => {
            const s3 = new MemoryS3();
            const outcome = await new S3ExportSink(s3, { itemsPerFile: 3 }).writeIncremental(
              spec(format, {
                type: 'INCREMENTAL_EXPORT',
                exportTime: undefined,
                from: T,
                to: T + 900,
                exportViewType: view,
              }),
              records,
            );
            const read = await collect(
              readExportRecords(s3, BUCKET, outcome.manifestSummaryKey, { verifyChecksums: true }),
            );
            expect(read).to.have.length(records.length);
            read.forEach((r, i) => {
              const w = records[i];
              if (r.kind !== 'change') throw new Error('expected a change record');
              expect(r.file.startsWith('p/AWSDynamoDB/data/')).to.equal(true);
              expect(r.keys).to.deep.equal(w.keys);
              expect(r.newImage).to.deep.equal(w.newImage);
              expect(r.oldImage).to.deep.equal(view === 'NEW_IMAGE' ? undefined : w.oldImage);
              expect(r.writeTimestampMicros).to.equal(BigInt(w.writeTimeMicros));
            });
          },
        ),
        { numRuns: 40 },
      );
    });

    it('writes one line per record, so lines and records count alike', () => {
      fc.assert(
        fc.property(itemArbitrary(NUMBERS[format]), microsArb, (item, micros) => {
          const line = changeLine(
            { keys: { pk: item.pk }, newImage: item, writeTimeMicros: micros },
            format,
            'NEW_AND_OLD_IMAGES',
          );
          expect(line.split('\n')).to.have.length(1);
        }),
        { numRuns: 100 },
      );
    });
  });
}
