/**
 * ExportTableToPointInTime's request rules in the fake export engine: the checks that need no table,
 * the export time or window against the PITR range, and what makes two requests the same for a
 * client token. Where AWS behaviour is unconfirmed the rule is the strict reading.
 */
import type { ExportTableToPointInTimeCommandInput } from '@aws-sdk/client-dynamodb';
import { serviceError } from './errors';
import type { ExportRequestInfo, RestorableRange } from './exportTypes';

/** ExportTableToPointInTime's request checks that need no table. */
export function validateExportRequest(
  input: ExportTableToPointInTimeCommandInput,
): asserts input is ExportTableToPointInTimeCommandInput & { TableArn: string; S3Bucket: string } {
  if (!input?.TableArn) throw serviceError('ValidationException', 'TableArn is required');
  if (!input.S3Bucket || !/^[a-z0-9A-Z]+[.\-\w]*[a-z0-9A-Z]+$/.test(input.S3Bucket)) {
    throw serviceError('ValidationException', `Invalid S3Bucket: ${JSON.stringify(input.S3Bucket)}`);
  }
  if (input.S3Prefix !== undefined && (input.S3Prefix === '' || input.S3Prefix.length > 1024)) {
    throw serviceError('ValidationException', 'S3Prefix must be 1..1024 characters; omit it for none');
  }
  if (input.ClientToken !== undefined && !/^[^$]+$/.test(input.ClientToken)) {
    throw serviceError('ValidationException', 'ClientToken must match ^[^$]+$');
  }
}

/**
 * The full export's time or the incremental window, checked against the PITR range (and the export
 * clock trailing it by `clockSkewSeconds`); sets it on `request`.
 */
export function setExportPeriod(
  input: ExportTableToPointInTimeCommandInput,
  type: string,
  range: RestorableRange,
  clockSkewSeconds: number,
  request: ExportRequestInfo,
): void {
  const invalid = (message: string) => serviceError('InvalidExportTimeException', message);
  if (type === 'FULL_EXPORT') {
    const exportTime =
      input.ExportTime === undefined
        ? Math.floor(range.latest / 1000)
        : toSeconds(input.ExportTime, 'ExportTime');
    if (exportTime * 1000 < range.earliest || exportTime * 1000 > range.latest) {
      throw invalid('Export Time is invalid');
    }
    request.exportTime = exportTime;
  } else if (type === 'INCREMENTAL_EXPORT') {
    const spec = input.IncrementalExportSpecification;
    if (!spec || spec.ExportFromTime === undefined) {
      throw serviceError('ValidationException', 'IncrementalExportSpecification.ExportFromTime is required');
    }
    const from = toSeconds(spec.ExportFromTime, 'ExportFromTime');
    const to =
      spec.ExportToTime === undefined
        ? Math.floor(range.latest / 1000)
        : toSeconds(spec.ExportToTime, 'ExportToTime');
    if (from >= to) throw invalid('The from time should not be greater or equal to the to time');
    if (to - from < 15 * 60) {
      throw invalid('Difference between export period from time and to time should be at least 15 minutes');
    }
    if (to - from > 24 * 3600) {
      throw invalid('Difference between export period from time and to time should be at most 24 hours');
    }
    if (from * 1000 < range.earliest) throw invalid('Incremental export start time outside PITR window');
    if (to * 1000 > range.latest - clockSkewSeconds * 1000) {
      throw invalid('Export period to time cannot be later than the current time');
    }
    request.from = from;
    request.to = to;
  } else {
    throw serviceError('ValidationException', `Invalid ExportType ${JSON.stringify(type)}`);
  }
}

/**
 * Timestamps arrive as Date (the SDK type) or as epoch seconds. Sub-second values are rejected: AWS
 * documents whole seconds and its handling of fractions is unconfirmed, so the fake is strict.
 */
function toSeconds(value: unknown, field: string): number {
  const seconds =
    value instanceof Date ? value.getTime() / 1000 : typeof value === 'number' ? value : Number.NaN;
  if (!Number.isFinite(seconds)) throw serviceError('ValidationException', `${field} must be a timestamp`);
  if (!Number.isInteger(seconds)) {
    throw serviceError('ValidationException', `${field} must be a whole number of seconds, got ${seconds}`);
  }
  return seconds;
}

/** Everything that makes two requests "the same" for the client token. */
export function idempotencyKey(
  tableArn: string,
  input: ExportTableToPointInTimeCommandInput,
  request: ExportRequestInfo,
): string {
  return JSON.stringify([
    tableArn,
    input.S3Bucket,
    input.S3BucketOwner ?? null,
    input.S3Prefix ?? null,
    input.S3SseAlgorithm ?? null,
    input.S3SseKmsKeyId ?? null,
    input.ExportFormat ?? 'DYNAMODB_JSON',
    request.type,
    request.exportTime ?? null,
    request.from ?? null,
    request.to ?? null,
    input.IncrementalExportSpecification?.ExportViewType ?? null,
  ]);
}
