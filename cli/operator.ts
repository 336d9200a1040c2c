/**
 * `dce pause | resume | reset`: the operator writes the action parameter; the next export tick reads
 * it. PAUSE stops new exports (in-flight ones are still tracked and committed), RUN resumes, RESET
 * starts a new epoch with a full export (the tick sets the parameter back to RUN once it has done so).
 */
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import type { SsmSender } from '../functions/awsClients';
import { readParameter, readParameterVersion } from './status';
import { UsageError } from './target';
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

/**
 * Whether the action parameter holds a RESET the workflow has not carried out yet. The workflow never
 * writes the action back: it records the version of the RESET it carried out in the chain state, so
 * a RESET whose version the state names is done.
 */
export function isPendingReset(
  action: { value: string | null; version: number | null },
  stateText: string | null,
): boolean {
  if (action.value?.trim() !== 'RESET') return false;
  if (stateText === null || action.version === null) return true;
  try {
    const consumed = (JSON.parse(stateText) as { resetVersion?: unknown }).resetVersion;
    return consumed !== action.version;
  } catch {
    return true; // an unreadable state cannot have carried it out
  }
}

/**
 * Writes the action parameter (overwriting it), unless it already holds the action. A RESET is
 * written again when the one in the parameter was already carried out (a new version is a new reset).
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
}): Promise<ActionResult> {
  const { ssm, alias, parameterName, action } = options;
  const current = await readParameterVersion(ssm, parameterName);
  const previous = current.value;
  if (previous === null) {
    // The parameter is created by `pulumi up`; creating it here could mask a wrong stack or alias.
    throw new UsageError(
      `the action parameter ${parameterName} does not exist: check --stack/--alias (or --stack-output), or run 'pulumi up'`,
    );
  }
  const pending = isPendingReset(current, await readParameter(ssm, options.stateParameterName));
  const same = previous.trim() === action && (action !== 'RESET' || pending);
  if (same) return { alias, parameterName, previous, action, changed: false, cancelledReset: false };
  if (pending && !options.force) {
    // A RESET waits for the next tick; overwriting it would silently cancel the new epoch asked for.
    throw new UsageError(
      `a RESET is pending for ${alias} (${parameterName}): the next tick starts a new epoch with a full export. ` +
        `Setting ${action} now would cancel that reset; pass --force to cancel it, or wait until 'dce status' no longer shows RESET_PENDING`,
    );
  }
  await ssm.send(
    new PutParameterCommand({ Name: parameterName, Value: action, Type: 'String', Overwrite: true }),
  );
  return { alias, parameterName, previous, action, changed: true, cancelledReset: pending };
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
  return `${result.alias}: action ${result.previous} -> ${result.action} (${result.parameterName}); ${effect}${cancelled}`;
}
