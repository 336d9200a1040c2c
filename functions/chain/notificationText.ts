/**
 * The wording of every notification, in one place. Decisions record facts (`notificationFacts.ts`);
 * this module turns one fact into a title for the Subject line, a message and a hint for the reader.
 */
import type { NotificationEvent, NotificationFact } from './notificationFacts';
import type { WorkflowSettings } from './settings';
import { iso } from '../shared/time';

export interface NotificationText {
  title: string;
  message: string;
  hint: string | null;
}

type Render = (f: NotificationFact, s: WorkflowSettings) => NotificationText;

function kindOfExport(f: NotificationFact): string {
  return f.type === 'FULL' ? 'full' : 'incremental';
}

function windowLabel(f: NotificationFact): string {
  return f.window ? `[${iso(f.window.from)}, ${iso(f.window.to)})` : '(no window)';
}

function theExport(f: NotificationFact): string {
  return f.type === 'FULL' ? 'The full export' : `The incremental export of ${windowLabel(f)}`;
}

function error(f: NotificationFact): string {
  return `${f.code ?? 'UnknownError'}${f.detail ? `: ${f.detail}` : ''}`;
}

function still(f: NotificationFact): string {
  return f.reminder ? ` (still, reminder ${f.reminder})` : '';
}

function since(f: NotificationFact): string {
  return f.since === undefined ? '' : ` since ${iso(f.since)}`;
}

function droppedText(f: NotificationFact): string {
  const ids = f.dropped ?? [];
  return ids.length > 0
    ? `Uncommitted exports dropped from the chain: ${ids.join(', ')}.`
    : 'No uncommitted export was dropped.';
}

const REBOOTSTRAP = 'Consumers must re-bootstrap from the new epoch (see chain/CURRENT.json).';

const TEXT: Record<NotificationEvent, Render> = {
  EXPORT_COMMITTED: (f) => ({
    title: `${f.count ?? 1} incremental export(s) committed`,
    message:
      `Committed ${f.count ?? 1} incremental export(s) covering ${windowLabel(f)}` +
      (f.sequences ? ` (sequences ${f.sequences.first}..${f.sequences.last} of epoch ${f.epoch})` : '') +
      (f.exportArn ? `; the last one is ${f.exportArn}.` : '.'),
    hint: null,
  }),
  FULL_EXPORT_COMMITTED: (f) => ({
    title: 'full export committed, chain started',
    message: `The full export of epoch ${f.epoch} at ${f.window ? iso(f.window.to) : '?'} completed; incremental exports follow from there.`,
    hint: null,
  }),
  EXPORT_FAILED: (f) => ({
    title: `incremental exports fail with ${f.code ?? 'an error'}${still(f)}`,
    message:
      `${theExport(f)} failed (attempt ${f.attempt ?? 1}) with ${error(f)}; failing${since(f)}. ` +
      'Every failed window is requested again automatically for the identical window after a back-off; nothing is skipped. ' +
      'This is one alert for this cause: further windows failing the same way are not alerted again, reminders follow with a back-off.',
    hint:
      'Check the FailureCode: bucket existence, bucket policy, KMS key policy and DynamoDB export quotas. ' +
      'No action is needed if the next attempt succeeds.',
  }),
  FULL_EXPORT_FAILED: (f) => ({
    title: `full export failed with ${f.code ?? 'an error'}${still(f)}`,
    message: `The full export failed (attempt ${f.attempt ?? 1}) with ${error(f)}; failing${since(f)}. It is requested again automatically as a new full export after a back-off.`,
    hint: 'Check the FailureCode: bucket existence, bucket policy, KMS key policy and DynamoDB export quotas.',
  }),
  EXPORT_RECOVERED: (f) => ({
    title: `exports recovered from ${f.code ?? 'failures'}`,
    message: `Exports complete again after failing with ${f.code ?? 'errors'}${since(f)}. Every failed window was requested again; the chain has no gap.`,
    hint: null,
  }),
  EXPORT_NOT_YET_ALLOWED: (f) => ({
    title: 'export refused as not yet allowed for 30+ min',
    message: `DynamoDB has refused the ${kindOfExport(f)} export of ${windowLabel(f)} with ${error(f)}${since(f)}. It keeps being requested unchanged every minute.`,
    hint: 'Check the table clock skew and raise restorableMarginSeconds if this persists.',
  }),
  EXPORT_REFUSED: (f) => ({
    title: `export requests refused with ${f.code ?? 'an error'}${still(f)}`,
    message: `DynamoDB refuses export requests with ${error(f)}${since(f)}. Each refused window is requested again after a back-off; nothing is skipped, but the chain falls behind until requests are accepted.`,
    hint: 'AccessDenied means a missing permission; ValidationException a setting DynamoDB does not accept (bucket, prefix, KMS key).',
  }),
  EXPORT_THROTTLED: (f) => ({
    title: `export requests throttled, chain ${Math.round((f.lagSeconds ?? 0) / 60)} min behind${still(f)}`,
    message: `DynamoDB keeps answering export requests with ${error(f)}${since(f)} (for example when the account's concurrent export quota is used up). Requests are retried with a back-off; the chain is ${Math.round((f.lagSeconds ?? 0) / 60)} minutes behind.`,
    hint: 'Check other export jobs in the account and Region, or ask for a higher DynamoDB export quota.',
  }),
  EXPORT_UNREADABLE: (f) => ({
    title: `exports in flight cannot be read, chain ${Math.round((f.lagSeconds ?? 0) / 60)} min behind${still(f)}`,
    message: `DescribeExport keeps failing with ${error(f)}${since(f)} for ${f.exportArn ?? 'an export in flight'}. Nothing is lost: the export is read again every minute and committed once it answers, but the chain is ${Math.round((f.lagSeconds ?? 0) / 60)} minutes behind.`,
    hint: 'Check the DynamoDB service health and the API call quota of the account; a lasting throttle on DescribeExport usually means another tool polls exports heavily.',
  }),
  PITR_DISABLED: (f, s) => ({
    title: f.code ? 'point-in-time recovery is unavailable' : 'point-in-time recovery is disabled',
    message: f.code
      ? `Export requests are refused: ${error(f)}. They are retried every minute.`
      : `Point-in-time recovery is disabled on ${s.tableName}: no export can be requested. In-flight exports are still tracked.`,
    hint: 'Enable PITR again. History from before re-enabling is lost, so the chain will likely need a new epoch (PITR_GAP).',
  }),
  PITR_ENABLED: (_f, s) => ({
    title: 'point-in-time recovery enabled again',
    message: `Point-in-time recovery is enabled again on ${s.tableName}; exports resume if no history is missing.`,
    hint: null,
  }),
  PITR_GAP: (f, s) => ({
    title: `PITR gap: the chain cannot continue${still(f)}`,
    message:
      `The next window starts at ${f.window ? iso(f.window.from) : '?'}, before the earliest restorable time ${f.window ? iso(f.window.to) : '?'}: ` +
      'that history is gone (PITR was disabled or the lag exceeded the recovery period). ' +
      (s.onPitrGap === 'reset'
        ? 'A new epoch with a new full export starts automatically.'
        : 'The chain waits for the operator.'),
    hint:
      s.onPitrGap === 'reset'
        ? REBOOTSTRAP
        : "Set the action parameter to RESET (for example 'dce reset') to start a new epoch with a full export.",
  }),
  PITR_WINDOW_WARNING: (f) => ({
    title: 'chain lag approaches the PITR recovery period',
    message: `The chain is ${Math.round((f.lagSeconds ?? 0) / 3600)} h behind, over 80 % of the ${Math.round((f.periodSeconds ?? 0) / 86400)}-day PITR recovery period. If it falls further behind, history is lost and a new epoch is needed.`,
    hint: 'Find what holds the chain back (failed exports, PAUSE, quotas) and fix it soon.',
  }),
  TABLE_DELETED: (f, s) => ({
    title: 'table not found, exports stopped',
    message: f.code
      ? `The export request was refused: ${error(f)}. No export is requested; runs keep checking in case it comes back.`
      : `Table ${s.tableName} was not found. No export is requested; runs keep checking in case it comes back.`,
    hint: 'If the table was deleted on purpose, remove it from the stack config. A recreated table starts a new epoch.',
  }),
  TABLE_FOUND: (_f, s) => ({
    title: 'table found again',
    message: `Table ${s.tableName} exists again; the chain continues if its PITR history allows.`,
    hint: null,
  }),
  RESET: (f) => ({
    title: 'chain reset, new epoch started',
    message: `The operator requested RESET. Epoch ${f.epoch} begins with a new full export. ${droppedText(f)}`,
    hint: REBOOTSTRAP,
  }),
  NEW_EPOCH: (f) => ({
    title: 'new epoch started after a PITR gap',
    message: `Epoch ${f.epoch} begins with a new full export. ${droppedText(f)}`,
    hint: REBOOTSTRAP,
  }),
  RUN_FAILED: (f) => ({
    title: `export run failed: ${f.code ?? 'error'}${still(f)}`.slice(0, 80),
    message: `The export tick failed after its retries with ${error(f)}; failing${since(f)}. Nothing is lost: the next run resumes from the saved state.`,
    hint: 'Look at the failed step of the execution and the function logs. TransientAwsError usually clears by itself; AccessDenied means a missing permission.',
  }),
  RUN_RECOVERED: (f) => ({
    title: 'export runs recovered',
    message: `The export tick runs again after failing with ${f.code ?? 'an error'}${since(f)}.`,
    hint: null,
  }),
  STATE_INVALID: (f, s) => ({
    title: 'chain state is missing or invalid',
    message: `${f.detail ?? 'The chain state cannot be read.'} Exports are stopped until it is fixed. (Sent at most about once an hour.)`,
    hint: `Fix the value of ${s.stateParameterName}, or set ${s.actionParameterName} to RESET after restoring a valid state; 'pulumi up' recreates a missing parameter.`,
  }),
  ACTION_INVALID: (f, s) => ({
    title: `invalid action ${JSON.stringify(f.code ?? '').slice(0, 40)}`,
    message:
      `The action parameter ${s.actionParameterName} holds ${JSON.stringify(f.code ?? '')}, ` +
      'which is not one of RUN, PAUSE, RESET, RESET:<nonce>. The chain behaves as paused: in-flight ' +
      'exports are still tracked and committed, no new export is requested.',
    hint: `Set ${s.actionParameterName} to RUN, PAUSE or RESET (for example with 'dce resume').`,
  }),
  INCIDENT_RESOLVED: (f) => ({
    title: `resolved: ${f.code ?? 'incident'}`.slice(0, 80),
    message: `The incident ${f.code ?? ''} open${since(f)} has cleared.`,
    hint: null,
  }),
  NOTIFICATIONS_DROPPED: (f) => ({
    title: `${f.count ?? 0} notification(s) could not be kept`,
    message: `${f.count ?? 0} message(s) recorded${since(f)} were dropped because notifications could not be delivered for a long time and the outbox is bounded (routine successes went first, resolutions last). The chain state and 'dce status' show the open incidents.`,
    hint: 'Check the notification topic, its KMS key and the function role (sns:Publish); see the undelivered notifications alarm.',
  }),
};

/** Title, message and hint of one fact. */
export function renderFact(fact: NotificationFact, settings: WorkflowSettings): NotificationText {
  return TEXT[fact.event](fact, settings);
}
