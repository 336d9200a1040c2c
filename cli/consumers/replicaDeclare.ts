/**
 * The `dce replica` commands as commander declares them: `pause | resume | rebuild`
 * (cli/consumers/replicaCommands.ts). cli/dce.ts calls `declareReplica` with what every command shares.
 */
import type { Command } from 'commander';
import { Output } from '../output';
import { resolveTarget, type ClientOptions, type TargetOptions } from '../target';
import { CONSUMER_COMMANDS, type ConsumerCommand, type ConsumerCommandEnv } from './consumerCommands';
import { confirmRebuild, formatReplicaActionResult, runReplicaCommand } from './replicaCommands';
import { resolveReplica } from './replicaStatus';

type Options = TargetOptions & ClientOptions & { json?: boolean; yes?: boolean; force?: boolean };

/** `dce replica pause | resume | rebuild`. */
export function declareReplica(program: Command, env: ConsumerCommandEnv): void {
  const { io } = env;
  const replica = program
    .command('replica')
    .description(
      "Operate one replica table of the table: pause or resume its applying, or rebuild it from the live epoch's full export.",
    );
  const descriptions: Record<ConsumerCommand, string> = {
    pause:
      "Write PAUSE to the replica's action parameter: its executions apply nothing new (an apply already running completes and is recorded).",
    resume:
      "Write RUN to the replica's action parameter: the next execution continues from the last entry applied.",
    rebuild:
      "Write REBUILD to the replica's action parameter (a HALTED replica): its next execution, once no apply is in progress, starts it over and writes the live epoch's full export into the target, which you must have emptied or recreated. Asks you to type the replica alias unless --yes.",
  };
  for (const name of CONSUMER_COMMANDS) {
    const cmd = env
      .addTargetOptions(replica.command(name).description(descriptions[name]))
      .requiredOption(
        '--replica <alias>',
        "the replica's alias (as in the stack output's replicas; with --stack, as configured)",
      );
    if (name === 'rebuild') {
      cmd
        .option('-y, --yes', 'do not ask for confirmation (required without a terminal)')
        .option('--force', 'also a replica that is not HALTED');
    } else cmd.option('--force', 'also over a rebuild not yet carried out (which cancels it)');
    cmd.action(async (opts: Options & { replica: string }) => {
      const out = new Output(io, Boolean(opts.json));
      const target = resolveTarget(opts, env.readInput);
      const ref = resolveReplica(target, opts.replica);
      if (name === 'rebuild') {
        await confirmRebuild({
          replica: ref.alias,
          targetTableName: ref.targetTableName ?? null,
          yes: Boolean(opts.yes),
          interactive: io.stdinIsTTY,
          prompt: io.prompt,
        });
      }
      const clients = env.clientsFor(opts);
      const result = await runReplicaCommand({
        ssm: clients.ssm,
        alias: target.alias,
        replica: ref,
        command: name,
        force: Boolean(opts.force),
      });
      out.result(result, () => formatReplicaActionResult(result));
    });
  }
}
