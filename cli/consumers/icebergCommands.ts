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
import {
  isPendingRebuild,
  type ActionRead,
  type ConsumerAction,
} from '../../functions/shared/consumer/action';
import { initialIcebergState, parseIcebergState, type IcebergFeedState } from '../../functions/iceberg/state';
import type { SsmSender } from '../../functions/shared/awsClients';
import {
  confirmConsumerRebuild,
  decideConsumerCommand,
  formatConsumerCommand,
  runConsumerCommand,
  type ConsumerCommand,
  type ConsumerCommandDecision,
  type ConsumerCommandOutcome,
} from './consumerCommands';
import type { IcebergRef } from './icebergStatus';
import { UsageError } from '../target';

/** Decides what a command writes to the action parameter, or why it refuses. */
export function decideIcebergCommand(
  command: ConsumerCommand,
  action: ActionRead,
  state: IcebergFeedState,
  options: { force: boolean },
): ConsumerCommandDecision {
  const facts = {
    pendingRebuild: isPendingRebuild(action, state),
    halted: state.status === 'HALTED',
    haltText: state.halt ? `${state.halt.reason}: ${state.halt.detail}` : 'no reason recorded',
  };
  return decideConsumerCommand(
    command,
    action,
    facts,
    {
      pendingRebuild: (wanted, version) =>
        `a rebuild of the Iceberg feed is pending (action REBUILD, version ${version ?? '?'}): its next execution starts a new table. ` +
        `Writing ${wanted} now would cancel that rebuild; pass --force to cancel it, or wait until 'dce status' no longer shows it pending`,
      halted: (cmd, why) =>
        `the Iceberg feed is HALTED (${why}): it merges nothing until rebuilt, and ${cmd} does not change that. ` +
        `Deal with the cause, then run 'dce iceberg rebuild' (docs/iceberg.md, "Operate")`,
    },
    options.force,
  );
}

/** What a `dce iceberg` command did, as `--json` prints it. */
export interface IcebergActionResult extends ConsumerCommandOutcome<IcebergFeedState> {
  alias: string;
  command: ConsumerCommand;
  actionParameterName: string;
  stateParameterName: string;
  action: ConsumerAction;
}

/** Asks for the table alias on a terminal before a rebuild; refuses without one unless `--yes`. */
export async function confirmIcebergRebuild(options: {
  alias: string;
  yes: boolean;
  interactive: boolean;
  prompt?: (question: string) => Promise<string>;
}): Promise<void> {
  await confirmConsumerRebuild({
    ...options,
    aliasNoun: 'table alias',
    notice: `Rebuild starts the Iceberg feed of ${options.alias} over on a new table of the live epoch: the full export is merged into it (Athena bills the scan), then the chain up to where the old table was, then the view is swapped; the old table stays until you drop it.`,
  });
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
  command: ConsumerCommand;
  force?: boolean;
}): Promise<IcebergActionResult> {
  const { feed, command } = options;
  const outcome = await runConsumerCommand({
    ssm: options.ssm,
    command,
    actionParameterName: feed.actionParameterName,
    stateParameterName: feed.stateParameterName,
    parseState: (text) => icebergStateOrExplain(feed.stateParameterName, text),
    missingAction: `the Iceberg feed's action parameter ${feed.actionParameterName} does not exist (a stack deployed before it existed): run 'pulumi up' to create it`,
    decide: (action, state) =>
      decideIcebergCommand(command, action, state, { force: Boolean(options.force) }),
  });
  return {
    alias: options.alias,
    command,
    actionParameterName: feed.actionParameterName,
    stateParameterName: feed.stateParameterName,
    ...outcome,
  };
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
        `the next execution (once no statement is running) starts a new table of the live epoch from its full export and merges up to where the old table was (one batch per mergeEveryMinutes), then swaps the view. ` +
        `It was: epoch ${s.epoch ?? '-'}, sequence ${s.lastAppliedSequence}, watermark ${s.watermark ?? '-'}` +
        (s.halt ? `, halted ${s.halt.reason}` : '')
      );
  }
}

/** The human text of an iceberg command's result. */
export function formatIcebergActionResult(result: IcebergActionResult): string {
  return formatConsumerCommand(`${result.alias}/iceberg`, result, nextStep(result));
}
