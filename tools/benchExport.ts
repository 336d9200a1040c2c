/**
 * One incremental export in the AWS layout, holding a put of every item (keys `pk` and `sk`), for the
 * replica benches to apply.
 */
import type { ApplyEntry } from '../apply';
import { S3ExportSink, type ChangeRecord, type Item, type S3Sender } from '../format';

export async function writeBenchExport(
  s3: S3Sender,
  items: Item[],
  options: { itemsPerFile: number; prefix: string; exportName: string },
): Promise<ApplyEntry> {
  const exportArn = `arn:aws:dynamodb:us-east-1:123456789012:table/bench/export/01764460800000-${options.exportName}`;
  const to = 1_764_460_800;
  const records: ChangeRecord[] = items.map((newImage) => ({
    keys: { pk: newImage.pk, sk: newImage.sk },
    newImage,
    writeTimeMicros: BigInt(to - 1) * 1_000_000n,
  }));
  const outcome = await new S3ExportSink(s3, { itemsPerFile: options.itemsPerFile }).writeIncremental(
    {
      exportArn,
      exportId: exportArn.split('/').pop()!,
      type: 'INCREMENTAL_EXPORT',
      tableArn: 'arn:aws:dynamodb:us-east-1:123456789012:table/bench',
      bucket: 'bench',
      prefix: options.prefix,
      exportFormat: 'DYNAMODB_JSON',
      exportViewType: 'NEW_AND_OLD_IMAGES',
      from: to - 900,
      to,
      startTime: to + 60,
      endTime: to + 360,
    },
    records,
  );
  return { sequence: 1, exportArn, bucket: 'bench', manifestSummaryKey: outcome.manifestSummaryKey };
}
