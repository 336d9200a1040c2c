/**
 * The staging table's symlink partitions: how Athena reads exactly one export.
 *
 * Every incremental export writes its data files into one shared `<prefix>/AWSDynamoDB/data/` folder,
 * and Athena reads every file under a location. So the staging table (one `line string` column,
 * `SymlinkTextInputFormat`, partition column `export`, partition projection of type `injected`) points
 * each partition at a folder holding one `symlink.txt` that lists that export's data files, as
 * `manifest-files.json` names them. The planner writes it before the MERGE that reads it: a PUT of a
 * few KB whose bytes are a pure function of the export, so writing it again changes nothing.
 */
import { listExportDataFiles, putObject, type DataFileEntry, type S3Sender } from '../../format';

/** `<prefix>/iceberg/<table>/`: the feed's own folder beside the chain. */
export function icebergRoot(prefix: string, table: string): string {
  return prefix === '' ? `iceberg/${table}/` : `${prefix}/iceberg/${table}/`;
}

/** The staging table's location template (Glue `storage.location.template`). */
export function stagingLocationTemplate(bucket: string, prefix: string, table: string): string {
  return `s3://${bucket}/${icebergRoot(prefix, table)}staging/export=\${export}/`;
}

/** Key of one partition's symlink file. */
export function symlinkKey(prefix: string, table: string, partition: string): string {
  return `${icebergRoot(prefix, table)}staging/export=${partition}/symlink.txt`;
}

/** The symlink file of one export: one `s3://bucket/key` per data file, in manifest order. */
export function symlinkBody(bucket: string, files: readonly Pick<DataFileEntry, 'dataFileS3Key'>[]): string {
  return files.map((f) => `s3://${bucket}/${f.dataFileS3Key}\n`).join('');
}

/** The data files a symlink file lists, as (bucket, key) pairs. */
export function parseSymlinkBody(text: string): { bucket: string; key: string }[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(line.trim());
      if (!m) throw new Error(`not an s3:// location in a symlink file: ${JSON.stringify(line)}`);
      return { bucket: m[1], key: m[2] };
    });
}

/** `s3://bucket/<prefix>/iceberg/<table>/data/`: under it, each epoch's table has its own folder. */
export function lakeLocation(bucket: string, prefix: string, table: string): string {
  return `s3://${bucket}/${icebergRoot(prefix, table)}data/`;
}

/** A chain entry as the symlink writer needs it. */
export interface SymlinkedExport {
  bucket: string;
  manifestSummaryKey: string;
}

/**
 * Writes the symlink file of one export's partition from its `manifest-files.json` (read through the
 * format module); returns the key written and the number of data files it lists.
 */
export async function writeExportSymlink(
  s3: S3Sender,
  target: { bucket: string; prefix: string; table: string; partition: string },
  entry: SymlinkedExport,
): Promise<{ key: string; files: number }> {
  const files = await listExportDataFiles(s3, entry.bucket, entry.manifestSummaryKey);
  const key = symlinkKey(target.prefix, target.table, target.partition);
  await putObject(s3, target.bucket, key, symlinkBody(entry.bucket, files), 'text/plain');
  return { key, files: files.length };
}
