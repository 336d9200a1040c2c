/**
 * What the fake export engine reports of an export: DescribeExport's ExportDescription, and the spec
 * its export sink is given when the export's files are written.
 */
import type { ExportDescription } from '@aws-sdk/client-dynamodb';
import type { ExportSpec } from '../contracts';
import type { FakeExport } from './exportTypes';

/** What the export sink is told of an export. */
export function exportSpec(exp: FakeExport): ExportSpec {
  const input = exp.input;
  return {
    exportArn: exp.arn,
    exportId: exp.arn.split('/').pop()!,
    type: exp.request.type,
    tableArn: exp.request.tableArn,
    bucket: input.S3Bucket,
    prefix: input.S3Prefix ?? '',
    exportFormat: input.ExportFormat ?? 'DYNAMODB_JSON',
    exportViewType:
      exp.request.type === 'INCREMENTAL_EXPORT'
        ? (input.IncrementalExportSpecification?.ExportViewType ?? 'NEW_AND_OLD_IMAGES')
        : undefined,
    exportTime: exp.request.exportTime,
    from: exp.request.from,
    to: exp.request.to,
    startTime: Math.floor(exp.startTime / 1000),
    endTime: Math.floor(exp.endTime / 1000),
  };
}

/**
 * DescribeExport's answer at `now`: IN_PROGRESS until the export's end, then COMPLETED or FAILED.
 * `manifestField` is what ExportManifest holds (see FakeDynamoDB.exportManifestField).
 */
export function exportDescription(
  exp: FakeExport,
  tableId: string,
  manifestField: 'key' | 'fileName',
  now: number,
): ExportDescription {
  const done = now >= exp.endTime;
  const status = !done ? 'IN_PROGRESS' : exp.fails ? 'FAILED' : 'COMPLETED';
  const input = exp.input;
  const d: ExportDescription = {
    ExportArn: exp.arn,
    ExportStatus: status,
    StartTime: new Date(exp.startTime),
    ExportType: exp.request.type,
    ExportFormat: input.ExportFormat ?? 'DYNAMODB_JSON',
    ClientToken: input.ClientToken,
    TableArn: exp.request.tableArn,
    TableId: tableId,
    S3Bucket: input.S3Bucket,
    S3BucketOwner: input.S3BucketOwner,
    S3Prefix: input.S3Prefix,
    S3SseAlgorithm: input.S3SseAlgorithm ?? 'AES256',
    S3SseKmsKeyId: input.S3SseKmsKeyId,
    // For incremental exports AWS's ExportTime value is unconfirmed; the window end is reported.
    ExportTime: new Date((exp.request.exportTime ?? exp.request.to!) * 1000),
  };
  if (exp.request.type === 'INCREMENTAL_EXPORT') {
    d.IncrementalExportSpecification = {
      ExportFromTime: new Date(exp.request.from! * 1000),
      ExportToTime: new Date(exp.request.to! * 1000),
      ExportViewType: input.IncrementalExportSpecification?.ExportViewType ?? 'NEW_AND_OLD_IMAGES',
    };
  }
  if (status === 'COMPLETED') {
    d.EndTime = new Date(exp.endTime);
    d.ExportManifest =
      manifestField === 'key'
        ? exp.outcome?.manifestSummaryKey
        : exp.outcome?.manifestSummaryKey.split('/').pop();
    d.ItemCount = exp.outcome?.itemCount ?? 0;
    d.BilledSizeBytes = exp.outcome?.billedSizeBytes ?? 0;
  } else if (status === 'FAILED') {
    d.EndTime = new Date(exp.endTime);
    d.FailureCode = exp.failure!.code;
    d.FailureMessage = exp.failure!.message;
  }
  for (const k of Object.keys(d) as (keyof ExportDescription)[]) if (d[k] === undefined) delete d[k];
  return d;
}
