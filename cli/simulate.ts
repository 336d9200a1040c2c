/**
 * The simulate command, shared by `dce simulate` and `npm run simulate`: parses the flags, hands the
 * operator's own code (status, pause, verify, replay) to the simulation engine in `sim/simulation/`,
 * shows progress and prints the report.
 */
import { rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { deploySimulation } from './deployedAccess';
import { runSimulation, type KeptServers } from '../sim/simulation/engine';
import type { OperatorTools } from '../sim/simulation/operatorTools';
import { simulateFlags, SimulateUsageError, type ParsedSimulateFlags } from '../sim/simulation/options';
import type { SimulationProgress, SimulationReport } from '../sim/simulation/report';
import { setAction } from './operator';
import { EXIT, formatDuration, type Io } from './output';
import { replayChain } from './replay';
import { checkedRestorePoint, restoreTable } from './restore/restore';
import { runDistributedRestore, type StatesSender } from './restore/restoreDistributed';
import { formatKeptServers, formatSimulationReport } from './simulateReport';
import { deriveStatus } from './status';
import { verifyChain } from './verify';

/** The code `dce status`, `dce pause`, `dce verify`, `dce replay` and `dce restore` run, for the simulation to use. */
export const CLI_OPERATOR_TOOLS: OperatorTools = {
  deploy: deploySimulation,
  deriveStatus,
  setAction,
  verifyChain,
  replayChain,
  restoreTable,
  async restoreDistributed(options) {
    const { epoch, point } = await checkedRestorePoint(
      options.s3,
      { bucket: options.bucket, prefix: options.prefix },
      options.to,
    );
    const report = await runDistributedRestore({
      states: options.states as unknown as StatesSender,
      ssm: options.ssm,
      replica: options.replica,
      epoch,
      point,
      sleep: options.sleep,
      pollMs: options.pollMs,
    });
    return {
      point: { sequence: point.sequence, asOf: point.asOf },
      executions: report.executions,
      appliedSequence: report.appliedSequence,
    };
  },
};

/** What each phase after the run is doing, for the progress display. */
export function phaseDetail(p: SimulationProgress): string {
  switch (p.phase) {
    case 'starting':
      return 'starting the local servers';
    case 'running':
    case 'done':
      return `day ${(p.simulatedSeconds / 86400).toFixed(1)} | ${p.committed} windows committed | lag ${
        p.lagSeconds === null ? '-' : formatDuration(p.lagSeconds)
      }`;
    case 'verifying':
      return p.verify
        ? `verify --deep: ${p.verify.exportsChecked}/${p.verify.exports} exports checked${
            p.verify.filesRead === undefined ? '' : `, ${p.verify.filesRead} data files read`
          }`
        : 'verify --deep: reading the chain and every export';
    case 'replaying':
      return p.replay
        ? `replay: ${p.replay.exportsApplied}/${p.replay.exports} exports applied, ${p.replay.items} items written`
        : 'replay: reading the chain';
    case 'comparing':
      return 'comparing the replayed table with the source';
    case 'restoring':
      return 'the protected copy: replicating the chain, dce restore from it into the second Region, verify --deep of it';
  }
}

/** A progress display: a bar over simulated time on a terminal, a line per simulated day otherwise. */
function progressDisplay(
  io: Io,
  enabled: boolean,
): { update: (p: SimulationProgress) => void; stop: () => void } {
  if (!enabled) return { update: () => undefined, stop: () => undefined };
  if (io.stderr.isTTY) return terminalBar(io);
  let lastDay = -1;
  return {
    update: (p) => {
      if (p.phase === 'running') {
        const day = Math.floor(p.simulatedSeconds / 86400);
        if (day === lastDay || p.simulatedSeconds % 86400 !== 0) return;
        lastDay = day;
        io.stderr.write(
          `simulate: day ${day}/${Math.ceil(p.totalSeconds / 86400)}, ${p.committed} windows committed, lag ${p.lagSeconds === null ? '-' : formatDuration(p.lagSeconds)}\n`,
        );
      } else if (p.phase !== 'done' && !p.replay && !p.verify) {
        io.stderr.write(`simulate: ${p.phase}\n`);
      }
    },
    stop: () => undefined,
  };
}

/** The terminal bar: simulated time while the workflow runs, then what each later phase is doing. */
function terminalBar(io: Io): { update: (p: SimulationProgress) => void; stop: () => void } {
  // Loaded here: only a terminal run needs it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const cliProgress = require('cli-progress') as typeof import('cli-progress');
  const bar = new cliProgress.SingleBar(
    {
      stream: io.stderr as NodeJS.WritableStream,
      format: ' {phase} [{bar}] {percentage}% | {detail}',
      gracefulExit: false,
    },
    cliProgress.Presets.shades_classic,
  );
  // cli-progress redraws from a timer, and timers follow the simulated clock while the workflow
  // runs (they would fire at simulated times, and one created before the clock was installed
  // could not be cleared). So the bar is drawn on each update instead, with the base class's
  // timer-free render, update and stop.
  const base = Object.getPrototypeOf(cliProgress.SingleBar.prototype) as InstanceType<
    typeof cliProgress.GenericBar
  >;
  bar.render = () => base.render.call(bar);
  const setValue: (current: number, payload: object) => void = base.update;
  let started = false;
  let lastPhase = '';
  let lastDrawnMs = 0;
  return {
    update: (p) => {
      // At most 20 redraws a second within a phase (replay reports after every batch); real time,
      // which the simulated clock leaves alone.
      const nowMs = performance.now();
      if (started && p.phase === lastPhase && nowMs - lastDrawnMs < 50) return;
      lastPhase = p.phase;
      lastDrawnMs = nowMs;
      const payload = { phase: p.phase.padEnd(9), detail: phaseDetail(p) };
      if (!started) {
        bar.start(p.totalSeconds, p.simulatedSeconds, payload);
        started = true;
      } else {
        setValue.call(bar, p.simulatedSeconds, payload);
        bar.render();
      }
    },
    stop: () => {
      if (!started) return;
      bar.render();
      base.stop.call(bar);
      (bar as unknown as { terminal: { newline(): void } }).terminal.newline();
    },
  };
}

/** Resolves when the person at the terminal asks to stop (Ctrl-C) or the process is told to end. */
function untilInterrupted(): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
}

/**
 * A stack output for the kept servers, as `pulumi stack output --json` would give it for the run's
 * table: what `dce iceberg sql` needs (the feed's settings). Removed when the servers stop.
 */
function writeKeptStackOutput(kept: KeptServers): string {
  const file = path.join(os.tmpdir(), `dce-simulation-${process.pid}-stack-output.json`);
  const table = { bucket: kept.bucket, prefix: kept.prefix, iceberg: kept.iceberg };
  writeFileSync(file, `${JSON.stringify({ tables: { [kept.alias]: table } }, null, 2)}\n`);
  return file;
}

export interface SimulateCommandDeps {
  /** With `--keep-servers`: resolves when the kept servers should stop. @default Ctrl-C or SIGTERM */
  untilStopped?: () => Promise<void>;
}

/** Runs a simulation from parsed flags and prints the report; resolves to the exit code. */
export async function simulateCommand(
  flags: ParsedSimulateFlags,
  io: Io,
  deps: SimulateCommandDeps = {},
): Promise<number> {
  let parsed: ReturnType<typeof simulateFlags>;
  try {
    parsed = simulateFlags(flags);
  } catch (error) {
    if (!(error instanceof SimulateUsageError)) throw error;
    io.stderr.write(`simulate: ${error.message}\n`);
    return EXIT.USAGE;
  }
  const { options, json, keepServers } = parsed;
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const display = progressDisplay(io, !json);
  let report: SimulationReport;
  let kept: KeptServers | undefined;
  try {
    report = await runSimulation(options, CLI_OPERATOR_TOOLS, {
      onProgress: display.update,
      ...(keepServers ? { keepServers: (servers: KeptServers) => (kept = servers) } : {}),
    });
  } finally {
    display.stop();
  }
  if (json) io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else io.stdout.write(`${formatSimulationReport(report)}\n`);
  if (kept) {
    const stackOutput = kept.iceberg ? writeKeptStackOutput(kept) : undefined;
    // With --json stdout stays one JSON document; the commands to paste go to stderr.
    (json ? io.stderr : io.stdout).write(`\n${formatKeptServers(kept, process.pid, stackOutput)}\n`);
    try {
      await (deps.untilStopped ?? untilInterrupted)();
    } finally {
      if (stackOutput) rmSync(stackOutput, { force: true });
      await kept.stop();
    }
  }
  return report.ok ? EXIT.OK : EXIT.PROBLEMS;
}
