/**
 * `dce iceberg pause | resume | rebuild`: the operator writes the Iceberg feed's action parameter
 * (`.../iceberg/action`: PAUSE, RUN or REBUILD; functions/iceberg/action.ts) with one PutParameter, using
 * the operator's own credentials. The feed's plan step only reads it, and only the feed writes its
 * cursor: nothing a running execution does can undo the command.
 *
 * - pause: PAUSE. The feed starts no statement (its cursor says PAUSED); one already running is
 *   committed. The export chain and the replicas do not read the feed: they go on.
 * - resume: RUN. The next execution continues after the last merged entry.
 * - rebuild: REBUILD, a new parameter version. The next execution (once no statement is running) starts
 *   a new table of the live epoch (`<table>__e<epoch>_r<version>`), merges the full export into it, then
 *   swaps the view; the old table stays until you drop it. A halted feed is rebuilt this way. Asks for
 *   the alias unless `--yes`: it scans the whole full export again (Athena bills it).
 * Writing PAUSE or RUN over a REBUILD not yet carried out would cancel it: refused without `--force`.
 */
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import type { SsmSender } from '../functions/shared/awsClients';
import { isPendingRebuild, type ActionRead, type ConsumerAction } from '../functions/shared/consumer/action';
import { initialIcebergState, parseIcebergState, type IcebergFeedState } from '../functions/iceberg/state';
import type { IcebergRef } from './icebergStatus';
import { resetDecision } from './operator';
import { readParameter, readParameterVersion } from './status';
import { UsageError } from './target';

export const ICEBERG_COMMANDS = ['pause', 'resume', 'rebuild'] as const;
export type IcebergCommand = (typeof ICEBERG_COMMANDS)[number];

/** The action each command writes. */
export const ICEBERG_COMMAND_ACTIONS: Record<IcebergCommand, ConsumerAction> = {
  pause: 'PAUSE',
  resume: 'RUN',
  rebuild: 'REBUILD',
};

/** What a `dce iceberg` command decided, from the action and the cursor read (pure). */
export type IcebergDecision =
  | { kind: 'write'; action: ConsumerAction; cancelsRebuild: boolean }
  | { kind: 'unchanged' }
  | { kind: 'refuse'; message: string };

/** Decides what a command writes to the action parameter, or why it refuses. */
export function decideIcebergCommand(
  command: IcebergCommand,
  action: ActionRead,
  state: IcebergFeedState,
  options: { force: boolean },
): IcebergDecision {
  const wanted = ICEBERG_COMMAND_ACTIONS[command];
  const pending = isPendingRebuild(action, state);
  if (command === 'rebuild')
    return pending ? { kind: 'unchanged' } : { kind: 'write', action: wanted, cancelsRebuild: false };
  if (pending) {
    if (!options.force)
      return {
        kind: 'refuse',
        message:
          `a rebuild of the Iceberg feed is pending (action REBUILD, version ${action.version ?? '?'}): its next execution starts a new table. ` +
          `Writing ${wanted} now would cancel that rebuild; pass --force to cancel it, or wait until 'dce status' no longer shows it pending`,
      };
    return { kind: 'write', action: wanted, cancelsRebuild: true };
  }
  if (state.status === 'HALTED') {
    const why = state.halt ? `${state.halt.reason}: ${state.halt.detail}` : 'no reason recorded';
    return {
      kind: 'refuse',
      message:
        `the Iceberg feed is HALTED (${why}): it merges nothing until rebuilt, and ${command} does not change that. ` +
        `Deal with the cause, then run 'dce iceberg rebuild' (docs/iceberg.md, "Operate")`,
    };
  }
  const current = action.value === null ? 'RUN' : action.value.trim();
  return current === wanted
    ? { kind: 'unchanged' }
    : { kind: 'write', action: wanted, cancelsRebuild: false };
}

/** What a `dce iceberg` command did, as `--json` prints it. */
export interface IcebergActionResult {
  alias: string;
  command: IcebergCommand;
  actionParameterName: string;
  stateParameterName: string;
  /** The action parameter's value before the command. */
  previousAction: string | null;
  action: ConsumerAction;
  /** False when the parameter already held the action (nothing written). */
  changed: boolean;
  cancelledRebuild: boolean;
  /** The cursor as read (the feed's record of where the lake is). */
  state: IcebergFeedState;
}

/** Asks for the table alias on a terminal before a rebuild; refuses without one unless `--yes`. */
export async function confirmIcebergRebuild(options: {
  alias: string;
  yes: boolean;
  interactive: boolean;
  prompt?: (question: string) => Promise<string>;
}): Promise<void> {
  const { alias } = options;
  const notice = `Rebuild starts the Iceberg feed of ${alias} over on a new table of the live epoch: the full export is merged into it (Athena bills the scan), then the view is swapped; the old table stays until you drop it.`;
  let decision = resetDecision({ alias, yes: options.yes, interactive: options.interactive });
  if (decision === 'ask') {
    if (!options.prompt) decision = 'refuse-no-tty';
    else {
      const answer = await options.prompt(`${notice}\nType the table alias (${alias}) to confirm: `);
      decision = resetDecision({ alias, yes: false, interactive: true, answer });
    }
  }
  if (decision === 'refuse-no-tty')
    throw new UsageError(`rebuild needs confirmation: run it on a terminal, or pass --yes. ${notice}`);
  if (decision === 'refuse-mismatch')
    throw new UsageError(`rebuild not confirmed: the answer was not ${JSON.stringify(alias)}`);
}

/** The cursor as read: `{}` (as Pulumi creates it) is the initial cursor; missing or invalid is an error. */
export function icebergStateOrExplain(name: string, text: string | null): IcebergFeedState {
  if (text === null)
    // Pulumi creates the parameter; creating it here could hide a wrong stack or alias.
    throw new UsageError(
      `the Iceberg feed's state parameter ${name} does not exist: the table has no Iceberg feed deployed (check --stack/--alias or --stack-output, or run 'pulumi up')`,
    );
  if (text === '{}' || text === '') return initialIcebergState();
  try {
    return parseIcebergState(text);
  } catch (error) {
    throw new UsageError(`${name}: ${(error as Error).message}; the feed writes it, see docs/iceberg.md`);
  }
}

/** Reads the action and the cursor, decides, and writes the action parameter with one PutParameter. */
export async function runIcebergCommand(options: {
  ssm: SsmSender;
  alias: string;
  feed: IcebergRef;
  command: IcebergCommand;
  force?: boolean;
}): Promise<IcebergActionResult> {
  const { ssm, feed, command } = options;
  const [action, stateText] = await Promise.all([
    readParameterVersion(ssm, feed.actionParameterName),
    readParameter(ssm, feed.stateParameterName),
  ]);
  const state = icebergStateOrExplain(feed.stateParameterName, stateText);
  if (action.value === null)
    throw new UsageError(
      `the Iceberg feed's action parameter ${feed.actionParameterName} does not exist (a stack deployed before it existed): run 'pulumi up' to create it`,
    );
  const decision = decideIcebergCommand(command, action, state, { force: Boolean(options.force) });
  if (decision.kind === 'refuse') throw new UsageError(decision.message);
  const base = {
    alias: options.alias,
    command,
    actionParameterName: feed.actionParameterName,
    stateParameterName: feed.stateParameterName,
    previousAction: action.value,
    action: ICEBERG_COMMAND_ACTIONS[command],
    state,
  };
  if (decision.kind === 'unchanged') return { ...base, changed: false, cancelledRebuild: false };
  await ssm.send(
    new PutParameterCommand({
      Name: feed.actionParameterName,
      Value: decision.action,
      Type: 'String',
      Overwrite: true,
    }),
  );
  return { ...base, changed: true, cancelledRebuild: decision.cancelsRebuild };
}

/** What happens next, after each command. */
function nextStep(result: IcebergActionResult): string {
  const s = result.state;
  switch (result.action) {
    case 'PAUSE':
      return 'the next plan starts no statement; one already running is committed. The export chain and replicas go on';
    case 'RUN':
      return `the next execution continues after sequence ${s.lastAppliedSequence}`;
    case 'REBUILD':
      return (
        `the next execution (once no statement is running) starts a new table of the live epoch from its full export, then swaps the view. ` +
        `It was: epoch ${s.epoch ?? '-'}, sequence ${s.lastAppliedSequence}, watermark ${s.watermark ?? '-'}` +
        (s.halt ? `, halted ${s.halt.reason}` : '')
      );
  }
}

/** The human text of an iceberg command's result. */
export function formatIcebergActionResult(result: IcebergActionResult): string {
  const who = `${result.alias}/iceberg`;
  if (!result.changed) {
    const what =
      result.action === 'REBUILD' ? 'a rebuild is already pending' : `action already ${result.action}`;
    return `${who}: ${what} (${result.actionParameterName}); ${nextStep(result)}`;
  }
  const cancelled = result.cancelledRebuild ? '; the pending rebuild is cancelled' : '';
  return `${who}: action ${result.previousAction ?? '-'} -> ${result.action} (${result.actionParameterName}); ${nextStep(result)}${cancelled}`;
}
