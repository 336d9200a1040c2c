/**
 * The work figures of `npm run bench:replica`: how much one apply invocation takes on at the default
 * settings (functions/replica/workSizing.ts), and one Distributed Map child invocation measured: the
 * replica's child step over one data file of 70,000 records into the bench's local DynamoDB server,
 * at a tenth of the default rate (what each of 10 children gets), on a simulated clock, so the
 * invocation's 600 seconds of writing take the server's time only.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { ApplyEntry } from '../apply';
import type { ExportFormatName, S3Sender } from '../format';
import { REPLICA_APPLY_HANDLER } from '../functions/shared/lambdaHandlers';
import { writeBenchExport } from './benchExport';
import { DEFAULT_PLANNER_LIMITS, type PlannedEntry } from '../functions/replica/planner';
import { initialReplicaState } from '../functions/replica/state';
import { applyChildBatch } from '../functions/replica/timedApply';
import {
  APPLY_BUDGET_SECONDS,
  MAX_CHILD_INVOCATIONS,
  MAX_MAP_CHILDREN,
  groupRecordCap,
  planDistributedWork,
} from '../functions/replica/workSizing';
import { entryDataFiles, targetKeyAttributes } from '../apply';

const DEFAULT_RATE = 1000;
const DEFAULT_CONCURRENCY = 10;
const FILE_RECORDS = 70_000;

export interface WorkFigure {
  perChildPlanned: number;
  childRate: number;
  measured: { written: number; stoppedAt: { file: number; record: number } | null; seconds: number };
  groupLargest: number;
  roundLargest: number;
  fileLargest: number;
}

/** One incremental export of `count` small items in one data file. */
async function oneFileExport(
  s3: S3Sender,
  count: number,
): Promise<{ entry: ApplyEntry; format: ExportFormatName }> {
  const items = Array.from({ length: count }, (_, i) => ({
    pk: { S: `w#${i % 997}` },
    sk: { N: String(i) },
    n: { N: String(i % 101) },
  }));
  const entry = await writeBenchExport(s3, items, {
    itemsPerFile: count,
    prefix: 'work',
    exportName: 'work',
  });
  return { entry, format: 'DYNAMODB_JSON' };
}

/** Plans at the defaults, and runs one child invocation of the replica's child step. */
export async function measureWork(
  client: DynamoDBClient,
  s3: S3Sender,
  newTable: (name: string) => Promise<void>,
): Promise<WorkFigure> {
  const sized = (counts: number[]) =>
    planDistributedWork({
      files: counts.map((itemCount, i) => ({ itemCount, dataFileS3Key: `f${i}` })),
      maxWritesPerSecond: DEFAULT_RATE,
      concurrency: DEFAULT_CONCURRENCY,
      standardOnly: false,
    });
  const many = sized(Array(100).fill(10_000));
  if (!many.ok) throw new Error(many.detail);
  const childRate = many.work.childWritesPerSecond;
  const perChildPlanned = childRate * APPLY_BUDGET_SECONDS;
  // The largest file one child applies: what it writes in the invocations it may chain.
  const fileLargest = perChildPlanned * MAX_CHILD_INVOCATIONS;

  const { entry, format } = await oneFileExport(s3, FILE_RECORDS);
  const { files } = await entryDataFiles(s3, entry);
  await newTable('work');
  const keyAttributes = await targetKeyAttributes(client, 'work');
  let clock = Date.parse('2026-11-03T00:00:00Z');
  const started = clock;
  const sleep = async (ms: number) => void (clock += ms);
  const planned: PlannedEntry = {
    ...entry,
    type: 'INCREMENTAL',
    to: new Date(started).toISOString(),
    itemCount: FILE_RECORDS,
  };
  const claim = 'bench';
  const state = {
    ...initialReplicaState(),
    inProgress: { executionId: claim, sequences: [1], mode: 'distributed' as const, startedAt: 0 },
  };
  let written = 0;
  const answer = await applyChildBatch(
    {
      settings: { replicaAlias: 'bench' } as never,
      s3,
      target: client,
      now: () => clock,
      info: () => undefined,
      readState: async () => state,
      saveState: async () => undefined,
      applyOptions: async (writesPerSecond, target) => ({
        s3,
        dynamodb: target,
        targetTable: 'work',
        keyAttributes,
        maxWritesPerSecond: writesPerSecond,
        memorySizeMb: REPLICA_APPLY_HANDLER.memorySizeMb,
        now: () => clock,
        sleep,
        onWritten: (n) => (written += n),
      }),
      recordApplied: async () => undefined,
      failureDeps: () => {
        throw new Error('the measured invocation failed');
      },
    },
    {
      Items: files.map((file) => ({
        file,
        entry: planned,
        format,
        child: { claim, writesPerSecond: childRate, budgetSeconds: APPLY_BUDGET_SECONDS },
      })),
    },
  );
  return {
    perChildPlanned,
    childRate,
    measured: { written, stoppedAt: answer.resume, seconds: (clock - started) / 1000 },
    groupLargest: Math.min(DEFAULT_PLANNER_LIMITS.groupMaxItems, groupRecordCap(DEFAULT_RATE)),
    roundLargest: DEFAULT_CONCURRENCY * perChildPlanned,
    fileLargest,
  };
}

const f = (n: number) => Math.round(n).toLocaleString('en-US');

export function printWork(work: WorkFigure): void {
  console.log(
    `\nWork per invocation (defaults: ${f(DEFAULT_RATE)} writes/s, ${DEFAULT_CONCURRENCY} children, ${REPLICA_APPLY_HANDLER.timeoutSeconds} s Lambda writing for ${APPLY_BUDGET_SECONDS} s):`,
  );
  const rows: [string, string][] = [
    [
      'items per child invocation, planned',
      `${f(work.perChildPlanned)} (${f(work.childRate)} writes/s per child x ${APPLY_BUDGET_SECONDS} s)`,
    ],
    [
      `items per child invocation, measured (one file of ${f(FILE_RECORDS)})`,
      `${f(work.measured.written)} in ${f(work.measured.seconds)} simulated s, stopped at record ${f(work.measured.stoppedAt?.record ?? FILE_RECORDS)}`,
    ],
    ['largest group one invocation applies', `${f(work.groupLargest)} records`],
    ['largest entry one round of child invocations applies', `${f(work.roundLargest)} records`],
    [
      `largest data file one child applies (${f(MAX_CHILD_INVOCATIONS)} invocations)`,
      `${f(work.fileLargest)} records`,
    ],
    ['children per Map Run at most', f(MAX_MAP_CHILDREN)],
  ];
  for (const [label, value] of rows) console.log(`  ${label.padEnd(62)}${value}`);
  console.log(
    'An entry of any size finishes: each invocation stops at its budget and the next goes on from the record it reached.',
  );
}
