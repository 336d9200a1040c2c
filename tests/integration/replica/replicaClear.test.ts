/**
 * Emptying the target for a rebaseline (functions/replica/clear.ts): bounded per plan step, resumed
 * from the saved Scan position, safe to repeat after a crash, and ended only by a Scan that finds the
 * table empty.
 */
import { expect } from 'chai';
import { BatchWriteItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { clearTarget, CLEAR_BUDGET_SECONDS } from '../../../functions/replica/clear';
import { planReplica } from '../../../functions/replica/planner';
import { initialReplicaState, type ReplicaState } from '../../../functions/replica/state';
import { startLocalDynamoDb, type LocalDynamoDb } from '../../../sim/servers';
import { deriveReplicaStatus, formatReplicaStatuses } from '../../../cli/consumers/replicaStatus';
import { newWorkloadTable } from '../../helpers/localTables';

describe('emptying the target for a rebaseline (functions/replica/clear.ts)', () => {
  let ddb: LocalDynamoDb;
  before(async () => {
    ddb = await startLocalDynamoDb();
  });
  after(async () => ddb?.stop());

  async function tableWith(name: string, count: number): Promise<string> {
    const table = await newWorkloadTable(ddb.client, name);
    for (let i = 0; i < count; i += 25) {
      const items = Array.from({ length: Math.min(25, count - i) }, (_, j) => ({
        PutRequest: { Item: { pk: { S: `k${i + j}` }, sk: { N: String(i + j) }, v: { S: 'x'.repeat(50) } } },
      }));
      await ddb.client.send(new BatchWriteItemCommand({ RequestItems: { [table]: items } }));
    }
    return table;
  }

  const count = async (table: string) =>
    (await ddb.client.send(new ScanCommand({ TableName: table, Select: 'COUNT', ConsistentRead: true })))
      .Count;

  it('the planner clears before anything else of the new epoch is applied', () => {
    const state: ReplicaState = {
      ...initialReplicaState(),
      epoch: 'E2',
      clearing: { cursor: null, deleted: 0, startedAt: Date.parse('2026-11-03T00:00:00.000Z') / 1000 },
    };
    const chain = {
      currentEpoch: 'E2',
      head: { lastSequence: 0, watermark: '2026-11-03T00:00:00.000Z' },
      entries: [
        {
          sequence: 0,
          type: 'FULL' as const,
          to: '2026-11-03T00:00:00.000Z',
          itemCount: 5,
          exportArn: 'a',
          bucket: 'b',
          manifestSummaryKey: 'k',
        },
      ],
    };
    const context = {
      onNewEpoch: 'rebaseline' as const,
      bootstrap: 'write' as const,
      executionId: 'x',
      now: 0,
      leaseSeconds: 1800,
    };
    expect(planReplica(state, chain, context)).to.deep.equal({ action: 'CLEAR', epoch: 'E2' });
    expect(planReplica({ ...state, clearing: null }, chain, context).action).to.equal('APPLY_GROUP');
  });

  it('clears in bounded steps from the saved position, repeats a page after a crash, and ends on an empty Scan', async () => {
    const table = await tableWith('clear-steps', 60);
    let clock = 0;
    const saved: ReplicaState[] = [];
    let crashOnSave = 3;
    const deps = {
      settings: { targetTableName: table, maxWritesPerSecond: 100_000 },
      target: ddb.client,
      // Each reading of the clock moves it on, so one step spends its budget after a few pages.
      now: () => (clock += (CLEAR_BUDGET_SECONDS / 3) * 1000),
      pageSize: 7,
      saveState: async (s: ReplicaState) => {
        if (--crashOnSave === 0) throw new Error('crash before the save');
        saved.push(s);
      },
    };
    let state: ReplicaState = {
      ...initialReplicaState(),
      epoch: 'E2',
      inProgress: {
        executionId: 'x',
        sequences: [],
        mode: 'group',
        startedAt: Date.parse('2026-11-03T00:00:00.000Z') / 1000,
      },
      clearing: { cursor: null, deleted: 0, startedAt: Date.parse('2026-11-03T00:00:00.000Z') / 1000 },
    };
    let steps = 0;
    while (state.clearing) {
      steps += 1;
      expect(steps).to.be.lessThan(50);
      try {
        state = await clearTarget(deps, state);
      } catch (err) {
        expect((err as Error).message).to.equal('crash before the save');
        state = saved[saved.length - 1]; // the next plan reads what was saved last
      }
    }
    expect(await count(table)).to.equal(0);
    expect(steps).to.be.greaterThan(2);
    // Every save keeps the claim; the last one ends the clearing.
    expect(saved.every((s) => s.inProgress?.executionId === 'x')).to.equal(true);
    expect(saved[saved.length - 1].clearing).to.equal(null);
    // The count misses the page whose save was lost in the crash (its items were deleted all the same).
    expect(saved[saved.length - 2].clearing!.deleted).to.be.within(60 - 7, 60);
  });
});

describe('dce status of a replica emptying its target for a rebaseline', () => {
  it('shows the emptying, since when and how many items are gone', () => {
    const status = deriveReplicaStatus({
      ref: {
        alias: 'copy',
        stateParameterName: '/dce/dev/orders/replicas/copy/state',
        targetTableName: 'orders-copy',
      },
      stateText: JSON.stringify({
        ...initialReplicaState(),
        epoch: 'E2',
        clearing: { cursor: { pk: { S: 'k9' } }, deleted: 1200, startedAt: '2026-11-03T00:00:00.000Z' },
      }),
      now: Date.parse('2026-11-03T00:10:00.000Z') / 1000,
      chain: { epoch: 'E2', watermark: null },
    });
    expect(status.clearing).to.deep.equal({ deleted: 1200, startedAt: '2026-11-03T00:00:00.000Z' });
    expect(status.watermark).to.equal(null);
    expect(formatReplicaStatuses([status])).to.match(
      /emptying: +the target for the new epoch since 2026-11-03T00:00:00.000Z \(1200 items deleted so far\)/,
    );
  });
});
