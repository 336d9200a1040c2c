/** The one error type of the format module: a file that is missing, malformed or fails a check. */

/** An export file that is missing, malformed or fails its checksum; names the key and, when known, the line. */
export class ExportFormatError extends Error {
  constructor(
    readonly key: string,
    readonly line: number | undefined,
    detail: string,
    /** True when the file does not exist (as opposed to existing and being wrong). */
    readonly missing = false,
  ) {
    super(line === undefined ? `${key}: ${detail}` : `${key} line ${line}: ${detail}`);
    this.name = 'ExportFormatError';
  }
}
