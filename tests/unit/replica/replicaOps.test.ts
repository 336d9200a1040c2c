import { expect } from 'chai';
import {
  plannedEntry as entry,
  PLAN_EPOCH as EPOCH,
  PLAN_T0 as T0,
  planContext as context,
  isoAt,
} from '../../helpers/replicaPlans';
import fc from 'fast-check';
import { runDce } from '../../../cli/dce';
import type { Io } from '../../../cli/output';
import { decideReplicaCommand, type DecisionContext } from '../../../cli/consumers/replicaCommands';
import {
  deriveReplicaStatus,
  formatReplicaStatuses,
  replicasForStatus,
  resolveReplica,
} from '../../../cli/consumers/replicaStatus';
import { deriveStatus } from '../../../cli/status';
import { UsageError, type Target } from '../../../cli/target';
import { planReplica, type ChainView, type PlanContext } from '../../../functions/replica/planner';
import { initialReplicaState, parseReplicaState, type ReplicaState } from '../../../functions/replica/state';
import { initialState, serializeState } from '../../../functions/chain/state';
import { CallLog } from '../../../sim/fakeAws/service';
import { FakeSSM } from '../../../sim/fakeAws/ssm';

/** One plan and, when it applies, the state recorded after it (as the apply Lambda records it). */
function step(state: ReplicaState, chain: ChainView, ctx: PlanContext) {
  const view = { ...chain, entries: chain.entries.filter((e) => e.sequence > state.lastAppliedSequence) };
  const plan = planReplica(state, view, ctx);
  if (plan.action !== 'APPLY_GROUP' && plan.action !== 'APPLY_DISTRIBUTED')
    return { plan, state, applied: [] };
  const entries = plan.action === 'APPLY_GROUP' ? plan.entries : [plan.entry];
  const last = entries[entries.length - 1];
  return {
    plan,
    applied: entries.map((e) => e.sequence),
    state: {
      ...state,
      epoch: plan.epoch,
      lastAppliedSequence: last.sequence,
      watermark: Date.parse(last.to) / 1000,
    },
  };
}

describe('replica pause in the planner (functions/replica/planner.ts)', () => {
  it('states written before PAUSED existed parse unchanged; PAUSED parses', () => {
    const old = JSON.stringify({ ...initialReplicaState(), status: 'HALTED' });
    expect(parseReplicaState(old).status).to.equal('HALTED');
    expect(parseReplicaState(JSON.stringify({ ...initialReplicaState(), status: 'PAUSED' })).status).to.equal(
      'PAUSED',
    );
    expect(() => parseReplicaState(JSON.stringify({ ...initialReplicaState(), status: 'STOPPED' }))).to.throw(
      /status/,
    );
  });

  it('a paused replica never applies, halts or rebaselines, and resumes exactly where it stopped', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 3000 }), { minLength: 1, maxLength: 40 }),
        fc.nat({ max: 40 }),
        fc.nat({ max: 20 }),
        fc.boolean(),
        (counts, pauseAfterSteps, pausedPlans, newEpochWhilePaused) => {
          const chain: ChainView = {
            currentEpoch: EPOCH,
            head: { lastSequence: counts.length - 1, watermark: entry(counts.length - 1, 0).to },
            entries: counts.map((c, i) => entry(i, c)),
          };
          let state = initialReplicaState();
          const applied: number[] = [];
          for (let i = 0; i < pauseAfterSteps; i++) {
            const r = step(state, chain, context());
            applied.push(...r.applied);
            state = r.state;
          }
          const paused: ReplicaState = { ...state, status: 'PAUSED' };
          // While paused, the chain may even move to a new epoch: still nothing happens.
          const seen: ChainView = newEpochWhilePaused
            ? { ...chain, currentEpoch: '20261104T000000Z' }
            : chain;
          for (let i = 0; i <= pausedPlans; i++) {
            const plan = planReplica(paused, seen, context({ now: T0 + 86_400 + i * 900 }));
            expect(plan.action).to.equal('IDLE');
            expect((plan as { reason: string }).reason).to.match(/paused/);
          }
          state = { ...paused, status: 'ACTIVE' };
          for (let i = 0; i < 100; i++) {
            const r = step(state, chain, context());
            if (r.applied.length === 0) break;
            if (i === 0) expect(r.applied[0]).to.equal(paused.lastAppliedSequence + 1);
            applied.push(...r.applied);
            state = r.state;
          }
          // Every entry exactly once, in order, as if never paused.
          expect(applied).to.deep.equal(counts.map((_, i) => i));
        },
      ),
      { numRuns: 150 },
    );
  });
});

const NOW = T0 + 10_000;

function replicaState(over: Partial<ReplicaState> = {}): ReplicaState {
  return {
    ...initialReplicaState(),
    epoch: EPOCH,
    lastAppliedSequence: 7,
    watermark: T0 + 7 * 900,
    updatedAt: T0 + 7 * 900 + 60,
    ...over,
  };
}

const RUN_V1 = { value: 'RUN', version: 1 };
const decide = (
  state: ReplicaState,
  over: Partial<DecisionContext> = {},
  action: { value: string | null; version: number | null } = RUN_V1,
) => decideReplicaCommand('rebuild', action, state, { replica: 'dr', force: false, ...over });

describe('dce replica decisions (cli/consumers/replicaCommands.ts)', () => {
  const ctx: DecisionContext = { replica: 'dr', force: false };
  const halted = replicaState({
    status: 'HALTED',
    halt: { reason: 'NEW_EPOCH', detail: 'moved', at: T0, epoch: EPOCH },
  });
  const active = replicaState({
    inProgress: { executionId: 'e', sequences: [8], mode: 'group', startedAt: NOW - 10 },
  });

  it('pause and resume write PAUSE and RUN to the action parameter, and nothing when it already holds it', () => {
    expect(decideReplicaCommand('pause', RUN_V1, active, ctx)).to.deep.equal({
      kind: 'write',
      action: 'PAUSE',
      cancelsRebuild: false,
    });
    const paused = { value: 'PAUSE', version: 2 };
    expect(decideReplicaCommand('pause', paused, active, ctx).kind).to.equal('unchanged');
    expect(decideReplicaCommand('resume', paused, active, ctx)).to.deep.equal({
      kind: 'write',
      action: 'RUN',
      cancelsRebuild: false,
    });
    expect(decideReplicaCommand('resume', RUN_V1, active, ctx).kind).to.equal('unchanged');
    // A missing parameter reads as RUN (the command itself refuses it: it does not create parameters).
    expect(decideReplicaCommand('resume', { value: null, version: null }, active, ctx).kind).to.equal(
      'unchanged',
    );
  });

  it('resume writes RUN over a state paused by an earlier release, which stays paused until then', () => {
    const legacy = replicaState({ status: 'PAUSED' });
    expect(decideReplicaCommand('resume', RUN_V1, legacy, ctx)).to.deep.include({
      kind: 'write',
      action: 'RUN',
    });
    expect(decideReplicaCommand('resume', { value: 'RUN', version: 2 }, legacy, ctx).kind).to.equal(
      'unchanged',
    );
    expect(decideReplicaCommand('pause', RUN_V1, legacy, ctx)).to.deep.include({
      kind: 'write',
      action: 'PAUSE',
    });
  });

  it('pause and resume refuse a halted replica, pointing at rebuild', () => {
    for (const command of ['pause', 'resume'] as const) {
      const d = decideReplicaCommand(command, RUN_V1, halted, ctx);
      expect(d.kind).to.equal('refuse');
      expect(d.kind === 'refuse' && d.message).to.match(/HALTED \(NEW_EPOCH: moved\).*dce replica rebuild/);
    }
  });

  it('rebuild writes REBUILD for a halted replica; refuses any other without --force', () => {
    expect(decide(halted)).to.deep.equal({ kind: 'write', action: 'REBUILD', cancelsRebuild: false });
    for (const status of ['ACTIVE', 'PAUSED'] as const) {
      const refused = decide(replicaState({ status }));
      expect(refused.kind === 'refuse' && refused.message).to.match(
        new RegExp(`is ${status}, not HALTED.*--force`),
      );
      expect(decide(replicaState({ status }), { force: true }).kind).to.equal('write');
    }
    // A live claim no longer matters to the command: the workflow waits for it before it rebuilds.
    expect(decide({ ...active, status: 'HALTED' }).kind).to.equal('write');
  });

  it('a pending rebuild: rebuild again changes nothing; pause or resume refuse to cancel it without --force', () => {
    const pending = { value: 'REBUILD', version: 4 };
    expect(decide(halted, {}, pending).kind).to.equal('unchanged');
    for (const command of ['pause', 'resume'] as const) {
      const refused = decideReplicaCommand(command, pending, halted, ctx);
      expect(refused.kind === 'refuse' && refused.message).to.match(
        /rebuild .* is pending .*version 4.*--force/,
      );
      expect(decideReplicaCommand(command, pending, halted, { ...ctx, force: true })).to.deep.include({
        kind: 'write',
        cancelsRebuild: true,
      });
    }
    // Carried out (the state records version 4): a new rebuild is a new version; pause is plain.
    const rebuilt = replicaState({ status: 'HALTED', rebuildVersion: 4 });
    expect(decide(rebuilt, {}, pending)).to.deep.include({ kind: 'write', action: 'REBUILD' });
    expect(decideReplicaCommand('pause', pending, { ...active, rebuildVersion: 4 }, ctx)).to.deep.include({
      kind: 'write',
      cancelsRebuild: false,
    });
  });
});

describe('replicas in dce status (cli/consumers/replicaStatus.ts)', () => {
  const ref = {
    alias: 'dr',
    stateParameterName: '/p/dr/state',
    targetTableName: 'orders-dr',
    targetRegion: 'us-east-1',
  };
  const chain = { epoch: EPOCH, watermark: isoAt(T0 + 10 * 900) };

  it('shows status, epoch, sequence, watermark, both lags and the claim', () => {
    const state = replicaState({
      inProgress: { executionId: 'exec-2', sequences: [8, 9], mode: 'group', startedAt: NOW - 120 },
    });
    const r = deriveReplicaStatus({ ref, stateText: JSON.stringify(state), now: NOW, chain });
    expect(r).to.deep.include({
      alias: 'dr',
      targetTableName: 'orders-dr',
      status: 'ACTIVE',
      epoch: EPOCH,
      lastAppliedSequence: 7,
      // The report says the state's epoch seconds in ISO 8601.
      watermark: isoAt(state.watermark!),
      lagSeconds: NOW - (T0 + 7 * 900),
      behindChainSeconds: 3 * 900,
      followsLiveEpoch: true,
    });
    expect(r.inProgress).to.include({ executionId: 'exec-2', ageSeconds: 120, live: true });
  });

  it('derives lags consistently for any watermarks', () => {
    fc.assert(
      fc.property(fc.nat({ max: 100_000 }), fc.nat({ max: 100_000 }), fc.nat({ max: 100_000 }), (a, b, c) => {
        const replicaAt = T0 + a;
        const chainAt = replicaAt + b;
        const now = chainAt + c;
        const r = deriveReplicaStatus({
          ref,
          stateText: JSON.stringify(replicaState({ watermark: replicaAt })),
          now,
          chain: { epoch: EPOCH, watermark: isoAt(chainAt) },
        });
        expect(r.behindChainSeconds).to.equal(b);
        expect(r.lagSeconds).to.equal(b + c);
        expect(r.lagSeconds!).to.be.at.least(r.behindChainSeconds!);
      }),
    );
  });

  it('names PAUSED, HALTED with its reason, a missing and a corrupt state, and an old epoch', () => {
    const status = (stateText: string | null) =>
      deriveReplicaStatus({
        ref,
        stateText,
        now: NOW,
        chain: { epoch: '20261104T000000Z', watermark: null },
      });
    expect(status(JSON.stringify(replicaState({ status: 'PAUSED' }))).status).to.equal('PAUSED');
    const halted = status(
      JSON.stringify(
        replicaState({
          status: 'HALTED',
          halt: { reason: 'FILES_MISSING', detail: 'gone', at: T0, epoch: EPOCH },
        }),
      ),
    );
    expect(halted).to.deep.include({ status: 'HALTED', followsLiveEpoch: false, behindChainSeconds: null });
    expect(halted.halt?.reason).to.equal('FILES_MISSING');
    expect(status(null).status).to.equal('NOT_DEPLOYED');
    expect(status('{"schemaVersion":1}')).to.deep.include({ status: 'STATE_CORRUPT' });
  });

  it("shows the operator's action: PAUSE pauses, a REBUILD pending or carried out, a missing or invalid value", () => {
    const show = (state: ReplicaState, action?: { value: string | null; version: number | null }) =>
      deriveReplicaStatus({ ref, stateText: JSON.stringify(state), action, now: NOW, chain });
    const text = (r: ReturnType<typeof show>) => formatReplicaStatuses([r]);
    const active = replicaState({});
    const paused = show(active, { value: 'PAUSE', version: 2 });
    expect(paused.status).to.equal('PAUSED');
    expect(paused.action).to.deep.equal({
      parameterName: '/p/dr/action',
      value: 'PAUSE',
      version: 2,
      pendingRebuild: false,
    });
    expect(text(paused)).to.match(/action: +PAUSE\n/);
    expect(show(active, { value: 'RUN', version: 3 }).status).to.equal('ACTIVE');
    const halted = replicaState({
      status: 'HALTED',
      halt: { reason: 'NEW_EPOCH', detail: 'moved', at: T0, epoch: EPOCH },
    });
    const pending = show(halted, { value: 'REBUILD', version: 5 });
    expect(pending).to.deep.include({ status: 'HALTED' });
    expect(pending.action.pendingRebuild).to.equal(true);
    expect(text(pending)).to.match(/action: +REBUILD \(pending: the next execution starts the replica over/);
    const done = show({ ...active, rebuildVersion: 5 }, { value: 'REBUILD', version: 5 });
    expect(done).to.deep.include({ status: 'ACTIVE' });
    expect(text(done)).to.match(/action: +REBUILD \(carried out: acts as RUN\)/);
    expect(text(show(active))).to.match(/action: +- \(no parameter \/p\/dr\/action: read as RUN/);
    const invalid = show(active, { value: 'STOP', version: 2 });
    expect(invalid.status).to.equal('PAUSED');
    expect(text(invalid)).to.match(/action: +"STOP" \(not RUN, PAUSE or REBUILD: applies nothing\)/);
    // A state paused by an earlier release: paused until the action is written after the upgrade.
    expect(show(replicaState({ status: 'PAUSED' }), { value: 'RUN', version: 1 }).status).to.equal('PAUSED');
    expect(show(replicaState({ status: 'PAUSED' }), { value: 'RUN', version: 2 }).status).to.equal('ACTIVE');
  });

  it('deriveStatus measures replicas against HEAD when it was read, else against the chain state', () => {
    const chainState = serializeState({
      ...initialState(),
      epoch: EPOCH,
      chainStart: T0,
      watermark: T0 + 12 * 900,
      sequence: 12,
    });
    const input = {
      action: 'RUN',
      stateText: chainState,
      stateParameterName: '/s',
      now: NOW,
      replicas: [{ ref, stateText: JSON.stringify(replicaState()) }],
    };
    expect(deriveStatus('orders', input).replicas![0].behindChainSeconds).to.equal(5 * 900);
    const withHead = deriveStatus('orders', {
      ...input,
      head: { epoch: EPOCH, watermark: isoAt(T0 + 11 * 900), lastSequence: 11 } as never,
    });
    expect(withHead.replicas![0].behindChainSeconds).to.equal(4 * 900);
    expect(deriveStatus('orders', { ...input, replicas: undefined }).replicas).to.equal(undefined);
  });
});

describe('which replicas dce finds', () => {
  const target = (output: Record<string, unknown>, stack?: string): Target => ({
    alias: 'orders',
    ...(stack ? { stack } : {}),
    output,
  });
  const listed = {
    replicas: [
      {
        alias: 'dr',
        targetTableName: 'orders',
        targetRegion: 'us-east-1',
        stateParameterName: '/dynamodb-continuous-exports/prod/orders/replicas/dr/state',
      },
    ],
  };

  it('reads the stack output, adds --replica-state parameters, and resolves --replica', () => {
    const refs = replicasForStatus(target(listed), [
      '/dynamodb-continuous-exports/prod/orders/replicas/dr/state',
      '/dynamodb-continuous-exports/prod/orders/replicas/copy/state',
    ]);
    expect(refs.map((r) => r.alias)).to.deep.equal(['dr', 'copy']);
    expect(() => replicasForStatus(target({}), ['copy'])).to.throw(UsageError, /--replica-state "copy"/);
    expect(resolveReplica(target(listed), 'dr').targetTableName).to.equal('orders');
    expect(() => resolveReplica(target(listed), 'copy')).to.throw(
      UsageError,
      /no such replica \(known: dr\)/,
    );
    expect(resolveReplica(target({}, 'prod'), 'copy').stateParameterName).to.equal(
      '/dynamodb-continuous-exports/prod/orders/replicas/copy/state',
    );
    expect(() => resolveReplica(target({}), 'copy')).to.throw(UsageError, /pass --stack/);
  });
});

describe('dce replica rebuild in-process (cli/dce.ts runDce)', () => {
  const STATE = '/dynamodb-continuous-exports/prod/orders/replicas/dr/state';
  const ACTION = '/dynamodb-continuous-exports/prod/orders/replicas/dr/action';
  const target = ['--alias', 'orders', '--stack', 'prod', '--replica', 'dr'];

  function setup(state: ReplicaState, answer?: string) {
    const ssm = new FakeSSM(new CallLog(), () => NOW * 1000, 'us-east-1', '123456789012');
    ssm.set(STATE, JSON.stringify(state));
    ssm.set(ACTION, 'RUN');
    const out: string[] = [];
    const err: string[] = [];
    const questions: string[] = [];
    const io: Io = {
      stdout: { write: (t: string) => out.push(t) },
      stderr: { write: (t: string) => err.push(t) },
      stdinIsTTY: answer !== undefined,
      env: {},
      now: () => NOW,
      ...(answer !== undefined
        ? {
            prompt: async (q: string) => {
              questions.push(q);
              return answer;
            },
          }
        : {}),
    };
    const run = (argv: string[]) =>
      runDce(argv, io, { clients: () => ({ s3: ssm, ssm, dynamodb: ssm }) as never });
    return { ssm, run, out: () => out.join(''), err: () => err.join(''), questions };
  }
  const halted = replicaState({
    status: 'HALTED',
    halt: { reason: 'FILES_MISSING', detail: 'gone', at: T0, epoch: EPOCH },
  });

  it('on a terminal, asks for the replica alias, says the target must be emptied, and proceeds only when typed', async () => {
    const wrong = setup(halted, 'orders');
    expect(await wrong.run(['replica', 'rebuild', ...target])).to.equal(2);
    expect(wrong.questions[0]).to.match(/Empty the target table first.*\nType the replica alias \(dr\)/s);
    expect(wrong.err()).to.match(/not confirmed/);
    expect(wrong.ssm.get(ACTION)).to.equal('RUN');

    const right = setup(halted, 'dr');
    expect(await right.run(['replica', 'rebuild', ...target])).to.equal(0);
    expect(right.out()).to.match(
      /orders\/dr: action RUN -> REBUILD .*the next execution rebuilds .*Empty or recreate .*It was: epoch 20261103T010000Z, last sequence 7, .*halted FILES_MISSING/,
    );
    expect(right.ssm.get(ACTION)).to.equal('REBUILD');
  });

  it("writes only the action parameter, one PutParameter per command; the state is the workflow's alone", async () => {
    const s = setup(replicaState({}));
    const stateVersion = s.ssm.parameters.get(STATE)!.Version;
    expect(await s.run(['replica', 'pause', ...target, '--json'])).to.equal(0);
    expect(JSON.parse(s.out())).to.deep.include({ previousAction: 'RUN', action: 'PAUSE', changed: true });
    expect(s.ssm.get(ACTION)).to.equal('PAUSE');
    expect(await s.run(['replica', 'resume', ...target])).to.equal(0);
    expect(await s.run(['replica', 'rebuild', ...target, '--yes'])).to.equal(2); // ACTIVE: needs --force
    expect(await s.run(['replica', 'rebuild', ...target, '--yes', '--force'])).to.equal(0);
    expect(await s.run(['replica', 'pause', ...target])).to.equal(2); // would cancel the rebuild
    expect(s.err()).to.match(/rebuild of replica dr is pending/);
    expect(s.ssm.get(ACTION)).to.equal('REBUILD');
    expect(s.ssm.parameters.get(ACTION)!.Version).to.equal(4); // created, PAUSE, RUN, REBUILD
    expect(s.ssm.parameters.get(STATE)!.Version).to.equal(stateVersion);
  });

  it('refuses a state or action parameter that does not exist instead of creating it', async () => {
    const s = setup(halted);
    s.ssm.remove(STATE);
    expect(await s.run(['replica', 'pause', ...target])).to.equal(2);
    expect(s.err()).to.match(/state parameter .* does not exist/);
    expect(s.ssm.get(STATE)).to.equal(undefined);
    const old = setup(replicaState({}));
    old.ssm.remove(ACTION);
    expect(await old.run(['replica', 'pause', ...target])).to.equal(2);
    expect(old.err()).to.match(/action parameter .*\/dr\/action does not exist.*pulumi up/);
    expect(old.ssm.get(ACTION)).to.equal(undefined);
  });
});
