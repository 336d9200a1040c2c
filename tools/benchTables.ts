/**
 * `npm run bench:tables`: what a stack with many tables costs, under Pulumi mocks (no AWS, no CLI).
 *
 * For 1, 10, 100 and 300 tables it runs the whole program (index.ts) in a fresh process each, and
 * prints the resources registered (in total and per table), the wall time and the peak memory (RSS)
 * of that process. A real `pulumi up` adds the engine and provider on top; the figures show how the
 * program itself grows with the number of tables. A bench, not a test: nothing is asserted.
 *
 *   npm run bench:tables              # 1, 10, 100, 300
 *   npm run bench:tables -- 1 50      # chosen sizes
 */
import { spawnSync } from 'node:child_process';
import { largeStackWarning } from '../components/stackSize';

interface Measurement {
  tables: number;
  resources: number;
  seconds: number;
  peakRssMb: number;
}

/** The config of a stack with `n` tables, each with a created bucket and one failure address. */
function stackConfig(n: number): Record<string, unknown> {
  return {
    'aws:region': 'eu-west-1',
    'dynamodb-continuous-exports:defaults': { failureEmails: ['oncall@example.com'] },
    'dynamodb-continuous-exports:tables': Array.from({ length: n }, (_, i) => ({
      tableName: `Table${String(i).padStart(3, '0')}`,
    })),
  };
}

/** Runs in the child: the program under mocks, then one JSON line with the measurement. */
async function measure(n: number): Promise<void> {
  // Loaded here so the parent process stays small.
  type Mocks = typeof import('../tests/helpers/pulumiMocks');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { runProgram } = require('../tests/helpers/pulumiMocks') as Mocks;
  const started = process.hrtime.bigint();
  const run = await runProgram(stackConfig(n), 'bench');
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const result: Measurement = {
    tables: n,
    resources: run.resources.length,
    seconds,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

function runChild(n: number): Measurement {
  const child = spawnSync(process.execPath, ['--require', 'tsx/cjs', __filename, '--child', String(n)], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  const line = child.stdout.trim().split('\n').pop() ?? '';
  if (child.status !== 0 || !line.startsWith('{')) {
    throw new Error(`the run with ${n} tables failed (exit ${child.status}):\n${child.stderr.slice(-2000)}`);
  }
  return JSON.parse(line) as Measurement;
}

function main(argv: string[]): void {
  const sizes = argv.length > 0 ? argv.map(Number) : [1, 10, 100, 300];
  if (sizes.some((n) => !Number.isInteger(n) || n < 1)) {
    process.stderr.write('usage: npm run bench:tables -- [number of tables ...]\n');
    process.exitCode = 2;
    return;
  }
  process.stdout.write('Stack size under Pulumi mocks (one process per size)\n\n');
  // One table is the baseline: "per extra table" is what each table beyond the first adds.
  const baseline = runChild(1);
  const header = [
    'tables',
    'resources',
    'per table',
    'time',
    'per extra table',
    'peak RSS',
    'per extra table',
  ];
  const rows: string[][] = [];
  for (const n of sizes) {
    const m = n === 1 ? baseline : runChild(n);
    const extra = m.tables - 1;
    rows.push([
      String(m.tables),
      String(m.resources),
      (m.resources / m.tables).toFixed(1),
      `${m.seconds.toFixed(1)} s`,
      extra > 0 ? `${(((m.seconds - baseline.seconds) / extra) * 1000).toFixed(0)} ms` : '-',
      `${m.peakRssMb.toFixed(0)} MB`,
      extra > 0 ? `${((m.peakRssMb - baseline.peakRssMb) / extra).toFixed(1)} MB` : '-',
    ]);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padStart(widths[i])).join(' | ')} |`;
  process.stdout.write(`${line(header)}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|\n`);
  for (const r of rows) process.stdout.write(`${line(r)}\n`);
  const warned = sizes.filter((n) => largeStackWarning(n) !== undefined);
  if (warned.length > 0) process.stdout.write(`\npulumi preview warns for: ${warned.join(', ')} tables\n`);
}

if (process.argv[2] === '--child') {
  measure(Number(process.argv[3])).catch((error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? error}\n`);
    process.exit(1);
  });
} else {
  main(process.argv.slice(2));
}
