/**
 * S3 live replication, offline: one replication rule as the stack renders it (`dr:`,
 * components/protection/drReplication.ts, read from the deployment under Pulumi mocks) applied by a
 * pass over the source bucket, as the replication role, every request evaluated by IAM (`sim/iam/`).
 *
 * What it does of S3's replication (S3 User Guide, "Replicating objects within and across Regions"):
 *
 * - only a rule with `status: Enabled`, only keys under its `filter.prefix`;
 * - each new object (or a new version of it: another ETag) once; a replica already there is left;
 * - an SSE-KMS object only when the rule selects `sseKmsEncryptedObjects`, decrypted with its key
 *   (`kms:Decrypt` through S3) and, with `encryptionConfiguration.replicaKmsKeyId`, re-encrypted with
 *   that key (`kms:Encrypt` through S3 in the destination's Region); other objects keep their
 *   encryption [U: whether the destination's default encryption applies to replicas of SSE-S3 objects];
 * - an object gone from the source (a delete, which in a versioned bucket adds a delete marker): with
 *   `deleteMarkerReplication` Disabled the replica stays; Enabled, it is deleted (`s3:ReplicateDelete`);
 * - a denied request fails that object's replication (S3 marks it FAILED); the others go on.
 *
 * Not modelled: the time replication takes (a pass replicates at once; the lag alarm's metric is
 * S3's), versions and their IDs (the offline S3 servers keep one version per key), Batch Replication.
 * The decisions are `replicationWork` (pure); `replicatePass` carries them out.
 */
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type HeadObjectCommandOutput,
  type ListObjectsV2CommandOutput,
} from '@aws-sdk/client-s3';
import { getBytes } from '../format';
import type { AccessEvaluator, Denial } from './iam/evaluator';
import { replicationRequests, type CallScope, type ReplicationStep } from './iam/requests';
import type { SendClient } from './machines/localRun';

/** One replication rule, in the shape the component renders (`BucketReplicationConfigRule`). */
export interface ReplicationRule {
  id?: string;
  status: string;
  priority?: number;
  filter?: { prefix?: string };
  deleteMarkerReplication?: { status: string };
  sourceSelectionCriteria?: { sseKmsEncryptedObjects?: { status: string } };
  destination: {
    /** `arn:aws:s3:::<bucket>` */
    bucket: string;
    account?: string;
    encryptionConfiguration?: { replicaKmsKeyId?: string };
  };
}

/** An object of the source bucket as a pass sees it. */
export interface SourceObject {
  key: string;
  etag: string;
  size?: number;
  /** The object's SSE-KMS key, when it is encrypted with one. */
  kmsKeyId?: string;
}

/** What a pass does. */
export type ReplicationAction =
  | {
      kind: 'replicate';
      key: string;
      etag: string;
      size?: number;
      sourceKmsKey?: string;
      replicaKmsKey?: string;
    }
  | { kind: 'deleteReplica'; key: string }
  | { kind: 'skip'; key: string; reason: string };

/** The bucket name of a rule's destination ARN. */
export function destinationBucketOf(rule: ReplicationRule): string {
  const m = /^arn:[a-z-]+:s3:::([^/]+)$/.exec(rule.destination.bucket);
  if (!m)
    throw new Error(
      `replication rule ${rule.id ?? ''}: destination ${rule.destination.bucket} is not a bucket ARN`,
    );
  return m[1];
}

const enabled = (s: { status: string } | undefined) => s?.status === 'Enabled';

/**
 * Pure: what one pass does, from the source's objects now, what was replicated before (key -> ETag)
 * and the rule. Keys outside the prefix are not looked at.
 */
export function replicationWork(
  rule: ReplicationRule,
  objects: readonly SourceObject[],
  replicated: ReadonlyMap<string, string>,
): ReplicationAction[] {
  if (!enabled(rule)) return [];
  const prefix = rule.filter?.prefix ?? '';
  const under = (key: string) => key.startsWith(prefix);
  const actions: ReplicationAction[] = [];
  const present = new Set<string>();
  for (const o of objects) {
    if (!under(o.key)) continue;
    present.add(o.key);
    if (replicated.get(o.key) === o.etag) continue;
    if (o.kmsKeyId && !enabled(rule.sourceSelectionCriteria?.sseKmsEncryptedObjects)) {
      actions.push({
        kind: 'skip',
        key: o.key,
        reason: 'SSE-KMS object, and the rule does not select SSE-KMS objects',
      });
      continue;
    }
    const replicaKmsKey = o.kmsKeyId ? rule.destination.encryptionConfiguration?.replicaKmsKeyId : undefined;
    actions.push({
      kind: 'replicate',
      key: o.key,
      etag: o.etag,
      ...(o.size !== undefined ? { size: o.size } : {}),
      ...(o.kmsKeyId ? { sourceKmsKey: o.kmsKeyId } : {}),
      ...(replicaKmsKey ? { replicaKmsKey } : {}),
    });
  }
  if (enabled(rule.deleteMarkerReplication))
    for (const key of replicated.keys())
      if (under(key) && !present.has(key)) actions.push({ kind: 'deleteReplica', key });
  return actions;
}

/** What a pass did. */
export interface ReplicationPassOutcome {
  replicated: number;
  bytes: number;
  /** Replicas encrypted with the rule's replica key. */
  reencrypted: number;
  deletedReplicas: number;
  skipped: { key: string; reason: string }[];
  /** Objects whose replication IAM refused (S3 marks them FAILED). */
  failed: { key: string; denial: Denial }[];
}

/** The replication of one bucket under one rule, as one role, keeping what it replicated. */
export interface ReplicationSetup {
  rule: ReplicationRule;
  /** The replication role's name (the deployed role the rule names). */
  roleName: string;
  sourceBucket: string;
  evaluator: AccessEvaluator;
  scope: CallScope;
  /** The S3 both buckets are in (the offline servers hold every "Region"), with S3's own rights. */
  s3: SendClient;
  /** Copies server-side (CopyObject, the local S3 server), else reads and writes again (the fake). */
  serverSide: boolean;
}

async function listSource(s3: SendClient, bucket: string, prefix: string): Promise<SourceObject[]> {
  const out: SourceObject[] = [];
  let token: string | undefined;
  do {
    const page = (await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    )) as ListObjectsV2CommandOutput;
    for (const o of page.Contents ?? [])
      if (o.Key) out.push({ key: o.Key, etag: o.ETag ?? String(o.Size ?? ''), size: o.Size ?? 0 });
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out;
}

/** The SSE-KMS key of each object (HeadObject), for those the listing does not say. */
async function withEncryption(
  s3: SendClient,
  bucket: string,
  objects: SourceObject[],
): Promise<SourceObject[]> {
  return Promise.all(
    objects.map(async (o) => {
      const head = (await s3.send(
        new HeadObjectCommand({ Bucket: bucket, Key: o.key }),
      )) as HeadObjectCommandOutput;
      return head.ServerSideEncryption === 'aws:kms' && head.SSEKMSKeyId
        ? { ...o, kmsKeyId: head.SSEKMSKeyId }
        : o;
    }),
  );
}

/** One replication pass: lists the source under the rule's prefix and carries out `replicationWork`. */
export class S3Replication {
  /** What each key was replicated as (its ETag). */
  readonly replicated = new Map<string, string>();
  readonly destinationBucket: string;

  constructor(private readonly setup: ReplicationSetup) {
    this.destinationBucket = destinationBucketOf(setup.rule);
  }

  private async allowed(step: ReplicationStep): Promise<Denial | undefined> {
    const { evaluator, roleName, scope } = this.setup;
    return evaluator.authorize(roleName, `s3:replication:${step.kind}`, replicationRequests(step, scope));
  }

  async pass(): Promise<ReplicationPassOutcome> {
    const { s3, rule, sourceBucket } = this.setup;
    const outcome: ReplicationPassOutcome = {
      replicated: 0,
      bytes: 0,
      reencrypted: 0,
      deletedReplicas: 0,
      skipped: [],
      failed: [],
    };
    const denied = await this.allowed({ kind: 'pass', sourceBucket });
    if (denied) {
      outcome.failed.push({ key: '', denial: denied });
      return outcome;
    }
    const listed = await listSource(s3, sourceBucket, rule.filter?.prefix ?? '');
    const objects = await withEncryption(s3, sourceBucket, listed);
    const work = replicationWork(rule, objects, this.replicated);
    let next = 0;
    const worker = async () => {
      while (next < work.length) await this.carryOut(work[next++], outcome);
    };
    // S3 replicates objects in parallel, not one by one.
    await Promise.all(Array.from({ length: 16 }, worker));
    return outcome;
  }

  private async carryOut(action: ReplicationAction, outcome: ReplicationPassOutcome): Promise<void> {
    const { s3, sourceBucket } = this.setup;
    const to = this.destinationBucket;
    if (action.kind === 'skip') {
      outcome.skipped.push({ key: action.key, reason: action.reason });
      return;
    }
    if (action.kind === 'deleteReplica') {
      const denial = await this.allowed({ kind: 'deleteMarker', destinationBucket: to, key: action.key });
      if (denial) return void outcome.failed.push({ key: action.key, denial });
      await s3.send(new DeleteObjectCommand({ Bucket: to, Key: action.key }));
      this.replicated.delete(action.key);
      outcome.deletedReplicas += 1;
      return;
    }
    const denial = await this.allowed({
      kind: 'object',
      sourceBucket,
      destinationBucket: to,
      key: action.key,
      ...(action.sourceKmsKey ? { sourceKmsKey: action.sourceKmsKey } : {}),
      ...(action.replicaKmsKey ? { replicaKmsKey: action.replicaKmsKey } : {}),
    });
    if (denial) return void outcome.failed.push({ key: action.key, denial });
    const sse = action.replicaKmsKey
      ? { ServerSideEncryption: 'aws:kms' as const, SSEKMSKeyId: action.replicaKmsKey }
      : {};
    if (this.setup.serverSide) {
      outcome.bytes += action.size ?? 0;
      await s3.send(
        new CopyObjectCommand({
          Bucket: to,
          Key: action.key,
          CopySource: `${sourceBucket}/${action.key}`,
          ...sse,
        }),
      );
    } else {
      const bytes = await getBytes(s3, sourceBucket, action.key);
      await s3.send(new PutObjectCommand({ Bucket: to, Key: action.key, Body: bytes, ...sse }));
      outcome.bytes += bytes.length;
    }
    this.replicated.set(action.key, action.etag);
    outcome.replicated += 1;
    if (action.replicaKmsKey) outcome.reencrypted += 1;
  }
}
