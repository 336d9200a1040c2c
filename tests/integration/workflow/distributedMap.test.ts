/**
 * The Distributed Map emulation (sim/machines/distributedMap.ts) and a replica definition running on the local
 * runner beside the export chain: the deployed definition's own ItemReader, ItemSelector, ItemBatcher,
 * MaxConcurrencyPath, ToleratedFailurePercentage, child Retry and Catch, served by stand-in handlers.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { createFakeAws } from '../../../sim/fakeAws';
import {
  batchItems,
  localDistributedMaps,
  LOCAL_DISTRIBUTED_MAP_RESOURCE,
  MAP_STAND_IN_TIMEOUT_SECONDS,
  resolvePath,
  resolveTemplate,
} from '../../../sim/machines/distributedMap';
import { renderReplicaDefinition } from '../../../statemachine/render';
import { hostRun } from '../../helpers/hostRun';

const FUNCTION = 'arn:aws:lambda:eu-west-1:123456789012:function:dev-orders-copy-apply';
const START = Date.parse('2026-05-01T00:00:00Z');

describe('Distributed Map emulation (sim/machines/distributedMap.ts)', () => {
  it('batches as ItemBatcher does: every item once, in order, within the item and byte limits', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ key: fc.string({ maxLength: 40 }), n: fc.nat() }), { maxLength: 60 }),
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 20, max: 400 }),
        (items, maxItems, maxBytes) => {
          const batches = batchItems(
            items,
            { MaxItemsPerBatch: maxItems, MaxInputBytesPerBatch: maxBytes },
            undefined,
          ) as {
            Items: unknown[];
          }[];
          expect(batches.flatMap((b) => b.Items)).to.deep.equal(items);
          for (const b of batches) {
            expect(b.Items.length).to.be.within(1, maxItems);
            const bytes = b.Items.reduce<number>((n, i) => n + Buffer.byteLength(JSON.stringify(i)), 0);
            if (b.Items.length > 1) expect(bytes).to.be.at.most(maxBytes);
          }
        },
      ),
    );
    expect(batchItems([1, 2], undefined, undefined)).to.deep.equal([1, 2]);
    expect(batchItems([1, 2, 3], { MaxItemsPerBatch: 2 }, { e: 1 })).to.deep.equal([
      { BatchInput: { e: 1 }, Items: [1, 2] },
      { BatchInput: { e: 1 }, Items: [3] },
    ]);
  });

  it('resolves dotted paths and payload templates, and refuses what it does not emulate', () => {
    const input = { plan: { reader: { Bucket: 'b', Key: 'k' }, n: 2 } };
    const context = { Map: { Item: { Value: { f: 1 }, Index: 3 } } };
    expect(
      resolveTemplate(
        { 'file.$': '$$.Map.Item.Value', 'at.$': '$$.Map.Item.Index', 'n.$': '$.plan.n', c: 'x' },
        input,
        context,
        's',
      ),
    ).to.deep.equal({ file: { f: 1 }, at: 3, n: 2, c: 'x' });
    expect(() => resolvePath('$.plan.missing', input, context, 's')).to.throw(/selects nothing/);
    expect(() => resolvePath('$.plan[?(@.n)]', input, context, 's')).to.throw(/not a plain dotted path/);
    expect(() =>
      localDistributedMaps({
        StartAt: 'M',
        States: {
          M: {
            Type: 'Map',
            ItemProcessor: { ProcessorConfig: { Mode: 'DISTRIBUTED' }, StartAt: 'T', States: {} },
            ResultWriter: { Resource: 'arn:aws:states:::s3:putObject' },
            End: true,
          },
        },
      }),
    ).to.throw(/ResultWriter is not emulated/);
  });

  it("stands in for the replica definition's two Distributed Maps, keeping their Catch, ResultPath and Next", () => {
    const rendered = renderReplicaDefinition({ ReplicaFunctionArn: FUNCTION });
    const { definition, maps } = localDistributedMaps(rendered);
    const original = rendered.States as Record<string, Record<string, unknown>>;
    const local = definition.States as Record<string, Record<string, unknown>>;
    expect([...maps.keys()].sort()).to.deep.equal([
      'Apply data files in Express children',
      'Apply data files in Standard children',
    ]);
    for (const [name, map] of maps) {
      expect(local[name]).to.deep.equal({
        Type: 'Task',
        Resource: LOCAL_DISTRIBUTED_MAP_RESOURCE,
        TimeoutSeconds: MAP_STAND_IN_TIMEOUT_SECONDS,
        Comment: original[name].Comment,
        ResultPath: null,
        Catch: original[name].Catch,
        Next: original[name].Next,
      });
      const processor = original[name].ItemProcessor as { StartAt: string; States: unknown };
      expect(map.processor).to.deep.equal({ StartAt: processor.StartAt, States: processor.States });
    }
    for (const name of Object.keys(original).filter((n) => !maps.has(n)))
      expect(local[name], name).to.deep.equal(original[name]);
  });

  describe('the rendered replica definition on the local runner (stand-in apply handler)', () => {
    /** Runs one replica execution: plan -> Distributed Map over `lines` data files -> commit or check. */
    async function runReplica(options: {
      failBatch?: number;
      childType: 'EXPRESS' | 'STANDARD';
      /** Data files of the entry. @default 10 */
      files?: number;
      filesPerBatch?: number;
      concurrency?: number;
    }) {
      const aws = createFakeAws();
      const run = await hostRun(START, aws);
      const events: Record<string, any>[] = [];
      let planned = 0;
      let running = 0;
      let maxRunning = 0;
      const files = Array.from({ length: options.files ?? 10 }, (_, i) => ({
        dataFileS3Key: `data/${i}.json.gz`,
        itemCount: i,
      }));
      try {
        const machine = run.addMachine({
          name: 'dev-orders-copy-replica',
          definition: renderReplicaDefinition({ ReplicaFunctionArn: FUNCTION }),
          functionArn: FUNCTION,
          lambdaTimeoutSeconds: 900,
          schedulePeriodMinutes: 15,
          readObject: async (bucket, key) => {
            expect([bucket, key]).to.deep.equal(['b', 'exports/manifest-files.json']);
            return files.map((f) => JSON.stringify(f)).join('\n') + '\n';
          },
          handler: (async (event: Record<string, any>) => {
            events.push(event);
            if (event.step === 'plan') {
              planned += 1;
              if (planned > 1) return { action: 'IDLE' };
              return {
                action: 'APPLY_DISTRIBUTED',
                epoch: 'E',
                entry: { sequence: 4 },
                reader: { Bucket: 'b', Key: 'exports/manifest-files.json' },
                format: 'DYNAMODB_JSON',
                childType: options.childType,
                concurrency: options.concurrency ?? 2,
                filesPerBatch: options.filesPerBatch ?? 4,
                child: { claim: 'exec', writesPerSecond: 500, budgetSeconds: 200 },
              };
            }
            if (event.step === 'applyFiles') {
              running += 1;
              maxRunning = Math.max(maxRunning, running);
              await new Promise((r) => setTimeout(r, 1000));
              running -= 1;
              if (event.Items[0].file.itemCount === options.failBatch) {
                const error = new Error('target unreachable');
                error.name = 'Boom';
                throw error;
              }
              // What the apply Lambda answers a child: done, and what it wrote.
              return { done: true, resume: null, files: event.Items.length, writes: 64_000 };
            }
            if (event.step === 'checkFailedEntry') {
              const error = new Error('applying chain entry 4 failed');
              error.name = 'ReplicaApplyFailed';
              throw error;
            }
            return { ok: true };
          }) as never,
        });
        const record = machine.startExecution({})!;
        await run.runFor(3600_000);
        return { record, events, maxRunning };
      } finally {
        await run.dispose();
      }
    }

    it('reads the items, batches 4 files per child, runs at most MaxConcurrencyPath children, then records the entry', async () => {
      const { record, events, maxRunning } = await runReplica({ childType: 'EXPRESS' });
      expect(record.status).to.equal('SUCCEEDED');
      const batches = events
        .filter((e) => e.step === 'applyFiles')
        .map((e) => e.Items.map((i: any) => i.file.itemCount));
      expect(batches).to.deep.equal([
        [0, 1, 2, 3],
        [4, 5, 6, 7],
        [8, 9],
      ]);
      // Each item carries the entry and format, as the definition's ItemSelector adds them.
      expect(events.find((e) => e.step === 'applyFiles')).to.deep.equal({
        step: 'applyFiles',
        from: null,
        Items: [0, 1, 2, 3].map((i) => ({
          file: { dataFileS3Key: `data/${i}.json.gz`, itemCount: i },
          entry: { sequence: 4 },
          format: 'DYNAMODB_JSON',
          child: { claim: 'exec', writesPerSecond: 500, budgetSeconds: 200 },
        })),
      });
      expect(maxRunning).to.equal(2);
      expect(events.map((e) => e.step)).to.deep.equal([
        'plan',
        'applyFiles',
        'applyFiles',
        'applyFiles',
        'commit',
        'plan',
      ]);
      expect(record.statesEntered['Apply data files in Express children']).to.equal(1);
      // Each child: start, apply, is it applied?, applied.
      expect(record.children).to.deep.equal({ executions: 3, failed: 0, transitions: 12 });
    });

    it("8,000 children's answers do not accumulate: the Map's collected results stay far under 256 KiB", async () => {
      const { record, events } = await runReplica({
        childType: 'EXPRESS',
        files: 32_000,
        filesPerBatch: 4,
        concurrency: 1_000,
      });
      expect(record.status, record.cause).to.equal('SUCCEEDED');
      expect(record.children).to.include({ executions: 8_000, failed: 0 });
      expect(events.filter((e) => e.step === 'commit')).to.have.length(1);
    });

    it('a child that keeps failing fails the Map past its tolerance; the Catch checks the entry and the execution fails', async () => {
      const { record, events } = await runReplica({ childType: 'STANDARD', failBatch: 4 });
      // The child's own Retry: States.TaskFailed twice more, then the child fails.
      expect(events.filter((e) => e.step === 'applyFiles' && e.Items[0].file.itemCount === 4)).to.have.length(
        3,
      );
      expect(record.caught).to.deep.equal(['Apply data files in Standard children']);
      expect(events.map((e) => e.step)).to.not.include('commit');
      expect(events.map((e) => e.step)).to.include('checkFailedEntry');
      expect(record.status).to.equal('FAILED');
      expect(record.error).to.equal('ReplicaApplyFailed');
      expect(record.children.failed).to.equal(1);
    });
  });
});
