/**
 * What the export bucket's own policy must allow a replica: a cross-account `import` bootstrap runs
 * ImportTable in the target account with the target role's permissions, so DynamoDB reads the full
 * export as that role, and a role of another account reads a bucket only when the bucket's policy lets
 * it. The stack adds these statements to the policy of a bucket it creates; for an existing bucket,
 * whose policy it does not own, it outputs them for the bucket's owner (components/consumers/tableReplica.ts).
 *
 * The actions come from the `import` grants in `functions/shared/awsActions.ts`, the same list the target
 * role's own document is built from (`replicaTargetRoleDocuments`), so both sides always agree.
 */
import { REPLICA_SDK_CALLS, type ReplicaResourceKind } from '../../functions/shared/awsActions';
import { replicaStatements, underPrefix, type PolicyStatement } from '../permissions';

/** The replica, as the bucket's policy names it. */
export interface ReplicaBucketReader {
  partition: string;
  bucket: string;
  /** Key prefix of the source chain, without leading or trailing '/'. */
  prefix: string;
  /** The source table's alias and the replica's, which make the statements' Sids unique in the bucket. */
  tableAlias: string;
  replicaAlias: string;
  /** The role in the target account; without one the apply Lambda's own role imports. */
  roleArn?: string;
  bootstrap: 'write' | 'import';
}

/**
 * Whether ImportTable reads the export as the replica's target role (a role and an `import`
 * bootstrap), which the bucket's policy must then allow: the role is another account's.
 */
export function importsAsTargetRole(r: Pick<ReplicaBucketReader, 'roleArn' | 'bootstrap'>): boolean {
  return r.bootstrap === 'import' && r.roleArn !== undefined;
}

/** The kinds of what ImportTable reads from the bucket: the export's objects, and listing them. */
const BUCKET_KINDS: readonly ReplicaResourceKind[] = ['importExportObjects', 'importExportListing'];

function camel(text: string): string {
  return text
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w[0].toUpperCase() + w.slice(1))
    .join('');
}

/**
 * The bucket policy statements that let the target role of a cross-account `import` replica read the
 * full export (`s3:GetObject` on `<prefix>/AWSDynamoDB/*`, `s3:ListBucket` with `s3:prefix` under it)
 * and nothing else. Empty for a `write` bootstrap or a replica without a role: then nobody outside the
 * stack's account reads the bucket.
 *
 * The principal is the role's account, narrowed to the role by `aws:PrincipalArn`, rather than the
 * role's ARN: S3 refuses a bucket policy naming a role that does not exist yet ("Invalid principal"),
 * and the target account's owner creates the role only after `pulumi up` (from the documents the stack
 * outputs), so a role ARN would fail the first deployment. It also keeps working when the role is
 * deleted and created again, where a role ARN principal would be left pointing at the old role's id.
 */
export function replicaImportBucketStatements(r: ReplicaBucketReader): PolicyStatement[] {
  const roleArn = r.roleArn;
  if (!importsAsTargetRole(r) || roleArn === undefined) return [];
  const account = roleArn.split(':')[4];
  const grants = (REPLICA_SDK_CALLS.ImportTableCommand ?? []).filter((g) =>
    BUCKET_KINDS.includes(g.resource),
  );
  const arns: Partial<Record<ReplicaResourceKind, string[]>> = {
    importExportObjects: [`arn:${r.partition}:s3:::${r.bucket}/${underPrefix(r.prefix, 'AWSDynamoDB/*')}`],
    importExportListing: [`arn:${r.partition}:s3:::${r.bucket}`],
  };
  return replicaStatements(grants, arns, r.prefix).map((s) => ({
    Sid: `Replica${camel(r.tableAlias)}${camel(r.replicaAlias)}${s.Sid ?? ''}`,
    Effect: s.Effect,
    Principal: { AWS: `arn:${r.partition}:iam::${account}:root` },
    Action: s.Action,
    Resource: s.Resource,
    Condition: { ...s.Condition, ArnEquals: { 'aws:PrincipalArn': roleArn } },
  }));
}
