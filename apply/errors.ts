/** Errors of the apply engine that callers act on by type. */

/**
 * A committed chain entry whose export files (manifest or data file) are gone from S3. The entry is
 * never skipped: the caller halts and alerts, because applying the entries after it would build a
 * table that never existed.
 */
export class EntryFilesMissingError extends Error {
  constructor(
    /** Chain sequence of the entry. */
    readonly sequence: number,
    readonly exportArn: string,
    /** The S3 key found missing. */
    readonly key: string,
  ) {
    super(`chain entry ${sequence} (${exportArn}): export file ${key} is missing`);
    this.name = 'EntryFilesMissingError';
  }
}
