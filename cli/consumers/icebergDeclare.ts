/**
 * The `dce iceberg` commands as commander declares them: `pause | resume | rebuild` (cli/consumers/icebergCommands.ts)
 * and `sql` (cli/consumers/icebergSql.ts). cli/dce.ts calls `declareIceberg` with what every command shares.
 */
import type { Command } from 'commander';
import { Output } from '../output';
import { confirmIcebergRebuild, formatIcebergActionResult, runIcebergCommand } from './icebergCommands';
import { formatIcebergSql, runIcebergSql } from './icebergSql';
import { requireIceberg } from './icebergStatus';
import { resolveTarget, type ClientOptions, type TargetOptions } from '../target';
import { CONSUMER_COMMANDS, type ConsumerCommand, type ConsumerCommandEnv } from './consumerCommands';

type Options = TargetOptions & ClientOptions & { json?: boolean; yes?: boolean; force?: boolean };

const DESCRIPTIONS: Record<ConsumerCommand, string> = {
  pause:
    "Write PAUSE to the Iceberg feed's action parameter: it starts no statement (one already running is committed). The export chain and replicas go on.",
  resume:
    "Write RUN to the Iceberg feed's action parameter: the next execution continues after the last merged entry.",
  rebuild:
    "Write REBUILD to the Iceberg feed's action parameter: its next execution starts a new table of the live epoch from the full export, catches up, then swaps the view (a halted feed too). Asks you to type the alias unless --yes.",
};

/** `dce iceberg pause | resume | rebuild | sql`. */
export function declareIceberg(program: Command, env: ConsumerCommandEnv): void {
  const { io } = env;
  const iceberg = program
    .command('iceberg')
    .description(
      "Operate the table's Iceberg feed: pause or resume its merges, rebuild its table, or print the SQL it runs next.",
    );
  for (const name of CONSUMER_COMMANDS) {
    const cmd = env.addTargetOptions(iceberg.command(name).description(DESCRIPTIONS[name]));
    if (name === 'rebuild')
      cmd.option('-y, --yes', 'do not ask for confirmation (required without a terminal)');
    else cmd.option('--force', 'also over a rebuild not yet carried out (which cancels it)');
    cmd.action(async (opts: Options) => {
      const out = new Output(io, Boolean(opts.json));
      const target = resolveTarget(opts, env.readInput);
      const feed = requireIceberg(target);
      if (name === 'rebuild')
        await confirmIcebergRebuild({
          alias: target.alias,
          yes: Boolean(opts.yes),
          interactive: io.stdinIsTTY,
          prompt: io.prompt,
        });
      const clients = env.clientsFor(opts);
      const result = await runIcebergCommand({
        ssm: clients.ssm,
        alias: target.alias,
        feed,
        command: name,
        force: Boolean(opts.force),
      });
      out.result(result, () => formatIcebergActionResult(result));
    });
  }
  env
    .addTargetOptions(
      iceberg
        .command('sql')
        .description(
          "Print the statements the Iceberg feed runs next (EnsureTable's DDL, the staging symlink files, the MERGE of the next batch after its cursor), built by the feed's own code; nothing is run. Needs --stack-output.",
        ),
    )
    .action(async (opts: Options) => {
      const out = new Output(io, Boolean(opts.json));
      const target = resolveTarget(opts, env.readInput);
      const feed = requireIceberg(target);
      const clients = env.clientsFor(opts);
      const result = await runIcebergSql({
        ssm: clients.ssm,
        s3: clients.s3,
        alias: target.alias,
        feed,
        now: io.now(),
      });
      out.result(result, () => formatIcebergSql(result));
    });
}
