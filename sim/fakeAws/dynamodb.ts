/**
 * The DynamoDB export engine, in memory: point-in-time recovery windows, full and incremental exports
 * with the validation rules documented for ExportTableToPointInTime, client-token idempotency, the
 * concurrency quota, and export completion on the simulated clock. Rules follow
 * /work/shared/reference/dynamodb-exports.md; where AWS behaviour is unconfirmed the fake is the strict
 * choice, so code that passes here also works if AWS turns out to be lenient.
 */
import type {
  DescribeContinuousBackupsCommandInput,
  DescribeContinuousBackupsCommandOutput,
  DescribeExportCommandInput,
  DescribeExportCommandOutput,
  ExportDescription,
  ExportTableToPointInTimeCommandInput,
  ExportTableToPointInTimeCommandOutput,
  ServiceInputTypes,
  ServiceOutputTypes,
} from '@aws-sdk/client-dynamodb';
import type { ChangeRecord, ExportOutcome, ExportSink, ExportSpec, Item, TableSource } from '../contracts';
import { asServiceWork } from '../lambdaSandbox';
import { serviceError } from './errors';
import { CallLog, FakeService, type NowFn } from './service';

/** Client tokens stay bound to their request for 8 hours after the export completes. */
export const CLIENT_TOKEN_TTL_SECONDS = 8 * 3600;
/**
 * FailureCode of an export whose files the engine could not write (the sink threw). AWS's code for
 * such a failure is unconfirmed; a distinct name keeps it apart from the failures a scenario plans.
 */
export const EXPORT_WRITE_FAILURE_CODE = 'ExportWriteFailed';
/** Documented quota: 300 export tasks in flight per account. */
export const DEFAULT_MAX_CONCURRENT_EXPORTS = 300;

export interface FakeTableOptions {
  name: string;
  /** The table's data history; an empty table when absent. */
  source?: TableSource;
  /** When PITR was enabled (epoch ms); `null` leaves PITR disabled. @default one day before now */
  pitrEnabledAt?: number | null;
  /** @default 35 */
  recoveryPeriodInDays?: number;
}

interface FakeTable {
  name: string;
  arn: string;
  tableId: string;
  source: TableSource;
  pitrEnabledAt: number | null;
  recoveryPeriodInDays: number;
  deleted: boolean;
}

/** A request as the engine normalises it; also what failure predicates and duration functions see. */
export interface ExportRequestInfo {
  tableName: string;
  tableArn: string;
  type: 'FULL_EXPORT' | 'INCREMENTAL_EXPORT';
  /** Full exports: snapshot time, epoch seconds. */
  exportTime?: number;
  /** Incremental exports: window, epoch seconds. */
  from?: number;
  to?: number;
  clientToken?: string;
  /** Request time, epoch ms. */
  requestedAt: number;
  /** LatestRestorableDateTime at the request, epoch ms. */
  latestRestorable: number;
  /** EarliestRestorableDateTime at the request, epoch ms. */
  earliestRestorable: number;
}

/** One export the engine knows about. */
export interface FakeExport {
  arn: string;
  request: ExportRequestInfo;
  /** The accepted request (its bucket was validated). */
  input: ExportTableToPointInTimeCommandInput & { S3Bucket: string };
  startTime: number;
  /** When the export reaches its final status, epoch ms. */
  endTime: number;
  fails: boolean;
  failure?: { code: string; message: string };
  outcome?: ExportOutcome;
  /** Set once the sink has been called: exactly once per export that came due without a planned failure. */
  sinkDone?: Promise<ExportOutcome | undefined>;
  /** What the sink threw, when writing the files failed (the export then ended FAILED). */
  writeError?: unknown;
  describeCount: number;
}

export interface FakeDynamoDBOptions {
  log: CallLog;
  now: NowFn;
  region: string;
  account: string;
  sink: ExportSink;
  /** Export duration in seconds. @default full 600, incremental 360 */
  exportDurationSeconds?: (request: ExportRequestInfo) => number;
  /** How far LatestRestorableDateTime trails now, seconds. @default 300 */
  restorableLagSeconds?: number;
  maxConcurrentExports?: number;
}

type FailRule = { remaining: number; predicate: (request: ExportRequestInfo) => boolean; code: string };

/** ExportTableToPointInTime's request checks that need no table. */
function validateExportRequest(
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

/** What the export sink is told of an export. */
function exportSpec(exp: FakeExport): ExportSpec {
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

export class FakeDynamoDB extends FakeService<ServiceInputTypes, ServiceOutputTypes> {
  readonly tables = new Map<string, FakeTable>();
  readonly exports = new Map<string, FakeExport>();
  private readonly tokens = new Map<string, { key: string; arn: string }>();
  private readonly failRules: FailRule[] = [];
  private lastExportMs = 0;
  private exportCounter = 0;
  restorableLagSeconds: number;
  /**
   * How far the clock DynamoDB uses to validate ExportToTime trails the LatestRestorableDateTime it
   * reports (AWS documents that its export clock may differ from yours by up to a minute). @default 0
   */
  exportClockSkewSeconds = 0;
  /**
   * What DescribeExport puts in ExportManifest. AWS documents it as "the name of the manifest file";
   * whether that is the full key of manifest-summary.json or only the file name is unconfirmed, so
   * both can be simulated. @default 'key'
   */
  exportManifestField: 'key' | 'fileName' = 'key';

  constructor(private readonly options: FakeDynamoDBOptions) {
    super('dynamodb', options.log, options.now);
    this.restorableLagSeconds = options.restorableLagSeconds ?? 300;
  }

  protected readonly handlers = {
    DescribeContinuousBackups: (input: DescribeContinuousBackupsCommandInput) =>
      this.describeContinuousBackups(input),
    ExportTableToPointInTime: (input: ExportTableToPointInTimeCommandInput) => this.exportTable(input),
    DescribeExport: (input: DescribeExportCommandInput) => this.describeExport(input),
  };

  // ---- scenario controls -------------------------------------------------------------------------

  addTable(options: FakeTableOptions): string {
    const arn = `arn:aws:dynamodb:${this.options.region}:${this.options.account}:table/${options.name}`;
    this.tables.set(options.name, {
      name: options.name,
      arn,
      tableId: `${(this.tables.size + 1).toString(16).padStart(8, '0')}-0000-4000-8000-000000000000`,
      source: options.source ?? { keyAttributes: ['pk'], snapshotAt: () => [], changesBetween: () => [] },
      pitrEnabledAt: options.pitrEnabledAt === undefined ? this.now() - 86_400_000 : options.pitrEnabledAt,
      recoveryPeriodInDays: options.recoveryPeriodInDays ?? 35,
      deleted: false,
    });
    return arn;
  }

  /** Enables PITR now. Re-enabling after a disable loses history: earliest restorable = now. */
  enablePitr(table: string): void {
    const t = this.table(table);
    if (t.pitrEnabledAt === null) t.pitrEnabledAt = this.now();
  }

  disablePitr(table: string): void {
    this.table(table).pitrEnabledAt = null;
  }

  deleteTable(table: string): void {
    this.table(table).deleted = true;
  }

  setRestorableLag(seconds: number): void {
    this.restorableLagSeconds = seconds;
  }

  /** See `exportClockSkewSeconds`. */
  setExportClockSkew(seconds: number): void {
    this.exportClockSkewSeconds = seconds;
  }

  /**
   * The next `n` exports that are started (or those the predicate picks) end FAILED.
   * @param code FailureCode reported by DescribeExport.
   */
  failNextExports(n: number | ((request: ExportRequestInfo) => boolean), code = 'S3AccessDenied'): void {
    if (typeof n === 'number') this.failRules.push({ remaining: n, predicate: () => true, code });
    else this.failRules.push({ remaining: Infinity, predicate: n, code });
  }

  /**
   * Calls the sink for every export that has completed but was not yet described; returns those
   * written (one whose write failed is FAILED instead).
   */
  async flushCompleted(): Promise<FakeExport[]> {
    const done: FakeExport[] = [];
    for (const exp of this.exports.values()) {
      if (this.now() >= exp.endTime && !exp.fails) {
        if (await this.complete(exp)) done.push(exp);
      }
    }
    return done;
  }

  /** Exports still running at the current time. */
  inFlight(): FakeExport[] {
    return [...this.exports.values()].filter((e) => this.now() < e.endTime);
  }

  /** Earliest and latest restorable times (epoch ms) of an enabled table; null when PITR is off. */
  restorableRange(table: string): { earliest: number; latest: number } | null {
    const t = this.table(table);
    if (t.pitrEnabledAt === null) return null;
    const now = this.now();
    const earliest = Math.max(t.pitrEnabledAt, now - t.recoveryPeriodInDays * 86_400_000);
    const latest = Math.max(earliest, now - this.restorableLagSeconds * 1000);
    return { earliest, latest };
  }

  // ---- API ---------------------------------------------------------------------------------------

  private describeContinuousBackups(
    input: DescribeContinuousBackupsCommandInput,
  ): DescribeContinuousBackupsCommandOutput {
    const t = this.lookup(input?.TableName);
    const range = this.restorableRange(t.name);
    return {
      ContinuousBackupsDescription: {
        ContinuousBackupsStatus: 'ENABLED',
        PointInTimeRecoveryDescription: range
          ? {
              PointInTimeRecoveryStatus: 'ENABLED',
              RecoveryPeriodInDays: t.recoveryPeriodInDays,
              EarliestRestorableDateTime: new Date(range.earliest),
              LatestRestorableDateTime: new Date(range.latest),
            }
          : { PointInTimeRecoveryStatus: 'DISABLED' },
      },
      $metadata: { httpStatusCode: 200 },
    };
  }

  private exportTable(input: ExportTableToPointInTimeCommandInput): ExportTableToPointInTimeCommandOutput {
    validateExportRequest(input);
    const t = this.lookup(input.TableArn);
    const range = this.restorableRange(t.name);
    if (!range) {
      throw serviceError(
        'PointInTimeRecoveryUnavailableException',
        `Point in time recovery is not enabled for table '${t.name}'`,
      );
    }
    const now = this.now();
    const type = input.ExportType ?? 'FULL_EXPORT';
    const request: ExportRequestInfo = {
      tableName: t.name,
      tableArn: t.arn,
      type,
      clientToken: input.ClientToken,
      requestedAt: now,
      latestRestorable: range.latest,
      earliestRestorable: range.earliest,
    };
    this.setExportPeriod(input, type, range, request);

    const key = idempotencyKey(t.arn, input, request);
    if (input.ClientToken !== undefined) {
      const bound = this.tokens.get(input.ClientToken);
      if (bound) {
        const previous = this.exports.get(bound.arn)!;
        const expired = now >= previous.endTime + CLIENT_TOKEN_TTL_SECONDS * 1000;
        if (!expired) {
          if (bound.key !== key) {
            throw serviceError('ExportConflictException', 'Duplicate request detected for this client token');
          }
          return { ExportDescription: this.description(previous), $metadata: { httpStatusCode: 200 } };
        }
      }
    }
    const inFlight = [...this.exports.values()].filter((e) => now < e.endTime).length;
    if (inFlight >= (this.options.maxConcurrentExports ?? DEFAULT_MAX_CONCURRENT_EXPORTS)) {
      throw serviceError('LimitExceededException', 'Too many concurrent exports');
    }

    const arn = this.newExportArn(t.name, now);
    const duration = this.options.exportDurationSeconds?.(request) ?? (type === 'FULL_EXPORT' ? 600 : 360);
    const rule = this.failRules.find((r) => r.remaining > 0 && r.predicate(request));
    if (rule) rule.remaining -= 1;
    const exp: FakeExport = {
      arn,
      request,
      input: { ...input, S3Bucket: input.S3Bucket },
      startTime: now,
      endTime: now + Math.round(duration * 1000),
      fails: Boolean(rule),
      failure: rule ? { code: rule.code, message: `Export failed: ${rule.code}` } : undefined,
      describeCount: 0,
    };
    this.exports.set(arn, exp);
    if (input.ClientToken !== undefined) this.tokens.set(input.ClientToken, { key, arn });
    return { ExportDescription: this.description(exp), $metadata: { httpStatusCode: 200 } };
  }

  /** The full export's time or the incremental window, checked against the PITR range; sets it on `request`. */
  private setExportPeriod(
    input: ExportTableToPointInTimeCommandInput,
    type: string,
    range: NonNullable<ReturnType<FakeDynamoDB['restorableRange']>>,
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
        throw serviceError(
          'ValidationException',
          'IncrementalExportSpecification.ExportFromTime is required',
        );
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
      if (to * 1000 > range.latest - this.exportClockSkewSeconds * 1000) {
        throw invalid('Export period to time cannot be later than the current time');
      }
      request.from = from;
      request.to = to;
    } else {
      throw serviceError('ValidationException', `Invalid ExportType ${JSON.stringify(type)}`);
    }
  }

  private async describeExport(input: DescribeExportCommandInput): Promise<DescribeExportCommandOutput> {
    const arn = input?.ExportArn;
    if (typeof arn !== 'string' || !/^arn:aws:dynamodb:[^:]+:\d{12}:table\/[^/]+\/export\/[^/]+$/.test(arn)) {
      throw serviceError('ValidationException', 'Invalid Export ARN');
    }
    const exp = this.exports.get(arn);
    if (!exp) throw serviceError('ExportNotFoundException', `Export not found: ${arn}`);
    exp.describeCount += 1;
    if (this.now() >= exp.endTime && !exp.fails) await this.complete(exp);
    return { ExportDescription: this.description(exp), $metadata: { httpStatusCode: 200 } };
  }

  // ---- internals ---------------------------------------------------------------------------------

  /**
   * Writes the export's files once, when it is first seen due. A write that fails ends the export
   * FAILED (`EXPORT_WRITE_FAILURE_CODE`, the error in its FailureMessage and in `writeError`), as
   * DynamoDB reports an export it could not write: the failure must not turn into an error of
   * every later DescribeExport, which the tick would take for a transient one and read again forever.
   */
  private complete(exp: FakeExport): Promise<ExportOutcome | undefined> {
    if (!exp.sinkDone) {
      const t = this.tables.get(exp.request.tableName)!;
      const spec = exportSpec(exp);
      // DynamoDB's work, not the Lambda's that happens to describe the export when it is due.
      exp.sinkDone = asServiceWork(async () => {
        try {
          const outcome =
            spec.type === 'FULL_EXPORT'
              ? await this.options.sink.writeFull(spec, t.source.snapshotAt(spec.exportTime!) as Item[])
              : await this.options.sink.writeIncremental(
                  spec,
                  t.source.changesBetween(spec.from!, spec.to!) as ChangeRecord[],
                );
          exp.outcome = outcome;
          return outcome;
        } catch (error) {
          exp.fails = true;
          exp.writeError = error;
          const e = error as { name?: string; message?: string };
          exp.failure = {
            code: EXPORT_WRITE_FAILURE_CODE,
            message: `the export's files could not be written: ${e?.name ?? 'Error'}: ${e?.message ?? String(error)}`,
          };
          return undefined;
        }
      });
    }
    return exp.sinkDone;
  }

  private description(exp: FakeExport): ExportDescription {
    const now = this.now();
    const done = now >= exp.endTime;
    const status = !done ? 'IN_PROGRESS' : exp.fails ? 'FAILED' : 'COMPLETED';
    const input = exp.input;
    const t = this.tables.get(exp.request.tableName)!;
    const d: ExportDescription = {
      ExportArn: exp.arn,
      ExportStatus: status,
      StartTime: new Date(exp.startTime),
      ExportType: exp.request.type,
      ExportFormat: input.ExportFormat ?? 'DYNAMODB_JSON',
      ClientToken: input.ClientToken,
      TableArn: exp.request.tableArn,
      TableId: t.tableId,
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
        this.exportManifestField === 'key'
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

  /** AWS format: 14-digit zero-padded creation ms, then 8 hex digits; ARNs sort in creation order. */
  private newExportArn(table: string, now: number): string {
    const ms = Math.max(now, this.lastExportMs);
    this.lastExportMs = ms;
    this.exportCounter += 1;
    const id = `${String(ms).padStart(14, '0')}-${this.exportCounter.toString(16).padStart(8, '0')}`;
    return `arn:aws:dynamodb:${this.options.region}:${this.options.account}:table/${table}/export/${id}`;
  }

  private table(name: string): FakeTable {
    const t = this.tables.get(name);
    if (!t) throw new Error(`unknown fake table ${name}`);
    return t;
  }

  /** Finds a table by name or ARN, as the API accepts either. */
  private lookup(nameOrArn: unknown): FakeTable {
    if (typeof nameOrArn !== 'string' || nameOrArn === '') {
      throw serviceError('ValidationException', 'TableName/TableArn is required');
    }
    const name = nameOrArn.startsWith('arn:') ? nameOrArn.split(':table/')[1]?.split('/')[0] : nameOrArn;
    const t = name ? this.tables.get(name) : undefined;
    if (!t || t.deleted || (nameOrArn.startsWith('arn:') && t.arn !== nameOrArn)) {
      throw serviceError('TableNotFoundException', `Table not found: ${nameOrArn}`);
    }
    return t;
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
function idempotencyKey(
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
