/**
 * What the fake DynamoDB export engine records about a request and an export: shared by the engine
 * (dynamodb.ts), its request rules (exportRequest.ts) and its descriptions (exportDescription.ts).
 */
import type { ExportTableToPointInTimeCommandInput } from '@aws-sdk/client-dynamodb';
import type { ExportOutcome } from '../contracts';

/** A table's restorable range, epoch ms. */
export interface RestorableRange {
  earliest: number;
  latest: number;
}

/** A request as the engine normalises it; also what failure predicates and duration functions see. */
export interface ExportRequestInfo {
  tableName: string;
  tableArn: string;
  type: 'FULL_EXPORT' | 'INCREMENTAL_EXPORT';
  /** Full exports: snapshot time, epoch seconds. */
  exportTime?: number;
  /** Incremental exports: window, epoch seconds. */
  from?: number;
  to?: number;
  clientToken?: string;
  /** Request time, epoch ms. */
  requestedAt: number;
  /** LatestRestorableDateTime at the request, epoch ms. */
  latestRestorable: number;
  /** EarliestRestorableDateTime at the request, epoch ms. */
  earliestRestorable: number;
}

/** One export the engine knows about. */
export interface FakeExport {
  arn: string;
  request: ExportRequestInfo;
  /** The accepted request (its bucket was validated). */
  input: ExportTableToPointInTimeCommandInput & { S3Bucket: string };
  startTime: number;
  /** When the export reaches its final status, epoch ms. */
  endTime: number;
  fails: boolean;
  failure?: { code: string; message: string };
  outcome?: ExportOutcome;
  /** Set once the sink has been called: exactly once per export that came due without a planned failure. */
  sinkDone?: Promise<ExportOutcome | undefined>;
  /** What the sink threw, when writing the files failed (the export then ended FAILED). */
  writeError?: unknown;
  describeCount: number;
}
