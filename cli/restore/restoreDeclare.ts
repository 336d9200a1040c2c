/**
 * `dce restore` as commander declares it: one process (cli/restore/restoreCommand.ts), or one-shot executions
 * of a replica's Distributed Map machinery with --distributed (cli/restore/restoreDistributedCommand.ts).
 * cli/dce.ts calls `declareRestore` with what every command shares.
 */
import type { Command } from 'commander';
import { Output, type Io } from '../output';
import { assumeTargetRole, runRestoreCommand, targetDynamoDb, type RestoreFlags } from './restoreCommand';
import { runDistributedRestoreCommand } from './restoreDistributedCommand';
import {
  requireExports,
  resolveTarget,
  UsageError,
  type ClientOptions,
  type Clients,
  type TargetOptions,
} from '../target';

/** What the declaration needs of cli/dce.ts. */
export interface RestoreCommandEnv {
  io: Io;
  /** Reads `--stack-output` (a path or `-`). */
  readInput?: (source: string) => string;
  clientsFor: (opts: ClientOptions) => Clients;
  /** Adds the flags every table command takes (cli/dce.ts). */
  addTargetOptions: (cmd: Command) => Command;
}

type CommonOptions = TargetOptions & ClientOptions & { json?: boolean };

/** `dce restore`. */
export function declareRestore(
  program: Command,
  { io, readInput, clientsFor, addTargetOptions }: RestoreCommandEnv,
): void {
  addTargetOptions(
    program
      .command('restore')
      .description(
        'Recreate a table as of a committed window boundary of the chain: ImportTable of the full export into a new table (or writes into an empty one), then the incremental exports up to that point. --bucket reads a copy of the chain; --region and --role-arn place the new table. Resumable with --resume.',
      ),
  )
    .requiredOption(
      '--to <time|sequence>',
      'a sequence number, or a time (ISO 8601 with its zone): the boundary at or before it',
    )
    .requiredOption('--table <name>', 'the table to create (import) or fill (write)')
    .option(
      '--bootstrap <import|write>',
      'import: ImportTable creates the table; write: into an existing empty table',
      'import',
    )
    .option('--key-schema <pk:S[,sk:N]>', "the new table's keys (default: the source table's, described)")
    .option('--role-arn <arn>', "role to assume for the new table's account")
    .option('--bucket-owner <account>', 'account that owns --bucket, when it is not yours (ImportTable)')
    .option(
      '--state <file>',
      'the state file that makes the restore resumable (default dce-restore-<table>.json)',
    )
    .option('--resume', 'continue the restore recorded in the state file')
    .option('--epoch <epoch>', 'epoch to restore from (default: the live one)')
    .option('--concurrency <n>', 'parallel writers')
    .option(
      '--distributed',
      "one-shot executions of a replica's Distributed Map machinery (a replica deployed with schedule: false) instead of this process",
    )
    .option('--replica <alias>', 'with --distributed: the replica whose machine restores into its table')
    .action(async (opts: CommonOptions & RestoreFlags) => {
      const out = new Output(io, Boolean(opts.json));
      const target = resolveTarget(opts, readInput);
      const { bucket, prefix } = requireExports(target);
      const clients = clientsFor(opts);
      if (opts.distributed) {
        const replicas = target.output.replicas;
        // The replica's state machine and state parameter are in the stack's Region (its ARN's).
        const arn = replicas?.find((r) => r.alias === opts.replica)?.stateMachineArn;
        const home = clientsFor({ ...opts, ...(arn ? { region: arn.split(':')[3] } : {}) });
        if (!home.states) throw new UsageError('no Step Functions client for --distributed');
        await runDistributedRestoreCommand({
          ...opts,
          io,
          out,
          s3: clients.s3,
          states: home.states,
          ssm: home.ssm,
          replicas,
          ...(typeof target.output.bucket === 'string' ? { stackBucket: target.output.bucket } : {}),
          bucket,
          prefix,
        });
        return;
      }
      // The source table (for its key schema) is in the Region of its ARN, from the stack output.
      const sourceArn = typeof target.output.tableArn === 'string' ? target.output.tableArn : undefined;
      const sourceRegion = sourceArn?.split(':')[3];
      const dynamodb = targetDynamoDb(clients, opts, io.env);
      await assumeTargetRole(dynamodb, opts.roleArn);
      await runRestoreCommand({
        ...opts,
        io,
        out,
        s3: clients.s3,
        dynamodb,
        sourceDynamoDb: sourceRegion ? clientsFor({ ...opts, region: sourceRegion }).dynamodb : undefined,
        sourceTableName: typeof target.output.tableName === 'string' ? target.output.tableName : undefined,
        bucket,
        prefix,
      });
    });
}
