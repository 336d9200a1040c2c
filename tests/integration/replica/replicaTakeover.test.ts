/**
 * A claim left behind by an execution that ended (failed after the Distributed Map, stopped from the
 * console, timed out) is taken over at once when Step Functions says its execution is no longer
 * running, instead of blocking the replica for the claim's lease (a day for a Distributed Map).
 */
import { expect } from 'chai';
import { plannedEntry as entry, PLAN_EPOCH as EPOCH, PLAN_T0 as T0 } from '../../helpers/replicaPlans';
import fc from 'fast-check';
import { DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import { createReplicaHandler, type PlanOutput } from '../../../functions/replica/apply';
import { planReplica, type ChainView } from '../../../functions/replica/planner';
import { initialReplicaState, parseReplicaState, type ReplicaState } from '../../../functions/replica/state';
import { CallLog } from '../../../sim/fakeAws/service';
import { FakeSSM } from '../../../sim/fakeAws/ssm';
import { startLocalDynamoDb, type LocalDynamoDb } from '../../../sim/servers';
import { generateWorkload } from '../../../sim/workload';
import { seedReplicaParameters, testReplicaSettings } from '../../helpers/replicaSettings';
import { MemoryS3, contiguousWindows, writeChain } from '../../helpers/exportChain';
import { newWorkloadTable } from '../../helpers/localTables';

describe('replica claim takeover after an ended execution', () => {
  it('planner: a live claim of another execution is BUSY unless its execution is known to have ended', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 20 }),
        fc.constantFrom<'group' | 'distributed'>('group', 'distributed'),
        fc.integer({ min: 0, max: 1700 }),
        fc.constantFrom<boolean | undefined>(true, false, undefined),
        (applied, mode, age, ended) => {
          const state: ReplicaState = {
            ...initialReplicaState(),
            epoch: EPOCH,
            lastAppliedSequence: applied,
            watermark: Date.parse(entry(applied).to) / 1000,
            inProgress: {
              executionId: 'exec-gone',
              sequences: [applied + 1],
              mode,
              startedAt: T0 + 86_400 - age,
            },
          };
          const chain: ChainView = {
            currentEpoch: EPOCH,
            head: { lastSequence: applied + 3, watermark: entry(applied + 3).to },
            entries: [1, 2, 3].map((i) => entry(applied + i)),
          };
          const plan = planReplica(state, chain, {
            onNewEpoch: 'halt',
            bootstrap: 'write',
            executionId: 'exec-next',
            now: T0 + 86_400,
            leaseSeconds: 1800,
            claimHolderEnded: ended,
          });
          if (ended === true) {
            // Taken over from where the replica stands: the claimed entries are applied again.
            expect(plan.action).to.equal('APPLY_GROUP');
            if (plan.action === 'APPLY_GROUP') expect(plan.entries[0].sequence).to.equal(applied + 1);
          } else {
            expect(plan).to.deep.equal({ action: 'BUSY', executionId: 'exec-gone' });
          }
        },
      ),
    );
  });

  describe('apply Lambda against dynalite', () => {
    const BUCKET = 'takeover-bucket';
    const PREFIX = 'exports/orders';
    const START = T0 + 3600;
    const WINDOWS = contiguousWindows(START, 900, 4);
    const source = generateWorkload({
      from: T0,
      to: START + 7200,
      writesPerMinute: 6,
      seed: 5,
      keySpace: 60,
    });
    let ddb: LocalDynamoDb;
    let s3: MemoryS3;

    before(async () => {
      ddb = await startLocalDynamoDb();
      s3 = new MemoryS3();
      await writeChain({ s3, bucket: BUCKET, prefix: PREFIX, table: source, start: START, windows: WINDOWS });
    });
    after(async () => ddb?.stop());

    /** A replica whose full export was claimed for a Distributed Map by `holder`, an hour ago. */
    async function replicaWithStaleClaim(holderStatus: string | 'unknown' | undefined) {
      const ssm = new FakeSSM(new CallLog(), () => Date.now(), 'eu-west-1', '123456789012');
      const target = await newWorkloadTable(ddb.client, `takeover-${holderStatus ?? 'none'}`);
      const settings = testReplicaSettings({ bucket: BUCKET, prefix: PREFIX, targetTableName: target });
      const holder = 'arn:aws:states:eu-west-1:123456789012:execution:dev-orders-copy-replica:exec-1';
      const now = (START + 5 * 3600) * 1000;
      seedReplicaParameters(ssm, settings, {
        ...initialReplicaState(),
        inProgress: {
          executionId: holder,
          sequences: [0],
          mode: 'distributed',
          startedAt: new Date(now - 3600_000).toISOString(),
        },
      });
      const asked: string[] = [];
      const states =
        holderStatus === undefined
          ? undefined
          : {
              send: async (command: DescribeExecutionCommand) => {
                asked.push(command.input.executionArn!);
                if (holderStatus === 'unknown') {
                  const error = new Error('Rate exceeded');
                  error.name = 'ThrottlingException';
                  throw error;
                }
                return { executionArn: command.input.executionArn, status: holderStatus };
              },
            };
      const handler = createReplicaHandler(
        settings,
        { s3, ssm, sns: { send: async () => ({}) }, target: ddb.client, ...(states ? { states } : {}) },
        { now: () => now, log: () => undefined, sleep: async () => undefined },
      );
      const plan = (await handler({
        step: 'plan',
        executionId: 'arn:aws:states:eu-west-1:123456789012:execution:dev-orders-copy-replica:exec-2',
      })) as PlanOutput;
      const state = parseReplicaState(ssm.get(settings.stateParameterName)!);
      return { plan, state, asked, holder };
    }

    for (const status of ['FAILED', 'ABORTED', 'TIMED_OUT', 'SUCCEEDED']) {
      it(`takes over at once when the holder's execution is ${status}`, async () => {
        const r = await replicaWithStaleClaim(status);
        expect(r.asked).to.deep.equal([r.holder]);
        expect(r.plan.action).to.equal('APPLY_GROUP');
        expect(r.state.inProgress?.executionId).to.match(/exec-2$/);
      });
    }

    it('leaves a running holder alone (BUSY), and a holder it cannot ask about to its lease', async () => {
      for (const status of ['RUNNING', 'unknown']) {
        const r = await replicaWithStaleClaim(status);
        expect(r.plan.action, status).to.equal('BUSY');
        expect(r.state.inProgress?.executionId, status).to.equal(r.holder);
      }
    });

    it('without a Step Functions client the lease decides (a Distributed Map claim holds a day)', async () => {
      const r = await replicaWithStaleClaim(undefined);
      expect(r.asked).to.deep.equal([]);
      expect(r.plan.action).to.equal('BUSY');
    });
  });
});
