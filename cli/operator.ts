/**
 * `dce pause | resume | reset`: the operator writes the action parameter; the next export tick reads
 * it. PAUSE stops new exports (in-flight ones are still tracked and committed), RUN resumes, RESET
 * starts a new epoch with a full export. The tick never writes the parameter back: `dce reset` writes
 * `RESET:<nonce>` with a fresh nonce, and the chain state records the RESET carried out, so a RESET
 * stays in the parameter after it was done (functions/chain/operatorAction.ts has the rule).
 *
 * SSM calls go through the workflow's one retry policy (functions/shared/retry.ts), so a throttled
 * PutParameter is tried again with backoff instead of failing the command; the simulation's operators
 * run this same code.
 */
import { randomBytes } from 'node:crypto';
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import type { SsmSender } from '../functions/shared/awsClients';
import {
  parseAction,
  resetCarriedOut,
  resetValue,
  type ActionObservation,
  type ResetRecord,
} from '../functions/chain/operatorAction';
import { withRetry, type RetryOptions } from '../functions/shared/retry';
import { readParameter, readParameterVersion } from './status';
import { missingActionParameterError, UsageError } from './target';
import type { Action } from './status';

/** The command names and the action each writes. */
export const OPERATOR_ACTIONS: Record<'pause' | 'resume' | 'reset', Action> = {
  pause: 'PAUSE',
  resume: 'RUN',
  reset: 'RESET',
};

/** What an operator command did, as `--json` prints it. */
export interface ActionResult {
  alias: string;
  parameterName: string;
  previous: string | null;
  action: Action;
  /** The parameter's value afterwards (a RESET with its nonce). */
  value: string;
  /** False when the parameter already held this action (nothing written). */
  changed: boolean;
  /** A RESET not yet carried out was overwritten (with --force). */
  cancelledReset: boolean;
}

/**
 * Decides whether a reset may go ahead. Pure: `yes` skips the question; without a terminal there is
 * nobody to ask, so the reset is refused; otherwise the answer must be the alias, exactly.
 */
export function resetDecision(options: {
  alias: string;
  yes: boolean;
  interactive: boolean;
  answer?: string;
}): 'proceed' | 'ask' | 'refuse-no-tty' | 'refuse-mismatch' {
  if (options.yes) return 'proceed';
  if (!options.interactive) return 'refuse-no-tty';
  if (options.answer === undefined) return 'ask';
  return options.answer.trim() === options.alias ? 'proceed' : 'refuse-mismatch';
}

/** Asks for the alias on a terminal; throws a usage error when the reset must not go ahead. */
export async function confirmReset(options: {
  alias: string;
  yes: boolean;
  interactive: boolean;
  prompt?: (question: string) => Promise<string>;
}): Promise<void> {
  let decision = resetDecision(options);
  if (decision === 'ask') {
    if (!options.prompt) decision = 'refuse-no-tty';
    else {
      const answer = await options.prompt(
        `Reset starts a new epoch for table ${options.alias}: a new full export, and a new chain that does not continue the current one.\n` +
          `Type the table alias (${options.alias}) to confirm: `,
      );
      decision = resetDecision({ ...options, answer });
    }
  }
  if (decision === 'refuse-no-tty') {
    throw new UsageError('reset needs confirmation: run it on a terminal, or pass --yes');
  }
  if (decision === 'refuse-mismatch') {
    throw new UsageError(`reset not confirmed: the answer was not ${JSON.stringify(options.alias)}`);
  }
}

/** What a state parameter's JSON records of its last RESET; read loosely, whatever else it holds. */
function resetRecordOf(json: unknown): ResetRecord {
  const o = typeof json === 'object' && json !== null ? (json as Record<string, unknown>) : {};
  return {
    lastReset: typeof o.lastReset === 'string' ? o.lastReset : null,
    resetVersion: typeof o.resetVersion === 'number' ? o.resetVersion : null,
  };
}

/**
 * Whether the action parameter holds a RESET the workflow has not carried out yet, by the rule the
 * workflow and `dce status` use (functions/chain/operatorAction.ts).
 */
export function isPendingReset(action: ActionObservation, stateText: string | null): boolean {
  if (parseAction(action.value).kind !== 'RESET') return false;
  if (stateText === null) return true;
  let record: ResetRecord;
  try {
    record = resetRecordOf(JSON.parse(stateText));
  } catch {
    return true; // an unreadable state cannot have carried it out
  }
  return !resetCarriedOut(action, record);
}

/** A fresh RESET nonce: 96 random bits, URL-safe base64 (16 characters). */
export function newResetNonce(): string {
  return randomBytes(12).toString('base64url');
}

/**
 * Writes the action parameter (overwriting it), unless it already holds the action. A RESET is written
 * again, with a new nonce, when the one in the parameter was already carried out.
 */
export async function setAction(options: {
  ssm: SsmSender;
  alias: string;
  parameterName: string;
  /** The chain state parameter, to tell a pending RESET from one already carried out. */
  stateParameterName: string;
  action: Action;
  /** Overwrite a pending RESET with PAUSE or RUN (which cancels the reset). */
  force?: boolean;
  /** How transient errors are waited out; the simulation waits on its own clock. */
  retry?: RetryOptions;
}): Promise<ActionResult> {
  const { ssm, alias, parameterName, action, retry } = options;
  const current = await withRetry(
    'GetParameter(action)',
    () => readParameterVersion(ssm, parameterName),
    retry,
  );
  const previous = current.value;
  if (previous === null) {
    // The parameter is created by `pulumi up`; creating it here could mask a wrong stack or alias.
    throw missingActionParameterError(parameterName);
  }
  const stateText = await withRetry(
    'GetParameter(state)',
    () => readParameter(ssm, options.stateParameterName),
    retry,
  );
  const pending = isPendingReset(current, stateText);
  const same = parseAction(previous).kind === action && (action !== 'RESET' || pending);
  if (same) {
    return { alias, parameterName, previous, action, value: previous, changed: false, cancelledReset: false };
  }
  if (pending && !options.force) {
    // A RESET waits for the next tick; overwriting it would silently cancel the new epoch asked for.
    throw new UsageError(
      `a RESET is pending for ${alias} (${parameterName}): the next tick starts a new epoch with a full export. ` +
        `Setting ${action} now would cancel that reset; pass --force to cancel it, or wait until 'dce status' no longer shows RESET_PENDING`,
    );
  }
  // A new nonce for every RESET written: it is what the workflow and `dce status` recognise it by.
  const value = action === 'RESET' ? resetValue(newResetNonce()) : action;
  // Overwriting with the same value is harmless, so a try that failed after SSM applied it may repeat.
  await withRetry(
    'PutParameter(action)',
    () =>
      ssm.send(
        new PutParameterCommand({ Name: parameterName, Value: value, Type: 'String', Overwrite: true }),
      ),
    retry,
  );
  return { alias, parameterName, previous, action, value, changed: true, cancelledReset: pending };
}

/** The human text of an operator result. */
export function formatActionResult(result: ActionResult): string {
  if (!result.changed) return `${result.alias}: action already ${result.action} (${result.parameterName})`;
  const cancelled = result.cancelledReset ? '; the pending reset is cancelled' : '';
  const effect =
    result.action === 'PAUSE'
      ? 'no new exports start from the next tick; exports in flight are still tracked'
      : result.action === 'RUN'
        ? 'the next tick resumes the chain where it stopped'
        : 'the next tick starts a new epoch with a full export';
  return `${result.alias}: action ${result.previous} -> ${result.value} (${result.parameterName}); ${effect}${cancelled}`;
}
