/**
 * A local run whose export chain never runs (its schedule paused, a stand-in tick): a host for the
 * state machines a test adds with `addMachine`, on the run's simulated clock.
 */
import { createFakeAws, type FakeAws } from '../../sim/fakeAws';
import { LocalRun } from '../../sim/machines/localRun';
import { scenarioSettings } from '../../sim/scenario';

export async function hostRun(start: number | string, aws: FakeAws = createFakeAws()): Promise<LocalRun> {
  return LocalRun.create({
    settings: scenarioSettings(),
    aws,
    start,
    scheduler: { paused: true },
    createHandler: () => async () => ({ next: 'DONE', summary: {} }),
  });
}
