/**
 * `dce replica pause | resume | rebuild`: the operator writes a replica's state parameter
 * (functions/replicaState.ts) with the operator's own credentials; the replica's next execution reads it.
 *
 * - pause: ACTIVE -> PAUSED. The planner applies nothing while paused; an apply an execution already
 *   claimed completes and is recorded, so resume continues from the last entry recorded.
 * - resume: PAUSED -> ACTIVE.
 * - rebuild: any state -> the initial state, so the next execution bootstraps again from the live
 *   epoch's full export, into a target the operator has emptied or recreated. Only a HALTED replica
 *   without `--force`; never over a live claim without `--force`.
 *
 * Each write is one PutParameter of the whole state, after one read of it. SSM has no compare-and-swap
 * on overwrite, so this is a read-modify-write with a race against a running execution of the replica:
 * an execution that writes the state between our read and our write (a claim, an entry recorded, a
 * halt) is overwritten by us, and one that writes after us may overwrite us with what it read before.
 * What that costs:
 * - pause or resume lost: `dce status` shows it; run the command again.
 * - progress lost (an entry recorded just before our write): the next execution applies those entries
 *   again, which gives the same table (every write is a whole-item put or a delete, in chain order).
 * - rebuild overwritten by a running execution that then records its entries over the initial state:
 *   the replica would claim entries the emptied target does not hold. This is why rebuild refuses while
 *   a claim is live or the claim lock (functions/lease.ts, `<state>-lock`) is held, unless `--force`;
 *   with `--force`, stop the replica's running execution first.
 * Taking the claim lock here would not close the race: the apply Lambda records entries and halts
 * without it (only claims are written under it).
 */
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import type { SsmSender } from '../functions/awsClients';
import { isLeaseExpired, parseLeaseValue, type LeaseValue } from '../functions/lease';
import {
  initialReplicaState,
  parseReplicaState,
  type ReplicaState,
  type ReplicaStatus,
} from '../functions/replicaState';
import { resetDecision } from './operator';
import { formatTime } from './output';
import { claimSecondsLeft, REPLICA_GROUP_LEASE_SECONDS, type ReplicaRef } from './replicaStatus';
import { readParameter } from './status';
import { UsageError } from './target';

export const REPLICA_COMMANDS = ['pause', 'resume', 'rebuild'] as const;
export type ReplicaCommand = (typeof REPLICA_COMMANDS)[number];

/** What a `dce replica` command decided, from the state read (pure). */
export type ReplicaDecision =
  | { kind: 'write'; next: ReplicaState; overridesClaim: boolean }
  | { kind: 'unchanged' }
  | { kind: 'refuse'; message: string };

export interface DecisionContext {
  replica: string;
  /** Epoch seconds. */
  now: number;
  force: boolean;
  /** The claim lock's value, when it exists. */
  lock: LeaseValue | null;
  groupLeaseSeconds?: number;
}

function haltText(state: ReplicaState): string {
  return state.halt ? `${state.halt.reason}: ${state.halt.detail}` : 'no reason recorded';
}

/** Decides what a command writes, or why it refuses. */
export function decideReplicaCommand(
  command: ReplicaCommand,
  state: ReplicaState,
  context: DecisionContext,
): ReplicaDecision {
  const { replica, now } = context;
  const stamped = (next: ReplicaState): ReplicaState => ({ ...next, updatedAt: formatTime(now) });
  if (command === 'pause' || command === 'resume') {
    if (state.status === 'HALTED') {
      return {
        kind: 'refuse',
        message:
          `replica ${replica} is HALTED (${haltText(state)}): it applies nothing until rebuilt, and ${command} does not change that. ` +
          `Deal with the cause, then run 'dce replica rebuild' (docs/replica.md, "When a replica halts")`,
      };
    }
    const wanted: ReplicaStatus = command === 'pause' ? 'PAUSED' : 'ACTIVE';
    if (state.status === wanted) return { kind: 'unchanged' };
    // Everything else is kept, the claim included: an apply in progress completes and is recorded.
    return { kind: 'write', next: stamped({ ...state, status: wanted }), overridesClaim: false };
  }
  if (state.status !== 'HALTED' && !context.force) {
    return {
      kind: 'refuse',
      message:
        `replica ${replica} is ${state.status}, not HALTED: rebuild starts it over from the full export. ` +
        `Pass --force to rebuild it anyway`,
    };
  }
  const claim = state.inProgress;
  const leaseLeft = claim
    ? claimSecondsLeft(claim, now, context.groupLeaseSeconds ?? REPLICA_GROUP_LEASE_SECONDS)
    : 0;
  const lockHeld = !isLeaseExpired(context.lock, now);
  if ((leaseLeft > 0 || lockHeld) && !context.force) {
    const why =
      claim && leaseLeft > 0
        ? `execution ${claim.executionId} claimed sequence(s) ${claim.sequences.join(', ')} at ${claim.startedAt} (its lease ends in ${leaseLeft} s)`
        : `execution ${context.lock?.executionId ?? '?'} is writing a claim now (its lock expires at ${formatTime(context.lock?.expiresAt)})`;
    return {
      kind: 'refuse',
      message:
        `replica ${replica}: ${why}; a rebuild now could be undone by that execution recording its entries. ` +
        `Wait until it ends (dce status), or stop it and pass --force`,
    };
  }
  return { kind: 'write', next: stamped(initialReplicaState()), overridesClaim: leaseLeft > 0 || lockHeld };
}

/** What a `dce replica` command did, as `--json` prints it. */
export interface ReplicaActionResult {
  alias: string;
  replica: string;
  command: ReplicaCommand;
  stateParameterName: string;
  targetTableName: string | null;
  previousStatus: ReplicaStatus;
  status: ReplicaStatus;
  /** False when the state already was what the command asks (nothing written). */
  changed: boolean;
  /** Set by a forced rebuild that overwrote a live claim. */
  overrodeClaim?: boolean;
  /** The state before the command, as read (a rebuild's only record of where the replica was). */
  previous: ReplicaState;
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
    `Rebuild resets replica ${replica} to its initial state: its next execution writes the full export of the live epoch into ${target}, then follows the chain. ` +
    `Empty ${target} first (or delete and recreate it with the same key schema): a write bootstrap into a table that holds items halts with TARGET_NOT_EMPTY.`
  );
}

/**
 * The claim lock's name, as the apply Lambda names it. Loaded on first use: the apply module pulls in
 * the export reader, which `dce` otherwise loads only for verify and replay.
 */
function replicaLockName(stateParameterName: string): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const apply = require('../functions/replicaApply') as typeof import('../functions/replicaApply');
  return apply.replicaLockName(stateParameterName);
}

/** Reads the replica state and the claim lock, decides, and writes the state with one PutParameter. */
export async function runReplicaCommand(options: {
  ssm: SsmSender;
  alias: string;
  replica: ReplicaRef;
  command: ReplicaCommand;
  now: number;
  force?: boolean;
}): Promise<ReplicaActionResult> {
  const { ssm, replica, command } = options;
  const name = replica.stateParameterName;
  const [text, lockText] = await Promise.all([
    readParameter(ssm, name),
    command === 'rebuild' ? readParameter(ssm, replicaLockName(name)) : Promise.resolve(null),
  ]);
  if (text === null) {
    // Pulumi creates the parameter; creating it here could hide a wrong stack, alias or replica.
    throw new UsageError(
      `the replica state parameter ${name} does not exist: check --stack/--alias/--replica (or --stack-output), or run 'pulumi up'`,
    );
  }
  let state: ReplicaState;
  try {
    state = parseReplicaState(text);
  } catch (error) {
    throw new UsageError(`${name}: ${(error as Error).message}; fix or rewrite it by hand (docs/replica.md)`);
  }
  const decision = decideReplicaCommand(command, state, {
    replica: replica.alias,
    now: options.now,
    force: Boolean(options.force),
    lock: parseLeaseValue(lockText ?? undefined),
  });
  if (decision.kind === 'refuse') throw new UsageError(decision.message);
  const base = {
    alias: options.alias,
    replica: replica.alias,
    command,
    stateParameterName: name,
    targetTableName: replica.targetTableName ?? null,
    previousStatus: state.status,
    previous: state,
  };
  if (decision.kind === 'unchanged') return { ...base, status: state.status, changed: false };
  await ssm.send(
    new PutParameterCommand({
      Name: name,
      Value: JSON.stringify(decision.next),
      Type: 'String',
      Overwrite: true,
    }),
  );
  return {
    ...base,
    status: decision.next.status,
    changed: true,
    ...(command === 'rebuild' ? { overrodeClaim: decision.overridesClaim } : {}),
  };
}

/** The human text of a replica command's result. */
export function formatReplicaActionResult(result: ReplicaActionResult): string {
  const who = `${result.alias}/${result.replica}`;
  if (!result.changed) return `${who}: already ${result.status} (${result.stateParameterName})`;
  if (result.command === 'rebuild') {
    const p = result.previous;
    return [
      `${who}: ${p.status} -> rebuilt (${result.stateParameterName}); the next execution bootstraps from the live epoch's full export.`,
      `  was: epoch ${p.epoch ?? '-'}, last sequence ${p.lastAppliedSequence}, watermark ${p.watermark ?? '-'}` +
        (p.halt ? `, halted ${p.halt.reason}` : ''),
      ...(result.overrodeClaim
        ? ['  a live claim was overwritten (--force): make sure the execution that held it is stopped.']
        : []),
    ].join('\n');
  }
  const effect =
    result.status === 'PAUSED'
      ? 'its executions apply nothing new; an apply already running completes'
      : 'the next execution continues from the last entry applied';
  return `${who}: ${result.previousStatus} -> ${result.status} (${result.stateParameterName}); ${effect}`;
}
