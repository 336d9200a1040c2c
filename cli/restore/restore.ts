/**
 * `dce restore`: recreates a table as of a committed window boundary of the chain (cli/restore/restorePoint.ts),
 * in any Region and account the operator's DynamoDB client reaches, from the primary bucket or from a
 * copy of it (the chain's layout is the same in both; the copy's bucket name is what is passed).
 *
 * Two steps, each resumable from a small state file:
 *
 * 1. Bootstrap. `import`: DynamoDB ImportTable creates the new table from the epoch's full export
 *    (the request the replica's import bootstrap builds, `replicaImportRequest`, with the same
 *    idempotent ClientToken), then DescribeImport until it ends; the imported item count must equal the
 *    full export's. `write`: an existing, empty table receives the full export as writes.
 * 2. Apply. The incremental exports up to the chosen entry, with the one apply engine through
 *    `replayChain` (cli/replay.ts) and its checkpoint file (`<state file>.apply.json`), so an
 *    interruption inside an export continues after its last applied data file.
 *
 * The state file records the epoch, the chosen entry and the import, so `resume` goes on with the same
 * restore; a state for another table, epoch or point is refused.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import {
  DescribeImportCommand,
  ImportTableCommand,
  type ImportTableDescription,
  type TableDescription,
} from '@aws-sdk/client-dynamodb';
import { targetIsEmpty, type DynamoDbSender } from '../../apply';
import type { S3Sender } from '../../format';
import { replicaImportRequest, type ImportTargetPlace } from '../../functions/replica/importBootstrap';
import { readChain } from '../chainReader';
import { replayChain, type ReplayCheckpoint, type ReplayProgress, type ReplayReport } from '../replay';
import { chooseRestorePoint, type RestorePoint, type RestoreTarget } from './restorePoint';
import { chainOrderProblems } from '../verify';

/** Where a restore stands; written to the state file after every step. */
export interface RestoreState {
  kind: 'dce-restore';
  epoch: string;
  targetTable: string;
  bucket: string;
  prefix: string;
  bootstrap: 'import' | 'write';
  point: RestorePoint;
  /** The import, once ImportTable answered. */
  import?: { importArn: string; status: string; importedItemCount?: number };
  /** Writes into the target began (its emptiness was checked before). */
  applyStarted?: boolean;
  completed?: boolean;
}

/** Progress: the import's status while it runs, then the apply's. */
export type RestoreProgress =
  { phase: 'import'; status: string; importedItemCount?: number } | ({ phase: 'apply' } & ReplayProgress);

export interface RestoreOptions {
  /** S3 of the bucket read: the primary bucket or a copy. */
  s3: S3Sender;
  /** DynamoDB of the new table's Region and account. */
  dynamodb: DynamoDbSender;
  bucket: string;
  prefix: string;
  /** Account that owns `bucket`, when it is not the caller's (ImportTable's S3BucketOwner). */
  bucketOwnerAccountId?: string;
  targetTable: string;
  /** The point: a time (rounded down to a boundary) or a sequence. */
  to: RestoreTarget;
  /** @default the live epoch (CURRENT.json), or the state file's when resuming */
  epoch?: string;
  bootstrap: 'import' | 'write';
  /**
   * The table ImportTable creates is shaped after this description (key schema, attribute
   * definitions, billing, GSIs, SSE): DescribeTable of the source, or a key schema the operator gives.
   */
  source?: TableDescription;
  /** The new table's Region and account, as far as known: the source's KMS key is carried only there. */
  targetPlace?: ImportTargetPlace;
  /** The state file (JSON); its apply checkpoint is `<stateFile>.apply.json`. */
  stateFile: string;
  /** Continue the restore recorded in the state file. */
  resume?: boolean;
  concurrency?: number;
  memorySizeMb?: number;
  onProgress?: (progress: RestoreProgress) => void;
  /** Waits between DescribeImport calls. @default 10 s with setTimeout */
  sleep?: (ms: number) => Promise<void>;
  pollMs?: number;
}

export interface RestoreReport {
  epoch: string;
  targetTable: string;
  point: RestorePoint;
  bootstrap: 'import' | 'write';
  import?: RestoreState['import'];
  apply: ReplayReport;
  resumed: boolean;
  durationMs: number;
}

/** The apply checkpoint beside the state file. */
export function applyCheckpointFile(stateFile: string): string {
  return `${stateFile}.apply.json`;
}

function writeJson(path: string, value: unknown): void {
  // Write then rename: a crash never leaves a half-written file.
  writeFileSync(`${path}.tmp`, `${JSON.stringify(value, null, 2)}\n`);
  renameSync(`${path}.tmp`, path);
}

function readState(path: string): RestoreState {
  if (!existsSync(path)) throw new Error(`no restore state file ${path}: nothing to resume`);
  const state = JSON.parse(readFileSync(path, 'utf8')) as Partial<RestoreState>;
  if (state.kind !== 'dce-restore' || typeof state.epoch !== 'string' || !state.point)
    throw new Error(`${path} is not a dce restore state file`);
  return state as RestoreState;
}

/**
 * The point `to` of the chain in `bucket`/`prefix` (the live epoch unless `epoch`), checked contiguous
 * up to it: a gap or overlap would recreate a table that never existed.
 */
export async function checkedRestorePoint(
  s3: S3Sender,
  location: { bucket: string; prefix: string; epoch?: string },
  to: RestoreTarget,
): Promise<{ epoch: string; point: RestorePoint }> {
  const chain = await readChain(s3, location.bucket, location.prefix, location.epoch);
  // Only committed entries: the writer puts an entry before it moves HEAD, and a copy lags the same way.
  const committed = chain.entries.filter((e) => e.entry.sequence <= chain.head.lastSequence);
  const point = chooseRestorePoint(
    committed.map((e) => e.entry),
    to,
  );
  const broken = chainOrderProblems(chain.entries.filter((e) => e.entry.sequence <= point.sequence)).filter(
    (p) => p.kind !== 'window-length',
  );
  if (broken.length > 0)
    throw new Error(
      `chain of epoch ${chain.epoch} is not contiguous up to sequence ${point.sequence}: ${broken.map((p) => `${p.key}: ${p.message}`).join('; ')}`,
    );
  return { epoch: chain.epoch, point };
}

/** The restore `options` asks for, checked against a state being resumed. */
async function plannedState(options: RestoreOptions, previous?: RestoreState): Promise<RestoreState> {
  const chain = await checkedRestorePoint(
    options.s3,
    { bucket: options.bucket, prefix: options.prefix, epoch: options.epoch ?? previous?.epoch },
    options.to,
  );
  const point = chain.point;
  const state: RestoreState = {
    kind: 'dce-restore',
    epoch: chain.epoch,
    targetTable: options.targetTable,
    bucket: options.bucket,
    prefix: options.prefix,
    bootstrap: options.bootstrap,
    point,
  };
  if (previous) {
    const differs = (['epoch', 'targetTable', 'bootstrap'] as const).filter((k) => previous[k] !== state[k]);
    if (previous.point.sequence !== point.sequence) differs.push('point' as never);
    if (differs.length > 0)
      throw new Error(
        `the restore in ${options.stateFile} is of ${previous.targetTable} to sequence ${previous.point.sequence} ` +
          `(epoch ${previous.epoch}, ${previous.bootstrap}); this one differs in ${differs.join(', ')}`,
      );
    return { ...previous, bucket: options.bucket, prefix: options.prefix };
  }
  return state;
}

function importFacts(d: ImportTableDescription | undefined): NonNullable<RestoreState['import']> {
  if (!d?.ImportArn) throw new Error('ImportTable/DescribeImport answered without an ImportArn');
  return {
    importArn: d.ImportArn,
    status: d.ImportStatus ?? 'IN_PROGRESS',
    ...(d.ImportedItemCount !== undefined ? { importedItemCount: d.ImportedItemCount } : {}),
  };
}

/** ImportTable of the epoch's full export into the new table, then DescribeImport until it ends. */
async function importFullExport(options: RestoreOptions, state: RestoreState, save: () => void) {
  const chain = await readChain(options.s3, options.bucket, options.prefix, state.epoch);
  const full = chain.entries[0]?.entry;
  if (!full || full.type !== 'FULL')
    throw new Error(`epoch ${state.epoch} does not start with a full export`);
  if (!state.import) {
    if (!options.source)
      throw new Error(
        'an import bootstrap needs the table description or key schema: the import was not recorded as started, so it is sent now (--key-schema, or the source table readable)',
      );
    // The export's files are read from the bucket given (a copy keeps the primary's keys).
    const owner =
      options.bucketOwnerAccountId ??
      (options.bucket === full.bucket ? full.bucketOwnerAccountId : undefined);
    const { input } = replicaImportRequest(
      { ...full, bucket: options.bucket, bucketOwnerAccountId: owner },
      options.prefix,
      options.source,
      options.targetTable,
      options.targetPlace,
    );
    const out = await options.dynamodb.send(new ImportTableCommand(input));
    state.import = importFacts(out.ImportTableDescription);
    save();
  }
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  if (state.import.status !== 'IN_PROGRESS' && state.import.status !== 'COMPLETED')
    throw new Error(
      `import ${state.import.importArn} ended ${state.import.status}: this restore cannot go on. Delete table ${state.targetTable} if the import created it, then start a new restore (another --state file, or remove ${options.stateFile} and ${applyCheckpointFile(options.stateFile)})`,
    );
  while (state.import.status === 'IN_PROGRESS') {
    options.onProgress?.({ phase: 'import', ...state.import });
    const out = await options.dynamodb.send(new DescribeImportCommand({ ImportArn: state.import.importArn }));
    const d = out.ImportTableDescription;
    state.import = importFacts(d);
    save();
    if (state.import.status !== 'IN_PROGRESS' && state.import.status !== 'COMPLETED')
      throw new Error(
        `import ${state.import.importArn} ended ${state.import.status}: ${d?.FailureCode ?? ''} ${d?.FailureMessage ?? ''}`.trim(),
      );
    if (state.import.status === 'IN_PROGRESS') await sleep(options.pollMs ?? 10_000);
  }
  options.onProgress?.({ phase: 'import', ...state.import });
  if (state.import.importedItemCount !== undefined && state.import.importedItemCount !== full.itemCount)
    throw new Error(
      `import ${state.import.importArn} loaded ${state.import.importedItemCount} items, the full export has ${full.itemCount}`,
    );
}

/** Recreates the table; see the module comment. */
export async function restoreTable(options: RestoreOptions): Promise<RestoreReport> {
  const started = Date.now();
  const previous = options.resume ? readState(options.stateFile) : undefined;
  if (!options.resume && existsSync(options.stateFile))
    throw new Error(`${options.stateFile} holds a restore already: resume it, or use another state file`);
  // A checkpoint left beside a removed state file would be trusted by the apply: refused, not reused.
  if (!options.resume && existsSync(applyCheckpointFile(options.stateFile)))
    throw new Error(
      `${applyCheckpointFile(options.stateFile)} holds the progress of an earlier restore: remove it (with its table) to start over, or use another state file`,
    );
  const state = await plannedState(options, previous);
  const save = () => writeJson(options.stateFile, state);
  save();
  const applyFile = applyCheckpointFile(options.stateFile);
  if (state.bootstrap === 'import') {
    await importFullExport(options, state, save);
    // The import is the full export: the apply goes on after sequence 0.
    if (!existsSync(applyFile)) {
      const checkpoint: ReplayCheckpoint = {
        epoch: state.epoch,
        targetTable: state.targetTable,
        appliedSequence: 0,
      };
      writeJson(applyFile, checkpoint);
    }
  } else if (!state.applyStarted) {
    if (!(await targetIsEmpty(options.dynamodb, state.targetTable)))
      throw new Error(
        `table ${state.targetTable} is not empty; a write bootstrap restores into an empty table`,
      );
  }
  state.applyStarted = true;
  save();
  const apply = await replayChain({
    s3: options.s3,
    dynamodb: options.dynamodb,
    bucket: options.bucket,
    prefix: options.prefix,
    targetTable: state.targetTable,
    epoch: state.epoch,
    until: Date.parse(state.point.asOf) / 1000,
    checkpointFile: applyFile,
    // The restore checked the target itself (empty, or created by the import): continue what is there.
    resume: true,
    ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
    ...(options.memorySizeMb !== undefined ? { memorySizeMb: options.memorySizeMb } : {}),
    onProgress: (p) => options.onProgress?.({ phase: 'apply', ...p }),
  });
  state.completed = true;
  save();
  return {
    epoch: state.epoch,
    targetTable: state.targetTable,
    point: state.point,
    bootstrap: state.bootstrap,
    ...(state.import ? { import: state.import } : {}),
    apply,
    resumed: previous !== undefined,
    durationMs: Date.now() - started,
  };
}
