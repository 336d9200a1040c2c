/**
 * The export tick: one step of the continuous export chain, as named steps that read top to bottom.
 * Every decision is a pure function (`planner.ts`); every AWS call is in `tickAws.ts`.
 *
 * Order within a tick, chosen so that a crash at any point is repaired by the next tick:
 *   1. take the lease (`lease.ts`); 2. load state + action; 3. driver check (another execution may
 *   own the chain), and in an execution's first tick the run failures alerted while the state could
 *   not be written (`runFailureMarker.ts`); 4. observe: DescribeContinuousBackups once,
 *   DescribeExport for in-flight exports that are due; 5. plan; 6. write the chain manifest for
 *   newly committed exports (S3 first: rewriting identical bytes is harmless); 7. save the state:
 *   new requests recorded as STARTING, new notifications in its outbox; 8. send the requests (the
 *   same ClientToken on a resend) and save their answers; 9. publish the outbox, best effort, and
 *   save what SNS accepted; 10. metrics; release the lease.
 *
 * Notifications are never on the chain's path: they are saved with the decisions that caused them and
 * published afterwards; a publish failure leaves them in the outbox for the next tick.
 */
import { emitMetrics, type LineLogger } from '../shared/emf';
import { decideDriver, type ExecutionInfo } from './driver';
import type { NotificationFact } from './notificationFacts';
import { removeDelivered } from './outbox';
import {
  applyStartOutcome,
  finishTick,
  planTick,
  recordRunFailure,
  type TickCounters,
  type TickPlan,
} from './planner';
import type { RetryOptions } from '../shared/retry';
import { adoptRunFailures, EMPTY_MARKER, withAlert } from './runFailureMarker';
import type { WorkflowSettings } from './settings';
import { ChainStateCorruptError, ChainStateMissingError, type ChainState } from './state';
import { chainContext, TickAws, type ExportTickClients } from './tickAws';
import { chainLagSeconds, computeWake, exportsToDescribe } from './timing';
import { iso, nowSeconds, toSeconds } from '../shared/time';

export type { CommandSender, ExportTickClients } from './tickAws';
export { classifyStartError, exportRequest, manifestSummaryKeyOf } from './tickAws';

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

function describeExports(state: ChainState): string[] {
  return state.exports.map((e) => `${e.type} ${iso(e.from)}..${iso(e.to)} #${e.attempt} ${e.status}`);
}

/** Step 8: sends the recorded requests in order and saves their answers. */
async function sendStarts(
  aws: TickAws,
  settings: WorkflowSettings,
  plan: TickPlan,
  saved: ChainState,
): Promise<{ state: ChainState; lines: string[]; counters: TickCounters }> {
  let state = saved;
  const lines: string[] = [];
  const counters: TickCounters = { started: 0, completed: 0, failed: 0 };
  const epoch = state.epoch;
  if (plan.starts.length === 0 || epoch === null) return { state, lines, counters };
  for (const e of plan.starts) {
    let outcome;
    try {
      outcome = await aws.start(state, epoch, e);
    } catch (error) {
      // Keep what earlier requests of this tick achieved; the rest stay STARTING and are resent
      // (same ClientToken) by the next tick. A failing save must not hide the original error.
      await aws.saveState(state).catch(() => undefined);
      throw error;
    }
    const r = applyStartOutcome(state, e, outcome, settings, nowSeconds());
    state = r.state;
    counters.started += r.counters.started;
    counters.failed += r.counters.failed;
    lines.push(`${e.type} ${iso(e.from)}..${iso(e.to)} #${e.attempt}: ${outcome.kind}`);
    // Throttled or unanswered: the rest waits for the back-off rather than adding to the pressure.
    if (outcome.kind === 'THROTTLED') break;
  }
  state = await aws.saveState(finishTick(state, settings, nowSeconds()).state);
  return { state, lines, counters };
}

/**
 * Step 3b, in the first tick of an execution only: run failures alerted while the state could not be
 * written (`runFailureMarker.ts`), adopted into the state as alerted incidents; null when there are
 * none. A marker that cannot be read now is read by the next execution.
 */
async function unrecordedFailures(aws: TickAws, state: ChainState): Promise<ChainState | null> {
  try {
    const marker = await aws.readRunFailures();
    return marker && marker.failures.length > 0 ? adoptRunFailures(state, marker) : null;
  } catch (error) {
    console.error(`run failure marker not readable (read again next time): ${(error as Error).message}`);
    return null;
  }
}

/** Step 9: publishes the outbox; saves the state without what SNS accepted. Never throws. */
async function deliverNotifications(
  aws: TickAws,
  state: ChainState,
  now: number,
): Promise<{ state: ChainState; delivered: number; error: string | null }> {
  const outbox: NotificationFact[] = state.outbox;
  if (outbox.length === 0) return { state, delivered: 0, error: null };
  const r = await aws.publish(chainContext(state, now), outbox);
  if (r.error) console.error(`notifications not delivered (kept for the next run): ${r.error}`);
  if (r.delivered.length === 0) return { state, delivered: 0, error: r.error };
  const next = { ...state, outbox: removeDelivered(state.outbox, r.delivered) };
  try {
    return { state: await aws.saveState(next), delivered: r.delivered.length, error: r.error };
  } catch (error) {
    // The delivered ones are sent again next time, with the same notificationId (at least once).
    console.error(`could not record delivered notifications: ${(error as Error).message}`);
    return { state, delivered: r.delivered.length, error: r.error };
  }
}

/** What a tick works with. */
interface TickContext {
  aws: TickAws;
  settings: WorkflowSettings;
  log: LineLogger;
}

async function tick(ctx: TickContext, event: ExportTickEvent): Promise<ExportTickResult> {
  const { aws, settings, log } = ctx;
  const now = nowSeconds();
  const exec = executionInfo(event, settings, now);
  if (!(await aws.acquireLease(exec.executionId, now))) {
    const wakeAt = now + LOCK_BUSY_RETRY_SECONDS;
    return {
      next: wakeAt >= exec.periodEnd ? 'DONE' : 'WAIT',
      wakeAt: iso(wakeAt),
      summary: { outcome: 'LOCK_BUSY', lock: settings.lockParameterName },
    };
  }
  try {
    const loaded = await aws.loadState();
    const driver = decideDriver(loaded.state.driver, exec, now);
    if (driver.kind === 'STAND_DOWN') {
      return { next: 'DONE', wakeAt: iso(now), summary: { outcome: 'NOT_DRIVER', reason: driver.reason } };
    }
    const firstTick = loaded.state.driver?.executionId !== exec.executionId;
    const adopted = firstTick ? await unrecordedFailures(aws, loaded.state) : null;
    const pitr = await aws.readPitr();
    const describes = [];
    for (const arn of exportsToDescribe(loaded.state, now))
      describes.push(await aws.describe(loaded.state, arn));
    const plan = planTick({
      state: { ...(adopted ?? loaded.state), driver: driver.driver },
      settings,
      now,
      action: loaded.action,
      pitr,
      describes,
    });

    await aws.writeChainManifest(plan.commits);
    let state: ChainState = { ...plan.state, lastRun: { at: now, outcome: 'OK' } };
    if (plan.starts.length === 0) state = finishTick(state, settings, now).state;
    state = await aws.saveState(state);
    // Emptied only once the state holds the adopted failures: a crash before reads them again.
    if (adopted) await aws.writeRunFailures(EMPTY_MARKER).catch((e: Error) => console.error(e.message));
    const sent = await sendStarts(aws, settings, plan, state);
    const delivery = await deliverNotifications(aws, sent.state, nowSeconds());
    state = delivery.state;

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
        exportsStarted: sent.counters.started,
        exportsCompleted: plan.counters.completed,
        exportsFailed: plan.counters.failed + sent.counters.failed,
        notificationsPending: state.outbox.length,
        notificationsDropped: state.notificationsDropped - loaded.state.notificationsDropped,
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
        started: sent.lines,
        inFlight,
        notificationsSent: delivery.delivered,
        notificationsPending: state.outbox.length,
        ...(delivery.error ? { notificationError: delivery.error } : {}),
        exports: describeExports(state),
      },
    };
  } finally {
    await aws.releaseLease();
  }
}

/**
 * Best effort after a failed tick: record the failure as an incident (one per error name) and let
 * the outbox deliver its alert. When the state itself is missing or corrupt there is nowhere to
 * record anything, so a stateless rule limits STATE_INVALID to about one per hour: alert only from
 * executions scheduled within the first period of an hour.
 */
async function reportFailure(ctx: TickContext, event: ExportTickEvent): Promise<ExportTickResult> {
  const { aws, settings } = ctx;
  const now = nowSeconds();
  const exec = executionInfo(event, settings, now);
  const name = event.error?.Error ?? 'UnknownError';
  const cause = failureCause(event.error?.Cause);
  const done = (summary: Record<string, unknown>): ExportTickResult => ({
    next: 'DONE',
    wakeAt: iso(now),
    summary,
  });
  const firstPeriodOfHour = exec.scheduledAt % 3600 < settings.schedulePeriodMinutes * 60;
  const stateless = async (fact: NotificationFact, state: ChainState | null = null) =>
    (await aws.publish(chainContext(state, now), [fact])).delivered.length > 0;
  const locked = await aws.acquireLease(exec.executionId, now, true).catch(() => false);
  try {
    let state: ChainState | null = null;
    try {
      state = (await aws.loadState()).state;
    } catch (error) {
      if (error instanceof ChainStateCorruptError || error instanceof ChainStateMissingError) {
        const notified =
          firstPeriodOfHour &&
          (await stateless({
            id: `STATE_INVALID@${Math.floor(now / 3600) * 3600}`,
            event: 'STATE_INVALID',
            at: now,
            epoch: null,
            detail: error.message.slice(0, 160),
          }));
        return done({ outcome: 'STATE_INVALID', notified });
      }
      state = null; // unreadable for another reason (SSM failing)
    }
    if (!locked || state === null) {
      // Nowhere to record the incident: the stateless hourly rule keeps this to about one alert an hour.
      // Each alert is first noted in S3, so the next run that gets through its state resolves it.
      if (firstPeriodOfHour) {
        await aws
          .readRunFailures()
          .then((marker) => aws.writeRunFailures(withAlert(marker, name, now)))
          .catch((e: Error) => console.error(`run failure marker not written: ${e.message}`));
      }
      const notified =
        firstPeriodOfHour &&
        (await stateless(
          {
            id: `RUN_FAILED:${name.slice(0, 60)}@hour-${Math.floor(now / 3600)}`,
            event: 'RUN_FAILED',
            at: now,
            epoch: state?.epoch ?? null,
            code: name.slice(0, 120),
            detail: cause.slice(0, 160) || 'no cause given',
          },
          state,
        ));
      return done({ outcome: 'FAILURE_RECORDED', error: name, notified, saved: false });
    }
    const recorded = await aws.saveState(recordRunFailure(state, settings, now, { name, cause }).state);
    const delivery = await deliverNotifications(aws, recorded, now);
    return done({
      outcome: 'FAILURE_RECORDED',
      error: name,
      notified: delivery.delivered > 0,
      saved: true,
    });
  } finally {
    if (locked) await aws.releaseLease();
  }
}

/** Creates the handler; the same code runs in Lambda and against the local fakes. */
export function createExportTickHandler(
  options: ExportTickOptions,
): (event: ExportTickEvent) => Promise<ExportTickResult> {
  const ctx: TickContext = {
    aws: new TickAws(options.clients, options.settings, options.retry),
    settings: options.settings,
    log: options.log ?? ((line: string) => console.log(line)),
  };
  return async (event: ExportTickEvent) =>
    event.mode === 'REPORT_FAILURE' ? reportFailure(ctx, event) : tick(ctx, event);
}
