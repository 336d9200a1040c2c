/**
 * Lambda's limits in the offline AWS (sim/limits.ts): the function's timeout on the simulated clock
 * and in real time, its memory size, and the 6 MB synchronous payloads, for invocations run in
 * process by the local runner (sim/machines/lambdaSandbox.ts) and in a heap-capped worker
 * (sim/machines/lambdaWorker.ts). Each limit is crossed and fails the way Lambda reports it.
 */
import { expect } from 'chai';
import path from 'node:path';
import { MIB, bufferBudgetBytes } from '../../apply';
import { LAMBDA_HANDLERS, REPLICA_APPLY_HANDLER } from '../../functions/shared/lambdaHandlers';
import { asServiceWork, invokeInProcess, type SandboxHost } from '../../sim/machines/lambdaSandbox';
import { invokeInWorker } from '../../sim/machines/lambdaWorker';
import type { LargeItemsApplyEvent, LargeItemsApplyResult } from '../../sim/largeItemsApply';
import { largeItem } from '../../sim/largeItemsExport';
import { LAMBDA_SYNC_PAYLOAD_LIMIT_BYTES } from '../../sim/limits';
import { deployedMemorySizeMb } from '../../sim/machines/localMachine';
import type { MachineSpec, SendClient } from '../../sim/machines/localRun';
import { itemDigest, startDiscardingTable, type DiscardingTable } from '../helpers/discardingTable';
import { hostRun } from '../helpers/hostRun';
import { REPO_ROOT } from '../helpers/repoRoot';

const FUNCTION = 'arn:aws:lambda:eu-west-1:123456789012:function:dev-orders-limits';
const START = Date.parse('2026-05-01T00:00:00Z');
const WORKER_FUNCTIONS = path.join(REPO_ROOT, 'tests', 'helpers', 'lambdaWorkerFunctions.ts');
const LARGE_ITEMS_APPLY = path.join(REPO_ROOT, 'sim', 'largeItemsApply.ts');

/** One Lambda task, no Retry and no Catch: the execution fails with the task's error. */
const ONE_TASK = {
  StartAt: 'Call',
  States: {
    Call: {
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke',
      Parameters: { FunctionName: FUNCTION, 'Payload.$': '$' },
      End: true,
    },
  },
};

/** Runs one execution of ONE_TASK served by `handler`; `sends` counts calls that reached the client. */
async function runOnce(
  handler: (event: any, send: () => Promise<unknown>) => Promise<unknown>,
  spec: Partial<MachineSpec> = {},
) {
  const run = await hostRun(START);
  let sends = 0;
  const client = run.track({ send: async () => (sends += 1) } as unknown as SendClient);
  try {
    const machine = run.addMachine({
      name: 'limits',
      definition: ONE_TASK,
      functionArn: FUNCTION,
      lambdaTimeoutSeconds: 3,
      schedulePeriodMinutes: 15,
      handler: ((event: unknown) => handler(event, () => client.send({ input: {} } as never))) as never,
      ...spec,
    });
    const record = machine.startExecution({})!;
    await run.runFor(600_000);
    return { record, invocation: machine.invocations[0], sends: () => sends };
  } finally {
    await run.dispose();
  }
}

/** The Lambda error Step Functions received as the state's cause. */
function lambdaError(cause: string | undefined): { errorType: string; errorMessage: string } {
  return JSON.parse(cause ?? '{}') as { errorType: string; errorMessage: string };
}

/** The retained heap of `mb` MB (arrays of doubles, 8 bytes each, on the V8 heap). */
function retainHeap(mb: number): number[][] {
  return Array.from({ length: mb }, (_, i) => Array.from({ length: 131_072 }, (_, j) => i + j + 0.5));
}

/** Yields to the real event loop for `ms` real milliseconds without sleeping on the simulated clock. */
async function busyFor(ms: number): Promise<void> {
  const end = performance.now() + ms;
  while (performance.now() < end) await new Promise((resolve) => setImmediate(resolve));
}

describe('Lambda limits (sim/limits.ts)', () => {
  describe('in-process invocations of the local runner (sim/machines/lambdaSandbox.ts)', () => {
    it('an invocation past its timeout on the simulated clock fails with Sandbox.Timedout, and its later calls never happen', async () => {
      const late = await runOnce(async (_event, send) => {
        await new Promise((resolve) => setTimeout(resolve, 10_000));
        await send();
        return { ok: true };
      });
      expect(late.record.status).to.equal('FAILED');
      expect(late.record.error).to.equal('Sandbox.Timedout');
      expect(lambdaError(late.record.cause)).to.deep.include({
        errorType: 'Sandbox.Timedout',
        errorMessage: 'Task timed out after 3.00 seconds',
      });
      expect(late.invocation.endedAt! - late.invocation.at).to.equal(3000);
      // The handler woke up at 10 s and tried to write: Lambda had stopped it, so nothing was sent.
      expect(late.sends()).to.equal(0);

      const inTime = await runOnce(async (_event, send) => {
        await new Promise((resolve) => setTimeout(resolve, 2_000));
        await send();
        return { ok: true };
      });
      expect(inTime.record.status).to.equal('SUCCEEDED');
      expect(inTime.sends()).to.equal(1);
    });

    it('a handler that holds the clock and works past the real-time limit fails with Sandbox.Timedout', async () => {
      const spinning = await runOnce(
        async (_event, send) => {
          await busyFor(1500);
          await send();
          return { ok: true };
        },
        { holdClockWhileRunning: true, lambdaRealTimeLimitSeconds: 0.3 },
      );
      expect(spinning.record.error).to.equal('Sandbox.Timedout');
      expect(lambdaError(spinning.record.cause).errorMessage).to.equal('Task timed out after 3.00 seconds');
      // Simulated time stood still while it worked: only the real-time limit could stop it.
      expect(spinning.invocation.endedAt).to.equal(spinning.invocation.at);
      expect(spinning.invocation.realMs).to.be.within(250, 1400);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(spinning.sends()).to.equal(0);

      const quick = await runOnce(async () => (await busyFor(50), { ok: true }), {
        holdClockWhileRunning: true,
        lambdaRealTimeLimitSeconds: 0.3,
      });
      expect(quick.record.status).to.equal('SUCCEEDED');
    });

    it('an invocation whose heap grows past its memory size fails with Runtime.OutOfMemory', async () => {
      const hungry = async () => {
        const kept = retainHeap(80);
        await busyFor(300);
        return { arrays: kept.length };
      };
      const small = await runOnce(hungry, { holdClockWhileRunning: true, memorySizeMb: 32 });
      expect(small.record.status).to.equal('FAILED');
      expect(small.record.error).to.equal('Runtime.OutOfMemory');
      expect(lambdaError(small.record.cause).errorMessage).to.match(/memory size 32 MB; heap grew by \d+ MB/);

      const enough = await runOnce(hungry, { holdClockWhileRunning: true, memorySizeMb: 256 });
      expect(enough.record.status).to.equal('SUCCEEDED');
      expect(enough.invocation.result).to.deep.equal({ arrays: 80 });
    });

    it("a service's own work an invocation waits for (the fake DynamoDB writing an export) is not the function's memory", async () => {
      const waiting = await runOnce(
        async () => {
          const arrays = await asServiceWork(async () => {
            const kept = retainHeap(80);
            await busyFor(300);
            return kept.length;
          });
          return { arrays };
        },
        { holdClockWhileRunning: true, memorySizeMb: 32, lambdaTimeoutSeconds: 900 },
      );
      expect(waiting.record.status).to.equal('SUCCEEDED');
      expect(waiting.invocation.result).to.deep.equal({ arrays: 80 });
    });

    it('a response over 6 MB fails with Function.ResponseSizeTooLarge; a request over 6 MB with the Invoke API error', async () => {
      const big = await runOnce(async () => 'x'.repeat(LAMBDA_SYNC_PAYLOAD_LIMIT_BYTES));
      expect(big.record.error).to.equal('Function.ResponseSizeTooLarge');
      expect(lambdaError(big.record.cause).errorMessage).to.equal(
        `Response payload size (${LAMBDA_SYNC_PAYLOAD_LIMIT_BYTES + 2} bytes) exceeded maximum allowed payload size (6291456 bytes).`,
      );

      // Through Step Functions a request is over its 256 KiB limit first; Lambda's own limit, invoked directly:
      const host: SandboxHost = {
        clock: { setTimeout: () => 0 as never, clearTimeout: () => undefined },
        ioStarted: () => undefined,
        ioEnded: () => undefined,
      };
      let called = false;
      const invoke = (bytes: number) =>
        invokeInProcess({
          host,
          limits: { timeoutSeconds: 3, memorySizeMb: 256 },
          holdClock: false,
          handler: async () => ((called = true), 'ok'),
          event: { blob: 'x'.repeat(bytes - '{"blob":""}'.length) },
        });
      const error = await invoke(LAMBDA_SYNC_PAYLOAD_LIMIT_BYTES + 1).catch((e: Error) => e);
      expect((error as Error).name).to.equal('Lambda.RequestTooLargeException');
      expect(called).to.equal(false);
      expect(await invoke(LAMBDA_SYNC_PAYLOAD_LIMIT_BYTES)).to.equal('ok');
    });

    it('an invocation still running when the run is disposed is stopped, not sampled forever', async () => {
      const run = await hostRun(START);
      const machine = run.addMachine({
        name: 'limits',
        definition: ONE_TASK,
        functionArn: FUNCTION,
        lambdaTimeoutSeconds: 900,
        schedulePeriodMinutes: 15,
        handler: (async () => new Promise((resolve) => setTimeout(resolve, 600_000))) as never,
      });
      machine.startExecution({});
      await run.runFor(60_000);
      expect(machine.invocations[0].outcome).to.equal('ok');
      await run.dispose();
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(machine.invocations[0].outcome).to.equal('Sandbox.Stopped');
    });

    it('runs each function with its deployed memory size and timeout (functions/shared/lambdaHandlers.ts)', async () => {
      const tick = LAMBDA_HANDLERS.find((h) => h.name === 'export-tick')!;
      expect(deployedMemorySizeMb('arn:aws:lambda:us-east-1:1:function:orders-export-tick')).to.equal(
        tick.memorySizeMb,
      );
      expect(deployedMemorySizeMb('arn:aws:lambda:us-east-1:1:function:orders-copy-replica-apply')).to.equal(
        REPLICA_APPLY_HANDLER.memorySizeMb,
      );
      const run = await hostRun(START);
      try {
        expect(run.primary.spec.memorySizeMb).to.equal(tick.memorySizeMb);
        expect(run.primary.spec.lambdaTimeoutSeconds).to.equal(tick.timeoutSeconds);
      } finally {
        await run.dispose();
      }
    });
  });

  describe('a handler module in a heap-capped worker (sim/machines/lambdaWorker.ts)', function () {
    this.timeout(120_000);
    const run = (exportName: string, event: unknown, memorySizeMb = 64, timeoutSeconds = 60) =>
      invokeInWorker({ module: WORKER_FUNCTIONS, exportName, event, memorySizeMb, timeoutSeconds }).then(
        (response) => ({ response }),
        (error: Error) => ({ error: { name: error.name, message: error.message } }),
      );

    it('the apply engine holding a data file of large items in memory runs out of a small memory size; streamed it fits', async () => {
      // 300 items of 350 KB: about 105 MB held, streamed a few of them at a time.
      const event = { items: 300, itemKb: 350 };
      // The budget of a 16 GB function holds the whole file, as a bound of 20,000 records did.
      const held = await run('readLargeItems', { ...event, budgetMemorySizeMb: 16_384 }, 64);
      expect(held).to.deep.equal({
        error: {
          name: 'Runtime.OutOfMemory',
          message:
            'Runtime exited with error: signal: killed (memory size 64 MB; JavaScript heap out of memory)',
        },
      });
      expect(await run('readLargeItems', { ...event, budgetMemorySizeMb: 64 }, 64)).to.deep.equal({
        response: { streamed: 300 },
      });
      // At the replica apply Lambda's memory size a file's share is a third of a quarter of it (85 MB):
      // 105 MB of records are streamed, 70 MB held.
      const replica = REPLICA_APPLY_HANDLER.memorySizeMb;
      expect(await run('readLargeItems', { ...event, budgetMemorySizeMb: replica }, replica)).to.deep.equal({
        response: { streamed: 300 },
      });
      expect(
        await run('readLargeItems', { ...event, items: 200, budgetMemorySizeMb: replica }, replica),
      ).to.deep.equal({ response: { held: 200 } });
    });

    describe('an export of 400 KB items applied by the replica apply path into a target over HTTP', () => {
      const MEMORY_MB = 128;
      const ITEM_KB = 399;
      let target: DiscardingTable;
      beforeEach(async () => (target = await startDiscardingTable()));
      afterEach(() => target.stop());
      const apply = (event: Omit<LargeItemsApplyEvent, 'endpoint' | 'table'>) =>
        invokeInWorker({
          module: LARGE_ITEMS_APPLY,
          exportName: 'applyLargeItemsExport',
          event: { ...event, endpoint: target.endpoint, table: 'large-items' },
          memorySizeMb: MEMORY_MB,
          timeoutSeconds: 100,
        }).then(
          (response) => ({ response: response as LargeItemsApplyResult }),
          (error: Error) => ({ error: { name: error.name, message: error.message } }),
        );
      /** Every item put once, as its last image. */
      const expectAllPut = (items: number) => {
        expect(target.puts.size).to.equal(items);
        for (let i = 0; i < items; i++) {
          expect(target.puts.get(`item#${i}`)).to.deep.equal({
            count: 1,
            digest: itemDigest(largeItem(i, ITEM_KB, 'new')),
          });
        }
      };

      it('a full export of 240 MB is applied within a 128 MB memory; bounded by counts as before (data files held whole, groups of 2,000 keys) it runs out', async () => {
        // 600 items of 399 KB: 240 MB of items in 3 data files of 80 MB each.
        const event = { items: 600, itemKb: ITEM_KB, itemsPerFile: 200, type: 'FULL_EXPORT' as const };
        const bounded = await apply({ ...event, budgetMemorySizeMb: MEMORY_MB });
        if ('error' in bounded) expect.fail(`${bounded.error.name}: ${bounded.error.message}`);
        const { response } = bounded;
        expect(response).to.include({ records: 600, writes: 600, filesApplied: 3 });
        expectAllPut(600);
        expect(response.peakBufferedBytes).to.be.at.most(bufferBudgetBytes(MEMORY_MB));
        expect(response.peakHeapBytes).to.be.below(MEMORY_MB * MIB);

        // A budget that never binds, as counting records did: a data file of 200 records is held.
        target.puts.clear();
        expect(await apply({ ...event, budgetMemorySizeMb: 16_384 })).to.deep.equal({
          error: {
            name: 'Runtime.OutOfMemory',
            message: `Runtime exited with error: signal: killed (memory size ${MEMORY_MB} MB; JavaScript heap out of memory)`,
          },
        });
      });

      it('NEW_AND_OLD_IMAGES changes holding two 400 KB images each (160 MB) are applied within 128 MB', async () => {
        const event = { items: 200, itemKb: ITEM_KB, itemsPerFile: 100, type: 'INCREMENTAL_EXPORT' as const };
        const bounded = await apply({ ...event, budgetMemorySizeMb: MEMORY_MB });
        if ('error' in bounded) expect.fail(`${bounded.error.name}: ${bounded.error.message}`);
        expect(bounded.response).to.include({ records: 200, writes: 200, filesApplied: 2 });
        expectAllPut(200);
        expect(bounded.response.peakBufferedBytes).to.be.at.most(bufferBudgetBytes(MEMORY_MB));
      });
    });

    it('stops a handler that never yields at its timeout, and reports payload and handler errors as Lambda does', async () => {
      expect(await run('spin', {}, 64, 1)).to.deep.equal({
        error: { name: 'Sandbox.Timedout', message: 'Task timed out after 1.00 seconds' },
      });
      const tooLarge = await run('answerOfSize', { bytes: LAMBDA_SYNC_PAYLOAD_LIMIT_BYTES });
      expect(tooLarge).to.have.nested.property('error.name', 'Function.ResponseSizeTooLarge');
      const fits = await run('answerOfSize', { bytes: 1000 });
      expect(fits).to.deep.equal({ response: 'x'.repeat(1000) });
      expect(await run('fail', { name: 'TransientAwsError', message: 'try again' })).to.deep.equal({
        error: { name: 'TransientAwsError', message: 'try again' },
      });
      const request = await run('answerOfSize', {
        bytes: 1,
        blob: 'x'.repeat(LAMBDA_SYNC_PAYLOAD_LIMIT_BYTES),
      });
      expect(request).to.have.nested.property('error.name', 'Lambda.RequestTooLargeException');
    });
  });
});
