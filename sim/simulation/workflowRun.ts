/**
 * The workflow run of a simulation: the deployed state machine and the real export tick on the
 * simulated clock, in steps of a quarter hour, with the operator's pauses and resets applied on the
 * way and the workflow's phase sampled after each step.
 */
import { createExportTickHandler } from '../../functions/chain/exportTick';
import { iso } from '../../functions/shared/time';
import type { Delivery } from '../machines/scheduler';
import { LocalRun, type RunReport } from '../machines/localRun';
import type { SimulationAccount } from './account';
import type { FaultPlan } from './faults';
import type { OperatorTools, StatusView } from './operatorTools';
import type { SimulationProgress } from './report';

/** The operator steps in on this grid, and the phase is sampled on it. */
const STEP_SECONDS = 900;

type OperatorAction = 'PAUSE' | 'RUN' | 'RESET';

export interface WorkflowRunResult {
  runReport: RunReport;
  deliveries: Delivery[];
  phases: { at: string; phase: string }[];
  pauses: { from: string; to: string }[];
  resets: string[];
  finalPhase: string;
}

/** Pure: the operator's actions of the plan, on the step grid, in time order. */
export function operatorEvents(
  plan: Pick<FaultPlan, 'pauses' | 'resets'>,
  start: number,
  totalSeconds: number,
): { at: number; action: OperatorAction }[] {
  const onGrid = (fraction: number) =>
    start + Math.round((fraction * totalSeconds) / STEP_SECONDS) * STEP_SECONDS;
  return [
    ...plan.pauses.flatMap(([a, b]) => [
      { at: onGrid(a), action: 'PAUSE' as const },
      { at: onGrid(b), action: 'RUN' as const },
    ]),
    ...plan.resets.map((f) => ({ at: onGrid(f), action: 'RESET' as const })),
  ].sort((x, y) => x.at - y.at);
}

/** Another state machine that runs beside the export chain on the same clock (the replica). */
export interface Companion {
  attach(run: LocalRun): void;
  /** Called at the end, before the runner is disposed. */
  settle(run: LocalRun): Promise<void>;
}

/** Runs the workflow from `start` to `end` (epoch seconds); the runner is always disposed. */
export async function runWorkflow(params: {
  account: SimulationAccount;
  plan: FaultPlan;
  random: () => number;
  tools: OperatorTools;
  start: number;
  end: number;
  windowMinutes: number;
  progress: (p: SimulationProgress) => void;
  companions?: Companion[];
}): Promise<WorkflowRunResult> {
  const { account, plan, random, tools, start, end } = params;
  const { aws, settings } = account;
  const totalSeconds = end - start;
  const run = await LocalRun.create({
    settings,
    aws,
    clients: account.tickClients,
    // As deployed: the function and state machine names, and the roles that invoke and start them.
    functionArn: account.deployment.exportChain.functionArn,
    stateMachineName: account.deployment.exportChain.stateMachineName,
    lambdaTimeoutSeconds: account.deployment.exportChain.timeoutSeconds,
    lambdaMemorySizeMb: account.deployment.exportChain.memorySizeMb,
    access: {
      evaluator: account.access,
      stateMachineRole: account.deployment.exportChain.stateMachineRole,
      schedulerRole: account.deployment.exportChain.schedulerRole,
    },
    createHandler: (clients, s) => createExportTickHandler({ clients, settings: s, log: () => undefined }),
    start: start * 1000,
    scheduler: {
      deliveryDelaySeconds: () => Math.floor(random() * (plan.maxDeliveryDelaySeconds + 1)),
      duplicates: () => (random() < plan.duplicateRate ? 1 : 0),
      skip: () => plan.skipRate > 0 && random() < plan.skipRate,
    },
  });
  try {
    for (const companion of params.companions ?? []) companion.attach(run);
    const phases: { at: string; phase: string }[] = [];
    const pauses: { from: string; to: string }[] = [];
    const resets: string[] = [];
    const events = operatorEvents(plan, start, totalSeconds);
    let pauseStartedAt: number | null = null;
    // The action parameter as `dce status` reads it: value, version and modification time.
    const status = (now: number): StatusView => {
      const action = aws.ssm.parameters.get(settings.actionParameterName);
      return tools.deriveStatus(settings.alias, {
        action: action?.Value ?? null,
        actionVersion: action?.Version ?? null,
        actionModifiedAtMs: action ? action.LastModifiedDate.getTime() : null,
        stateText: aws.ssm.get(settings.stateParameterName) ?? null,
        stateParameterName: settings.stateParameterName,
        now,
        windowMinutes: params.windowMinutes,
      });
    };
    const sample = (now: number): StatusView => {
      const report = status(now);
      if (phases.length === 0 || phases[phases.length - 1].phase !== report.phase) {
        phases.push({ at: iso(now), phase: report.phase });
      }
      return report;
    };
    sample(start);
    for (let t = start + STEP_SECONDS; t <= end; t += STEP_SECONDS) {
      await run.runUntil(t * 1000);
      for (const e of events.filter((x) => x.at === t)) {
        // The operator's command, through the same code and the same SSM endpoint as `dce pause`.
        await tools.setAction({
          ssm: account.operatorSsm,
          alias: settings.alias,
          parameterName: settings.actionParameterName,
          stateParameterName: settings.stateParameterName,
          action: e.action,
          // The operator waits between tries as `dce` does, while the workflow runs on.
          retry: { sleep: (ms) => run.runFor(ms), random },
        });
        if (e.action === 'PAUSE') pauseStartedAt = t;
        if (e.action === 'RUN' && pauseStartedAt !== null) {
          pauses.push({ from: iso(pauseStartedAt), to: iso(t) });
          pauseStartedAt = null;
        }
        if (e.action === 'RESET') resets.push(iso(t));
      }
      const now = sample(t);
      params.progress({
        phase: 'running',
        simulatedSeconds: t - start,
        totalSeconds,
        committed: (now.lastSequence ?? -1) + 1,
        lagSeconds: now.lagSeconds,
      });
    }
    if (run.now < end * 1000) await run.runUntil(end * 1000);
    const runReport = run.report();
    const deliveries = run.scheduler.deliveries;
    for (const companion of params.companions ?? []) await companion.settle(run);
    await run.dispose();
    return { runReport, deliveries, phases, pauses, resets, finalPhase: status(end).phase };
  } finally {
    await run.dispose().catch(() => undefined);
  }
}
