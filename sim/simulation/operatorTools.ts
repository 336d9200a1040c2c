/**
 * The operator's tools a simulation uses, handed in by the command that runs it.
 *
 * The run pauses and resumes the workflow and samples its phase with the same code as `dce pause` and
 * `dce status`, checks its chain with the same code as `dce verify --deep` and `dce replay`, and
 * recreates the table from the protected copy with the same code as `dce restore` (and with
`dce restore --distributed` through the replica machinery). That
 * code lives in `cli/`, a layer above `sim/`, so the engine names only the shapes it needs here and
 * `cli/simulate.ts` passes the real functions: the engine never imports `cli/`.
 */
import type { SendClient } from '../machines/localRun';
import type { DeploySimulation } from './deployment';

/** `dce status`'s view of the workflow, from the parameters as they are. */
export interface StatusView {
  phase: string;
  /** Sequence of the last committed chain entry; null before the first. */
  lastSequence: number | null;
  lagSeconds: number | null;
}

/** The chain as `verify` reads it. */
export interface VerifyResult {
  ok: boolean;
  epoch: string;
  chainStart?: string;
  watermark?: string;
  entries: number;
  problems: { kind: string; key: string; message: string }[];
}

/** What `verify` reports as it goes. */
export interface VerifyProgressView {
  entriesTotal: number;
  entriesDone: number;
  /** Data files read so far (deep only). */
  filesRead?: number;
}

/** What `replay` reports as it goes. */
export interface ReplayProgressView {
  entriesTotal: number;
  entriesDone: number;
  itemsApplied: number;
}

/** What `replay` did. */
export interface ReplayResult {
  entriesApplied: number;
  watermark?: string;
  puts: number;
  deletes: number;
}

/** What `dce restore` did: the point it restored to and what it applied. */
export interface RestoreResult {
  point: { sequence: number; asOf: string };
  apply: { entriesApplied: number; puts: number; deletes: number };
}

/** What `dce restore --distributed` did: the point, the one-shot executions it started, where it ended. */
export interface DistributedRestoreResult {
  point: { sequence: number; asOf: string };
  executions: string[];
  appliedSequence: number;
}

export interface OperatorTools {
  /** The stack the run stands for, as `pulumi up` deploys it (rendered under Pulumi's mocks). */
  deploy: DeploySimulation;
  deriveStatus(
    alias: string,
    input: {
      action: string | null;
      /**
       * The action parameter's version and modification time (epoch ms): required, since without them
       * a RESET the workflow carried out cannot be told from a pending one.
       */
      actionVersion: number | null;
      actionModifiedAtMs: number | null;
      stateText: string | null;
      stateParameterName: string;
      now: number;
      windowMinutes: number;
    },
  ): StatusView;
  setAction(options: {
    ssm: SendClient;
    alias: string;
    parameterName: string;
    /** The chain state parameter: a RESET is pending until the state records it. */
    stateParameterName: string;
    action: 'RUN' | 'PAUSE' | 'RESET';
    /** How `dce` waits out transient errors; the simulation waits on its own clock, with its seeded jitter. */
    retry: { sleep: (ms: number) => Promise<void>; random: () => number };
  }): Promise<unknown>;
  verifyChain(options: {
    s3: SendClient;
    bucket: string;
    prefix: string;
    deep: boolean;
    /** Called as exports are checked, by a verify that reports progress (others ignore it). */
    onProgress?: (progress: VerifyProgressView) => void;
  }): Promise<VerifyResult>;
  replayChain(options: {
    s3: SendClient;
    dynamodb: SendClient;
    bucket: string;
    prefix: string;
    targetTable: string;
    concurrency: number;
    onProgress?: (progress: ReplayProgressView) => void;
  }): Promise<ReplayResult>;
  /** `dce restore`: a table recreated as of a committed point, from the bucket given (the primary or a copy). */
  restoreTable(options: {
    s3: SendClient;
    dynamodb: SendClient;
    bucket: string;
    prefix: string;
    targetTable: string;
    to: { sequence: number } | { time: number };
    bootstrap: 'write';
    /** The restore's state file (JSON), as `dce restore --state` takes it. */
    stateFile: string;
    concurrency?: number;
  }): Promise<RestoreResult>;
  /**
   * `dce restore --distributed`: one-shot executions of the replica's machine (deployed without a
   * schedule) up to the point chosen in the chain, followed until its table is there.
   */
  restoreDistributed?(options: {
    s3: SendClient;
    bucket: string;
    prefix: string;
    /** Step Functions and SSM of the replica's machine and state, as the operator reaches them. */
    states: SendClient;
    ssm: SendClient;
    replica: { alias: string; stateMachineArn: string; stateParameterName: string; targetTableName: string };
    to: { sequence: number } | { time: number };
    /** Waits between looks at the execution, on the run's clock. */
    sleep: (ms: number) => Promise<void>;
    pollMs: number;
  }): Promise<DistributedRestoreResult>;
}
