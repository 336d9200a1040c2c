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
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import type { SsmSender } from '../functions/shared/awsClients';
import {
  isLegacyPause,
  isPendingRebuild,
  type ReplicaAction,
  type ReplicaActionRead,
} from '../functions/replica/action';
import { parseReplicaState, type ReplicaState } from '../functions/replica/state';
import { resetDecision } from './operator';
import { replicaActionParameter, type ReplicaRef } from './replicaStatus';
import { readParameter, readParameterVersion } from './status';
import { UsageError } from './target';

export const REPLICA_COMMANDS = ['pause', 'resume', 'rebuild'] as const;
export type ReplicaCommand = (typeof REPLICA_COMMANDS)[number];

/** The action each command writes. */
export const REPLICA_COMMAND_ACTIONS: Record<ReplicaCommand, ReplicaAction> = {
  pause: 'PAUSE',
  resume: 'RUN',
  rebuild: 'REBUILD',
};

/** What a `dce replica` command decided, from the action and the state read (pure). */
export type ReplicaDecision =
  | { kind: 'write'; action: ReplicaAction; cancelsRebuild: boolean }
  | { kind: 'unchanged' }
  | { kind: 'refuse'; message: string };

export interface DecisionContext {
  replica: string;
  force: boolean;
}

function haltText(state: ReplicaState): string {
  return state.halt ? `${state.halt.reason}: ${state.halt.detail}` : 'no reason recorded';
}

/** Decides what a command writes to the action parameter, or why it refuses. */
export function decideReplicaCommand(
  command: ReplicaCommand,
  action: ReplicaActionRead,
  state: ReplicaState,
  context: DecisionContext,
): ReplicaDecision {
  const { replica, force } = context;
  const wanted = REPLICA_COMMAND_ACTIONS[command];
  const pending = isPendingRebuild(action, state);
  if (command === 'rebuild') {
    if (pending) return { kind: 'unchanged' };
    if (state.status !== 'HALTED' && !force) {
      return {
        kind: 'refuse',
        message:
          `replica ${replica} is ${state.status}, not HALTED: rebuild starts it over from the full export. ` +
          `Pass --force to rebuild it anyway (pause it first and wait until 'dce status' shows no apply in progress, then empty the target)`,
      };
    }
    return { kind: 'write', action: wanted, cancelsRebuild: false };
  }
  if (pending) {
    if (!force) {
      return {
        kind: 'refuse',
        message:
          `a rebuild of replica ${replica} is pending (action REBUILD, version ${action.version ?? '?'}): its next execution starts it over. ` +
          `Writing ${wanted} now would cancel that rebuild; pass --force to cancel it, or wait until 'dce status' no longer shows it pending`,
      };
    }
    return { kind: 'write', action: wanted, cancelsRebuild: true };
  }
  if (state.status === 'HALTED') {
    return {
      kind: 'refuse',
      message:
        `replica ${replica} is HALTED (${haltText(state)}): it applies nothing until rebuilt, and ${command} does not change that. ` +
        `Deal with the cause, then run 'dce replica rebuild' (docs/replica.md, "When a replica halts")`,
    };
  }
  const current = action.value === null ? 'RUN' : action.value.trim();
  // A state paused by an earlier release stays paused until the action is written: resume writes RUN.
  const legacyPaused = command === 'resume' && isLegacyPause(state, action);
  if (current === wanted && !legacyPaused) return { kind: 'unchanged' };
  return { kind: 'write', action: wanted, cancelsRebuild: false };
}

/** What a `dce replica` command did, as `--json` prints it. */
export interface ReplicaActionResult {
  alias: string;
  replica: string;
  command: ReplicaCommand;
  actionParameterName: string;
  stateParameterName: string;
  targetTableName: string | null;
  /** The action parameter's value before the command. */
  previousAction: string | null;
  action: ReplicaAction;
  /** False when the parameter already held the action (nothing written). */
  changed: boolean;
  /** PAUSE or RUN written over a REBUILD not yet carried out (--force): the rebuild is cancelled. */
  cancelledRebuild: boolean;
  /** The replica state as read (the workflow's record of where the replica is). */
  state: ReplicaState;
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
  const alias = options.replica;
  let decision = resetDecision({ alias, yes: options.yes, interactive: options.interactive });
  if (decision === 'ask') {
    if (!options.prompt) decision = 'refuse-no-tty';
    else {
      const answer = await options.prompt(
        `${rebuildNotice(alias, options.targetTableName)}\nType the replica alias (${alias}) to confirm: `,
      );
      decision = resetDecision({ alias, yes: false, interactive: true, answer });
    }
  }
  if (decision === 'refuse-no-tty') {
    throw new UsageError(
      `rebuild needs confirmation: run it on a terminal, or pass --yes. ${rebuildNotice(alias, options.targetTableName)}`,
    );
  }
  if (decision === 'refuse-mismatch') {
    throw new UsageError(`rebuild not confirmed: the answer was not ${JSON.stringify(alias)}`);
  }
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
  command: ReplicaCommand;
  force?: boolean;
}): Promise<ReplicaActionResult> {
  const { ssm, replica, command } = options;
  const actionName = replicaActionParameter(replica);
  const [action, stateText] = await Promise.all([
    readParameterVersion(ssm, actionName),
    readParameter(ssm, replica.stateParameterName),
  ]);
  const state = parseStateOrExplain(replica.stateParameterName, stateText);
  if (action.value === null) {
    throw new UsageError(
      `the replica action parameter ${actionName} does not exist (a stack deployed before it existed): run 'pulumi up' to create it`,
    );
  }
  const decision = decideReplicaCommand(command, action, state, {
    replica: replica.alias,
    force: Boolean(options.force),
  });
  if (decision.kind === 'refuse') throw new UsageError(decision.message);
  const base = {
    alias: options.alias,
    replica: replica.alias,
    command,
    actionParameterName: actionName,
    stateParameterName: replica.stateParameterName,
    targetTableName: replica.targetTableName ?? null,
    previousAction: action.value,
    action: REPLICA_COMMAND_ACTIONS[command],
    state,
  };
  if (decision.kind === 'unchanged') return { ...base, changed: false, cancelledRebuild: false };
  await ssm.send(
    new PutParameterCommand({ Name: actionName, Value: decision.action, Type: 'String', Overwrite: true }),
  );
  return { ...base, changed: true, cancelledRebuild: decision.cancelsRebuild };
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
  const who = `${result.alias}/${result.replica}`;
  if (!result.changed) {
    const what =
      result.action === 'REBUILD' ? 'a rebuild is already pending' : `action already ${result.action}`;
    return `${who}: ${what} (${result.actionParameterName}); ${nextStep(result)}`;
  }
  const cancelled = result.cancelledRebuild ? '; the pending rebuild is cancelled' : '';
  return `${who}: action ${result.previousAction ?? '-'} -> ${result.action} (${result.actionParameterName}); ${nextStep(result)}${cancelled}`;
}
