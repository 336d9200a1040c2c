/**
 * `dce replica pause | resume | rebuild`: the operator writes the replica's action parameter
 * (`.../replicas/<alias>/action`: PAUSE, RUN or REBUILD; functions/replica/action.ts) with one
 * PutParameter, using the operator's own credentials. The replica's workflow only reads it, and only the
 * workflow writes the state parameter: nothing a running execution does can undo the command.
 *
 * - pause: PAUSE. The planner applies nothing new; an apply already claimed completes and is recorded,
 *   so resume continues from the last entry recorded.
 * - resume: RUN.
 * - rebuild: REBUILD, a new parameter version. The workflow carries it out once (the state records the
 *   version as `rebuildVersion`): when no other execution's claim is live, it resets the state to the
 *   initial state, so the next plan bootstraps from the live epoch's full export into the target the
 *   operator has emptied or recreated. Only a HALTED replica without `--force`.
 * Writing PAUSE or RUN over a REBUILD not yet carried out would cancel it: refused without `--force`.
 */
import type { SsmSender } from '../../functions/shared/awsClients';
import {
  isLegacyPause,
  isPendingRebuild,
  type ReplicaAction,
  type ReplicaActionRead,
} from '../../functions/replica/action';
import { parseReplicaState, type ReplicaState } from '../../functions/replica/state';
import {
  confirmConsumerRebuild,
  decideConsumerCommand,
  formatConsumerCommand,
  runConsumerCommand,
  type ConsumerCommand,
  type ConsumerCommandDecision,
  type ConsumerCommandOutcome,
} from './consumerCommands';
import { replicaActionParameter, type ReplicaRef } from './replicaStatus';
import { UsageError } from '../target';

export interface DecisionContext {
  replica: string;
  force: boolean;
}

/** Decides what a command writes to the action parameter, or why it refuses. */
export function decideReplicaCommand(
  command: ConsumerCommand,
  action: ReplicaActionRead,
  state: ReplicaState,
  context: DecisionContext,
): ConsumerCommandDecision {
  const { replica, force } = context;
  const facts = {
    pendingRebuild: isPendingRebuild(action, state),
    halted: state.status === 'HALTED',
    haltText: state.halt ? `${state.halt.reason}: ${state.halt.detail}` : 'no reason recorded',
    // A state paused by an earlier release stays paused until the action is written: resume writes RUN.
    writeEvenIfSame: command === 'resume' && isLegacyPause(state, action),
  };
  return decideConsumerCommand(
    command,
    action,
    facts,
    {
      rebuildNotHalted:
        `replica ${replica} is ${state.status}, not HALTED: rebuild starts it over from the full export. ` +
        `Pass --force to rebuild it anyway (pause it first and wait until 'dce status' shows no apply in progress, then empty the target)`,
      pendingRebuild: (wanted, version) =>
        `a rebuild of replica ${replica} is pending (action REBUILD, version ${version ?? '?'}): its next execution starts it over. ` +
        `Writing ${wanted} now would cancel that rebuild; pass --force to cancel it, or wait until 'dce status' no longer shows it pending`,
      halted: (cmd, why) =>
        `replica ${replica} is HALTED (${why}): it applies nothing until rebuilt, and ${cmd} does not change that. ` +
        `Deal with the cause, then run 'dce replica rebuild' (docs/replica.md, "When a replica halts")`,
    },
    force,
  );
}

/** What a `dce replica` command did, as `--json` prints it. */
export interface ReplicaActionResult extends ConsumerCommandOutcome<ReplicaState> {
  alias: string;
  replica: string;
  command: ConsumerCommand;
  actionParameterName: string;
  stateParameterName: string;
  targetTableName: string | null;
  action: ReplicaAction;
}

/**
 * Asks for the replica alias on a terminal before a rebuild; refuses without a terminal unless `--yes`
 * (the decision is `dce reset`'s).
 */
export async function confirmRebuild(options: {
  replica: string;
  targetTableName: string | null;
  yes: boolean;
  interactive: boolean;
  prompt?: (question: string) => Promise<string>;
}): Promise<void> {
  await confirmConsumerRebuild({
    alias: options.replica,
    aliasNoun: 'replica alias',
    notice: rebuildNotice(options.replica, options.targetTableName),
    yes: options.yes,
    interactive: options.interactive,
    prompt: options.prompt,
  });
}

/** What the operator must have done before a rebuild. */
export function rebuildNotice(replica: string, targetTableName: string | null): string {
  const target = targetTableName ? `table ${targetTableName}` : 'the target table';
  return (
    `Rebuild starts replica ${replica} over: its next execution (once no apply is in progress) resets its state and writes the full export of the live epoch into ${target}, then follows the chain. ` +
    `Empty ${target} first (or delete and recreate it with the same key schema; a replica that is not halted: pause it and wait until 'dce status' shows no apply in progress): a write bootstrap into a table that holds items halts with TARGET_NOT_EMPTY.`
  );
}

function parseStateOrExplain(name: string, text: string | null): ReplicaState {
  if (text === null) {
    // Pulumi creates the parameter; creating it here could hide a wrong stack, alias or replica.
    throw new UsageError(
      `the replica state parameter ${name} does not exist: check --stack/--alias/--replica (or --stack-output), or run 'pulumi up'`,
    );
  }
  try {
    return parseReplicaState(text);
  } catch (error) {
    throw new UsageError(
      `${name}: ${(error as Error).message}; the replica's workflow writes it, see docs/replica.md`,
    );
  }
}

/** Reads the action and the state, decides, and writes the action parameter with one PutParameter. */
export async function runReplicaCommand(options: {
  ssm: SsmSender;
  alias: string;
  replica: ReplicaRef;
  command: ConsumerCommand;
  force?: boolean;
}): Promise<ReplicaActionResult> {
  const { replica, command } = options;
  const actionName = replicaActionParameter(replica);
  const outcome = await runConsumerCommand({
    ssm: options.ssm,
    command,
    actionParameterName: actionName,
    stateParameterName: replica.stateParameterName,
    parseState: (text) => parseStateOrExplain(replica.stateParameterName, text),
    missingAction: `the replica action parameter ${actionName} does not exist (a stack deployed before it existed): run 'pulumi up' to create it`,
    decide: (action, state) =>
      decideReplicaCommand(command, action, state, { replica: replica.alias, force: Boolean(options.force) }),
  });
  return {
    alias: options.alias,
    replica: replica.alias,
    command,
    actionParameterName: actionName,
    stateParameterName: replica.stateParameterName,
    targetTableName: replica.targetTableName ?? null,
    ...outcome,
  };
}

/** What happens next, after each command. */
function nextStep(result: ReplicaActionResult): string {
  const s = result.state;
  const target = result.targetTableName ? `table ${result.targetTableName}` : 'the target table';
  switch (result.action) {
    case 'PAUSE':
      return `the next plan applies nothing new; an apply already in progress completes and is recorded ('dce status' shows it)`;
    case 'RUN':
      return `the next execution continues after sequence ${s.lastAppliedSequence}`;
    case 'REBUILD':
      return (
        `the next execution rebuilds (once no apply is in progress): it resets the state and writes the live epoch's full export into ${target}. ` +
        `Empty or recreate ${target} first. It was: epoch ${s.epoch ?? '-'}, last sequence ${s.lastAppliedSequence}, watermark ${s.watermark ?? '-'}` +
        (s.halt ? `, halted ${s.halt.reason}` : '')
      );
  }
}

/** The human text of a replica command's result. */
export function formatReplicaActionResult(result: ReplicaActionResult): string {
  return formatConsumerCommand(`${result.alias}/${result.replica}`, result, nextStep(result));
}
