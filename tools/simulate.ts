/**
 * `npm run simulate -- [flags]`: the same command as `dce simulate` (`cli/simulate.ts`), over the
 * simulation engine in `sim/simulation/`. See docs/simulate.md.
 */
import { Command } from 'commander';
import { EXIT, type Io } from '../cli/output';
import {
  flagsSwallowedByNpm,
  loadSimulate,
  npmSwallowedWarning,
  simulateFlagNames,
} from '../cli/simulateEntry';
import { UsageError } from '../cli/target';
import { addSimulateOptions, type ParsedSimulateFlags } from '../sim/simulation/options';

async function main(): Promise<void> {
  // Before the flags are parsed: npm turns `--days 3` into its own option and a stray argument `3`,
  // which the parser refuses, and the warning says why.
  const given = process.argv.slice(2);
  process.stderr.write(npmSwallowedWarning(flagsSwallowedByNpm(process.env, simulateFlagNames(), given)));
  const program = addSimulateOptions(
    new Command('simulate').description(
      'Run dynamodb-continuous-exports offline on a simulated clock, verify and replay the chain, and print a report. See docs/simulate.md.',
    ),
  );
  // Bad flags exit with 2, as in `dce`: nothing was simulated.
  program.exitOverride((error) => {
    process.exit(error.exitCode === 0 ? 0 : EXIT.USAGE);
  });
  program.parse(process.argv);
  const io: Io = {
    stdout: process.stdout,
    stderr: process.stderr,
    stdinIsTTY: Boolean(process.stdin.isTTY),
    env: process.env,
    now: () => Math.floor(Date.now() / 1000),
  };
  try {
    const { simulateCommand } = loadSimulate();
    process.exitCode = await simulateCommand(program.opts<ParsedSimulateFlags>(), io);
  } catch (error) {
    // A missing development dependency is one line; anything else is a defect, shown in full.
    process.stderr.write(
      `simulate: ${error instanceof UsageError ? error.message : ((error as Error).stack ?? String(error))}\n`,
    );
    process.exitCode = EXIT.USAGE;
  }
}

if (require.main === module) void main();
