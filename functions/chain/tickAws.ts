/**
 * The export tick's edge: every AWS call the tick makes, each a named step with the retry policy and
 * the translation of answers into observations for the planner. No decision is taken here.
 */
import {
  DescribeContinuousBackupsCommand,
  DescribeExportCommand,
  ExportTableToPointInTimeCommand,
  type ExportTableToPointInTimeCommandInput,
  type __MetadataBearer,
} from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { PublishCommand } from '@aws-sdk/client-sns';
import {
  GetParametersCommand,
  PutParameterCommand,
  type GetParametersCommandOutput,
} from '@aws-sdk/client-ssm';
import type {
  AnyCommand,
  CommandSender,
  DynamoDBSender,
  S3Sender,
  SnsSender,
  SsmSender,
} from '../shared/awsClients';
import {
  chainCurrentKey,
  chainEntryKey,
  chainHeadKey,
  chainObjectBody,
  exportDataPrefix,
} from '../shared/chainManifest';
import { defaultManifestSummaryKey, type CommitPlan } from './commits';
import { acquireLease, releaseLease, type SsmCall } from '../shared/lease';
import type { NotificationFact } from './notificationFacts';
import { buildPublishRequest, type ChainContext } from './notifications';
import { profileOf } from './planWork';
import {
  fitState,
  type ActionObservation,
  type DescribeObservation,
  type PitrObservation,
  type StartOutcome,
} from './planner';
import { errorMessage, errorName, isTransientError, withRetry, type RetryOptions } from '../shared/retry';
import { parseMarker, runFailureMarkerKey, type RunFailureMarker } from './runFailureMarker';
import type { WorkflowSettings } from './settings';
import {
  ChainStateMissingError,
  parseState,
  serializeState,
  type ChainState,
  type TrackedExport,
} from './state';
import { chainLagSeconds } from './timing';
import { nowSeconds, toSeconds } from '../shared/time';
import { clientToken } from './tokens';

export type { CommandSender } from '../shared/awsClients';

/** The tick's clients: real SDK clients in Lambda, or anything with the same `send` (fakes, wrappers). */
export interface ExportTickClients {
  dynamodb: DynamoDBSender;
  ssm: SsmSender;
  s3: S3Sender;
  sns: SnsSender;
}

/** ExportTableToPointInTime input for a tracked export, from the profile it was recorded with. */
export function exportRequest(
  settings: WorkflowSettings,
  state: ChainState,
  epoch: string,
  e: Pick<TrackedExport, 'type' | 'from' | 'to' | 'attempt' | 'profile'>,
): ExportTableToPointInTimeCommandInput {
  const p = profileOf(state, e, settings);
  const input: ExportTableToPointInTimeCommandInput = {
    TableArn: settings.tableArn,
    S3Bucket: p.bucket,
    ExportFormat: p.exportFormat,
    S3SseAlgorithm: p.kmsKeyArn ? 'KMS' : 'AES256',
    ClientToken: clientToken({
      tableArn: settings.tableArn,
      epoch,
      type: e.type,
      from: e.from,
      to: e.to,
      attempt: e.attempt,
    }),
  };
  // DynamoDB rejects an empty prefix; omit it instead.
  if (p.prefix) input.S3Prefix = p.prefix;
  if (p.bucketOwnerAccountId) input.S3BucketOwner = p.bucketOwnerAccountId;
  if (p.kmsKeyArn) input.S3SseKmsKeyId = p.kmsKeyArn;
  if (e.type === 'FULL') {
    input.ExportType = 'FULL_EXPORT';
    input.ExportTime = new Date(e.to * 1000);
  } else {
    input.ExportType = 'INCREMENTAL_EXPORT';
    input.IncrementalExportSpecification = {
      ExportFromTime: new Date(e.from * 1000),
      ExportToTime: new Date(e.to * 1000),
      ExportViewType: p.exportViewType,
    };
  }
  return input;
}

/**
 * Key of an export's manifest-summary.json. DescribeExport's ExportManifest is documented only as
 * "the name of the manifest file": whether it is the full key or just the file name is unconfirmed,
 * so a value with a '/' is taken as the key, a bare name is put in the export's folder, and without it
 * the documented layout `<prefix>/AWSDynamoDB/<exportId>/manifest-summary.json` is used.
 */
export function manifestSummaryKeyOf(prefix: string, exportArn: string, exportManifest: unknown): string {
  if (typeof exportManifest !== 'string' || exportManifest === '') {
    return defaultManifestSummaryKey(prefix, exportArn);
  }
  if (exportManifest.includes('/')) return exportManifest;
  return `${exportDataPrefix(prefix, exportArn)}${exportManifest}`;
}

/** Maps a refused or unanswered start to what it means for the chain. */
export function classifyStartError(error: unknown): StartOutcome {
  const code = errorName(error);
  const message = errorMessage(error);
  if (code === 'TransientAwsError' || isTransientError(error)) {
    // Throttled or unanswered after retries: maybe accepted, so the same request follows later.
    const cause = (error as { causeName?: unknown }).causeName;
    return { kind: 'THROTTLED', code: typeof cause === 'string' ? cause : code, message };
  }
  switch (code) {
    case 'InvalidExportTimeException':
      // The planner only requests windows whose `from` passed the PITR check and whose `to` is at
      // least the margin behind LatestRestorableDateTime, so this answer means "not yet" (DynamoDB's
      // clock may differ from ours by up to a minute; the exact rule is not documented).
      return { kind: 'NOT_YET', code, message };
    case 'PointInTimeRecoveryUnavailableException':
      return { kind: 'PITR_UNAVAILABLE', code, message };
    case 'TableNotFoundException':
      return { kind: 'TABLE_NOT_FOUND', code, message };
    default:
      return { kind: 'REJECTED', code, message };
  }
}

function fitsParameter(state: ChainState): boolean {
  try {
    serializeState(state);
    return true;
  } catch {
    return false;
  }
}

function paramOf(
  result: GetParametersCommandOutput | undefined,
  name: string,
): { Value?: string; Version?: number; LastModifiedDate?: Date } | undefined {
  return (result?.Parameters ?? []).find((x) => x?.Name === name);
}

/**
 * The tick's AWS calls for one table: one method per named step, all under the one retry policy, each
 * turning AWS's answer into an observation for the planner.
 */
export class TickAws {
  constructor(
    private readonly clients: ExportTickClients,
    private readonly settings: WorkflowSettings,
    private readonly retry?: RetryOptions,
  ) {}

  /** One AWS call under the retry policy; the answer is typed by the command. */
  private call<I extends object, O extends __MetadataBearer>(
    label: string,
    client: CommandSender,
    command: AnyCommand<I, O>,
  ): Promise<O> {
    return withRetry(label, () => client.send(command), this.retry);
  }

  private readonly ssmCall: SsmCall = (label, command) => this.call(label, this.clients.ssm, command);

  private async putObject(key: string, body: string): Promise<void> {
    await this.call(
      'PutObject',
      this.clients.s3,
      new PutObjectCommand({
        Bucket: this.settings.bucket,
        Key: key,
        Body: body,
        ContentType: 'application/json',
        ...(this.settings.bucketOwnerAccountId
          ? { ExpectedBucketOwner: this.settings.bucketOwnerAccountId }
          : {}),
      }),
    );
  }

  acquireLease(executionId: string, now: number, ownIsStale = false): Promise<boolean> {
    return acquireLease(this.ssmCall, {
      lockName: this.settings.lockParameterName,
      executionId,
      now,
      ownIsStale,
    });
  }

  releaseLease(): Promise<void> {
    return releaseLease(this.ssmCall, this.settings.lockParameterName);
  }

  /** State and operator action in one GetParameters. */
  async loadState(): Promise<{ state: ChainState; action: ActionObservation }> {
    const result = await this.call(
      'GetParameters(state, action)',
      this.clients.ssm,
      new GetParametersCommand({
        Names: [this.settings.stateParameterName, this.settings.actionParameterName],
      }),
    );
    const stateText = paramOf(result, this.settings.stateParameterName)?.Value;
    if (stateText === undefined) throw new ChainStateMissingError(this.settings.stateParameterName);
    const action = paramOf(result, this.settings.actionParameterName);
    return {
      state: parseState(stateText, this.settings.stateParameterName),
      action: {
        value: action?.Value ?? null,
        version: typeof action?.Version === 'number' ? action.Version : null,
        // With the version, what tells a plain RESET from an earlier one (functions/chain/operatorAction.ts).
        modifiedAtMs: action?.LastModifiedDate ? new Date(action.LastModifiedDate).getTime() : null,
      },
    };
  }

  /** Saves the state, first made to fit the parameter; returns it as saved. */
  async saveState(state: ChainState): Promise<ChainState> {
    const fitted = fitState(state, fitsParameter);
    await this.call(
      'PutParameter(state)',
      this.clients.ssm,
      new PutParameterCommand({
        Name: this.settings.stateParameterName,
        Value: serializeState(fitted),
        Type: 'String',
        Overwrite: true,
      }),
    );
    return fitted;
  }

  async readPitr(): Promise<PitrObservation> {
    try {
      const result = await this.call(
        'DescribeContinuousBackups',
        this.clients.dynamodb,
        new DescribeContinuousBackupsCommand({ TableName: this.settings.tableName }),
      );
      const pitr = result?.ContinuousBackupsDescription?.PointInTimeRecoveryDescription;
      if (pitr?.PointInTimeRecoveryStatus !== 'ENABLED') return { status: 'DISABLED' };
      return {
        status: 'ENABLED',
        earliest: toSeconds(pitr.EarliestRestorableDateTime),
        latest: toSeconds(pitr.LatestRestorableDateTime),
        recoveryPeriodDays:
          typeof pitr.RecoveryPeriodInDays === 'number' ? pitr.RecoveryPeriodInDays : undefined,
      };
    } catch (error) {
      if (errorName(error) === 'TableNotFoundException') return { status: 'TABLE_NOT_FOUND' };
      throw error;
    }
  }

  async describe(state: ChainState, arn: string): Promise<DescribeObservation> {
    try {
      const result = await this.call(
        'DescribeExport',
        this.clients.dynamodb,
        new DescribeExportCommand({ ExportArn: arn }),
      );
      const d = result?.ExportDescription ?? {};
      if (d.ExportStatus === 'COMPLETED') {
        const e = state.exports.find((x) => x.arn === arn);
        const prefix = e ? profileOf(state, e, this.settings).prefix : this.settings.prefix;
        const startMs = d.StartTime ? new Date(d.StartTime).getTime() : NaN;
        const endMs = d.EndTime ? new Date(d.EndTime).getTime() : NaN;
        return {
          arn,
          status: 'COMPLETED',
          startTime: toSeconds(d.StartTime),
          endTime: toSeconds(d.EndTime) ?? nowSeconds(),
          ...(Number.isFinite(startMs) && Number.isFinite(endMs)
            ? { durationSeconds: Math.max(0, Math.ceil((endMs - startMs) / 1000)) }
            : {}),
          itemCount: Number(d.ItemCount ?? 0),
          billedSizeBytes: Number(d.BilledSizeBytes ?? 0),
          manifestSummaryKey: manifestSummaryKeyOf(prefix, arn, d.ExportManifest),
        };
      }
      if (d.ExportStatus === 'FAILED') {
        return {
          arn,
          status: 'FAILED',
          code: d.FailureCode ?? 'ExportFailed',
          message: d.FailureMessage ?? 'no failure message',
        };
      }
      return { arn, status: 'IN_PROGRESS' };
    } catch (error) {
      // The export is unknown to DynamoDB: it cannot complete, so this attempt counts as failed.
      if (errorName(error) === 'ExportNotFoundException') {
        return { arn, status: 'FAILED', code: 'ExportNotFoundException', message: errorMessage(error) };
      }
      // Still unreadable after retries: read it again on the next tick; never forget it.
      if (isTransientError(error) || errorName(error) === 'TransientAwsError') {
        return { arn, status: 'UNREADABLE', code: errorName(error), message: errorMessage(error) };
      }
      throw error;
    }
  }

  /** Sends one recorded request; every answer, including no answer, becomes an outcome. */
  async start(state: ChainState, epoch: string, e: TrackedExport): Promise<StartOutcome> {
    try {
      const result = await this.call(
        'ExportTableToPointInTime',
        this.clients.dynamodb,
        new ExportTableToPointInTimeCommand(exportRequest(this.settings, state, epoch, e)),
      );
      const d = result?.ExportDescription;
      if (typeof d?.ExportArn !== 'string')
        return { kind: 'REJECTED', code: 'NoExportArn', message: 'the answer had no ExportArn' };
      const startMs = d.StartTime ? new Date(d.StartTime).getTime() : NaN;
      return {
        kind: 'STARTED',
        arn: d.ExportArn,
        ...(Number.isFinite(startMs) ? { startTimeMs: startMs } : {}),
      };
    } catch (error) {
      return classifyStartError(error);
    }
  }

  /** Entries first, then the HEAD of their own epoch, then CURRENT. Rewrites are identical bytes. */
  async writeChainManifest(commits: CommitPlan): Promise<void> {
    for (const entry of commits.entries) {
      const key = chainEntryKey(
        this.settings.prefix,
        entry.epoch,
        entry.sequence,
        Date.parse(entry.from) / 1000,
        Date.parse(entry.to) / 1000,
      );
      await this.putObject(key, chainObjectBody(entry));
    }
    if (commits.head)
      await this.putObject(
        chainHeadKey(this.settings.prefix, commits.head.epoch),
        chainObjectBody(commits.head),
      );
    if (commits.current)
      await this.putObject(chainCurrentKey(this.settings.prefix), chainObjectBody(commits.current));
  }

  /** The run-failure marker (`runFailureMarker.ts`); null when there is none. */
  async readRunFailures(): Promise<RunFailureMarker | null> {
    try {
      const result = await this.call(
        'GetObject(run failures)',
        this.clients.s3,
        new GetObjectCommand({
          Bucket: this.settings.bucket,
          Key: runFailureMarkerKey(this.settings.prefix),
          ...(this.settings.bucketOwnerAccountId
            ? { ExpectedBucketOwner: this.settings.bucketOwnerAccountId }
            : {}),
        }),
      );
      const text = await result?.Body?.transformToString();
      return text === undefined ? null : parseMarker(text);
    } catch (error) {
      // The role may list the note's key, so S3 answers a missing note with 404; AccessDenied is a
      // permission the role lacks, and is reported like any other failure.
      if (['NoSuchKey', 'NotFound'].includes(errorName(error))) return null;
      throw error;
    }
  }

  async writeRunFailures(marker: RunFailureMarker): Promise<void> {
    await this.putObject(runFailureMarkerKey(this.settings.prefix), `${JSON.stringify(marker)}\n`);
  }

  /**
   * Publishes the outbox in order until SNS refuses one. Never throws: a standing publish failure
   * must not hold back the chain. Returns the ids SNS accepted and the error that stopped it.
   */
  async publish(
    context: ChainContext,
    facts: readonly NotificationFact[],
  ): Promise<{ delivered: string[]; error: string | null }> {
    const delivered: string[] = [];
    for (const fact of facts) {
      try {
        await this.call(
          'Publish',
          this.clients.sns,
          new PublishCommand(buildPublishRequest(fact, this.settings, context)),
        );
        delivered.push(fact.id);
      } catch (error) {
        return { delivered, error: `${errorName(error)}: ${errorMessage(error)}`.slice(0, 200) };
      }
    }
    return { delivered, error: null };
  }
}

/** The live chain as notifications report it. */
export function chainContext(state: ChainState | null, now: number): ChainContext {
  return {
    watermark: state?.watermark ?? null,
    lagSeconds: state === null || state.epoch === null ? null : chainLagSeconds(state, now),
  };
}
