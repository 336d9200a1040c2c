/**
 * The contract of a replica's apply Lambda (functions/replica/apply.ts): the events each step of the
 * state machine sends, what the plan step answers, the clients and options it takes, and the names it
 * shares with the component (the lag metric, the lock beside the state parameter).
 */
import type { ApplyOptions, DynamoDbSender } from '../../apply';
import type { DataFileEntry, ExportFormatName, S3Sender } from '../../format';
import type { SfnSender, SnsSender, SsmSender } from '../shared/awsClients';
import type { PlannedEntry, PlannerLimits, ReplicaPlan, ResumeAt } from './planner';

export { EXPRESS_CHILD_BUDGET_SECONDS } from './workSizing';

export interface ReplicaClients {
  s3: S3Sender;
  ssm: SsmSender;
  sns: SnsSender;
  /** DynamoDB client of the target (its Region, and the assumed role's credentials when set). */
  target: DynamoDbSender;
  /**
   * Step Functions, to tell whether the execution holding a claim is still running
   * (DescribeExecution on the replica's own executions). Without it a claim left by a failed
   * execution holds until its lease expires.
   */
  states?: SfnSender;
  /** DynamoDB client of the source's account and Region: an `import` bootstrap describes the source table. */
  source?: DynamoDbSender;
}

export interface ReplicaHandlerOptions {
  /** Epoch milliseconds. */
  now?: () => number;
  /** Where the EMF metric line goes. */
  log?: (line: string) => void;
  /** Where other log lines go (a rebuild carried out, a missing action parameter). @default console.log */
  info?: (line: string) => void;
  limits?: Partial<PlannerLimits>;
  /** Every wait of the handler: the apply engine's and the retries' (tests shorten backoff with it). */
  sleep?: ApplyOptions['sleep'];
  /** How long a confirmation of the claim is relied on before a write (functions/replica/writeGuard.ts). */
  claimConfirmMs?: number;
}

/** What every child of one Distributed Map is told by the plan step (the same for all). */
export interface ChildWork {
  /** The execution whose claim the children write under: they stop once it moves. */
  claim: string;
  /** The child's share of the write rate. */
  writesPerSecond: number;
  /** Seconds each invocation writes before it stops and reports how far it got. */
  budgetSeconds: number;
}

/** One item of the Distributed Map: a data file, with the entry it belongs to (from ItemSelector). */
export interface DataFileItem {
  file: DataFileEntry;
  entry: PlannedEntry;
  format: ExportFormatName;
  /** Absent only from an execution the previous definition started (functions/replica/timedApply.ts). */
  child?: ChildWork;
}

/** Where a child's batch stands: its data files before `file`, and `record` records of `file`, are written. */
export type BatchCursor = ResumeAt;

/** What a child invocation answers: done, or where the next invocation goes on from. */
export interface ChildAnswer {
  done: boolean;
  resume: BatchCursor | null;
  files: number;
  writes: number;
}

export type ReplicaEvent =
  /** `input`: the execution's input; `{ restore: { stopAtSequence } }` for a one-shot restore (functions/replica/oneShot.ts). */
  | { step: 'plan'; executionId: string; input?: unknown }
  | {
      step: 'applyGroup';
      executionId: string;
      epoch: string;
      entries: PlannedEntry[];
      /** The first entry goes on from here (it was applied in part before). */
      resume?: ResumeAt | null;
    }
  /** A child's invocation: its batch of data files, from `from` (the start when absent or null). */
  | { step: 'applyFiles'; Items: DataFileItem[]; from?: BatchCursor | null }
  | { step: 'commit'; executionId: string; epoch: string; entry: PlannedEntry }
  | { step: 'checkFailedEntry'; executionId: string; epoch: string; entry: PlannedEntry };

/** What `plan` returns to the state machine (its Choice reads `action`). */
export interface PlanOutput {
  /**
   * The planner's action, or CONTINUE: a step that made progress of its own (the target emptied for
   * a rebaseline, an import completed) and asks the definition to plan again at once.
   */
  action: ReplicaPlan['action'] | 'CONTINUE';
  detail?: string;
  epoch?: string;
  entries?: PlannedEntry[];
  /** With APPLY_GROUP: where its one entry goes on from, or null. */
  resume?: ResumeAt | null;
  entry?: PlannedEntry;
  /** For the Distributed Map's ItemReader: the entry's manifest-files.json (same account and Region). */
  reader?: { Bucket: string; Key: string };
  format?: ExportFormatName;
  /** EXPRESS when every child fits in Express's 5 minutes at the write rate, else STANDARD. */
  childType?: 'EXPRESS' | 'STANDARD';
  /** Distributed Map children at once (its MaxConcurrencyPath): min(concurrency, batches, rate). */
  concurrency?: number;
  /** Data files per child (the ItemBatcher's MaxItemsPerBatchPath), sized by records and rate. */
  filesPerBatch?: number;
  /** What each child is told (the ItemSelector adds it to every item). */
  child?: ChildWork;
}
