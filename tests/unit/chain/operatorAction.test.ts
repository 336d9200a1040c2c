import { expect } from 'chai';
import fc from 'fast-check';
import { isPendingReset } from '../../../cli/operator';
import { deriveStatus } from '../../../cli/status';
import {
  parseAction,
  recordReset,
  resetCarriedOut,
  resetValue,
  type ActionObservation,
} from '../../../functions/chain/operatorAction';
import { planTick, type PitrObservation } from '../../../functions/chain/planner';
import { initialState, parseState, serializeState, type ChainState } from '../../../functions/chain/state';
import { scenarioSettings } from '../../../sim/scenario';

const T0 = Date.UTC(2026, 10, 2) / 1000;

const settings = scenarioSettings();

function enabled(now: number): PitrObservation {
  return { status: 'ENABLED', earliest: now - 86400, latest: now - 300, recoveryPeriodDays: 35 };
}

/** One export tick's decision about the action, with the state saved and read back as the tick does. */
function tick(
  state: ChainState,
  action: ActionObservation,
  now: number,
): { state: ChainState; reset: boolean } {
  const plan = planTick({ state, settings, now, action, pitr: enabled(now), describes: [] });
  return { state: parseState(serializeState(plan.state), settings.stateParameterName), reset: plan.reset };
}

/** `dce status`'s phase for the parameter and state as they are. */
function phase(state: ChainState, action: ActionObservation, now: number): string {
  return deriveStatus('orders', {
    action: action.value,
    actionVersion: action.version,
    actionModifiedAtMs: action.modifiedAtMs,
    stateText: serializeState(state),
    stateParameterName: settings.stateParameterName,
    now,
  }).phase;
}

describe('operator action (functions/chain/operatorAction.ts)', () => {
  it('reads RUN, PAUSE, a plain RESET and RESET:<nonce>; anything else is invalid', () => {
    expect(parseAction(null)).to.deep.equal({ kind: 'RUN' });
    expect(parseAction(' PAUSE\n')).to.deep.equal({ kind: 'PAUSE' });
    expect(parseAction('RESET')).to.deep.equal({ kind: 'RESET', nonce: null });
    expect(parseAction(' RESET:Ab-9_x ')).to.deep.equal({ kind: 'RESET', nonce: 'Ab-9_x' });
    for (const bad of ['RESET:', 'RESET:a b', 'RESET:a@1', `RESET:${'x'.repeat(65)}`, 'reset', 'STOP']) {
      expect(parseAction(bad).kind, bad).to.equal('INVALID');
    }
    expect(() => resetValue('a b')).to.throw();
  });

  it('carries out every RESET written exactly once, through any re-deploy that restarts the version, and dce status agrees', () => {
    // What can happen to the action parameter between ticks: `dce reset` (a new nonce), a RESET typed
    // in the console, a PAUSE or RUN, or a destroy and re-deploy (the parameter recreated as RUN at
    // version 1; the chain state is retained).
    const step = fc.constantFrom('dce-reset', 'plain-reset', 'pause', 'run', 'redeploy', 'tick', 'tick');
    fc.assert(
      fc.property(
        fc.array(step, { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 0, max: 1000 }),
        (steps, salt) => {
          let param: ActionObservation = { value: 'RUN', version: 1, modifiedAtMs: T0 * 1000 };
          let state = initialState();
          let now = T0;
          let nonces = 0;
          let pending = false;
          let expected = 0;
          let carried = 0;
          const write = (value: string, version = (param.version ?? 0) + 1) => {
            param = { value, version, modifiedAtMs: now * 1000 };
          };
          for (const s of steps) {
            now += 60;
            if (s === 'tick') {
              const before = state.epoch;
              const result = tick(state, param, now);
              state = result.state;
              if (result.reset) {
                carried += 1;
                expect(state.epoch).to.not.equal(before);
              }
              if (pending) expected += 1;
              pending = false;
              expect(phase(state, param, now)).to.not.equal('RESET_PENDING');
              expect(isPendingReset(param, serializeState(state))).to.equal(false);
              continue;
            }
            if (s === 'dce-reset') write(resetValue(`n${salt}x${++nonces}`));
            else if (s === 'plain-reset') write('RESET');
            else if (s === 'pause') write('PAUSE');
            else if (s === 'run') write('RUN');
            else write('RUN', 1);
            pending = s === 'dce-reset' || s === 'plain-reset';
            // Before the next tick, a RESET just written is pending, for dce status and for dce pause.
            if (pending) {
              expect(phase(state, param, now)).to.equal('RESET_PENDING');
              expect(isPendingReset(param, serializeState(state))).to.equal(true);
            }
          }
          expect(carried).to.equal(expected);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('treats a plain RESET already recorded by version alone (a state from before identities) as carried out', () => {
    const legacy = { lastReset: null, resetVersion: 4 };
    expect(resetCarriedOut({ value: 'RESET', version: 4, modifiedAtMs: 1 }, legacy)).to.equal(true);
    expect(resetCarriedOut({ value: 'RESET', version: 5, modifiedAtMs: 1 }, legacy)).to.equal(false);
    // A nonce is never recorded in such a state: pending.
    expect(resetCarriedOut({ value: 'RESET:abc', version: 4, modifiedAtMs: 1 }, legacy)).to.equal(false);
    // Once a RESET was recorded by identity, the version alone no longer counts.
    const recorded = recordReset({ value: 'RESET', version: 4, modifiedAtMs: 1000 });
    expect(resetCarriedOut({ value: 'RESET', version: 4, modifiedAtMs: 1000 }, recorded)).to.equal(true);
    expect(resetCarriedOut({ value: 'RESET', version: 4, modifiedAtMs: 9000 }, recorded)).to.equal(false);
  });
});
