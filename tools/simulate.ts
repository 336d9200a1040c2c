/**
 * `npm run simulate` / `dce simulate`: the whole system offline on a simulated clock.
 * (Skeleton: flags and entry point; the run itself follows.)
 */
import '../sim/polyfills';
import { Command, InvalidArgumentError } from 'commander';
import type { Io } from '../cli/output';

export type FaultLevel = 'none' | 'some' | 'chaos';

/** Flags of a simulation run. */
export interface SimulateOptions {
  days: number;
  rate: number;
  window: number;
  seed: number;
  faults: FaultLevel;
  json: boolean;
}

function positiveNumber(flag: string, integer: boolean, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0 || n > max || (integer && !Number.isInteger(n))) {
      throw new InvalidArgumentError(
        `${flag} ${JSON.stringify(value)}: expected a ${integer ? 'whole ' : ''}number above 0 and at most ${max}`,
      );
    }
    return n;
  };
}

/** Declares the simulate flags on a command (shared by `npm run simulate` and `dce simulate`). */
export function addSimulateOptions(cmd: Command): Command {
  return cmd
    .option('--days <n>', 'simulated days', positiveNumber('--days', false, 366), 2)
    .option('--rate <n>', 'writes per minute to the source table', positiveNumber('--rate', false, 10000), 20)
    .option(
      '--window <minutes>',
      'incremental window in minutes (15..1440)',
      positiveNumber('--window', true, 1440),
      15,
    )
    .option(
      '--seed <n>',
      'workload and fault seed',
      (v) => {
        const n = Number(v);
        if (!Number.isInteger(n))
          throw new InvalidArgumentError(`--seed ${JSON.stringify(v)}: expected a whole number`);
        return n;
      },
      1,
    )
    .option(
      '--faults <level>',
      'injected faults: none | some | chaos',
      (v) => {
        if (v !== 'none' && v !== 'some' && v !== 'chaos') {
          throw new InvalidArgumentError(`--faults ${JSON.stringify(v)}: expected none, some or chaos`);
        }
        return v;
      },
      'some',
    )
    .option('--json', 'print the report as JSON');
}

/** Runs a simulation from parsed flags and prints the report; resolves to the exit code. */
export async function simulateCommand(_opts: Record<string, unknown>, io: Io): Promise<number> {
  io.stderr.write('simulate: not available yet\n');
  return 2;
}
