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

/**
 * The target refused one write for good (a ValidationException for that write alone: an attribute
 * whose type conflicts with an index key, an item over 400 KB, a key that does not match the table's).
 * Writing it again fails the same way, so the caller stops (the replica halts, replay fails) instead
 * of retrying. Names the write's key and DynamoDB's message.
 */
export class WriteRejectedError extends Error {
  constructor(
    /** The write's key attributes (the whole item when the key attributes are not known), DynamoDB JSON. */
    readonly key: string,
    /** DynamoDB's error name and message. */
    readonly reason: string,
  ) {
    super(`the target rejected the write of ${key}: ${reason}`);
    this.name = 'WriteRejectedError';
  }
}

/** Errors that mean "this request is wrong": sending it again cannot succeed. */
export function isRejection(error: unknown): boolean {
  return (error as { name?: unknown } | null)?.name === 'ValidationException';
}
