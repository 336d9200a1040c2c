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
import type { ChangeRecord, ExportOutcome, ExportSink, Item, TableSource } from '../contracts';
import { asServiceWork } from '../machines/lambdaSandbox';
import { serviceError } from './errors';
import { exportDescription, exportSpec } from './exportDescription';
import { idempotencyKey, setExportPeriod, validateExportRequest } from './exportRequest';
import type { ExportRequestInfo, FakeExport, RestorableRange } from './exportTypes';
import { CallLog, FakeService, type NowFn } from './service';

export type { ExportRequestInfo, FakeExport };

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
  restorableRange(table: string): RestorableRange | null {
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
    setExportPeriod(input, type, range, this.exportClockSkewSeconds, request);

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

  /** AWS format: 14-digit zero-padded creation ms, then 8 hex digits; ARNs sort in creation order. */
  private newExportArn(table: string, now: number): string {
    const ms = Math.max(now, this.lastExportMs);
    this.lastExportMs = ms;
    this.exportCounter += 1;
    const id = `${String(ms).padStart(14, '0')}-${this.exportCounter.toString(16).padStart(8, '0')}`;
    return `arn:aws:dynamodb:${this.options.region}:${this.options.account}:table/${table}/export/${id}`;
  }

  private description(exp: FakeExport): ExportDescription {
    const tableId = this.tables.get(exp.request.tableName)!.tableId;
    return exportDescription(exp, tableId, this.exportManifestField, this.now());
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
