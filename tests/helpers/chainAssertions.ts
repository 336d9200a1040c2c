/**
 * Checks that what a run left behind is a correct export chain: the entries in S3 tile
 * [chainStart, watermark) exactly, each one is a COMPLETED export of exactly its window, the state
 * parameter agrees with the manifest, and no window was exported twice.
 */
import { expect } from 'chai';
import {
  chainCurrentKey,
  chainEntryKey,
  chainEpochPrefix,
  chainHeadKey,
  type ChainEntry,
  type ChainHead,
} from '../../functions/shared/chainManifest';
import type { WorkflowSettings } from '../../functions/chain/settings';
import { parseState, type ChainState } from '../../functions/chain/state';
import type { FakeAws } from '../../sim/fakeAws';
import type { FakeExport } from '../../sim/fakeAws/dynamodb';
import type { LocalRun } from '../../sim/machines/localRun';
import { MemorySink } from '../../sim/memorySink';
import { tickRoleForSettings } from '../../cli/deployedAccess';
import { ACCOUNT, REGION, startScenario, type Scenario, type ScenarioOptions } from '../../sim/scenario';

export interface ChainSummary {
  state: ChainState;
  epoch: string | null;
  entries: ChainEntry[];
  head: ChainHead | null;
  /** Epoch seconds. */
  chainStart: number | null;
  watermark: number | null;
}

const seconds = (isoText: string) => Date.parse(isoText) / 1000;

export function readState(aws: FakeAws, settings: WorkflowSettings): ChainState {
  const text = aws.ssm.get(settings.stateParameterName);
  expect(text, `state parameter ${settings.stateParameterName}`).to.be.a('string');
  return parseState(text!, settings.stateParameterName);
}

function readJson<T>(aws: FakeAws, bucket: string, key: string): T | null {
  const text = aws.s3.text(bucket, key);
  return text === undefined ? null : (JSON.parse(text) as T);
}

/** Chain entries of one epoch in key order (the order consumers read them). */
export function chainEntries(aws: FakeAws, settings: WorkflowSettings, epoch: string): ChainEntry[] {
  const prefix = chainEpochPrefix(settings.prefix, epoch);
  return aws.s3
    .keys(settings.bucket, prefix)
    .filter((k) => k !== chainHeadKey(settings.prefix, epoch))
    .map((k) => {
      const entry = readJson<ChainEntry>(aws, settings.bucket, k)!;
      expect(k, 'entry key').to.equal(
        chainEntryKey(settings.prefix, epoch, entry.sequence, seconds(entry.from), seconds(entry.to)),
      );
      return entry;
    });
}

/**
 * Asserts the live epoch's chain. Returns what it read so scenarios can assert more.
 */
export function assertChain(
  aws: FakeAws,
  settings: WorkflowSettings,
  options: { windowSeconds?: [number, number] } = {},
): ChainSummary {
  const [minLen, maxLen] = options.windowSeconds ?? [15 * 60, 24 * 3600];
  const state = readState(aws, settings);
  const current = readJson<{ epoch: string }>(aws, settings.bucket, chainCurrentKey(settings.prefix));
  if (state.chainStart === null) {
    expect(state.watermark, 'no watermark before the full export completed').to.equal(null);
    expect(state.sequence).to.equal(-1);
    return { state, epoch: state.epoch, entries: [], head: null, chainStart: null, watermark: null };
  }
  expect(current, 'CURRENT.json').not.to.equal(null);
  expect(current!.epoch, 'CURRENT.json epoch').to.equal(state.epoch);
  const epoch = state.epoch!;
  const entries = chainEntries(aws, settings, epoch);
  const head = readJson<ChainHead>(aws, settings.bucket, chainHeadKey(settings.prefix, epoch));
  expect(entries.length, 'entries').to.be.greaterThan(0);

  const full = entries[0];
  expect(full.type).to.equal('FULL');
  expect(full.sequence).to.equal(0);
  expect(full.from).to.equal(full.to);
  expect(seconds(full.from), 'chainStart').to.equal(state.chainStart);
  let cursor = state.chainStart;
  entries.forEach((entry, i) => {
    expect(entry.epoch).to.equal(epoch);
    expect(entry.sequence, `sequence of entry ${i}`).to.equal(i);
    expect(entry.bucket).to.equal(settings.bucket);
    const exp = aws.dynamodb.exports.get(entry.exportArn);
    expect(exp, `export ${entry.exportArn} exists`).not.to.equal(undefined);
    expect(exp!.fails, `export ${entry.exportArn} did not fail`).to.equal(false);
    expect(exp!.endTime, 'committed only after completion').to.be.at.most(Date.now());
    expect(entry.completedAt).to.equal(new Date(Math.floor(exp!.endTime / 1000) * 1000).toISOString());
    if (i === 0) {
      expect(exp!.request.type).to.equal('FULL_EXPORT');
      expect(exp!.request.exportTime).to.equal(state.chainStart);
      return;
    }
    const from = seconds(entry.from);
    const to = seconds(entry.to);
    expect(entry.type).to.equal('INCREMENTAL');
    expect(from, `entry ${i} starts where the previous ended (no gap, no overlap)`).to.equal(cursor);
    expect(to - from, `entry ${i} length`).to.be.within(minLen, maxLen);
    expect(exp!.request.type).to.equal('INCREMENTAL_EXPORT');
    expect([exp!.request.from, exp!.request.to], `export window of entry ${i}`).to.deep.equal([from, to]);
    expect(to * 1000, `entry ${i} end <= LatestRestorableDateTime at request`).to.be.at.most(
      exp!.request.latestRestorable,
    );
    expect(from * 1000, `entry ${i} start inside PITR window at request`).to.be.at.least(
      exp!.request.earliestRestorable,
    );
    expect(entry.manifestSummaryKey).to.equal(exp!.outcome?.manifestSummaryKey);
    cursor = to;
  });
  expect(state.watermark, 'state watermark = end of the last entry').to.equal(cursor);
  expect(state.sequence).to.equal(entries.length - 1);
  expect(head, 'HEAD.json').not.to.equal(null);
  expect(seconds(head!.watermark)).to.equal(cursor);
  expect(seconds(head!.chainStart)).to.equal(state.chainStart);
  expect(head!.lastSequence).to.equal(entries.length - 1);
  if (aws.sink instanceof MemorySink) {
    for (const entry of entries) expect(aws.sink.timesWritten(entry.exportArn), 'written once').to.equal(1);
  }
  assertNoDuplicateExports(aws);
  return { state, epoch, entries, head, chainStart: state.chainStart, watermark: cursor };
}

/** Exports of incremental windows, grouped by `from..to`. */
export function exportsByWindow(aws: FakeAws): Map<string, FakeExport[]> {
  const byWindow = new Map<string, FakeExport[]>();
  for (const exp of aws.dynamodb.exports.values()) {
    if (exp.request.type !== 'INCREMENTAL_EXPORT') continue;
    const key = `${exp.request.from}..${exp.request.to}`;
    byWindow.set(key, [...(byWindow.get(key) ?? []), exp]);
  }
  return byWindow;
}

/**
 * Never two exports for one window: per window, every export but the last ended FAILED (each retry
 * is a new export), and windows of exports that did not fail never overlap.
 */
export function assertNoDuplicateExports(aws: FakeAws): void {
  const good: FakeExport[] = [];
  for (const [window, exps] of exportsByWindow(aws)) {
    const notFailed = exps.filter((e) => !e.fails);
    expect(notFailed.length, `exports of window ${window} that did not fail`).to.be.at.most(1);
    const tokens = new Set(exps.map((e) => e.request.clientToken));
    expect(tokens.size, `distinct client tokens for window ${window}`).to.equal(exps.length);
    good.push(...notFailed);
  }
  good.sort((a, b) => a.request.from! - b.request.from!);
  for (let i = 1; i < good.length; i++) {
    expect(good[i].request.from!, 'windows of exports that did not fail do not overlap').to.be.at.least(
      good[i - 1].request.to!,
    );
  }
}

/** Published notifications as parsed JSON, optionally filtered by event. */
export function notifications(aws: FakeAws, event?: string): any[] {
  const all: any[] = aws.sns.json();
  return event ? all.filter((n) => n.event === event) : all;
}

/** Events of all notifications, in order, without routine successes. */
export function alertEvents(aws: FakeAws): string[] {
  return notifications(aws)
    .filter((n) => n.event !== 'EXPORT_COMMITTED' && n.event !== 'FULL_EXPORT_COMMITTED')
    .map((n) => `${n.status}:${n.event}`);
}

/** A scenario's options; the tick's role defaults to the one the component deploys for its settings. */
export type TestScenarioOptions = Omit<ScenarioOptions, 'tickRole'> &
  Partial<Pick<ScenarioOptions, 'tickRole'>>;

/** The options with the deployed tick role filled in. */
export function withDeployedRole(options: TestScenarioOptions): ScenarioOptions {
  return {
    tickRole: (settings) => tickRoleForSettings(settings, { region: REGION, account: ACCOUNT }),
    ...options,
  };
}

/**
 * Runs a scenario and always disposes of it (restoring the real clock). Every call of the tick is
 * evaluated against its deployed role; the scenario fails if IAM denied any.
 */
export async function withScenario(
  options: TestScenarioOptions,
  body: (scenario: Scenario) => Promise<void>,
): Promise<void> {
  const scenario = await startScenario(withDeployedRole(options));
  try {
    await body(scenario);
    expect(scenario.access.denials, 'calls IAM denied to the export tick').to.deep.equal([]);
  } finally {
    await scenario.dispose();
  }
}

/** Accepted export requests in request order (a repeated request with the same token included). */
export function exportRequests(aws: FakeAws): {
  at: number;
  type: string;
  from?: number;
  to?: number;
  exportTime?: number;
  token?: string;
}[] {
  return aws.calls
    .of('ExportTableToPointInTime', (c) => c.outcome === 'ok')
    .map((c) => ({
      at: c.at,
      type: c.input.ExportType!,
      from: secondsOf(c.input.IncrementalExportSpecification?.ExportFromTime),
      to: secondsOf(c.input.IncrementalExportSpecification?.ExportToTime),
      exportTime: secondsOf(c.input.ExportTime),
      token: c.input.ClientToken,
    }));
}

function secondsOf(value: unknown): number | undefined {
  if (value instanceof Date) return value.getTime() / 1000;
  if (typeof value === 'number') return value;
  return undefined;
}

/** Executions that ended FAILED, with their error and cause. */
export function failedExecutions(run: LocalRun): string[] {
  return run.executions.filter((e) => e.status === 'FAILED').map((e) => `${e.name}: ${e.error}: ${e.cause}`);
}

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;

/** Every epoch folder's HEAD describes that epoch and matches its own last entry. */
export function assertEveryHead(aws: FakeAws, settings: WorkflowSettings): string[] {
  const root = chainCurrentKey(settings.prefix).replace(/CURRENT\.json$/, '');
  const epochs = [
    ...new Set(
      aws.s3
        .keys(settings.bucket, root)
        .map((k) => k.slice(root.length).split('/')[0])
        .filter((part) => /^\d{8}T\d{6}Z$/.test(part)),
    ),
  ];
  for (const epoch of epochs) {
    const entries = chainEntries(aws, settings, epoch);
    const head = readJson<ChainHead>(aws, settings.bucket, chainHeadKey(settings.prefix, epoch));
    if (entries.length === 0) {
      expect(head, `no HEAD without entries in ${epoch}`).to.equal(null);
      continue;
    }
    const last = entries[entries.length - 1];
    expect(head, `HEAD of ${epoch}`).to.not.equal(null);
    expect(head!.epoch, `HEAD in folder ${epoch} describes its own epoch`).to.equal(epoch);
    expect(head!.watermark, `HEAD of ${epoch} is at its last entry`).to.equal(last.to);
    expect(head!.lastSequence).to.equal(last.sequence);
  }
  return epochs;
}

/**
 * Delivered notifications carry stable ids: an id seen twice is an at-least-once resend of the same
 * message (same event and window), never two different messages under one id.
 */
export function assertNotificationIds(aws: FakeAws): Map<string, number> {
  const seen = new Map<string, any>();
  const counts = new Map<string, number>();
  for (const n of notifications(aws)) {
    expect(n.notificationId, 'every message has a notificationId').to.be.a('string');
    const first = seen.get(n.notificationId);
    if (first) {
      expect(
        { event: n.event, window: n.window, epoch: n.epoch },
        `resend of ${n.notificationId}`,
      ).to.deep.equal({
        event: first.event,
        window: first.window,
        epoch: first.epoch,
      });
    } else seen.set(n.notificationId, n);
    counts.set(n.notificationId, (counts.get(n.notificationId) ?? 0) + 1);
  }
  return counts;
}
