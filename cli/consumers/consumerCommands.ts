/**
 * What `dce replica` and `dce iceberg` share: `pause | resume | rebuild` write a consumer's action
 * parameter (RUN, PAUSE or REBUILD; functions/shared/consumer/action.ts) with one PutParameter, using
 * the operator's own credentials, after reading the action and the consumer's state. Only the
 * consumer's workflow writes its state, so nothing a running execution does can undo the command.
 *
 * The rule is the same for every consumer (the words are each consumer's own):
 * - rebuild: REBUILD, a new parameter version; nothing new while one is pending. A consumer may refuse
 *   to rebuild while it is not halted unless `--force` (the replica does: its target must be emptied).
 * - Writing PAUSE or RUN over a REBUILD not yet carried out would cancel it: refused without `--force`.
 * - pause and resume of a HALTED consumer change nothing it does: refused, naming the rebuild.
 * - Writing the value the parameter holds already writes nothing.
 * A rebuild asks for the alias on a terminal and needs `--yes` without one (`dce reset`'s rule).
 */
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import type { Command } from 'commander';
import type { SsmSender } from '../../functions/shared/awsClients';
import type { ActionRead, ConsumerAction } from '../../functions/shared/consumer/action';
import type { Io } from '../output';
import { resetDecision } from '../operator';
import { readParameter, readParameterVersion } from '../status';
import { UsageError, type ClientOptions, type Clients } from '../target';

/** What a consumer's command declarations need of cli/dce.ts. */
export interface ConsumerCommandEnv {
  io: Io;
  /** Reads `--stack-output` (a path or `-`). */
  readInput?: (source: string) => string;
  clientsFor: (opts: ClientOptions) => Clients;
  /** Adds the flags every table command takes (cli/dce.ts). */
  addTargetOptions: (cmd: Command) => Command;
}

export const CONSUMER_COMMANDS = ['pause', 'resume', 'rebuild'] as const;
export type ConsumerCommand = (typeof CONSUMER_COMMANDS)[number];

/** The action each command writes. */
export const CONSUMER_COMMAND_ACTIONS: Record<ConsumerCommand, ConsumerAction> = {
  pause: 'PAUSE',
  resume: 'RUN',
  rebuild: 'REBUILD',
};

/** What a command decided, from the action and the state read (pure). */
export type ConsumerCommandDecision =
  | { kind: 'write'; action: ConsumerAction; cancelsRebuild: boolean }
  | { kind: 'unchanged' }
  | { kind: 'refuse'; message: string };

/** What the decision needs to know of the consumer's state. */
export interface ConsumerCommandFacts {
  /** The action parameter holds a REBUILD the state has not carried out yet. */
  pendingRebuild: boolean;
  /** The consumer is HALTED; `haltText` says why. */
  halted: boolean;
  haltText: string;
  /** Write the action even when the parameter holds it already (a state paused by an earlier release). */
  writeEvenIfSame?: boolean;
}

/** A consumer's own words for each refusal. */
export interface ConsumerCommandWords {
  /** A rebuild of a consumer that is not halted, without --force; undefined: allowed. */
  rebuildNotHalted?: string;
  /** PAUSE or RUN over a pending rebuild, without --force. */
  pendingRebuild: (wanted: ConsumerAction, version: number | null) => string;
  /** pause or resume of a halted consumer. */
  halted: (command: ConsumerCommand, haltText: string) => string;
}

/** Decides what a command writes to the action parameter, or why it refuses (pure). */
export function decideConsumerCommand(
  command: ConsumerCommand,
  action: ActionRead,
  facts: ConsumerCommandFacts,
  words: ConsumerCommandWords,
  force: boolean,
): ConsumerCommandDecision {
  const wanted = CONSUMER_COMMAND_ACTIONS[command];
  if (command === 'rebuild') {
    if (facts.pendingRebuild) return { kind: 'unchanged' };
    if (!facts.halted && !force && words.rebuildNotHalted !== undefined)
      return { kind: 'refuse', message: words.rebuildNotHalted };
    return { kind: 'write', action: wanted, cancelsRebuild: false };
  }
  if (facts.pendingRebuild)
    return force
      ? { kind: 'write', action: wanted, cancelsRebuild: true }
      : { kind: 'refuse', message: words.pendingRebuild(wanted, action.version) };
  if (facts.halted) return { kind: 'refuse', message: words.halted(command, facts.haltText) };
  const current = action.value === null ? 'RUN' : action.value.trim();
  if (current === wanted && !facts.writeEvenIfSame) return { kind: 'unchanged' };
  return { kind: 'write', action: wanted, cancelsRebuild: false };
}

/**
 * Asks for `alias` on a terminal before a rebuild (`notice` says what it does); refuses without a
 * terminal unless `--yes`.
 */
export async function confirmConsumerRebuild(options: {
  alias: string;
  /** What the alias is called in the question: "replica alias", "table alias". */
  aliasNoun: string;
  notice: string;
  yes: boolean;
  interactive: boolean;
  prompt?: (question: string) => Promise<string>;
}): Promise<void> {
  const { alias, notice } = options;
  let decision = resetDecision({ alias, yes: options.yes, interactive: options.interactive });
  if (decision === 'ask') {
    if (!options.prompt) decision = 'refuse-no-tty';
    else {
      const answer = await options.prompt(`${notice}\nType the ${options.aliasNoun} (${alias}) to confirm: `);
      decision = resetDecision({ alias, yes: false, interactive: true, answer });
    }
  }
  if (decision === 'refuse-no-tty')
    throw new UsageError(`rebuild needs confirmation: run it on a terminal, or pass --yes. ${notice}`);
  if (decision === 'refuse-mismatch')
    throw new UsageError(`rebuild not confirmed: the answer was not ${JSON.stringify(alias)}`);
}

/** What a command did, whatever the consumer. */
export interface ConsumerCommandOutcome<S> {
  /** The action parameter's value before the command. */
  previousAction: string | null;
  action: ConsumerAction;
  /** False when the parameter already held the action (nothing written). */
  changed: boolean;
  /** PAUSE or RUN written over a REBUILD not yet carried out (--force): the rebuild is cancelled. */
  cancelledRebuild: boolean;
  /** The state as read (the workflow's record of where the consumer is). */
  state: S;
}

/** Reads the action and the state, decides, and writes the action parameter with one PutParameter. */
export async function runConsumerCommand<S>(options: {
  ssm: SsmSender;
  command: ConsumerCommand;
  actionParameterName: string;
  stateParameterName: string;
  /** The state from the parameter's text (null: missing); throws a UsageError that explains. */
  parseState: (text: string | null) => S;
  /** Said when the action parameter does not exist. */
  missingAction: string;
  decide: (action: ActionRead, state: S) => ConsumerCommandDecision;
}): Promise<ConsumerCommandOutcome<S>> {
  const { ssm, command, actionParameterName } = options;
  const [action, stateText] = await Promise.all([
    readParameterVersion(ssm, actionParameterName),
    readParameter(ssm, options.stateParameterName),
  ]);
  const state = options.parseState(stateText);
  if (action.value === null) throw new UsageError(options.missingAction);
  const decision = options.decide(action, state);
  if (decision.kind === 'refuse') throw new UsageError(decision.message);
  const base = { previousAction: action.value, action: CONSUMER_COMMAND_ACTIONS[command], state };
  if (decision.kind === 'unchanged') return { ...base, changed: false, cancelledRebuild: false };
  await ssm.send(
    new PutParameterCommand({
      Name: actionParameterName,
      Value: decision.action,
      Type: 'String',
      Overwrite: true,
    }),
  );
  return { ...base, changed: true, cancelledRebuild: decision.cancelsRebuild };
}

/** The human text of a command's result: `who`, what changed, and what happens next. */
export function formatConsumerCommand(
  who: string,
  result: ConsumerCommandOutcome<unknown> & { actionParameterName: string },
  next: string,
): string {
  if (!result.changed) {
    const what =
      result.action === 'REBUILD' ? 'a rebuild is already pending' : `action already ${result.action}`;
    return `${who}: ${what} (${result.actionParameterName}); ${next}`;
  }
  const cancelled = result.cancelledRebuild ? '; the pending rebuild is cancelled' : '';
  return `${who}: action ${result.previousAction ?? '-'} -> ${result.action} (${result.actionParameterName}); ${next}${cancelled}`;
}
