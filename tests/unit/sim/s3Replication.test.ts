/**
 * The offline S3 replication (sim/s3Replication.ts): the rule the component renders
 * (components/protection/drReplication.ts, `replicationRule`) applied as the replication role whose
 * policy the component renders (`replicationRolePolicy`), every request evaluated by IAM.
 */
import { DeleteObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import fc from 'fast-check';
import {
  replicationRolePolicy,
  replicationRule,
  type ReplicationFacts,
} from '../../../components/protection/drReplication';
import { getText, putObject } from '../../../format';
import { CallLog, FakeS3 } from '../../../sim/fakeAws';
import { AccessEvaluator, type RoleAccess } from '../../../sim/iam/evaluator';
import type { SendClient } from '../../../sim/machines/localRun';
import {
  replicationWork,
  S3Replication,
  type ReplicationRule,
  type SourceObject,
} from '../../../sim/s3Replication';

const ACCOUNT = '123456789012';
const SOURCE_KEY = `arn:aws:kms:us-east-1:${ACCOUNT}:key/11111111-2222-3333-4444-555555555555`;
const REPLICA_KEY = `arn:aws:kms:us-west-2:${ACCOUNT}:key/66666666-7777-8888-9999-000000000000`;
const FACTS: ReplicationFacts = {
  partition: 'aws',
  region: 'us-east-1',
  accountId: ACCOUNT,
  sourceBucket: 'exports',
  prefix: 'dce/orders',
  sourceKmsKeyArn: SOURCE_KEY,
  dr: {
    bucket: 'copy',
    region: 'us-west-2',
    create: true,
    kmsKeyArn: REPLICA_KEY,
    replicationTimeControl: false,
    lagAlarmSeconds: 3600,
  },
};
const SCOPE = { partition: 'aws', region: 'us-east-1', account: ACCOUNT };
const ROLE = 'dev-orders-replication';

function role(policy: object = replicationRolePolicy(FACTS)): RoleAccess {
  const document = policy as RoleAccess['policies'][number]['document'];
  return { name: ROLE, arn: `arn:aws:iam::${ACCOUNT}:role/${ROLE}`, policies: [{ name: 'p', document }] };
}

/** The fake S3, its objects under the prefix SSE-KMS encrypted with the source key, PutObjects recorded. */
function s3WithKms() {
  const fake = new FakeS3(new CallLog(), () => Date.now());
  const puts: Record<string, unknown>[] = [];
  const client = {
    send: async (command: object) => {
      if (command instanceof PutObjectCommand) puts.push({ ...command.input, Body: undefined });
      const out = (await fake.send(command as never)) as object;
      if (command instanceof HeadObjectCommand && command.input.Bucket === 'exports')
        return { ...out, ServerSideEncryption: 'aws:kms', SSEKMSKeyId: SOURCE_KEY };
      return out;
    },
  } as unknown as SendClient;
  return { fake, client, puts };
}

const objectArb = fc.record({
  key: fc
    .tuple(fc.constantFrom('dce/orders/', 'dce/other/', 'dce/orders-x/', 'elsewhere/'), fc.nat({ max: 12 }))
    .map(([prefix, n]) => `${prefix}k${n}`),
  etag: fc.constantFrom('"a"', '"b"'),
  kms: fc.boolean(),
});

describe('offline S3 replication (sim/s3Replication.ts)', () => {
  const rule = replicationRule(FACTS) as ReplicationRule;

  it('replicates each new or changed object under the prefix once, nothing outside it, and keeps replicas of deleted objects', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(objectArb, { selector: (o) => o.key, maxLength: 30 }),
        fc.uniqueArray(objectArb, { selector: (o) => o.key, maxLength: 30 }),
        fc.boolean(),
        (now, before, deleteMarkers) => {
          const objects: SourceObject[] = now.map((o) => ({
            key: o.key,
            etag: o.etag,
            ...(o.kms ? { kmsKeyId: SOURCE_KEY } : {}),
          }));
          const replicated = new Map(before.map((o) => [o.key, o.etag]));
          const theRule: ReplicationRule = {
            ...rule,
            deleteMarkerReplication: { status: deleteMarkers ? 'Enabled' : 'Disabled' },
          };
          const work = replicationWork(theRule, objects, replicated);
          const under = (k: string) => k.startsWith('dce/orders/');
          const expected = objects.filter((o) => under(o.key) && replicated.get(o.key) !== o.etag);
          expect(work.filter((w) => w.kind === 'replicate').map((w) => w.key)).to.deep.equal(
            expected.map((o) => o.key),
          );
          for (const w of work) {
            expect(under(w.key), w.key).to.equal(true);
            if (w.kind === 'replicate')
              expect(w.replicaKmsKey).to.equal(w.sourceKmsKey ? REPLICA_KEY : undefined);
          }
          const gone = [...replicated.keys()].filter((k) => under(k) && !objects.some((o) => o.key === k));
          expect(work.filter((w) => w.kind === 'deleteReplica').map((w) => w.key)).to.deep.equal(
            deleteMarkers ? gone : [],
          );
        },
      ),
    );
  });

  it('does nothing for a disabled rule, and skips SSE-KMS objects a rule does not select', () => {
    const objects = [{ key: 'dce/orders/a', etag: '"a"', kmsKeyId: SOURCE_KEY }];
    expect(replicationWork({ ...rule, status: 'Disabled' }, objects, new Map())).to.deep.equal([]);
    const { sourceSelectionCriteria: _, ...unselected } = rule;
    expect(replicationWork(unselected, objects, new Map())).to.deep.equal([
      {
        kind: 'skip',
        key: 'dce/orders/a',
        reason: 'SSE-KMS object, and the rule does not select SSE-KMS objects',
      },
    ]);
  });

  it('copies as the rendered role: decrypted with the source key, re-encrypted with the replica key, then only what is new', async () => {
    const { fake, client, puts } = s3WithKms();
    fake.createBucket('copy');
    await putObject(client, 'exports', 'dce/orders/chain/HEAD.json', '{"n":1}');
    await putObject(client, 'exports', 'dce/orders/AWSDynamoDB/e/data/1.json.gz', 'data');
    await putObject(client, 'exports', 'other/x', 'not under the prefix');
    puts.length = 0;
    const evaluator = new AccessEvaluator([role()]);
    const replication = new S3Replication({
      rule,
      roleName: ROLE,
      sourceBucket: 'exports',
      evaluator,
      scope: SCOPE,
      s3: client,
      serverSide: false,
    });
    const first = await replication.pass();
    expect(first).to.deep.include({
      replicated: 2,
      reencrypted: 2,
      deletedReplicas: 0,
      failed: [],
      skipped: [],
    });
    expect(fake.keys('copy')).to.deep.equal([
      'dce/orders/AWSDynamoDB/e/data/1.json.gz',
      'dce/orders/chain/HEAD.json',
    ]);
    expect(puts.map((p) => [p.Bucket, p.ServerSideEncryption, p.SSEKMSKeyId])).to.deep.equal([
      ['copy', 'aws:kms', REPLICA_KEY],
      ['copy', 'aws:kms', REPLICA_KEY],
    ]);
    expect(evaluator.counts[ROLE]).to.deep.equal({ evaluated: 3, denied: 0 });
    // A changed HEAD is replicated again; a deleted object's replica stays (delete markers off).
    await putObject(client, 'exports', 'dce/orders/chain/HEAD.json', '{"n":2}');
    await client.send(
      new DeleteObjectCommand({ Bucket: 'exports', Key: 'dce/orders/AWSDynamoDB/e/data/1.json.gz' }),
    );
    const second = await replication.pass();
    expect(second).to.deep.include({ replicated: 1, deletedReplicas: 0 });
    expect(await getText(client, 'copy', 'dce/orders/chain/HEAD.json')).to.equal('{"n":2}');
    expect(fake.keys('copy')).to.include('dce/orders/AWSDynamoDB/e/data/1.json.gz');
  });

  it('a role without s3:ReplicateObject or the replica key replicates nothing, and names the denied request', async () => {
    const policy = replicationRolePolicy(FACTS);
    for (const [removed, action] of [
      ['s3:ReplicateObject', 's3:ReplicateObject'],
      ['kms:Encrypt', 'kms:Encrypt'],
    ]) {
      const { fake, client } = s3WithKms();
      fake.createBucket('copy');
      await putObject(client, 'exports', 'dce/orders/chain/HEAD.json', '{}');
      const crippled = {
        ...policy,
        Statement: policy.Statement.map((s) => ({
          ...s,
          Action: (Array.isArray(s.Action) ? s.Action : [s.Action]).filter((a) => a !== removed),
        })).filter((s) => s.Action.length > 0),
      };
      const replication = new S3Replication({
        rule,
        roleName: ROLE,
        sourceBucket: 'exports',
        evaluator: new AccessEvaluator([role(crippled)]),
        scope: SCOPE,
        s3: client,
        serverSide: false,
      });
      const pass = await replication.pass();
      expect(pass.replicated).to.equal(0);
      expect(pass.failed.map((f) => [f.key, f.denial.action])).to.deep.equal([
        ['dce/orders/chain/HEAD.json', action],
      ]);
      expect(fake.keys('copy')).to.deep.equal([]);
    }
  });
});
