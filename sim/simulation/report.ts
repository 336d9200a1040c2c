/** The report of a simulation run and the progress it announces on the way (types, plus a pure diff). */
import type { ExportCostOutcome } from './exportCost';
import type { Denial, RoleCounts } from '../iam/evaluator';
import type { CostEstimate } from './cost';
import type { SimulateOptions } from './options';

/** What the run is doing, for a progress display. */
export type SimulationPhase =
  'starting' | 'running' | 'verifying' | 'replaying' | 'comparing' | 'restoring' | 'done';

/** Where the run is, for a progress display. */
export interface SimulationProgress {
  phase: SimulationPhase;
  /** Simulated seconds run so far and in total (running phase). */
  simulatedSeconds: number;
  totalSeconds: number;
  /** Chain entries committed so far (sequence + 1); running and done phases only. */
  committed: number;
  lagSeconds: number | null;
  /** Verifying phase: exports checked so far and in the chain, when the verify reports them. */
  verify?: { exportsChecked: number; exports: number; filesRead?: number };
  /** Replaying phase: exports applied so far and in the chain, when known. */
  replay?: { exportsApplied: number; exports: number; items: number };
}

/** The chain as `verify --deep` found it. */
export interface ChainOutcome {
  ok: boolean;
  epoch: string | null;
  entries: number;
  chainStart: string | null;
  watermark: string | null;
  lagSeconds: number | null;
  problems: { kind: string; key: string; message: string }[];
}

/** The replay of the chain into a local table and its comparison with the source. */
export interface ReplayOutcome {
  ok: boolean;
  items: number;
  expectedItems: number;
  exportsApplied: number;
  puts: number;
  deletes: number;
  watermark: string | null;
  identical: boolean;
  firstDifferences: string[];
  error?: string;
}

/** The replica kept by its own state machine during the run, compared with the source at its watermark. */
export interface ReplicaOutcome {
  /** Identical at its watermark, nothing in progress, and not halted (unless by a RESET of the run). */
  ok: boolean;
  targetTable: string;
  /** Its `onNewEpoch` (`--replica-on-new-epoch`). */
  onNewEpoch: 'halt' | 'rebaseline';
  /** Its bootstrap (`--replica-bootstrap`), and the ImportTable requests an `import` sent. */
  bootstrap: 'write' | 'import';
  importRequests: number;
  status: string;
  /** `<reason>: <detail>` when halted. */
  halt: string | null;
  epoch: string | null;
  lastAppliedSequence: number;
  watermark: string | null;
  /** The chain's watermark minus the replica's, at the end. */
  lagBehindChainSeconds: number | null;
  /** End of the run minus the replica's watermark when the run reached its end. */
  lagAtEndSeconds: number | null;
  /** Largest ReplicaLagSeconds the apply Lambda reported during the run. */
  maxLagSeconds: number | null;
  items: number;
  expectedItems: number;
  identical: boolean;
  firstDifferences: string[];
  executions: {
    total: number;
    succeeded: number;
    failed: number;
    /** Failed executions by error name. */
    failedBy: Record<string, number>;
    invocations: number;
  };
  /** State transitions of the replica's executions (Distributed Map children not included). */
  transitions: number;
  /** Distributed Map states entered, the child executions they ran, and the children's transitions. */
  distributedMap: { runs: number; children: number; childTransitions: number };
  /** REPLICA_HALTED messages published. */
  alerts: number;
  error?: string;
}

/** The Iceberg feed kept during the run: its lake table compared with the source at its watermark. */
export interface IcebergOutcome {
  /**
   * Identical at its watermark through the `item` column, something merged, nothing in progress, the
   * readers' view on the feed's epoch, and not halted (unless by a RESET of the run with onNewEpoch halt).
   */
  ok: boolean;
  /** The readers' view, `database.table`. */
  view: string;
  onNewEpoch: 'rebuild' | 'halt';
  mergeEveryMinutes: number;
  status: string;
  halt: string | null;
  epoch: string | null;
  viewEpoch: string | null;
  lastAppliedSequence: number;
  watermark: string | null;
  /** The chain's watermark minus the feed's, at the end. */
  lagBehindChainSeconds: number | null;
  /** Rows of the epoch's lake table, and items of the source as of the watermark. */
  rows: number;
  expectedItems: number;
  identical: boolean;
  firstDifferences: string[];
  /** Executions, those failed by `<error> in <state>`, and Lambda invocations. */
  executions: { total: number; failed: number; failedBy: Record<string, number>; invocations: number };
  transitions: number;
  /** Statements the stand-in ran (MERGE, DDL), those that failed, and the staging bytes read. */
  queries: { merges: number; ddl: number; failed: number; dataScannedInBytes: number };
  /** ICEBERG_HALTED messages published. */
  alerts: number;
  /**
   * The Glue table optimizers the workflow created, by lake table (their types, sorted), and the
   * creations refused as already existing (re-runs); null when the deployed workflow creates none.
   * `ok` needs the epoch's table to have all three.
   */
  optimizers: { tables: Record<string, string[]>; alreadyExisted: number } | null;
  error?: string;
}

/** The protected copy: the chain replicated to a bucket standing for another Region, and verified there. */
export interface DrCopyOutcome {
  /** `verify --deep` of the copy accepts it, and it holds every object of the primary's prefix. */
  ok: boolean;
  bucket: string;
  region: string;
  /** Objects and bytes replicated. */
  objects: number;
  bytes: number;
  /** The deployed rule applied (id, prefix, delete markers) and the role it replicated as. */
  rule?: { id: string; prefix: string; deleteMarkers: string; role: string };
  /** Objects whose replication IAM refused to the replication role (S3 marks them FAILED). */
  denied?: string[];
  /** Objects under the primary's prefix that the copy lacks at the end. */
  missing: string[];
  verify: {
    ok: boolean;
    epoch: string | null;
    entries: number;
    problems: { kind: string; message: string }[];
  };
  error?: string;
}

/** `dce restore` from the protected copy into a table of the second Region, against the source. */
export interface RestoreOutcome {
  /** Identical to the source as of the restored point. */
  ok: boolean;
  targetTable: string;
  region: string;
  /** The bucket it read: the protected copy. */
  bucket: string;
  point: { sequence: number; asOf: string } | null;
  entriesApplied: number;
  puts: number;
  deletes: number;
  items: number;
  expectedItems: number;
  identical: boolean;
  firstDifferences: string[];
  seconds: number;
  error?: string;
}

/** `dce restore --distributed` with the replica without a schedule, against the source at its point. */
export interface DistributedRestoreOutcome {
  /** Identical to the source as of the restored point. */
  ok: boolean;
  /** The replica whose machine restored, and its table. */
  replica: string;
  targetTable: string;
  point: { sequence: number; asOf: string } | null;
  /** One-shot executions started, and the Distributed Map children they ran. */
  executions: number;
  children: number;
  items: number;
  expectedItems: number;
  identical: boolean;
  firstDifferences: string[];
  seconds: number;
  error?: string;
}

/** IAM's evaluation of a run's calls. */
export interface IamOutcome {
  /** Calls evaluated and denied, by deployed role name. */
  roles: Record<string, RoleCounts>;
  denied: number;
  /** The first denials: the call, the role, the action and resource IAM refused. */
  denials: Denial[];
}

/** The report of a run; `--json` prints it as is. Times ISO 8601, durations seconds. */
export interface SimulationReport {
  ok: boolean;
  options: SimulateOptions;
  simulated: { start: string; end: string; days: number };
  source: { writes: number; itemsAtWatermark: number };
  windows: { committed: number; expected: number; incremental: number };
  exports: {
    started: number;
    completed: number;
    failed: number;
    /** Windows that needed more than one export request. */
    retriedWindows: number;
    inFlightAtEnd: number;
    billedBytes: number;
  };
  /** The incremental exports' count, window lengths and modelled monthly cost (exportCost.ts). */
  exportCost: ExportCostOutcome;
  faults: {
    failedExportsInjected: number;
    transientErrorsInjected: number;
    duplicateDeliveries: number;
    skippedDeliveries: number;
    pauses: { from: string; to: string }[];
    resets: string[];
  };
  executions: { total: number; succeeded: number; failed: number; aborted: number; invocations: number };
  /** Billable Step Functions state transitions. */
  transitions: number;
  chain: ChainOutcome;
  /** Workflow phase changes, sampled every simulated 15 minutes. */
  phases: { at: string; phase: string }[];
  finalPhase: string;
  /** Estimated monthly orchestration cost per table, USD (us-east-1 list prices). */
  cost: CostEstimate;
  replay: ReplayOutcome;
  replica: ReplicaOutcome;
  /** The Iceberg feed, when the run deployed one (`iceberg` option); null otherwise. */
  iceberg: IcebergOutcome | null;
  /** The protected copy and the restore from it, when the run made them (`dr` option); null otherwise. */
  dr: { copy: DrCopyOutcome; restore: RestoreOutcome; distributed?: DistributedRestoreOutcome } | null;
  ssm: {
    via: 'local SSM server (real SSMClient over HTTP)' | 'in-process fake';
    requests: Record<string, number>;
  };
  /**
   * IAM: every AWS call of the run's functions, state machines and schedules, evaluated against the
   * deployed role that makes it; calls evaluated and denied per role, and the first denials.
   */
  iam: IamOutcome;
  /** Requests to the local S3 server during the run: by the tick (chain manifest) and by the export engine. */
  s3: { tickRequests: number; exportWriterRequests: number };
  wall: {
    totalSeconds: number;
    simulationSeconds: number;
    verifySeconds: number;
    replaySeconds: number;
    /** The copy, the restore from it and its verify (0 without them). */
    drSeconds: number;
  };
}

/**
 * Pure: compares two tables given as canonical item texts keyed by the item key; returns up to
 * `limit` readable differences.
 */
export function tableDifferences(
  expected: Map<string, string>,
  actual: Map<string, string>,
  limit = 5,
  label = 'replayed',
): string[] {
  const out: string[] = [];
  const keys = [...new Set([...expected.keys(), ...actual.keys()])].sort();
  for (const key of keys) {
    if (out.length >= limit) break;
    const e = expected.get(key);
    const a = actual.get(key);
    if (e === a) continue;
    if (a === undefined) out.push(`missing in the ${label} table: ${key}`);
    else if (e === undefined) out.push(`not in the source table: ${key}`);
    else
      out.push(
        `differs: ${key}\n      source:   ${truncate(e)}\n      ${`${label}:`.padEnd(9)} ${truncate(a)}`,
      );
  }
  return out;
}

function truncate(text: string, max = 160): string {
  return text.length <= max ? text : `${text.slice(0, max)}...`;
}
