/**
 * Writes gathered in groups and written one group after another, so a key's later write never
 * overtakes an earlier one, while the next group is read and gathered. A group keeps either every
 * write (written as rounds, each key once per round, in order) or only the latest write per key
 * (one write per key, which leaves the table as applying every write in order would).
 *
 * Steps that become true once a group is written (a data file or an entry completed: a checkpoint,
 * a callback) ride with the group and run, in order, after its writes and before the next group's.
 *
 * The bytes a group holds are counted (estimated, recordBytes.ts) so the engine can end a group by
 * its size in memory; a group's writes count in `buffered` until they are written.
 */
import { BatchWriter, type BatchWriterOptions, type BatchWriterStats } from './batchWriter';
import type { BufferedBytes } from './memoryBudget';
import { writeBytes } from './recordBytes';
import { LatestWritePerKey, writeRounds, type WriteOp } from './writes';

/** Which writes of a group reach the table. */
export type GroupWrites = 'every-write' | 'latest-per-key';

export interface WriteGroupsOptions extends BatchWriterOptions {
  keep: GroupWrites;
  /** Counts the bytes of the writes gathered and being written. */
  buffered?: BufferedBytes;
}

/** A step run once everything gathered before it is written. */
export type AfterWritten = () => void | Promise<void>;

/** Gathers writes and writes them group by group; see the module comment. */
export class WriteGroups<Label> {
  private everyWrite: WriteOp[] = [];
  private everyWriteBytes = 0;
  private readonly latest = new LatestWritePerKey();
  private afterWritten: AfterWritten[] = [];
  /** The group being written (its failure is thrown by the next `flush` or `drain`). */
  private writing: Promise<void> = Promise.resolve();
  private readonly writer: BatchWriter;
  /** Writes sent to the table (after latest-per-key, when kept). */
  sent = 0;
  /** Label of the group being gathered, and of the group being written (for progress). */
  label: Label;
  writingLabel: Label;

  constructor(
    private readonly options: WriteGroupsOptions,
    initialLabel: Label,
  ) {
    this.writer = new BatchWriter(options);
    this.label = initialLabel;
    this.writingLabel = initialLabel;
  }

  get stats(): BatchWriterStats {
    return this.writer.stats;
  }

  /** Writes gathered and not yet sent (distinct keys, when only the latest per key is kept). */
  get size(): number {
    return this.options.keep === 'every-write' ? this.everyWrite.length : this.latest.size;
  }

  /** Estimated bytes of the writes gathered and not yet sent. */
  get bytes(): number {
    return this.options.keep === 'every-write' ? this.everyWriteBytes : this.latest.bytes;
  }

  add(ops: readonly WriteOp[]): void {
    const before = this.bytes;
    if (this.options.keep === 'every-write') {
      for (const op of ops) {
        this.everyWrite.push(op);
        this.everyWriteBytes += writeBytes(op);
      }
    } else this.latest.add(ops);
    this.options.buffered?.change(this.bytes - before);
  }

  /** Runs `step` once everything gathered so far is written. */
  then(step: AfterWritten): void {
    this.afterWritten.push(step);
  }

  /**
   * Starts writing what is gathered once the group before it is written, and returns without
   * waiting for it. A failure of the group before is thrown here.
   */
  async flush(): Promise<void> {
    const bytes = this.bytes;
    const rounds = this.options.keep === 'every-write' ? writeRounds(this.everyWrite) : [this.latest.take()];
    const steps = this.afterWritten;
    const label = this.label;
    this.everyWrite = [];
    this.everyWriteBytes = 0;
    this.afterWritten = [];
    await this.writing;
    this.writing = (async () => {
      this.writingLabel = label;
      for (const round of rounds) this.sent += round.length;
      try {
        await this.writer.writeRounds(rounds);
      } finally {
        this.options.buffered?.change(-bytes);
      }
      for (const step of steps) await step();
    })();
    this.writing.catch(() => undefined); // thrown by the next flush or drain
  }

  /** Writes everything gathered and waits until it is written. */
  async drain(): Promise<void> {
    await this.flush();
    await this.writing;
  }

  /** Waits for the group in flight, whatever its outcome, and drops what is gathered. */
  async settle(): Promise<void> {
    this.options.buffered?.change(-this.bytes);
    this.everyWrite = [];
    this.everyWriteBytes = 0;
    this.latest.take();
    this.afterWritten = [];
    await this.writing.catch(() => undefined);
  }
}
