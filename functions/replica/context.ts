/**
 * What every step of the replica's apply Lambda works over: its settings, clients and AWS calls, the
 * clock and the log, built once per Lambda container (`replicaContext`). The steps themselves are
 * functions of it (functions/replica/planStep.ts, claimSteps.ts, timedApply.ts, failureSteps.ts,
 * importBootstrap.ts), as the export tick's are of its settings and `TickAws`.
 */
import { targetKeyAttributes, type ApplyOptions, type DynamoDbSender } from '../../apply';
import { replicaLockName } from '../shared/names';
import { ReplicaActionSteps } from './actionSteps';
import type { ReplicaClients, ReplicaHandlerOptions } from './contract';
import { DEFAULT_PLANNER_LIMITS, type PlannerLimits } from './planner';
import { ReplicaAws } from './replicaAws';
import type { ReplicaSettings } from './settings';

export interface ReplicaContext {
  settings: ReplicaSettings;
  clients: ReplicaClients;
  options: ReplicaHandlerOptions;
  aws: ReplicaAws;
  /** The operator's action (functions/replica/actionSteps.ts). */
  action: ReplicaActionSteps;
  limits: PlannerLimits;
  /** The lock whose lease guards the replica's claims. */
  lockName: string;
  /** Epoch milliseconds. */
  now: () => number;
  /** Where the EMF metric line goes. */
  log: (line: string) => void;
  /** Where other log lines go. */
  info: (line: string) => void;
}

/** The context of one replica's apply Lambda. */
export function replicaContext(
  settings: ReplicaSettings,
  clients: ReplicaClients,
  options: ReplicaHandlerOptions,
): ReplicaContext {
  const now = options.now ?? Date.now;
  const info = (line: string) => (options.info ?? console.log)(line);
  const aws = new ReplicaAws(clients, settings, { retry: { sleep: options.sleep }, now, info });
  const lockName = replicaLockName(settings.stateParameterName);
  return {
    settings,
    clients,
    options,
    aws,
    action: new ReplicaActionSteps({
      settings,
      aws,
      lockName,
      now,
      info,
      saveState: (state) => aws.saveState(state),
    }),
    limits: { ...DEFAULT_PLANNER_LIMITS, ...options.limits },
    lockName,
    now,
    log: options.log ?? ((line: string) => console.log(line)),
    info,
  };
}

/** Now, in whole epoch seconds: the times the state keeps. */
export function nowSeconds(ctx: Pick<ReplicaContext, 'now'>): number {
  return Math.floor(ctx.now() / 1000);
}

/** How the apply engine writes to the target for this replica. */
export async function applyOptions(
  ctx: ReplicaContext,
  maxWritesPerSecond: number,
  dynamodb: DynamoDbSender,
): Promise<ApplyOptions> {
  return {
    s3: ctx.clients.s3,
    dynamodb,
    targetTable: ctx.settings.targetTableName,
    keyAttributes: await targetKeyAttributes(ctx.clients.target, ctx.settings.targetTableName),
    maxWritesPerSecond,
    sleep: ctx.options.sleep,
  };
}
