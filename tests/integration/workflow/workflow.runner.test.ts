/**
 * The local runner itself, driven by small stand-in handlers so that what is checked here is the
 * runner: the deployed definition, Lambda-shaped results and errors, the context object, retries,
 * transition counting, the simulated scheduler and the speed of the simulated clock.
 */
import { expect } from 'chai';
import { DescribeContinuousBackupsCommand } from '@aws-sdk/client-dynamodb';
import { createFakeAws } from '../../../sim/fakeAws';
import { LocalRun, type TickHandler } from '../../../sim/machines/localRun';
import { scenarioSettings } from '../../../sim/scenario';
import type { SchedulerOptions } from '../../../sim/machines/scheduler';

const START = Date.parse('2026-05-01T00:00:00Z');
const MIN = 60_000;

/** Ticks every 5 minutes until the end of the execution's period, then answers DONE. */
function periodicHandler(seen: any[]): TickHandler {
  return async (event) => {
    seen.push(event);
    const now = Date.now();
    const periodEnd = Date.parse(event.input?.scheduledTime ?? event.executionStartTime) + 15 * MIN;
    const wake = now + 5 * MIN;
    return { next: wake < periodEnd ? 'WAIT' : 'DONE', wakeAt: new Date(wake).toISOString(), summary: {} };
  };
}

async function withRun(
  handler: (seen: any[]) => TickHandler,
  body: (run: LocalRun, seen: any[]) => Promise<void>,
  scheduler: SchedulerOptions = {},
) {
  const seen: any[] = [];
  const run = await LocalRun.create({
    settings: scenarioSettings(),
    aws: createFakeAws(),
    start: START,
    scheduler,
    createHandler: () => handler(seen),
  });
  try {
    await body(run, seen);
  } finally {
    await run.dispose();
  }
}

describe('local runner (stand-in handlers)', () => {
  it('runs the deployed definition once per period with Lambda-shaped input and counts transitions', async () => {
    await withRun(periodicHandler, async (run, seen) => {
      await run.runFor(60 * MIN - 1);
      expect(run.executions.map((e) => e.input.scheduledTime)).to.deep.equal(
        [0, 15, 30, 45].map((m) => new Date(START + m * MIN).toISOString()),
      );
      const first = run.executions[0];
      expect(first.status).to.equal('SUCCEEDED');
      // Ticks at :00, :05, :10 -> 3 tasks, 3 choices, 2 waits, 1 succeed.
      expect(first.statesEntered).to.deep.equal({
        'Run export tick': 3,
        'Decide next step': 3,
        'Wait until next due time': 2,
        'Period complete': 1,
      });
      expect(first.transitions).to.equal(9);
      expect(first.endedAt).to.equal(START + 10 * MIN);
      expect(seen[0]).to.deep.equal({
        mode: 'TICK',
        executionId: first.id,
        executionStartTime: new Date(START).toISOString(),
        input: { scheduledTime: new Date(START).toISOString() },
      });
      expect(first.id).to.match(/^arn:aws:states:eu-west-1:123456789012:execution:orders-export-chain:/);
      // The second tick sees the first tick's result in its input, as in AWS.
      expect(seen[1].input.tick.next).to.equal('WAIT');
      expect(seen[1].input.scheduledTime).to.equal(new Date(START).toISOString());
    });
  });

  it('retries TransientAwsError as the definition says, then reports the failure and fails the run', async () => {
    const failing = (seen: any[]): TickHandler => {
      return async (event) => {
        seen.push({ event, at: Date.now() });
        if (event.mode === 'REPORT_FAILURE') {
          return { next: 'DONE', wakeAt: new Date().toISOString(), summary: {} };
        }
        const error = new Error('DescribeExport failed 4 times');
        error.name = 'TransientAwsError';
        throw error;
      };
    };
    await withRun(failing, async (run, seen) => {
      await run.runFor(10 * MIN);
      const e = run.executions[0];
      expect(e.status).to.equal('FAILED');
      expect(e.error).to.equal('ExportTickFailed');
      const ticks = seen.filter((s) => s.event.mode === 'TICK');
      // 1 try + 3 retries at 30 s, 60 s, 120 s.
      expect(ticks.map((s) => (s.at - START) / 1000)).to.deep.equal([0, 30, 90, 210]);
      expect(e.retries).to.equal(3);
      const report = seen.find((s) => s.event.mode === 'REPORT_FAILURE').event;
      expect(report.error.Error).to.equal('TransientAwsError');
      expect(JSON.parse(report.error.Cause)).to.include({
        errorType: 'TransientAwsError',
        errorMessage: 'DescribeExport failed 4 times',
      });
      expect(e.caught).to.deep.equal(['Run export tick']);
      expect(run.invocations.filter((i) => i.outcome === 'TransientAwsError')).to.have.length(4);
    });
  });

  it('does not retry other errors', async () => {
    const broken = (seen: any[]): TickHandler => {
      return async (event) => {
        seen.push(event.mode);
        if (event.mode === 'TICK') throw new TypeError('boom');
        return { next: 'DONE', wakeAt: new Date().toISOString(), summary: {} };
      };
    };
    await withRun(broken, async (run, seen) => {
      await run.runFor(MIN);
      expect(seen).to.deep.equal(['TICK', 'REPORT_FAILURE']);
      expect(run.executions[0].status).to.equal('FAILED');
      expect(run.executions[0].retries).to.equal(0);
    });
  });

  it('fails a result without the keys the definition selects, as AWS would', async () => {
    const incomplete = (): TickHandler => async () => ({ next: 'DONE' });
    await withRun(incomplete, async (run) => {
      await run.runFor(MIN);
      expect(run.executions[0].status).to.equal('FAILED');
    });
  });

  it('delivers duplicates, skips and pauses, and starts extra executions', async () => {
    await withRun(
      periodicHandler,
      async (run) => {
        await run.runFor(30 * MIN - 1);
        run.scheduler.pause();
        await run.runFor(30 * MIN);
        run.scheduler.resume();
        run.startExecution({ scheduledTime: new Date(START).toISOString() }, { at: START + 61 * MIN });
        await run.runFor(15 * MIN);
        const times = run.executions.map((e) => [(e.startedAt - START) / MIN, e.kind]);
        expect(times).to.deep.equal([
          [0.5, 'scheduled'],
          [0.5 + 1 / 60, 'duplicate'],
          [15.5, 'scheduled'],
          [60.5, 'scheduled'],
          [61, 'manual'],
        ]);
        expect(run.scheduler.deliveries.map((d) => d.outcome)).to.deep.equal([
          'delivered',
          'duplicate',
          'delivered',
          'paused',
          'paused',
          'delivered',
        ]);
      },
      {
        deliveryDelaySeconds: 30,
        duplicates: (t: number) => (t === START ? 1 : 0),
      },
    );
  });

  it('skips the deliveries it is told to skip', async () => {
    await withRun(
      periodicHandler,
      async (run) => {
        await run.runFor(80 * MIN - 1);
        expect(
          run.executions.map((e) => (Date.parse(e.input.scheduledTime ?? '') - START) / MIN),
        ).to.deep.equal([0, 15, 45, 75]);
        expect(
          run.scheduler.deliveries
            .filter((d) => d.outcome === 'skipped')
            .map((d) => (d.scheduledTime - START) / MIN),
        ).to.deep.equal([30, 60]);
        expect(run.executions.at(-1)!.status).to.equal('RUNNING');
        await run.drain();
        expect(run.executions.map((e) => e.status)).to.deep.equal(Array(4).fill('SUCCEEDED'));
        expect(run.scheduler.isPaused).to.equal(true);
      },
      { skip: (t: number) => (t - START) % (30 * MIN) === 0 && t > START },
    );
  });

  it('simulates two days of 15-minute periods in a few seconds, with calls to the fakes', async () => {
    const calling = (seen: any[]): TickHandler => {
      const inner = periodicHandler(seen);
      return async (event) => {
        await aws.dynamodb.send(new DescribeContinuousBackupsCommand({ TableName: 'orders' }));
        return inner(event);
      };
    };
    const aws = createFakeAws();
    aws.dynamodb.addTable({ name: 'orders' });
    const progress: number[] = [];
    const run = await LocalRun.create({
      settings: scenarioSettings(),
      aws,
      start: START,
      createHandler: () => calling([]),
      onProgress: (p) => progress.push(p.now),
    });
    try {
      const real = performance.now();
      await run.runFor(2 * 24 * 60 * MIN);
      expect(performance.now() - real).to.be.below(5000);
      expect(run.executions).to.have.length(2 * 96 + 1);
      const finished = run.executions.filter((e) => e.status === 'SUCCEEDED');
      expect(finished).to.have.length(2 * 96);
      expect(finished.reduce((n, e) => n + e.transitions, 0)).to.equal(2 * 96 * 9);
      expect(aws.calls.of('DescribeContinuousBackups').length).to.be.at.least(2 * 96 * 3);
      // Progress is reported once per simulated hour.
      expect(progress.map((t) => Math.floor((t - START) / (60 * MIN)))).to.deep.equal(
        Array.from({ length: 49 }, (_, i) => i),
      );
    } finally {
      await run.dispose();
    }
    // The real clock is back.
    expect(Math.abs(Date.now() - performance.timeOrigin - performance.now())).to.be.below(60_000);
  });
});
