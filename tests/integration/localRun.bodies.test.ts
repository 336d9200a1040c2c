/**
 * Response bodies on the simulated clock of a local run (sim/machines/localRun.ts `track`, sim/machines/lambdaSandbox.ts
 * `bodyOpened`): an open S3 GetObject stream is real I/O the clock waits for, but not while the
 * invocation reading it sleeps, and not once that invocation has ended. A replica writing a large
 * data file at its rate reads the file's stream between sleeps of its rate limiter; when the open
 * stream held the clock, those sleeps never ended and the run stopped as stalled.
 */
import { expect } from 'chai';
import { Readable } from 'node:stream';
import { simulatedSleep } from '../../sim/machines/localMachine';
import type { LocalRun, SendClient } from '../../sim/machines/localRun';
import { hostRun } from '../helpers/hostRun';

const FUNCTION = 'arn:aws:lambda:eu-west-1:123456789012:function:dev-orders-bodies';
const START = Date.parse('2026-05-01T00:00:00Z');

const ONE_TASK = {
  StartAt: 'Call',
  States: {
    Call: {
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke',
      Parameters: { FunctionName: FUNCTION, 'Payload.$': '$' },
      TimeoutSeconds: 900,
      End: true,
    },
  },
};

/** A client whose every call answers a body of `chunks` chunks, produced as they are read. */
function streamingClient(run: LocalRun, chunks: number): SendClient {
  return run.track({
    send: async () => {
      let produced = 0;
      const body = new Readable({
        objectMode: true,
        highWaterMark: 1,
        read() {
          this.push(produced < chunks ? Buffer.from(`chunk ${produced++}\n`) : null);
        },
      });
      return { Body: body };
    },
  } as unknown as SendClient);
}

type Body = AsyncIterable<Buffer>;

/** Runs one execution of ONE_TASK, whose handler holds the clock and gets a streaming client. */
async function runHandler(handler: (client: SendClient) => Promise<unknown>) {
  const run = await hostRun(START);
  try {
    const machine = run.addMachine({
      name: 'bodies',
      definition: ONE_TASK,
      functionArn: FUNCTION,
      lambdaTimeoutSeconds: 900,
      schedulePeriodMinutes: 15,
      holdClockWhileRunning: true,
      handler: (() => handler(streamingClient(run, 20))) as never,
    });
    const record = machine.startExecution({})!;
    const realStart = performance.now();
    await run.runFor(3_600_000);
    return { record, invocation: machine.invocations[0], realMs: performance.now() - realStart };
  } finally {
    await run.dispose();
  }
}

describe('response bodies on the simulated clock (sim/machines/localRun.ts, sim/machines/lambdaSandbox.ts)', function () {
  // Before, each run below stopped only when the stall was detected, after 120 s of real time.
  this.timeout(30_000);

  it('a handler that sleeps between the reads of an open stream (a file written at a rate) goes on', async () => {
    const { record, invocation, realMs } = await runHandler(async (client) => {
      const { Body } = (await client.send({ input: {} } as never)) as unknown as { Body: Body };
      let chunks = 0;
      for await (const chunk of Body) {
        void chunk;
        chunks += 1;
        // A rate limiter's wait for its next second of writes, the stream open and unread meanwhile.
        await simulatedSleep(10_000);
      }
      return { chunks };
    });
    expect(record.status).to.equal('SUCCEEDED');
    expect(invocation.result).to.deep.equal({ chunks: 20 });
    // The sleeps took simulated time; reading took none.
    expect(invocation.endedAt! - invocation.at).to.equal(200_000);
    expect(realMs).to.be.below(10_000);
  });

  it('a body its invocation left open when it ended holds the clock no longer', async () => {
    const { record, invocation } = await runHandler(async (client) => {
      const { Body } = (await client.send({ input: {} } as never)) as unknown as { Body: Body };
      await Body[Symbol.asyncIterator]().next();
      return { read: 1 };
    });
    expect(record.status).to.equal('SUCCEEDED');
    expect(invocation.result).to.deep.equal({ read: 1 });
  });
});
