/**
 * The `import` bootstrap at the edge: DynamoDB ImportTable creating the replica table from the epoch's
 * full export, with the source's key schema and global secondary indexes, then DescribeImport until it
 * ends. The table it creates is not managed by Pulumi afterwards (docs/replica.md). What each answer
 * means for the replica is decided by functions/replica/bootstrap.ts (pure); this file makes the calls.
 *
 * Sending: under the replica's claim lease (functions/shared/lease.ts), after reading the state again, so
 * two executions at once send one ImportTable. A crash after ImportTable and before the state is saved
 * sends it again with the same ClientToken, which within 8 hours returns the same import (the API's
 * ClientToken documentation). In case DynamoDB answers otherwise ([U]: IdempotentParameterMismatch or
 * ImportConflictException for a changed request, ResourceInUseException because our own import already
 * created the table), the import of this export into the target is looked up with ListImports by the
 * table's ARN before anything is concluded.
 */
import { createHash } from 'node:crypto';
import {
  DescribeImportCommand,
  DescribeTableCommand,
  ImportTableCommand,
  ListImportsCommand,
  type ImportTableDescription,
  type ImportTableInput,
  type TableDescription,
} from '@aws-sdk/client-dynamodb';
import type { DynamoDbSender } from '../../apply';
import { getText, type S3Sender } from '../../format/s3io';
import { chainEntryKey, exportDataPrefix, type ChainEntry } from '../shared/chainManifest';
import type { SsmCall } from '../shared/lease';
import { underLease, unchangedSincePlanned } from '../shared/consumer/claim';
import {
  decideImport,
  recordedImportFacts,
  type ImportDecision,
  type ImportObservation,
  type ImportRequestFacts,
} from './bootstrap';
import type { PlannedEntry } from './planner';
import type { ReplicaSettings } from './settings';
import { REPLICA_CLAIM_ALSO_COMPARES, type ReplicaHaltReason, type ReplicaState } from './state';
import { errorName, errorMessage, withRetry } from '../shared/retry';
import { toSeconds } from '../shared/time';

export interface ReplicaImportRequest {
  input: ImportTableInput;
  /** What the source has that ImportTable cannot create; the operator adds these after the import. */
  notCarried: string[];
}

/** Where the new table is, as far as the caller knows: its Region and account. */
export interface ImportTargetPlace {
  region?: string;
  accountId?: string;
}

/** The Region and account of a KMS key ARN (`arn:<partition>:kms:<region>:<account>:key/<id>`). */
function kmsKeyPlace(arn: string): ImportTargetPlace {
  const [, , service, region, accountId] = arn.split(':');
  return service === 'kms' ? { region, accountId } : {};
}

/**
 * The attribute definitions a new table takes: only those its key schema and the global secondary
 * indexes carried use. The source's may also define the sort keys of local secondary indexes, which
 * ImportTable does not create, and CreateTable refuses a definition no key uses.
 */
function usedAttributeDefinitions(source: TableDescription): TableDescription['AttributeDefinitions'] {
  const used = new Set<string>();
  for (const k of source.KeySchema ?? []) if (k.AttributeName) used.add(k.AttributeName);
  for (const g of source.GlobalSecondaryIndexes ?? [])
    for (const k of g.KeySchema ?? []) if (k.AttributeName) used.add(k.AttributeName);
  return source.AttributeDefinitions?.filter((d) => d.AttributeName && used.has(d.AttributeName));
}

/**
 * The ImportTable input for `entry` (the epoch's full export) into a new table `targetTableName`,
 * shaped after `source` (DescribeTable of the source table). The ClientToken derives from the export
 * and the target, so a retried request within ImportTable's 8-hour idempotency window starts no
 * second import. The source's KMS key is carried only into its own Region and account (`target`, as
 * far as known): a key is usable only there, and another Region's table gets DynamoDB's default
 * encryption, named in `notCarried`.
 */
export function replicaImportRequest(
  entry: Pick<ChainEntry, 'type' | 'exportArn' | 'bucket' | 'exportFormat' | 'bucketOwnerAccountId'>,
  prefix: string,
  source: TableDescription,
  targetTableName: string,
  target: ImportTargetPlace = {},
): ReplicaImportRequest {
  if (entry.type !== 'FULL') throw new Error(`an import starts from a full export, not ${entry.type}`);
  if (!source.KeySchema?.length || !source.AttributeDefinitions?.length) {
    throw new Error('the source description has no key schema');
  }
  const onDemand = source.BillingModeSummary?.BillingMode !== 'PROVISIONED';
  const notCarried: string[] = [];
  if (source.LocalSecondaryIndexes?.length) notCarried.push('local secondary indexes');
  if (source.StreamSpecification?.StreamEnabled) notCarried.push('stream');
  if (source.TableClassSummary?.TableClass === 'STANDARD_INFREQUENT_ACCESS') notCarried.push('table class');
  if (source.DeletionProtectionEnabled) notCarried.push('deletion protection');
  const sourceKey = source.SSEDescription?.KMSMasterKeyArn;
  const keyPlace = sourceKey ? kmsKeyPlace(sourceKey) : {};
  const keyUsable =
    sourceKey !== undefined &&
    (target.region === undefined || keyPlace.region === undefined || target.region === keyPlace.region) &&
    (target.accountId === undefined ||
      keyPlace.accountId === undefined ||
      target.accountId === keyPlace.accountId);
  if (sourceKey !== undefined && !keyUsable)
    notCarried.push(
      `the KMS key ${sourceKey} (of another Region or account: the table gets DynamoDB's default encryption)`,
    );
  notCarried.push('point-in-time recovery', 'time to live', 'tags');
  const input: ImportTableInput = {
    ClientToken: createHash('sha256')
      .update(`${entry.exportArn}\n${targetTableName}`)
      .digest('hex')
      .slice(0, 32),
    S3BucketSource: {
      S3Bucket: entry.bucket,
      ...(entry.bucketOwnerAccountId ? { S3BucketOwner: entry.bucketOwnerAccountId } : {}),
      // The full export's own data folder: only its data files, not the manifests beside them. [U]
      // whether AWS accepts the export folder itself; the data folder works either way.
      S3KeyPrefix: `${exportDataPrefix(prefix, entry.exportArn)}data/`,
    },
    InputFormat: entry.exportFormat === 'ION' ? 'ION' : 'DYNAMODB_JSON',
    InputCompressionType: 'GZIP',
    TableCreationParameters: {
      TableName: targetTableName,
      AttributeDefinitions: usedAttributeDefinitions(source),
      KeySchema: source.KeySchema,
      BillingMode: onDemand ? 'PAY_PER_REQUEST' : 'PROVISIONED',
      ...(onDemand
        ? {}
        : {
            ProvisionedThroughput: {
              ReadCapacityUnits: source.ProvisionedThroughput?.ReadCapacityUnits ?? 5,
              WriteCapacityUnits: source.ProvisionedThroughput?.WriteCapacityUnits ?? 5,
            },
          }),
      ...(keyUsable
        ? { SSESpecification: { Enabled: true, SSEType: 'KMS', KMSMasterKeyId: sourceKey } }
        : {}),
      ...(source.GlobalSecondaryIndexes?.length
        ? {
            GlobalSecondaryIndexes: source.GlobalSecondaryIndexes.map((g) => ({
              IndexName: g.IndexName!,
              KeySchema: g.KeySchema!,
              Projection: g.Projection!,
              ...(onDemand
                ? {}
                : {
                    ProvisionedThroughput: {
                      ReadCapacityUnits: g.ProvisionedThroughput?.ReadCapacityUnits ?? 5,
                      WriteCapacityUnits: g.ProvisionedThroughput?.WriteCapacityUnits ?? 5,
                    },
                  }),
            })),
          }
        : {}),
    },
  };
  return { input, notCarried };
}

/** What the bootstrap needs of the apply Lambda: its clients, its lock and its state helpers. */
export interface ImportBootstrapDeps {
  settings: ReplicaSettings;
  s3: S3Sender;
  /** The replica's SSM calls under the retry policy (functions/replica/replicaAws.ts): the lease's. */
  ssmCall: SsmCall;
  /** DynamoDB in the source's account and Region: DescribeTable of the source table. */
  source: DynamoDbSender;
  /** DynamoDB of the target (its Region, the assumed role): ImportTable, DescribeImport, ListImports. */
  target: DynamoDbSender;
  lockName: string;
  executionId: string;
  /** Epoch milliseconds. */
  now: () => number;
  readState(): Promise<ReplicaState>;
  saveState(state: ReplicaState): Promise<void>;
  /** Alerts once and records the halt. */
  halt(state: ReplicaState, reason: ReplicaHaltReason, detail: string): Promise<void>;
}

/** What the plan step returns to the state machine for a bootstrap step. */
export interface ImportStepOutput {
  action: 'IDLE' | 'HALT' | 'BUSY' | 'CONTINUE';
  detail: string;
}

/** Error names that say "this token or table is already taken", possibly by our own import. */
const TOKEN_CONFLICTS = new Set([
  'ImportConflictException',
  'IdempotentParameterMismatch',
  'IdempotentParameterMismatchException',
]);

function observedImport(d: ImportTableDescription | undefined): ImportObservation {
  if (!d?.ImportArn) throw new Error('ImportTable/DescribeImport answered without an ImportArn');
  return {
    kind: 'import',
    importArn: d.ImportArn,
    status: d.ImportStatus,
    ...(d.StartTime ? { startTime: d.StartTime } : {}),
    ...(d.ImportedItemCount !== undefined ? { importedItemCount: d.ImportedItemCount } : {}),
    ...(d.ErrorCount !== undefined ? { errorCount: d.ErrorCount } : {}),
    ...(d.FailureCode ? { failureCode: d.FailureCode } : {}),
    ...(d.FailureMessage ? { failureMessage: d.FailureMessage } : {}),
  };
}

async function describeImport(target: DynamoDbSender, importArn: string): Promise<ImportObservation> {
  const out = await withRetry('DescribeImport', () =>
    target.send(new DescribeImportCommand({ ImportArn: importArn })),
  );
  return observedImport(out.ImportTableDescription);
}

/**
 * The import of `source` (bucket and key prefix) into the target table, found with ListImports by the
 * table's ARN (from DescribeTable: the table exists once an import created it), newest first.
 */
async function findOwnImport(
  target: DynamoDbSender,
  tableName: string,
  source: ImportTableInput['S3BucketSource'],
): Promise<ImportObservation | undefined> {
  let tableArn: string | undefined;
  try {
    const table = await withRetry('DescribeTable(target)', () =>
      target.send(new DescribeTableCommand({ TableName: tableName })),
    );
    tableArn = table.Table?.TableArn;
  } catch (err) {
    if (errorName(err) !== 'ResourceNotFoundException') throw err;
  }
  if (!tableArn) return undefined;
  const matches: { arn: string; start: number }[] = [];
  let nextToken: string | undefined;
  do {
    const page = await withRetry('ListImports', () =>
      target.send(new ListImportsCommand({ TableArn: tableArn, PageSize: 25, NextToken: nextToken })),
    );
    for (const summary of page.ImportSummaryList ?? []) {
      const from = summary.S3BucketSource;
      if (
        summary.ImportArn &&
        from?.S3Bucket === source?.S3Bucket &&
        from?.S3KeyPrefix === source?.S3KeyPrefix
      )
        matches.push({ arn: summary.ImportArn, start: summary.StartTime?.getTime() ?? 0 });
    }
    nextToken = page.NextToken;
  } while (nextToken);
  if (matches.length === 0) return undefined;
  matches.sort((a, b) => b.start - a.start);
  return describeImport(target, matches[0].arn);
}

/** Sends ImportTable and turns every answer into an observation. */
async function sendImport(deps: ImportBootstrapDeps, input: ImportTableInput): Promise<ImportObservation> {
  try {
    const out = await withRetry('ImportTable', () => deps.target.send(new ImportTableCommand(input)));
    return observedImport(out.ImportTableDescription);
  } catch (err) {
    const name = errorName(err);
    if (name !== 'ResourceInUseException' && !TOKEN_CONFLICTS.has(name)) throw err;
    const own = await findOwnImport(deps.target, deps.settings.targetTableName, input.S3BucketSource);
    if (own) return own;
    return name === 'ResourceInUseException'
      ? { kind: 'targetExists', message: `${name}: ${errorMessage(err)}` }
      : { kind: 'notFound', error: `${name}: ${errorMessage(err)}` };
  }
}

/**
 * Runs `step` under the replica's claim lease, if the state is still the one `planned` read: BUSY
 * otherwise, so of two executions at once only one sends or records anything.
 */
async function underClaimLease(
  deps: ImportBootstrapDeps,
  planned: ReplicaState,
  step: (current: ReplicaState) => Promise<ImportStepOutput>,
): Promise<ImportStepOutput> {
  const busy: ImportStepOutput = {
    action: 'BUSY',
    detail: 'another execution is starting or recording the import',
  };
  const now = Math.floor(deps.now() / 1000);
  const ran = await underLease(
    deps.ssmCall,
    { lockName: deps.lockName, executionId: deps.executionId, now },
    async () => {
      const current = await deps.readState();
      if (!unchangedSincePlanned(planned, current, REPLICA_CLAIM_ALSO_COMPARES)) return busy;
      return step(current);
    },
  );
  return ran.held ? ran.value : busy;
}

/** Carries out a decision: saves or halts, and says what happened. */
async function carryOut(
  deps: ImportBootstrapDeps,
  state: ReplicaState,
  decision: ImportDecision,
): Promise<ImportStepOutput> {
  switch (decision.kind) {
    case 'HALT':
      await deps.halt(state, decision.reason, decision.detail);
      return { action: 'HALT', detail: decision.detail };
    case 'COMPLETE':
      // Planned again at once: the incremental entries follow in the same execution.
      await deps.saveState(decision.state);
      return { action: 'CONTINUE', detail: decision.detail };
    case 'WAIT':
      if (decision.state) await deps.saveState(decision.state);
      return { action: 'IDLE', detail: decision.detail };
  }
}

/** The full export's chain entry as written (the planner's view lacks its format and bucket owner). */
async function fullExportEntry(deps: ImportBootstrapDeps, epoch: string, entry: PlannedEntry) {
  const at = Date.parse(entry.to) / 1000;
  const key = chainEntryKey(deps.settings.prefix, epoch, entry.sequence, at, at);
  return JSON.parse(await getText(deps.s3, deps.settings.bucket, key)) as ChainEntry;
}

/** Starts the import of the epoch's full export (`entry`), or finds the one a crashed execution started. */
export async function startImport(
  deps: ImportBootstrapDeps,
  planned: ReplicaState,
  epoch: string,
  entry: PlannedEntry,
): Promise<ImportStepOutput> {
  return underClaimLease(deps, planned, async (current) => {
    const full = await fullExportEntry(deps, epoch, entry);
    const described = await withRetry('DescribeTable(source)', () =>
      deps.source.send(new DescribeTableCommand({ TableName: deps.settings.sourceTableName })),
    );
    if (!described.Table) throw new Error(`DescribeTable ${deps.settings.sourceTableName} answered no table`);
    const { input } = replicaImportRequest(
      full,
      deps.settings.prefix,
      described.Table,
      deps.settings.targetTableName,
      {
        // The target's Region when set, else the Lambda's own, the source's; its account is the role's.
        ...(deps.settings.targetRegion ? { region: deps.settings.targetRegion } : {}),
        ...(deps.settings.roleArn ? { accountId: deps.settings.roleArn.split(':')[4] } : {}),
      },
    );
    const facts: ImportRequestFacts = {
      clientToken: input.ClientToken!,
      exportArn: entry.exportArn,
      epoch,
      sequence: entry.sequence,
      watermark: toSeconds(entry.to) ?? 0,
      itemCount: entry.itemCount,
    };
    const observation = await sendImport(deps, input);
    const decision = decideImport(current, facts, observation, {
      targetTableName: deps.settings.targetTableName,
      now: deps.now() / 1000,
    });
    return carryOut(deps, current, decision);
  });
}

/** Looks at the import in flight; records its end under the lease. */
export async function checkImport(
  deps: ImportBootstrapDeps,
  planned: ReplicaState,
): Promise<ImportStepOutput> {
  const recorded = planned.import;
  if (!recorded) throw new Error('checkImport needs an import in the replica state');
  const facts = recordedImportFacts(recorded);
  const context = { targetTableName: deps.settings.targetTableName, now: deps.now() / 1000 };
  let observation: ImportObservation;
  try {
    observation = await describeImport(deps.target, recorded.importArn);
  } catch (err) {
    if (errorName(err) !== 'ImportNotFoundException') throw err;
    observation = {
      kind: 'import',
      importArn: recorded.importArn,
      status: 'FAILED',
      failureCode: 'ImportNotFoundException',
      failureMessage: errorMessage(err),
    };
  }
  const decision = decideImport(planned, facts, observation, context);
  // Still running: nothing to write, so no lease is needed.
  if (decision.kind === 'WAIT' && !decision.state) return { action: 'IDLE', detail: decision.detail };
  return underClaimLease(deps, planned, (current) =>
    carryOut(deps, current, decideImport(current, facts, observation, context)),
  );
}
