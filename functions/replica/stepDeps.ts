/**
 * What the failure, time-bounded apply and import steps use of the apply Lambda, built from its context
 * (functions/replica/context.ts): each step file declares the little it needs, and takes nothing else.
 */
import { halt, recordApplied } from './claimSteps';
import { applyOptions, type ReplicaContext } from './context';
import type { FailureStepDeps } from './failureSteps';
import type { ImportBootstrapDeps } from './importBootstrap';
import type { TimedApplyDeps } from './timedApply';

/** What the failure and schema steps (functions/replica/failureSteps.ts) use. */
export function failureDeps(ctx: ReplicaContext): FailureStepDeps {
  return {
    settings: ctx.settings,
    s3: ctx.clients.s3,
    target: ctx.clients.target,
    source: ctx.clients.source,
    now: ctx.now,
    sleep: ctx.options.sleep,
    info: ctx.info,
    readState: () => ctx.aws.readState(),
    saveState: (state) => ctx.aws.saveState(state),
    halt: (state, reason, detail) => halt(ctx, state, reason, detail),
  };
}

/** What the time-bounded apply steps (functions/replica/timedApply.ts) use. */
export function timedDeps(ctx: ReplicaContext): TimedApplyDeps {
  return {
    settings: ctx.settings,
    s3: ctx.clients.s3,
    target: ctx.clients.target,
    now: ctx.now,
    info: ctx.info,
    claimConfirmMs: ctx.options.claimConfirmMs,
    readState: () => ctx.aws.readState(),
    saveState: (state) => ctx.aws.saveState(state),
    applyOptions: (rate, target) => applyOptions(ctx, rate, target),
    recordApplied: (executionId, epoch, entry) => recordApplied(ctx, executionId, epoch, entry),
    failureDeps: () => failureDeps(ctx),
  };
}

/** What the `import` bootstrap (functions/replica/importBootstrap.ts) uses. */
export function importDeps(ctx: ReplicaContext, executionId: string): ImportBootstrapDeps {
  const source = ctx.clients.source;
  return {
    settings: ctx.settings,
    s3: ctx.clients.s3,
    ssmCall: ctx.aws.ssmCall,
    source: source ?? { send: () => Promise.reject(new Error('no DynamoDB client for the source table')) },
    target: ctx.clients.target,
    lockName: ctx.lockName,
    executionId,
    now: ctx.now,
    readState: () => ctx.aws.readState(),
    saveState: (state) => ctx.aws.saveState(state),
    halt: (state, reason, detail) => halt(ctx, state, reason, detail),
  };
}
