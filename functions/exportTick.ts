/**
 * The export tick: one step of the continuous export chain. Side effects live here, at the edges;
 * every decision is a pure function in `planner.ts`.
 *
 * Order within a tick, chosen so that a crash at any point is repaired by the next tick:
 *   1. take the lock (create-only SSM parameter); 2. read state + action in one GetParameters;
 *   3. driver lease check (another execution may own the chain); 4. DescribeContinuousBackups once;
 *   5. DescribeExport for in-flight exports that are due; 6. plan; 7. write the chain manifest for
 *   newly committed exports (S3 first: rewriting identical bytes is harmless); 8. publish
 *   notifications (before the state that records them is saved, so a failed publish is retried);
 *   9. save the state, with new requests recorded as STARTING; 10. RESET -> set the action back to
 *   RUN; 11. send the requests (same ClientToken on a resend) and save their answers;
 *   12. emit metrics; release the lock.
 */
import {
  DescribeContinuousBackupsCommand,
  DescribeExportCommand,
  ExportTableToPointInTimeCommand,
  type ExportTableToPointInTimeCommandInput,
} from '@aws-sdk/client-dynamodb';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { PublishCommand } from '@aws-sdk/client-sns';
import { DeleteParameterCommand, GetParametersCommand, PutParameterCommand } from '@aws-sdk/client-ssm';
import {
  chainCurrentKey,
  chainEntryKey,
  chainHeadKey,
  chainObjectBody,
  exportDataPrefix,
} from './chainManifest';
import { emitMetrics, type LineLogger } from './emf';
import { HOURLY, raiseIncident } from './incidents';
import { isLockExpired, lockValue, parseLockValue } from './lock';
import { buildPublishRequest, draft, type NotificationDraft } from './notifications';
import {
  applyStartOutcome,
  chainLagSeconds,
  computeWake,
  decideDriver,
  defaultManifestSummaryKey,
  fitState,
  exportsToDescribe,
  planTick,
  type DescribeObservation,
  type ExecutionInfo,
  type PitrObservation,
  type StartOutcome,
  type TickCounters,
} from './planner';
import { errorMessage, errorName, isTransientError, withRetry, type RetryOptions } from './retry';
import type { WorkflowSettings } from './settings';
import {
  ChainStateCorruptError,
  ChainStateMissingError,
  parseState,
  serializeState,
  type ChainState,
  type TrackedExport,
} from './state';
import { iso, nowSeconds, toSeconds } from './time';
import { clientToken } from './tokens';

/** Anything with the AWS SDK v3 `send(command)` method: a real client or an in-process fake. */
export interface CommandSender {
  send(command: any): Promise<any>;
}

export interface ExportTickClients {
  dynamodb: CommandSender;
  ssm: CommandSender;
  s3: CommandSender;
  sns: CommandSender;
}

export interface ExportTickOptions {
  clients: ExportTickClients;
  settings: WorkflowSettings;
  /** Where the EMF metrics line goes. @default console.log */
  log?: LineLogger;
  /** Retry policy for AWS calls (tests shorten it). */
  retry?: RetryOptions;
}

/** Input built by the state machine definition. */
export interface ExportTickEvent {
  mode: 'TICK' | 'REPORT_FAILURE';
  executionId: string;
  executionStartTime: string;
  input?: { scheduledTime?: string } & Record<string, unknown>;
  error?: { Error?: string; Cause?: string };
}

export interface ExportTickResult {
  next: 'WAIT' | 'DONE';
  wakeAt: string;
  summary: Record<string, unknown>;
}

function fitsParameter(state: ChainState): boolean {
  try {
    serializeState(state);
    return true;
  } catch {
    return false;
  }
}

/** Context of a notification sent when no chain state is available. */
const NO_CHAIN = { epoch: null, watermark: null } as ChainState;

/** A busy lock is tried again this much later. */
export const LOCK_BUSY_RETRY_SECONDS = 15;

/** The execution's scheduled time (scheduler input, else its start) and the end of its period. */
export function executionInfo(
  event: ExportTickEvent,
  settings: WorkflowSettings,
  now: number,
): ExecutionInfo {
  const scheduledAt = toSeconds(event.input?.scheduledTime) ?? toSeconds(event.executionStartTime) ?? now;
  return {
    executionId: event.executionId,
    scheduledAt,
    periodEnd: scheduledAt + settings.schedulePeriodMinutes * 60,
  };
}

/** ExportTableToPointInTime input for a tracked export. */
export function exportRequest(
  settings: WorkflowSettings,
  epoch: string,
  e: Pick<TrackedExport, 'type' | 'from' | 'to' | 'attempt'>,
): ExportTableToPointInTimeCommandInput {
  const input: ExportTableToPointInTimeCommandInput = {
    TableArn: settings.tableArn,
    S3Bucket: settings.bucket,
    ExportFormat: settings.exportFormat,
    S3SseAlgorithm: settings.kmsKeyArn ? 'KMS' : 'AES256',
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
  if (settings.prefix) input.S3Prefix = settings.prefix;
  if (settings.bucketOwnerAccountId) input.S3BucketOwner = settings.bucketOwnerAccountId;
  if (settings.kmsKeyArn) input.S3SseKmsKeyId = settings.kmsKeyArn;
  if (e.type === 'FULL') {
    input.ExportType = 'FULL_EXPORT';
    input.ExportTime = new Date(e.to * 1000);
  } else {
    input.ExportType = 'INCREMENTAL_EXPORT';
    input.IncrementalExportSpecification = {
      ExportFromTime: new Date(e.from * 1000),
      ExportToTime: new Date(e.to * 1000),
      ExportViewType: settings.exportViewType,
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

/**
 * The readable part of a Step Functions error cause: for a Lambda error it is a JSON document whose
 * `errorMessage` says what happened (the stack trace is left out of notifications).
 */
export function failureCause(cause: string | undefined): string {
  const text = cause ?? '';
  try {
    const parsed = JSON.parse(text) as { errorMessage?: unknown };
    if (parsed && typeof parsed.errorMessage === 'string') return parsed.errorMessage.slice(0, 500);
  } catch {
    // not JSON: use as is
  }
  return text.slice(0, 500);
}

/** Maps a refused start to what it means for the chain. */
export function classifyStartError(error: unknown): StartOutcome {
  const code = errorName(error);
  const message = errorMessage(error);
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

function paramValue(result: any, name: string): string | undefined {
  const p = (result?.Parameters ?? []).find((x: any) => x?.Name === name);
  return p?.Value;
}

/** Creates the handler; the same code runs in Lambda and against the local fakes. */
export function createExportTickHandler(
  options: ExportTickOptions,
): (event: ExportTickEvent) => Promise<ExportTickResult> {
  const { clients, settings } = options;
  const log = options.log ?? ((line: string) => console.log(line));
  const call = <T = any>(label: string, client: CommandSender, command: unknown): Promise<T> =>
    withRetry(label, () => client.send(command) as Promise<T>, options.retry);

  /**
   * Takes the lock. `ownIsStale`: a lock held by this same execution is left over from its own tick,
   * which has definitely ended (the failure report runs only after the tick failed for good).
   */
  async function acquireLock(executionId: string, now: number, ownIsStale = false): Promise<boolean> {
    const put = () =>
      call(
        'PutParameter(lock)',
        clients.ssm,
        new PutParameterCommand({
          Name: settings.lockParameterName,
          Value: lockValue(executionId, now),
          Type: 'String',
          Overwrite: false,
        }),
      );
    try {
      await put();
      return true;
    } catch (error) {
      if (errorName(error) !== 'ParameterAlreadyExists') throw error;
    }
    const held = await call(
      'GetParameters(lock)',
      clients.ssm,
      new GetParametersCommand({ Names: [settings.lockParameterName] }),
    );
    const value = paramValue(held, settings.lockParameterName);
    const holder = parseLockValue(value);
    const stale = isLockExpired(holder, now) || (ownIsStale && holder?.executionId === executionId);
    if (value !== undefined && !stale) return false;
    // Expired (or vanished meanwhile): delete it and take it over, once.
    try {
      await call(
        'DeleteParameter(lock)',
        clients.ssm,
        new DeleteParameterCommand({ Name: settings.lockParameterName }),
      );
    } catch (error) {
      if (errorName(error) !== 'ParameterNotFound') throw error;
    }
    try {
      await put();
      return true;
    } catch (error) {
      if (errorName(error) === 'ParameterAlreadyExists') return false;
      throw error;
    }
  }

  async function releaseLock(): Promise<void> {
    try {
      await call(
        'DeleteParameter(lock)',
        clients.ssm,
        new DeleteParameterCommand({ Name: settings.lockParameterName }),
      );
    } catch (error) {
      // The lease expires by itself; a failed release must not hide the tick's own outcome.
      if (errorName(error) !== 'ParameterNotFound') {
        console.error(
          `could not release ${settings.lockParameterName}: ${errorName(error)}: ${errorMessage(error)}`,
        );
      }
    }
  }

  async function readStateAndAction(): Promise<{
    state: ChainState;
    stateText: string;
    action: string | null;
  }> {
    const result = await call(
      'GetParameters(state, action)',
      clients.ssm,
      new GetParametersCommand({
        Names: [settings.stateParameterName, settings.actionParameterName],
      }),
    );
    const stateText = paramValue(result, settings.stateParameterName);
    if (stateText === undefined) throw new ChainStateMissingError(settings.stateParameterName);
    const state = parseState(stateText, settings.stateParameterName);
    return { state, stateText, action: paramValue(result, settings.actionParameterName) ?? null };
  }

  async function saveState(state: ChainState): Promise<void> {
    await call(
      'PutParameter(state)',
      clients.ssm,
      new PutParameterCommand({
        Name: settings.stateParameterName,
        Value: serializeState(fitState(state, fitsParameter)),
        Type: 'String',
        Overwrite: true,
      }),
    );
  }

  async function publish(notes: NotificationDraft[], state: ChainState, now: number): Promise<void> {
    for (const note of notes) {
      const request = buildPublishRequest(note, settings, {
        epoch: state.epoch,
        watermark: state.watermark,
        lagSeconds: state.epoch === null ? null : chainLagSeconds(state, now),
        now,
      });
      await call('Publish', clients.sns, new PublishCommand(request));
    }
  }

  async function readPitr(): Promise<PitrObservation> {
    try {
      const result = await call(
        'DescribeContinuousBackups',
        clients.dynamodb,
        new DescribeContinuousBackupsCommand({
          TableName: settings.tableName,
        }),
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

  async function describe(arn: string): Promise<DescribeObservation> {
    try {
      const result = await call(
        'DescribeExport',
        clients.dynamodb,
        new DescribeExportCommand({ ExportArn: arn }),
      );
      const d = result?.ExportDescription ?? {};
      if (d.ExportStatus === 'COMPLETED') {
        return {
          arn,
          status: 'COMPLETED',
          startTime: toSeconds(d.StartTime),
          endTime: toSeconds(d.EndTime) ?? nowSeconds(),
          itemCount: Number(d.ItemCount ?? 0),
          billedSizeBytes: Number(d.BilledSizeBytes ?? 0),
          manifestSummaryKey: manifestSummaryKeyOf(settings.prefix, arn, d.ExportManifest),
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

  async function start(epoch: string, e: TrackedExport): Promise<StartOutcome> {
    try {
      const result = await call(
        'ExportTableToPointInTime',
        clients.dynamodb,
        new ExportTableToPointInTimeCommand(exportRequest(settings, epoch, e)),
      );
      const arn = result?.ExportDescription?.ExportArn;
      if (typeof arn !== 'string')
        return { kind: 'REJECTED', code: 'NoExportArn', message: 'the answer had no ExportArn' };
      return { kind: 'STARTED', arn };
    } catch (error) {
      if (errorName(error) === 'TransientAwsError') throw error;
      return classifyStartError(error);
    }
  }

  async function tick(event: ExportTickEvent): Promise<ExportTickResult> {
    const now = nowSeconds();
    const exec = executionInfo(event, settings, now);
    if (!(await acquireLock(exec.executionId, now))) {
      const wakeAt = now + LOCK_BUSY_RETRY_SECONDS;
      return {
        next: wakeAt >= exec.periodEnd ? 'DONE' : 'WAIT',
        wakeAt: iso(wakeAt),
        summary: { outcome: 'LOCK_BUSY', lock: settings.lockParameterName },
      };
    }
    try {
      const { state: loaded, action } = await readStateAndAction();
      const driver = decideDriver(loaded.driver, exec, now);
      if (driver.kind === 'STAND_DOWN') {
        return { next: 'DONE', wakeAt: iso(now), summary: { outcome: 'NOT_DRIVER', reason: driver.reason } };
      }
      const pitr = await readPitr();
      const describes: DescribeObservation[] = [];
      for (const arn of exportsToDescribe(loaded, now)) describes.push(await describe(arn));
      const plan = planTick({
        state: { ...loaded, driver: driver.driver },
        settings,
        now,
        action,
        pitr,
        describes,
      });
      let state = plan.state;

      if (state.epoch !== null && plan.commits.entries.length > 0) {
        for (const entry of plan.commits.entries) {
          const key = chainEntryKey(
            settings.prefix,
            entry.epoch,
            entry.sequence,
            Date.parse(entry.from) / 1000,
            Date.parse(entry.to) / 1000,
          );
          await putObject(key, chainObjectBody(entry));
        }
        if (plan.commits.head)
          await putObject(chainHeadKey(settings.prefix, state.epoch), chainObjectBody(plan.commits.head));
        if (plan.commits.current)
          await putObject(chainCurrentKey(settings.prefix), chainObjectBody(plan.commits.current));
      }
      await publish(plan.notifications, state, now);
      state = { ...state, lastRun: { at: now, outcome: 'OK' } };
      await saveState(state);
      if (plan.resetAction) {
        await call(
          'PutParameter(action)',
          clients.ssm,
          new PutParameterCommand({
            Name: settings.actionParameterName,
            Value: 'RUN',
            Type: 'String',
            Overwrite: true,
          }),
        );
      }

      const counters: TickCounters = { ...plan.counters };
      const started: string[] = [];
      const epoch = state.epoch;
      if (plan.starts.length > 0 && epoch !== null) {
        const notes: NotificationDraft[] = [];
        for (const e of plan.starts) {
          let outcome: StartOutcome;
          try {
            outcome = await start(epoch, e);
          } catch (error) {
            // Keep what earlier requests of this tick achieved; the rest stay STARTING and are resent
            // (same ClientToken) by the next tick. A failing save must not hide the original error.
            await saveState(state).catch(() => undefined);
            throw error;
          }
          const r = applyStartOutcome(state, e, outcome, settings, nowSeconds());
          state = r.state;
          notes.push(...r.notifications);
          counters.started += r.counters.started;
          counters.failed += r.counters.failed;
          started.push(`${e.type} ${iso(e.from)}..${iso(e.to)} #${e.attempt}: ${outcome.kind}`);
        }
        await publish(notes, state, now);
        await saveState(state);
      }

      const computed = computeWake({
        state,
        settings,
        now: nowSeconds(),
        periodEnd: exec.periodEnd,
        startsAllowed: plan.startsAllowed,
      });
      // A missing table stops this execution; later scheduled runs check again in case it returns.
      const wake = pitr.status === 'TABLE_NOT_FOUND' ? { ...computed, next: 'DONE' as const } : computed;
      const inFlight = state.exports.filter(
        (e) => e.status === 'IN_PROGRESS' || e.status === 'STARTING',
      ).length;
      emitMetrics(
        log,
        settings.metricNamespace,
        settings.alias,
        {
          chainLagSeconds: chainLagSeconds(state, now),
          inFlightExports: inFlight,
          exportsStarted: counters.started,
          exportsCompleted: counters.completed,
          exportsFailed: counters.failed,
        },
        Date.now(),
      );
      return {
        next: wake.next,
        wakeAt: iso(wake.wakeAt),
        summary: {
          outcome: 'OK',
          mode: plan.mode,
          pitr: pitr.status,
          epoch: state.epoch,
          watermark: state.watermark === null ? null : iso(state.watermark),
          committed: plan.commits.entries.length,
          started,
          inFlight,
          notifications: plan.notifications.length,
          exports: state.exports.map(
            (e) => `${e.type} ${iso(e.from)}..${iso(e.to)} #${e.attempt} ${e.status}`,
          ),
        },
      };
    } finally {
      await releaseLock();
    }
  }

  async function putObject(key: string, body: string): Promise<void> {
    await call(
      'PutObject',
      clients.s3,
      new PutObjectCommand({
        Bucket: settings.bucket,
        Key: key,
        Body: body,
        ContentType: 'application/json',
        ...(settings.bucketOwnerAccountId ? { ExpectedBucketOwner: settings.bucketOwnerAccountId } : {}),
      }),
    );
  }

  /**
   * Best effort after a failed tick: record the failure as an incident and alert once (then hourly).
   * When the state itself is missing or corrupt there is nowhere to record that an alert was sent, so
   * a stateless rule limits STATE_INVALID to about one per hour: alert only from executions scheduled
   * within the first period of an hour.
   */
  async function reportFailure(event: ExportTickEvent): Promise<ExportTickResult> {
    const now = nowSeconds();
    const exec = executionInfo(event, settings, now);
    const errorText = event.error?.Error ?? 'UnknownError';
    const cause = failureCause(event.error?.Cause);
    const done = (summary: Record<string, unknown>): ExportTickResult => ({
      next: 'DONE',
      wakeAt: iso(now),
      summary,
    });
    const firstPeriodOfHour = exec.scheduledAt % 3600 < settings.schedulePeriodMinutes * 60;
    const stateInvalidNote = (problem: string): NotificationDraft =>
      draft({
        status: 'FAILED',
        event: 'STATE_INVALID',
        title: 'chain state is missing or invalid',
        message: `${problem} Exports are stopped until it is fixed. (Sent at most about once an hour.)`,
        hint: `Fix the value of ${settings.stateParameterName}, or set ${settings.actionParameterName} to RESET after restoring a valid state; 'pulumi up' recreates a missing parameter.`,
      });
    const locked = await acquireLock(exec.executionId, now, true).catch(() => false);
    try {
      let state: ChainState | null = null;
      try {
        state = (await readStateAndAction()).state;
      } catch (error) {
        if (error instanceof ChainStateCorruptError || error instanceof ChainStateMissingError) {
          if (firstPeriodOfHour) {
            await publish([stateInvalidNote(error.message)], NO_CHAIN, now);
          }
          return done({ outcome: 'STATE_INVALID', notified: firstPeriodOfHour });
        }
        // Unreadable for another reason (SSM failing): alert by the stateless rule, record nothing.
        state = null;
      }
      const canSave = locked && state !== null;
      const r = raiseIncident(state?.incidents ?? [], 'RUN_FAILED', now, { remindAfterSeconds: HOURLY });
      // Without the lock (busy, or SSM writes failing) the incident cannot be recorded, so the same
      // stateless hourly rule as for an invalid state keeps this to about one alert an hour.
      const notify = r.notify !== null && (canSave || firstPeriodOfHour);
      if (notify) {
        await publish(
          [
            draft({
              status: 'FAILED',
              event: 'RUN_FAILED',
              title: `export run failed: ${errorText}`.slice(0, 80),
              message: `The export tick failed after its retries with ${errorText}: ${cause || 'no cause given'}. Nothing is lost: the next run resumes from the saved state.${r.notify === 'REMIND' ? ` Failing since ${iso(r.incident.openedAt)}.` : ''}`,
              hint: 'Look at the failed step of the execution and the function logs. TransientAwsError usually clears by itself; AccessDenied means a missing permission.',
            }),
          ],
          state ?? NO_CHAIN,
          now,
        );
      }
      if (canSave && state) {
        await saveState({
          ...state,
          incidents: r.incidents,
          lastRun: { at: now, outcome: 'FAILED', error: errorText.slice(0, 100) },
        });
      }
      return done({
        outcome: 'FAILURE_RECORDED',
        error: errorText,
        notified: notify,
        saved: canSave,
      });
    } finally {
      if (locked) await releaseLock();
    }
  }

  return async (event: ExportTickEvent) =>
    event.mode === 'REPORT_FAILURE' ? reportFailure(event) : tick(event);
}
