/**
 * Replay across export formats and data file sizes: an ION chain rebuilds the same table as the
 * DYNAMODB_JSON chain of the same workload, and data files too large to hold in memory are
 * streamed (checked whole first, then applied while streamed again).
 */
import { expect } from 'chai';
import { gunzipSync, gzipSync } from 'node:zlib';
import { replayChain } from '../../cli/replay';
import { listExportDataFiles } from '../../format';
import { canonicalTable } from '../../sim/workload';
import { MemoryS3 } from '../helpers/exportChain';
import {
  END,
  REPLAY_BUCKET as BUCKET,
  REPLAY_PREFIX as PREFIX,
  replaySource,
  useReplayTarget,
  writeReplayChain,
} from '../helpers/replayChain';

const source = replaySource();
/** A memory budget of 25 KB (apply/memoryBudget.ts): a data file of a few records does not fit its share. */
const TINY_MEMORY_MB = 0.1;

describe('replay (cli/replay.ts) across export formats and file sizes, into dynalite', () => {
  const dynalite = useReplayTarget('format-replay-');
  const { newTable, replayInto, scanAll } = dynalite;

  it('replays an ION chain to the same table as the DYNAMODB_JSON chain of the same workload', async () => {
    const tables: string[] = [];
    for (const format of ['DYNAMODB_JSON', 'ION'] as const) {
      const s3 = new MemoryS3();
      await writeReplayChain(s3, source, { format });
      const keys = [...s3.objects.keys()].filter((k) => k.includes('/data/'));
      expect(keys.every((k) => k.endsWith(format === 'ION' ? '.ion.gz' : '.json.gz'))).to.equal(true);
      const target = await newTable();
      const report = await replayInto(s3, target);
      expect(report.entriesApplied).to.equal(7);
      tables.push(JSON.stringify(canonicalTable(await scanAll(target))));
    }
    expect(tables[1]).to.equal(tables[0]);
    expect(JSON.parse(tables[0])).to.deep.equal(canonicalTable(source.snapshotBefore(END)));
  });

  it('streams data files too large to hold in memory: checked whole first, never half-applied', async () => {
    const s3 = new MemoryS3();
    await writeReplayChain(s3, source, { sink: { itemsPerFile: 7 } });
    const target = await newTable();
    const report = await replayInto(s3, target, { memorySizeMb: TINY_MEMORY_MB });
    expect(report.entriesApplied).to.equal(7);
    expect(canonicalTable(await scanAll(target))).to.deep.equal(canonicalTable(source.snapshotBefore(END)));

    // A large file whose last line is damaged: nothing of it reaches the table.
    const broken = new MemoryS3();
    const written = await writeReplayChain(broken, source, { windows: [], sink: { itemsPerFile: 10_000 } });
    const [file] = await listExportDataFiles(broken, BUCKET, written.entries[0].entry.manifestSummaryKey);
    const key = `${BUCKET}/${file.dataFileS3Key}`;
    const lines = gunzipSync(broken.objects.get(key)!).toString().trimEnd().split('\n');
    lines[lines.length - 1] = '{"Item":{"pk":';
    broken.objects.set(key, new Uint8Array(gzipSync(`${lines.join('\n')}\n`)));
    const empty = await newTable();
    let caught: unknown;
    try {
      await replayChain({
        s3: broken,
        dynamodb: dynalite.client,
        bucket: BUCKET,
        prefix: PREFIX,
        targetTable: empty,
        memorySizeMb: TINY_MEMORY_MB,
      });
    } catch (err) {
      caught = err;
    }
    expect((caught as Error).message).to.match(
      new RegExp(`${file.dataFileS3Key}: MD5 checksum|line ${lines.length}: invalid JSON`),
    );
    expect(await scanAll(empty)).to.deep.equal([]);
  });
});
