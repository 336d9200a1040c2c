/**
 * `dce restore` (cli/restore/restore.ts) into dynalite: to the chain's start, a point in the middle, HEAD and a
 * point inside a window whose first export failed (its partial files left in the bucket) and was
 * retried; by ImportTable (LocalTableImport over dynalite) or by writes; interrupted and resumed; and
 * the points it refuses.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BatchWriteItemCommand,
  DescribeImportCommand,
  type TableDescription,
} from '@aws-sdk/client-dynamodb';
import {
  applyCheckpointFile,
  checkedRestorePoint,
  restoreTable,
  type RestoreOptions,
  type RestoreProgress,
} from '../../../cli/restore/restore';
import { readChain } from '../../../cli/chainReader';
import { chainEntryKey } from '../../../functions/shared/chainManifest';
import { RestorePointError } from '../../../cli/restore/restorePoint';
import { verifyChain } from '../../../cli/verify';
import { LocalTableImport } from '../../../sim/fakeAws/tableImport';
import { canonicalTable, WORKLOAD_ATTRIBUTE_DEFINITIONS, WORKLOAD_KEY_SCHEMA } from '../../../sim/workload';
import { MemoryS3, writeChain } from '../../helpers/exportChain';
import {
  REPLAY_BUCKET as BUCKET,
  REPLAY_PREFIX as PREFIX,
  START,
  WINDOWS,
  replaySource,
  useReplayTarget,
} from '../../helpers/replayChain';

const source = replaySource(7);
const SOURCE_DESCRIPTION: TableDescription = {
  KeySchema: WORKLOAD_KEY_SCHEMA,
  AttributeDefinitions: WORKLOAD_ATTRIBUTE_DEFINITIONS,
  BillingModeSummary: { BillingMode: 'PAY_PER_REQUEST' },
};
const iso = (s: number) => new Date(s * 1000).toISOString();
/** The window whose first export failed: its partial files stay in the bucket, its retry is the entry. */
const RETRIED = 3;

/** The source as of a boundary: the full export's snapshot, or every write before a window's end. */
function expectedAt(sequence: number) {
  return canonicalTable(
    sequence === 0 ? source.snapshotAt(START) : source.snapshotBefore(WINDOWS[sequence - 1][1]),
  );
}

describe('restore (cli/restore/restore.ts) into dynalite', () => {
  const dynalite = useReplayTarget('restore-target-');
  let dir: string;
  let files = 0;
  const s3 = new MemoryS3();
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dce-restore-'));
    const written = await writeChain({
      s3,
      bucket: BUCKET,
      prefix: PREFIX,
      table: source,
      start: START,
      windows: WINDOWS,
      sink: { itemsPerFile: 15 },
    });
    // The failed attempt of window RETRIED: a later export's data files under an export id the chain
    // never names. Applied by mistake, they would change the result.
    const retried = written.entries[RETRIED].entry.exportArn.split('/').pop()!;
    const later = written.entries[6].entry.exportArn.split('/').pop()!;
    for (const key of s3.keys(BUCKET, `${PREFIX}/AWSDynamoDB/${later}/data/`))
      s3.set(BUCKET, key.replace(later, `${retried}-failed`), s3.get(BUCKET, key)!);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const stateFile = () => join(dir, `state-${++files}.json`);
  const importer = (pollsInProgress = 1) =>
    new LocalTableImport(dynalite.client, s3, {
      account: '123456789012',
      region: 'us-east-1',
      pollsInProgress,
    });
  const options = (
    over: Partial<RestoreOptions> & Pick<RestoreOptions, 'targetTable' | 'to'>,
  ): RestoreOptions => ({
    s3,
    dynamodb: dynalite.client,
    bucket: BUCKET,
    prefix: PREFIX,
    bootstrap: 'write',
    stateFile: stateFile(),
    sleep: async () => undefined,
    ...over,
  });

  it('by writes: the start, the middle, HEAD, and inside and at the end of the retried window, each equal to the source then', async () => {
    const cases: [RestoreOptions['to'], number][] = [
      [{ sequence: 0 }, 0],
      [{ time: START }, 0],
      [{ time: WINDOWS[2][0] + 900 }, 2], // inside window 3: back to its start
      [{ time: WINDOWS[RETRIED - 1][0] + 60 }, RETRIED - 1], // inside the retried window
      [{ sequence: RETRIED }, RETRIED],
      [{ time: WINDOWS[5][1] }, 6], // HEAD, by time
    ];
    for (const [to, sequence] of cases) {
      const target = await dynalite.newTable();
      const report = await restoreTable(options({ targetTable: target, to }));
      expect(report.point.sequence, JSON.stringify(to)).to.equal(sequence);
      expect(report.apply.lastSequence).to.equal(sequence);
      expect(canonicalTable(await dynalite.scanAll(target)), JSON.stringify(to)).to.deep.equal(
        expectedAt(sequence),
      );
    }
    // The points differ, so each comparison says something.
    expect(expectedAt(0)).to.not.deep.equal(expectedAt(6));
    expect(expectedAt(RETRIED - 1)).to.not.deep.equal(expectedAt(RETRIED));
  });

  it('by ImportTable: a new table from the full export, then the incrementals to HEAD, from a verified copy of the bucket alone', async () => {
    // The copy: the same keys in another bucket (what S3 replication makes), on an S3 that has no
    // primary bucket at all (its Region is gone): entries that name the primary are read from the copy.
    const copy = 'replay-bucket-copy';
    const copyS3 = new MemoryS3();
    for (const key of s3.keys(BUCKET)) copyS3.set(copy, key, s3.get(BUCKET, key)!);
    const verified = await verifyChain({ s3: copyS3, bucket: copy, prefix: PREFIX, deep: true });
    expect(verified.problems).to.deep.equal([]);
    expect(verified.ok).to.equal(true);
    const imports = new LocalTableImport(dynalite.client, copyS3, {
      account: '123456789012',
      region: 'us-east-1',
      pollsInProgress: 2,
    });
    const progress: RestoreProgress[] = [];
    const report = await restoreTable(
      options({
        targetTable: 'restored-by-import',
        to: { sequence: 6 },
        s3: copyS3,
        bucket: copy,
        dynamodb: imports,
        bootstrap: 'import',
        source: SOURCE_DESCRIPTION,
        onProgress: (p) => progress.push(p),
      }),
    );
    expect(imports.requests).to.have.length(1);
    expect(imports.requests[0].S3BucketSource?.S3Bucket).to.equal(copy);
    expect(report.import?.status).to.equal('COMPLETED');
    expect(report.apply.entriesApplied).to.equal(6);
    expect(progress.filter((p) => p.phase === 'import').length).to.be.greaterThan(1);
    expect(progress.some((p) => p.phase === 'apply')).to.equal(true);
    expect(canonicalTable(await dynalite.scanAll('restored-by-import'))).to.deep.equal(expectedAt(6));
  });

  it('resumes an import interrupted while it ran, without a second ImportTable', async () => {
    const imports = importer(3);
    let describes = 0;
    const failing = {
      send: async (command: any) => {
        if (command instanceof DescribeImportCommand && ++describes === 2)
          throw new Error('connection reset by peer');
        return imports.send(command);
      },
    };
    const file = stateFile();
    const base = {
      targetTable: 'restored-import-resumed',
      to: { sequence: 4 },
      bootstrap: 'import' as const,
      source: SOURCE_DESCRIPTION,
      stateFile: file,
    };
    let crashed: unknown;
    await restoreTable(options({ ...base, dynamodb: failing })).catch((e) => (crashed = e));
    expect((crashed as Error)?.message).to.equal('connection reset by peer');
    const report = await restoreTable(options({ ...base, dynamodb: imports, resume: true }));
    expect(report.resumed).to.equal(true);
    expect(imports.requests).to.have.length(1);
    expect(canonicalTable(await dynalite.scanAll('restored-import-resumed'))).to.deep.equal(expectedAt(4));
  });

  it('resumes writes interrupted inside an export and ends equal to the source', async () => {
    const target = await dynalite.newTable();
    const file = stateFile();
    let calls = 0;
    const failing = {
      send: async (command: any) => {
        // Not a transient error: the run stops at once, as when the process is killed.
        if (command instanceof BatchWriteItemCommand && ++calls > 12)
          throw Object.assign(new Error('process interrupted'), { name: 'Interrupted' });
        return dynalite.client.send(command);
      },
    };
    const base = { targetTable: target, to: { sequence: 5 }, stateFile: file, concurrency: 1 };
    let crashed: unknown;
    await restoreTable(options({ ...base, dynamodb: failing })).catch((e) => (crashed = e));
    expect((crashed as Error)?.message).to.equal('process interrupted');
    // Not again from the start: the state file holds a restore.
    let refused: unknown;
    await restoreTable(options(base)).catch((e) => (refused = e));
    expect((refused as Error)?.message).to.match(/holds a restore already/);
    // A resume to another point is refused.
    await restoreTable(options({ ...base, to: { sequence: 6 }, resume: true })).catch((e) => (refused = e));
    expect((refused as Error)?.message).to.match(/differs in point/);
    const report = await restoreTable(options({ ...base, resume: true }));
    expect(report.resumed).to.equal(true);
    expect(report.apply.resumedFrom).to.not.equal(undefined);
    expect(canonicalTable(await dynalite.scanAll(target))).to.deep.equal(expectedAt(5));
  });

  it('a fresh restore refuses the apply progress an earlier one left beside a removed state file', async () => {
    const target = await dynalite.newTable();
    const file = stateFile();
    await restoreTable(options({ targetTable: target, to: { sequence: 2 }, stateFile: file }));
    // The operator removes the state file (and empties or drops the table), not the checkpoint beside it.
    unlinkSync(file);
    let refused: unknown;
    await restoreTable(
      options({ targetTable: await dynalite.newTable(), to: { sequence: 4 }, stateFile: file }),
    ).catch((e) => (refused = e));
    expect((refused as Error)?.message).to.equal(
      `${applyCheckpointFile(file)} holds the progress of an earlier restore: remove it (with its table) to start over, or use another state file`,
    );
  });

  it('an import that ended FAILED stops the restore, and a resume says it cannot go on', async () => {
    const imports = importer(0);
    const failed = {
      send: async (command: any) => {
        const out = (await imports.send(command)) as any;
        if (command instanceof DescribeImportCommand)
          return {
            ImportTableDescription: {
              ...out.ImportTableDescription,
              ImportStatus: 'FAILED',
              FailureCode: 'ItemValidationError',
              FailureMessage: 'bad item',
            },
          };
        return out;
      },
    };
    const base = {
      targetTable: 'restored-import-failed',
      to: { sequence: 2 },
      bootstrap: 'import' as const,
      source: SOURCE_DESCRIPTION,
      stateFile: stateFile(),
      dynamodb: failed,
    };
    let first: unknown;
    await restoreTable(options(base)).catch((e) => (first = e));
    expect((first as Error)?.message).to.match(/ended FAILED: ItemValidationError bad item$/);
    let resumed: unknown;
    await restoreTable(options({ ...base, resume: true })).catch((e) => (resumed = e));
    expect((resumed as Error)?.message).to.match(
      /ended FAILED: this restore cannot go on\. Delete table restored-import-failed/,
    );
  });

  it('offers only committed points: an entry past HEAD (written before HEAD moves, or a copy lagging) is not one', async () => {
    const ahead = new MemoryS3();
    for (const [id, bytes] of s3.objects) ahead.objects.set(id, bytes);
    const chain = await readChain(ahead, BUCKET, PREFIX);
    const last = chain.entries[chain.entries.length - 1].entry;
    const from = Date.parse(last.to) / 1000;
    const next = { ...last, sequence: last.sequence + 1, from: last.to, to: iso(from + 900) };
    ahead.set(
      BUCKET,
      chainEntryKey(PREFIX, chain.epoch, next.sequence, from, from + 900),
      JSON.stringify(next),
    );
    // The entry reads as the chain's own, but HEAD has not moved to it.
    const read = await readChain(ahead, BUCKET, PREFIX);
    expect(read.entries.map((e) => e.entry.sequence)).to.include(next.sequence);
    expect(read.head.lastSequence).to.equal(last.sequence);
    for (const to of [{ sequence: next.sequence }, { time: from + 900 }]) {
      let refused: unknown;
      await checkedRestorePoint(ahead, { bucket: BUCKET, prefix: PREFIX }, to).catch((e) => (refused = e));
      expect(refused, JSON.stringify(to)).to.be.instanceOf(RestorePointError);
      expect((refused as RestorePointError).nearest).to.deep.equal([
        { sequence: last.sequence, asOf: last.to },
      ]);
    }
  });

  it("keeps the bucket owner an entry names (the import's S3BucketOwner for another account's bucket)", async () => {
    const owned = new MemoryS3();
    for (const [id, bytes] of s3.objects) owned.objects.set(id, bytes);
    const chain = await readChain(owned, BUCKET, PREFIX);
    const full = chain.entries[0];
    owned.set(BUCKET, full.key, JSON.stringify({ ...full.entry, bucketOwnerAccountId: '111122223333' }));
    const read = await readChain(owned, BUCKET, PREFIX);
    expect(read.entries[0].entry.bucketOwnerAccountId).to.equal('111122223333');
  });

  it('refuses points outside the chain, naming the nearest valid ones, and a table that is not empty', async () => {
    const target = await dynalite.newTable();
    const refusal = async (to: RestoreOptions['to']) => {
      try {
        await restoreTable(options({ targetTable: target, to }));
      } catch (error) {
        expect(error).to.be.instanceOf(RestorePointError);
        return error as RestorePointError;
      }
      throw new Error('expected a refusal');
    };
    const before = await refusal({ time: START - 1 });
    expect(before.message).to.include("before the chain's start");
    expect(before.nearest).to.deep.equal([{ sequence: 0, asOf: iso(START) }]);
    const after = await refusal({ time: WINDOWS[5][1] + 1 });
    expect(after.message).to.include("after the chain's watermark");
    expect(after.nearest).to.deep.equal([{ sequence: 6, asOf: iso(WINDOWS[5][1]) }]);
    expect((await refusal({ sequence: 7 })).nearest).to.deep.equal([
      { sequence: 6, asOf: iso(WINDOWS[5][1]) },
    ]);
    await restoreTable(options({ targetTable: target, to: { sequence: 1 } }));
    let refused: unknown;
    await restoreTable(options({ targetTable: target, to: { sequence: 2 } })).catch((e) => (refused = e));
    expect((refused as Error)?.message).to.match(/is not empty/);
  });
});
