/**
 * Committing completed exports to the chain, in order: the full export first, then every incremental
 * export whose window starts at the watermark. Each entry describes the export as it was requested
 * (its request profile), never the settings of the day it is committed.
 */
import {
  CHAIN_SCHEMA_VERSION,
  chainEntryKey,
  exportDataPrefix,
  isoTime,
  type ChainCurrent,
  type ChainEntry,
  type ChainHead,
} from '../shared/chainManifest';
import { exportIdOf } from './notificationFacts';
import { profileOf, replaceExport, type Work } from './planWork';
import type { WorkflowSettings } from './settings';
import type { ChainState, TrackedExport } from './state';

/** Chain manifest objects to write before the state is saved, in this order. */
export interface CommitPlan {
  entries: ChainEntry[];
  /** HEAD of the epoch the entries belong to (`head.epoch`, which may no longer be the live one). */
  head: ChainHead | null;
  current: ChainCurrent | null;
}

/**
 * Where DynamoDB writes an export's manifest-summary.json according to the documented layout. Used when
 * DescribeExport gives no ExportManifest; that ExportManifest holds this full key is unconfirmed, so an
 * ExportManifest that differs is kept as given.
 */
export function defaultManifestSummaryKey(prefix: string, exportArn: string): string {
  return `${exportDataPrefix(prefix, exportArn)}manifest-summary.json`;
}

export function chainEntry(
  state: ChainState,
  settings: WorkflowSettings,
  epoch: string,
  sequence: number,
  e: TrackedExport,
): ChainEntry {
  const completed = e.completed;
  if (!completed || !e.arn) throw new Error('only a completed export with an ARN can be committed');
  const request = profileOf(state, e, settings);
  const entry: ChainEntry = {
    schemaVersion: CHAIN_SCHEMA_VERSION,
    epoch,
    sequence,
    type: e.type,
    from: isoTime(e.from),
    to: isoTime(e.to),
    exportArn: e.arn,
    bucket: request.bucket,
    manifestSummaryKey: completed.manifestSummaryKey ?? defaultManifestSummaryKey(request.prefix, e.arn),
    itemCount: completed.itemCount,
    billedSizeBytes: completed.billedSizeBytes,
    completedAt: isoTime(completed.endTime),
    exportFormat: request.exportFormat,
  };
  if (e.type === 'INCREMENTAL') entry.exportViewType = request.exportViewType;
  if (request.bucketOwnerAccountId) entry.bucketOwnerAccountId = request.bucketOwnerAccountId;
  return entry;
}

/** Commits what completed, in order; records the success facts when success mail is on. */
export function commitCompleted(w: Work): CommitPlan {
  const plan: CommitPlan = { entries: [], head: null, current: null };
  const s = w.state;
  if (s.epoch === null) return plan;
  const epoch = s.epoch;
  const committed: TrackedExport[] = [];
  let fullCommitted: TrackedExport | null = null;
  if (s.chainStart === null) {
    const full = s.exports.find((e) => e.type === 'FULL' && e.status === 'COMPLETED');
    if (full) {
      plan.entries.push(chainEntry(s, w.settings, epoch, 0, full));
      s.chainStart = full.to;
      s.watermark = full.to;
      s.sequence = 0;
      plan.current = { schemaVersion: CHAIN_SCHEMA_VERSION, epoch };
      replaceExport(w, full, null);
      fullCommitted = full;
    }
  }
  if (s.chainStart !== null && s.watermark !== null) {
    for (;;) {
      const next = s.exports.find(
        (e) => e.type === 'INCREMENTAL' && e.status === 'COMPLETED' && e.from === s.watermark,
      );
      if (!next) break;
      s.sequence += 1;
      plan.entries.push(chainEntry(s, w.settings, epoch, s.sequence, next));
      s.watermark = next.to;
      replaceExport(w, next, null);
      committed.push(next);
    }
  }
  if (plan.entries.length > 0 && s.chainStart !== null && s.watermark !== null) {
    const last = plan.entries[plan.entries.length - 1];
    plan.head = {
      schemaVersion: CHAIN_SCHEMA_VERSION,
      epoch,
      chainStart: isoTime(s.chainStart),
      watermark: isoTime(s.watermark),
      lastSequence: s.sequence,
      lastEntryKey: chainEntryKey(
        w.settings.prefix,
        epoch,
        last.sequence,
        Date.parse(last.from) / 1000,
        Date.parse(last.to) / 1000,
      ),
    };
  }
  if (w.settings.notifyOnSuccess) {
    if (fullCommitted) {
      w.facts.push({
        id: `commit@${epoch}#0-0`,
        event: 'FULL_EXPORT_COMMITTED',
        at: w.now,
        epoch,
        type: 'FULL',
        window: { from: fullCommitted.from, to: fullCommitted.to },
        exportArn: fullCommitted.arn,
        attempt: fullCommitted.attempt,
      });
    }
    if (committed.length > 0) {
      const first = committed[0];
      const last = committed[committed.length - 1];
      const firstSeq = s.sequence - committed.length + 1;
      w.facts.push({
        id: `commit@${epoch}#${firstSeq}-${s.sequence}`,
        event: 'EXPORT_COMMITTED',
        at: w.now,
        epoch,
        type: 'INCREMENTAL',
        window: { from: first.from, to: last.to },
        exportArn: last.arn,
        attempt: last.attempt,
        count: committed.length,
        sequences: { first: firstSeq, last: s.sequence },
      });
    }
  }
  return plan;
}

/** Short ids of the exports a new epoch drops (for the message). */
export function droppedIds(arns: readonly string[]): string[] {
  return arns.slice(0, 8).map((a) => exportIdOf(a).slice(0, 64));
}
