/**
 * The first part of a rebaseline (`onNewEpoch: rebaseline`): the target is emptied before the new
 * epoch's full export is applied, so that an item the source deleted between the two epochs does not
 * stay in the replica (a full export lists what exists, not what was deleted).
 *
 * The plan step clears under the replica's claim (no other execution writes meanwhile), for a bounded
 * time, with a Scan of the target's keys and BatchWriteItem deletes through the apply engine's writer
 * (its write rate, its retries of throttling). Where the Scan stands is saved in the state after every
 * page, so the next plan (in the same execution: the definition loops on CONTINUE) goes on from
 * there, and a crash only repeats a page. When a Scan finds nothing left, the clearing ends and the
 * full export is applied next. The replica has no watermark meanwhile: it equals nothing until the
 * new epoch's full export is applied.
 */
import { ScanCommand, type AttributeValue, type WriteRequest } from '@aws-sdk/client-dynamodb';
import { BatchWriter, targetKeyAttributes, type DynamoDbSender, type Sleep } from '../../apply';
import type { ReplicaSettings } from './settings';
import type { ReplicaClearing, ReplicaState } from './state';

/** Seconds one plan step spends clearing before it saves and lets the definition loop. */
export const CLEAR_BUDGET_SECONDS = 300;

export interface ClearDeps {
  settings: Pick<ReplicaSettings, 'targetTableName' | 'maxWritesPerSecond'>;
  target: DynamoDbSender;
  /** Epoch milliseconds. */
  now: () => number;
  sleep?: Sleep;
  /** Keys read per Scan page. @default 1000 */
  pageSize?: number;
  saveState: (state: ReplicaState) => Promise<void>;
}

/**
 * Clears from where `state.clearing` stands for at most CLEAR_BUDGET_SECONDS (and at least one page),
 * saving after each page. Returns the state saved last: `clearing` null once the target is empty.
 * The caller holds the claim; the saved states keep it (`inProgress` as given).
 */
export async function clearTarget(deps: ClearDeps, state: ReplicaState): Promise<ReplicaState> {
  const clearing: ReplicaClearing = state.clearing ?? {
    cursor: null,
    deleted: 0,
    startedAt: Math.floor(deps.now() / 1000),
  };
  const table = deps.settings.targetTableName;
  const keys = await targetKeyAttributes(deps.target, table);
  const writer = new BatchWriter({
    dynamodb: deps.target,
    tableName: table,
    maxWritesPerSecond: deps.settings.maxWritesPerSecond,
    sleep: deps.sleep,
    now: deps.now,
  });
  const started = deps.now();
  let cursor = clearing.cursor as Record<string, AttributeValue> | null;
  let deleted = clearing.deleted;
  let current = state;
  for (;;) {
    const fromTheStart = cursor === null;
    // Consistent reads: a page must not show items already deleted, or the end would never be seen.
    const page = await deps.target.send(
      new ScanCommand({
        TableName: table,
        Limit: deps.pageSize ?? 1000,
        ConsistentRead: true,
        ProjectionExpression: keys.map((_, i) => `#k${i}`).join(', '),
        ExpressionAttributeNames: Object.fromEntries(keys.map((k, i) => [`#k${i}`, k])),
        ...(cursor ? { ExclusiveStartKey: cursor } : {}),
      }),
    );
    const deletes: WriteRequest[] = (page.Items ?? []).map((item) => ({
      DeleteRequest: { Key: Object.fromEntries(keys.map((k) => [k, item[k]])) },
    }));
    await writer.writeRound(deletes);
    deleted += deletes.length;
    cursor = page.LastEvaluatedKey ?? null;
    // Nothing else writes the target meanwhile (the claim), so a page from the start that finds
    // nothing and ends the Scan shows it empty. A pass that deleted items ends with one such page.
    const empty = fromTheStart && deletes.length === 0 && cursor === null;
    current = {
      ...current,
      clearing: empty
        ? null
        : { cursor: cursor as Record<string, unknown> | null, deleted, startedAt: clearing.startedAt },
    };
    await deps.saveState(current);
    if (empty || (deps.now() - started) / 1000 >= CLEAR_BUDGET_SECONDS) return current;
  }
}
