/**
 * `dce verify`: checks that a table's chain is complete and contiguous, and with `deep` that every
 * export it names is intact down to each data file's checksum.
 */
import type { ChainEntry } from '../functions/shared/chainManifest';
import {
  ExportFormatError,
  checkDataFile,
  getBytesIfExists,
  md5Base64,
  objectExists,
  parseManifestFiles,
  readExportSummary,
  readManifestChecksum,
  settleAll,
  summaryFormat,
  type DataFileEntry,
  type ExportFormatName,
  type S3Sender,
} from '../format';
import { loadChain, type ChainEntryObject } from './chainReader';
import { createProgressDisplay, type ProgressDisplay, type ProgressStream } from './progress';

export type { ProgressStream } from './progress';

/** Incremental windows DynamoDB accepts: at least 15 minutes, at most 24 hours. */
export const MIN_WINDOW_SECONDS = 15 * 60;
export const MAX_WINDOW_SECONDS = 24 * 60 * 60;

export type ProblemKind =
  | 'invalid-object'
  | 'empty-chain'
  | 'first-not-full'
  | 'sequence'
  | 'gap'
  | 'overlap'
  | 'window-length'
  | 'full-window'
  | 'head-missing'
  | 'head-mismatch'
  | 'missing-export'
  | 'summary-mismatch'
  | 'manifest-checksum'
  | 'data-file-missing'
  | 'data-checksum'
  | 'item-count'
  | 'data-invalid';

/** One thing wrong with the chain, attached to the S3 key it concerns. */
export interface Problem {
  kind: ProblemKind;
  key: string;
  message: string;
}

/** Result of `verifyChain`. */
export interface VerifyReport {
  /** True only when the chain is complete, contiguous and (with `deep`) every export is intact. */
  ok: boolean;
  epoch: string;
  /** ISO time the chain starts (the full export's time), when known. */
  chainStart?: string;
  /** ISO time data is exported up to (exclusive), per HEAD.json, when present. */
  watermark?: string;
  /** Number of valid entries read. */
  entries: number;
  /**
   * What was checked beyond the chain's order and HEAD: with `deep`, every export's manifests and
   * data files (files and compressed bytes read); without, that each manifest summary exists.
   */
  checked: { deep: boolean; exports: number; dataFiles: number; bytes: number };
  problems: Problem[];
}

/** Options of `verifyChain`. */
export interface VerifyOptions {
  s3: S3Sender;
  bucket: string;
  prefix: string;
  /** Epoch to check; the live one (CURRENT.json) by default. */
  epoch?: string;
  /** Also read each export's manifests and data files and check counts, checksums and every line. */
  deep?: boolean;
  /** Called as exports are checked (after every data file with `deep`). */
  onProgress?: (progress: VerifyProgress) => void;
}

/** Progress of a verify run. */
export interface VerifyProgress {
  entriesTotal: number;
  entriesDone: number;
  /** Data files read (deep only) and their compressed bytes. */
  filesRead: number;
  bytesRead: number;
}

function seconds(iso: string): number {
  return Date.parse(iso) / 1000;
}

/** Problems in the order and windows of the entries; a pure function of the entries. */
export function chainOrderProblems(entries: ChainEntryObject[]): Problem[] {
  const problems: Problem[] = [];
  if (entries.length === 0) return problems;
  const first = entries[0];
  if (first.entry.type !== 'FULL' || first.entry.sequence !== 0) {
    problems.push({
      kind: 'first-not-full',
      key: first.key,
      message: `the chain must start with the FULL export at sequence 0, found ${first.entry.type} at sequence ${first.entry.sequence}`,
    });
  }
  entries.forEach(({ key, entry }, i) => {
    const from = seconds(entry.from);
    const to = seconds(entry.to);
    if (entry.type === 'FULL') {
      if (i > 0) {
        problems.push({
          kind: 'first-not-full',
          key,
          message: `FULL export at position ${i}; only the first entry may be FULL`,
        });
      }
      if (from !== to) {
        problems.push({
          kind: 'full-window',
          key,
          message: `FULL export from ${entry.from} and to ${entry.to} must both be its export time`,
        });
      }
    } else {
      const length = to - from;
      if (length < MIN_WINDOW_SECONDS || length > MAX_WINDOW_SECONDS) {
        problems.push({
          kind: 'window-length',
          key,
          message: `window ${entry.from}..${entry.to} is ${length} s, outside [${MIN_WINDOW_SECONDS}, ${MAX_WINDOW_SECONDS}]`,
        });
      }
    }
    if (i === 0) return;
    const prev = entries[i - 1].entry;
    if (entry.sequence !== prev.sequence + 1) {
      problems.push({
        kind: 'sequence',
        key,
        message: `sequence ${entry.sequence} follows ${prev.sequence}`,
      });
    }
    const prevTo = seconds(prev.to);
    if (from > prevTo) {
      problems.push({ kind: 'gap', key, message: `gap: ${prev.to} .. ${entry.from} is not exported` });
    } else if (from < prevTo) {
      problems.push({
        kind: 'overlap',
        key,
        message: `overlap: starts at ${entry.from}, before the previous end ${prev.to}`,
      });
    }
  });
  return problems;
}

/** Problems of one export, read down to every line of every data file. */
async function deepCheck(
  s3: S3Sender,
  key: string,
  entry: ChainEntry,
  onFileChecked: (bytes: number) => void,
): Promise<Problem[]> {
  const problems: Problem[] = [];
  const summaryKey = entry.manifestSummaryKey;
  let summary;
  try {
    summary = await readExportSummary(s3, entry.bucket, summaryKey);
  } catch (err) {
    if (!(err instanceof ExportFormatError)) throw err;
    // A summary that exists but cannot be read is a damaged export, not a missing one.
    return [{ kind: err.missing ? 'missing-export' : 'data-invalid', key: summaryKey, message: err.message }];
  }
  if (summary.exportArn !== entry.exportArn) {
    problems.push({
      kind: 'summary-mismatch',
      key: summaryKey,
      message: `exportArn ${summary.exportArn}, chain entry ${key} says ${entry.exportArn}`,
    });
  }
  if (summary.itemCount !== entry.itemCount) {
    problems.push({
      kind: 'summary-mismatch',
      key: summaryKey,
      message: `itemCount ${summary.itemCount}, chain entry ${key} says ${entry.itemCount}`,
    });
  }
  const filesKey = summary.manifestFilesS3Key;
  // The list and its checksum are read together; the checksum is only looked at when the list exists.
  const [filesBytes, checksum] = await Promise.all([
    getBytesIfExists(s3, entry.bucket, filesKey),
    readManifestChecksum(s3, entry.bucket, filesKey),
  ]);
  if (!filesBytes) {
    problems.push({
      kind: 'missing-export',
      key: filesKey,
      message: `${filesKey}: missing manifest files list`,
    });
    return problems;
  }
  if (!checksum) {
    problems.push({
      kind: 'manifest-checksum',
      key: filesKey,
      message: `${filesKey}: no .md5 or .checksum file`,
    });
  } else if (checksum.value !== md5Base64(filesBytes)) {
    problems.push({
      kind: 'manifest-checksum',
      key: checksum.key,
      message: `${checksum.key} does not match ${filesKey}`,
    });
  }
  let files: DataFileEntry[];
  try {
    files = parseManifestFiles(Buffer.from(filesBytes).toString('utf8'), filesKey);
  } catch (err) {
    if (!(err instanceof ExportFormatError)) throw err;
    problems.push({ kind: 'data-invalid', key: filesKey, message: err.message });
    return problems;
  }
  const listed = files.reduce((n, f) => n + f.itemCount, 0);
  if (listed !== summary.itemCount) {
    problems.push({
      kind: 'item-count',
      key: filesKey,
      message: `data files list ${listed} items, ${summaryKey} says ${summary.itemCount}`,
    });
  }
  // Data files are checked concurrently; their problems are reported in manifest order.
  const format = summaryFormat(summary);
  const fileProblems = await settleAll(files, DATA_FILE_READ_CONCURRENCY, async (file) => {
    const found = await checkOneDataFile(s3, entry.bucket, filesKey, file, format);
    onFileChecked(found.bytes);
    return found.problems;
  });
  for (const p of fileProblems) problems.push(...p);
  return problems;
}

/**
 * Problems of one data file, read as a stream: missing, MD5, gzip, every line parsed (a damaged
 * line, an unknown attribute type or an invalid number is reported with its line), record count.
 */
async function checkOneDataFile(
  s3: S3Sender,
  bucket: string,
  filesKey: string,
  file: DataFileEntry,
  format: ExportFormatName,
): Promise<{ problems: Problem[]; bytes: number }> {
  const dataKey = file.dataFileS3Key;
  let stats;
  try {
    stats = await checkDataFile(s3, bucket, file, { format });
  } catch (err) {
    if (!(err instanceof ExportFormatError)) throw err;
    const kind = err.missing ? 'data-file-missing' : 'data-invalid';
    const message = err.missing ? `${dataKey}: listed in ${filesKey} but missing` : err.message;
    return { problems: [{ kind, key: dataKey, message }], bytes: 0 };
  }
  const problems: Problem[] = [];
  if (stats.md5Base64 !== file.md5Checksum) {
    problems.push({
      kind: 'data-checksum',
      key: dataKey,
      message: `${dataKey}: MD5 does not match ${filesKey}`,
    });
  } else if (stats.lines !== file.itemCount) {
    problems.push({
      kind: 'item-count',
      key: dataKey,
      message: `${dataKey}: holds ${stats.lines} records, ${filesKey} says ${file.itemCount}`,
    });
  }
  return { problems, bytes: stats.compressedBytes };
}

/** Chain entries checked at once (each makes a handful of S3 reads). */
const ENTRY_CHECK_CONCURRENCY = 16;
/** Data files of one export read at once. */
const DATA_FILE_READ_CONCURRENCY = 4;

/**
 * Progress of `dce verify` for a person, on stderr, the way `dce replay` shows its own: a bar
 * (exports checked, data files and megabytes read) on a terminal, a plain line every few seconds and
 * at the end otherwise. Pass `update` as `VerifyOptions.onProgress` and call `stop` when verification
 * ends.
 */
export function createVerifyProgress(
  stream: ProgressStream,
  options: { intervalMs?: number; now?: () => number } = {},
): ProgressDisplay<VerifyProgress> {
  const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
  return createProgressDisplay(
    stream,
    {
      barFormat: ' verify [{bar}] {value}/{total} exports | {files} data files | {mb} MB read',
      done: (p) => p.entriesDone,
      total: (p) => p.entriesTotal,
      payload: (p) => ({ files: p.filesRead, mb: mb(p.bytesRead) }),
      line: (p) =>
        `verify: ${p.entriesDone}/${p.entriesTotal} exports, ${p.filesRead} data files, ${mb(p.bytesRead)} MB read`,
    },
    options,
  );
}

/** Whether HEAD agrees with the chain's entries: its last entry, watermark, sequence and start. */
function headProblems(chain: Awaited<ReturnType<typeof loadChain>>): Problem[] {
  const { entries, head, headKey } = chain;
  const problems: Problem[] = [];
  if (!head) {
    problems.push({ kind: 'head-missing', key: headKey, message: `${headKey}: missing` });
  } else if (entries.length > 0) {
    const last = entries[entries.length - 1];
    if (!entries.some((e) => e.key === head.lastEntryKey)) {
      problems.push({
        kind: 'head-mismatch',
        key: headKey,
        message: `points at ${head.lastEntryKey}, which is not a valid entry`,
      });
    }
    if (seconds(head.watermark) !== seconds(last.entry.to)) {
      problems.push({
        kind: 'head-mismatch',
        key: headKey,
        message: `watermark ${head.watermark} but the last entry ends at ${last.entry.to}`,
      });
    }
    if (head.lastSequence !== last.entry.sequence) {
      problems.push({
        kind: 'head-mismatch',
        key: headKey,
        message: `lastSequence ${head.lastSequence} but the last entry is ${last.entry.sequence}`,
      });
    }
    if (seconds(head.chainStart) !== seconds(entries[0].entry.to)) {
      problems.push({
        kind: 'head-mismatch',
        key: headKey,
        message: `chainStart ${head.chainStart} but the first entry is at ${entries[0].entry.to}`,
      });
    }
  }
  return problems;
}

/** Checks the chain of one epoch; never throws for problems in the data, only for I/O failures. */
export async function verifyChain(options: VerifyOptions): Promise<VerifyReport> {
  const { s3, bucket, prefix, deep } = options;
  const chain = await loadChain(s3, bucket, prefix, options.epoch);
  const problems: Problem[] = chain.invalid.map(({ key, message }) => ({
    kind: 'invalid-object' as const,
    key,
    message,
  }));
  const { entries, head, headKey } = chain;
  if (entries.length === 0) {
    problems.push({
      kind: 'empty-chain',
      key: headKey,
      message: `epoch ${chain.epoch} has no chain entries`,
    });
  }
  problems.push(...chainOrderProblems(entries), ...headProblems(chain));

  // Entries are checked concurrently; their problems are reported in chain order.
  const progress: VerifyProgress = {
    entriesTotal: entries.length,
    entriesDone: 0,
    filesRead: 0,
    bytesRead: 0,
  };
  const report = () => options.onProgress?.({ ...progress });
  const onFileChecked = (bytes: number) => {
    progress.filesRead += 1;
    progress.bytesRead += bytes;
    report();
  };
  const entryProblems = await settleAll(
    entries,
    ENTRY_CHECK_CONCURRENCY,
    async ({ key, entry }): Promise<Problem[]> => {
      const found = await checkEntry(key, entry);
      progress.entriesDone += 1;
      report();
      return found;
    },
  );
  async function checkEntry(key: string, entry: ChainEntry): Promise<Problem[]> {
    if (deep) return deepCheck(s3, key, entry, onFileChecked);
    if (await objectExists(s3, entry.bucket, entry.manifestSummaryKey)) return [];
    return [
      {
        kind: 'missing-export',
        key: entry.manifestSummaryKey,
        message: `${entry.manifestSummaryKey}: manifest summary of ${key} is missing`,
      },
    ];
  }
  for (const p of entryProblems) problems.push(...p);

  return {
    ok: problems.length === 0,
    epoch: chain.epoch,
    chainStart: head?.chainStart ?? entries[0]?.entry.to,
    watermark: head?.watermark,
    entries: entries.length,
    checked: {
      deep: Boolean(deep),
      exports: progress.entriesDone,
      dataFiles: progress.filesRead,
      bytes: progress.bytesRead,
    },
    problems,
  };
}
