/**
 * The operator's commands against a running execution, in every interleaving that matters.
 *
 * An execution E of the replica's workflow runs through the real apply Lambda (functions/replica/apply.ts)
 * over an in-memory chain and target: a grouped apply (plan, claim, applyGroup, record, ...) or a
 * Distributed Map (plan, claim, applyFiles children, commit, ...). The operator's writes of the action
 * parameter (PAUSE, then RUN, then REBUILD with the target emptied, as `dce replica` does them) are
 * placed before each of E's SSM calls, in every combination of positions; after each write, the next
 * scheduled execution runs whole at that point. A third variant moves the clock 1000 s per SSM call of
 * E, so E's grouped claims (30 minutes) expire under it, and stops the other executions from outside
 * after their plan step (leaving their claim or rebuild behind): there E's entries must not be recorded
 * over a rebuild (functions/replica/apply.ts `recordApplied`), or the replica would claim entries the
 * emptied target does not hold.
 *
 * After E ends, executions run until the replica is quiet. In every interleaving:
 * - the action parameter holds exactly what the operator wrote (the workflow never writes it);
 * - no execution that started while PAUSE was the action claimed anything, and E claimed at most the
 *   one apply it was already claiming when the pause landed;
 * - the REBUILD was carried out, once (`rebuildVersion` is its version), and the replica is then either
 *   equal to the source at HEAD, or halted TARGET_NOT_EMPTY (E wrote into the emptied target before its
 *   claim ended: loud, never a replica that claims entries it does not hold).
 */
import { expect } from 'chai';
import { testReplicaSettings } from '../../helpers/replicaSettings';
import { BatchWriteItemCommand, DescribeTableCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import { createReplicaHandler, type PlanOutput } from '../../../functions/replica/apply';
import { initialReplicaParameterValues } from '../../../functions/replica/action';
import { parseReplicaState, type ReplicaState } from '../../../functions/replica/state';
import type { Item } from '../../../format';
import { CallLog } from '../../../sim/fakeAws/service';
import { FakeSSM } from '../../../sim/fakeAws/ssm';
import { canonicalTable, generateWorkload, WORKLOAD_KEY_SCHEMA } from '../../../sim/workload';
import { MemoryS3, contiguousWindows, writeChain } from '../../helpers/exportChain';
import { planItems, runChild } from '../../helpers/replicaChildren';

const BUCKET = 'replica-bucket';
const PREFIX = 'exports/orders';
const STATE = '/dynamodb-continuous-exports/dev/orders/replicas/copy/state';
const ACTION = '/dynamodb-continuous-exports/dev/orders/replicas/copy/action';
const T0 = Date.UTC(2026, 10, 3) / 1000;
const START = T0 + 3600;
const WINDOWS = contiguousWindows(START, 900, 2);
const HEAD = WINDOWS.length;
const source = generateWorkload({
  from: T0,
  to: WINDOWS[1][1] + 3600,
  writesPerMinute: 2,
  seed: 9,
  keySpace: 12,
});
const EXPECTED = canonicalTable(source.snapshotBefore(WINDOWS[HEAD - 1][1]));

/** The target table in memory: the calls the apply engine and the bootstrap check make. */
class MemoryTable {
  readonly items = new Map<string, Item>();
  async send(command: unknown): Promise<unknown> {
    if (command instanceof DescribeTableCommand)
      return {
        Table: {
          KeySchema: WORKLOAD_KEY_SCHEMA,
        },
      };
    if (command instanceof ScanCommand) return { Items: [...this.items.values()].slice(0, 1) };
    if (command instanceof BatchWriteItemCommand) {
      for (const request of Object.values(command.input.RequestItems!)[0]) {
        const item = (request.PutRequest?.Item ?? request.DeleteRequest?.Key) as Item;
        const key = JSON.stringify([item.pk, item.sk]);
        if (request.PutRequest) this.items.set(key, item);
        else this.items.delete(key);
      }
      return { UnprocessedItems: {} };
    }
    throw new Error(`unexpected target call ${(command as object).constructor.name}`);
  }
}

type OperatorWrite = 'PAUSE' | 'RUN' | 'REBUILD';
const WRITES: OperatorWrite[] = ['PAUSE', 'RUN', 'REBUILD'];

interface Variant {
  name: string;
  /** Entries of at least this many records go to the Distributed Map. */
  distributedMinItems: number;
  /** Seconds the clock moves before each of E's SSM calls. */
  tick: number;
  /** The executions after the operator's writes are stopped from outside after their first plan. */
  othersStopAfterPlan?: boolean;
}

/**
 * Every ordered triple of positions in 0..n when there are at most MAX_TRIPLES of them; otherwise
 * every triple whose positions are all among the first and last calls or each other's neighbours,
 * plus an even spread of the rest (deterministic), so a long execution stays within the suite's time.
 */
const MAX_TRIPLES = 600;
function orderedTriples(n: number): number[][] {
  const all: number[][] = [];
  for (let p = 0; p <= n; p++) for (let r = p; r <= n; r++) for (let b = r; b <= n; b++) all.push([p, r, b]);
  if (all.length <= MAX_TRIPLES) return all;
  const edge = (x: number) => x <= 1 || x >= n - 1;
  const near = ([p, r, b]: number[]) => (edge(p) && edge(r) && edge(b)) || (r - p <= 1 && b - r <= 1);
  const kept = all.filter(near);
  const rest = all.filter((t) => !near(t));
  const stride = rest.length / Math.max(1, MAX_TRIPLES - kept.length);
  for (let i = 0; i < rest.length && kept.length < MAX_TRIPLES; i += Math.max(1, stride))
    kept.push(rest[Math.floor(i)]);
  return kept;
}

describe('dce replica pause, resume and rebuild against a running execution (every interleaving, or an even spread of them)', function () {
  this.timeout(600_000);
  let s3: MemoryS3;
  before(async () => {
    s3 = new MemoryS3();
    await writeChain({
      s3,
      bucket: BUCKET,
      prefix: PREFIX,
      table: source,
      start: START,
      windows: WINDOWS,
      sink: { itemsPerFile: 4 },
    });
  });

  /** One run: the operator's writes before E's SSM calls number `positions` (E has made that many calls). */
  async function run(variant: Variant, positions: number[]) {
    const clock = { now: WINDOWS[HEAD - 1][1] + 600 };
    const ssm = new FakeSSM(new CallLog(), () => clock.now * 1000, 'eu-west-1', '123456789012');
    const initial = initialReplicaParameterValues();
    ssm.set(STATE, initial.state);
    ssm.set(ACTION, initial.action);
    const target = new MemoryTable();
    const workflowActionWrites: string[] = [];
    const violations: string[] = [];
    let claimsByEWhilePaused = 0;
    let lastClaim: string | null = null;
    const settings = testReplicaSettings({
      bucket: BUCKET,
      prefix: PREFIX,
      stateParameterName: STATE,
      actionParameterName: ACTION,
      maxWritesPerSecond: 1_000_000,
      notificationTopicArn: 'arn:aws:sns:eu-west-1:123456789012:t',
    });
    /** Watches every write of the workflow: never the action; no new claim while paused (but E's one). */
    const watch = (who: string, command: unknown) => {
      if (!(command instanceof PutParameterCommand)) return;
      if (command.input.Name === ACTION) workflowActionWrites.push(who);
      if (command.input.Name !== STATE) return;
      const claim = (JSON.parse(command.input.Value!) as ReplicaState).inProgress;
      const id = claim ? `${claim.executionId}@${claim.startedAt}` : null;
      if (id !== null && id !== lastClaim && ssm.get(ACTION) === 'PAUSE') {
        if (who !== 'E') violations.push(`${who} claimed while paused`);
        else if (++claimsByEWhilePaused > 1) violations.push('E claimed twice while paused');
      }
      lastClaim = id;
    };
    let written = 0;
    let calls = 0;
    // A write falls due before E's call number `positions[i]`; those E never reaches (another
    // execution did its work) come after its last call.
    const operator = async (final = false) => {
      while (written < positions.length && (final || positions[written] <= calls)) {
        const value = WRITES[written++];
        ssm.set(ACTION, value);
        if (value !== 'PAUSE') claimsByEWhilePaused = 0;
        // dce replica rebuild: the operator has emptied the target first.
        if (value === 'REBUILD') target.items.clear();
        await execution(`F-${written}`, false, variant.othersStopAfterPlan ? 1 : 20);
      }
    };
    const handlerFor = (who: string, isE: boolean) =>
      createReplicaHandler(
        settings,
        {
          s3,
          sns: { send: async () => ({}) } as never,
          target,
          ssm: {
            send: async (command: any) => {
              if (isE) {
                await operator();
                calls++;
                clock.now += variant.tick;
              }
              watch(who, command);
              return ssm.send(command);
            },
          } as never,
        },
        {
          now: () => clock.now * 1000,
          log: () => undefined,
          info: () => undefined,
          limits: { distributedMinItems: variant.distributedMinItems, groupMaxEntries: 2 },
          sleep: async () => undefined,
        },
      );

    /** One execution, step for step as the definition runs it (the Map's reader and batcher emulated). */
    async function execution(id: string, isE: boolean, plans = 20): Promise<string[]> {
      const handler = handlerFor(isE ? 'E' : id, isE);
      const steps: string[] = [];
      for (let i = 0; i < 20; i++) {
        const plan = (await handler({ step: 'plan', executionId: id })) as PlanOutput;
        steps.push(plan.action);
        if (steps.length >= plans) return steps; // stopped from outside
        // A step that fails (an apply whose claim moved writes nothing and fails) fails the execution.
        try {
          if (plan.action === 'APPLY_GROUP') {
            await handler({
              step: 'applyGroup',
              executionId: id,
              epoch: plan.epoch!,
              entries: plan.entries!,
              resume: plan.resume,
            });
          } else if (plan.action === 'APPLY_DISTRIBUTED') {
            const items = await planItems(s3, plan);
            try {
              for (let b = 0; b < items.length; b += 2) await runChild(handler, items.slice(b, b + 2));
            } catch {
              await handler({
                step: 'checkFailedEntry',
                executionId: id,
                epoch: plan.epoch!,
                entry: plan.entry!,
              });
            }
            await handler({ step: 'commit', executionId: id, epoch: plan.epoch!, entry: plan.entry! });
          } else if (plan.action !== 'REBASELINE' && plan.action !== 'CONTINUE') return steps;
        } catch {
          steps.push('FAILED');
          return steps;
        }
      }
      throw new Error(`execution ${id} did not end`);
    }

    await execution('E', true);
    await operator(true);
    // Then the schedule goes on until the replica is quiet (past every lease).
    clock.now += 2 * 86_400;
    for (let i = 0; i < 4; i++) if ((await execution(`G-${i}`, false)).length === 1) break;
    return { ssm, target, calls, violations, workflowActionWrites };
  }

  function check(result: Awaited<ReturnType<typeof run>>, where: string) {
    const { ssm, target, violations, workflowActionWrites } = result;
    expect(workflowActionWrites, where).to.deep.equal([]);
    expect(violations, where).to.deep.equal([]);
    expect(ssm.get(ACTION), where).to.equal('REBUILD');
    const version = ssm.parameters.get(ACTION)!.Version;
    expect(version, where).to.equal(1 + WRITES.length);
    const state = parseReplicaState(ssm.get(STATE)!);
    expect(state.rebuildVersion, where).to.equal(version);
    expect(state.inProgress, where).to.equal(null);
    if (state.status === 'HALTED') {
      expect(state.halt?.reason, where).to.equal('TARGET_NOT_EMPTY');
      return 'halted';
    }
    expect(state.lastAppliedSequence, where).to.equal(HEAD);
    expect(canonicalTable([...target.items.values()]), where).to.deep.equal(EXPECTED);
    return 'equal';
  }

  const variants: Variant[] = [
    { name: 'grouped apply', distributedMinItems: 1_000_000, tick: 0 },
    { name: 'Distributed Map', distributedMinItems: 1, tick: 0 },
    {
      name: 'grouped apply, claims expiring, the other executions stopped after their plan',
      distributedMinItems: 1_000_000,
      tick: 1000,
      othersStopAfterPlan: true,
    },
  ];
  for (const variant of variants) {
    it(`${variant.name}: pause, resume and rebuild around E's SSM calls (every position, or ${MAX_TRIPLES} spread over them)`, async () => {
      // E alone, to count its SSM calls (the writes all after it).
      const alone = await run(variant, [Infinity, Infinity, Infinity]);
      const n = alone.calls;
      expect(n).to.be.greaterThan(8);
      const outcomes = { equal: 0, halted: 0 };
      for (const positions of orderedTriples(n)) {
        outcomes[check(await run(variant, positions), `${variant.name}, writes before calls ${positions}`)]++;
      }
      // Not vacuous: a rebuild after E's last write gives an equal replica; one while E applies may halt.
      expect(outcomes.equal).to.be.greaterThan(0);
    });
  }
});
