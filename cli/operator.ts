/**
 * `dce pause | resume | reset`: the operator writes the action parameter; the next export tick reads
 * it. PAUSE stops new exports (in-flight ones are still tracked and committed), RUN resumes, RESET
 * starts a new epoch with a full export (the tick sets the parameter back to RUN once it has done so).
 */
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import { readParameter } from './status';
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

/** Writes the action parameter (overwriting it), unless it already holds the action. */
export async function setAction(options: {
  ssm: { send(c: any): Promise<any> };
  alias: string;
  parameterName: string;
  action: Action;
  /** Overwrite a pending RESET with PAUSE or RUN (which cancels the reset). */
  force?: boolean;
}): Promise<ActionResult> {
  const { ssm, alias, parameterName, action } = options;
  const previous = await readParameter(ssm, parameterName);
  if (previous === null) {
    // The parameter is created by `pulumi up`; creating it here could mask a wrong stack or alias.
    throw new UsageError(
      `the action parameter ${parameterName} does not exist: check --stack/--alias (or --stack-output), or run 'pulumi up'`,
    );
  }
  if (previous.trim() === action) return { alias, parameterName, previous, action, changed: false };
  if (previous.trim() === 'RESET' && !options.force) {
    // A RESET waits for the next tick; overwriting it would silently cancel the new epoch asked for.
    throw new UsageError(
      `a RESET is pending for ${alias} (${parameterName}): the next tick starts a new epoch with a full export. ` +
        `Setting ${action} now would cancel that reset; pass --force to cancel it, or wait until the tick has set the action back to RUN`,
    );
  }
  await ssm.send(
    new PutParameterCommand({ Name: parameterName, Value: action, Type: 'String', Overwrite: true }),
  );
  return { alias, parameterName, previous, action, changed: true };
}

/** The human text of an operator result. */
export function formatActionResult(result: ActionResult): string {
  if (!result.changed) return `${result.alias}: action already ${result.action} (${result.parameterName})`;
  const cancelled = result.previous?.trim() === 'RESET' ? '; the pending reset is cancelled' : '';
  const effect =
    result.action === 'PAUSE'
      ? 'no new exports start from the next tick; exports in flight are still tracked'
      : result.action === 'RUN'
        ? 'the next tick resumes the chain where it stopped'
        : 'the next tick starts a new epoch with a full export';
  return `${result.alias}: action ${result.previous} -> ${result.action} (${result.parameterName}); ${effect}${cancelled}`;
}
