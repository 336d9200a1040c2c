/**
 * The bucket exports go to: an existing bucket (nothing created), or a new one created here.
 *
 * A created bucket is kept on `pulumi destroy` by default: it holds the exported data, which must
 * outlive the workflow that produced it. Its encryption, public access block and policy are kept
 * with it, so a retained bucket does not silently lose its protections.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { denyInsecureTransportPolicy } from './bucketPolicies';
import type { PolicyStatement } from './permissions';

/** Inputs of `exportBucket`. */
export interface ExportBucketArgs {
  /** Use this bucket; nothing is created. */
  existingName?: string;
  /** Physical name for a created bucket. */
  createName: pulumi.Input<string>;
  /** Turn on versioning of a created bucket. */
  versioning: boolean;
  /** SSE-KMS key for the bucket's default encryption; SSE-S3 when absent. */
  kmsKeyArn?: string;
  /** Keep a created bucket (and its settings) on `pulumi destroy`. */
  retainOnDelete: boolean;
  partition: pulumi.Input<string>;
  tags: Record<string, string>;
  /**
   * Statements a created bucket's policy holds besides the TLS-only rule (a cross-account import
   * replica's reads), from the partition and the bucket's name. Kept in the one policy the stack
   * manages: a statement added to it by hand would be lost the next time Pulumi writes the policy.
   */
  statements?: (partition: string, bucket: string) => PolicyStatement[];
  /** S3 server access logs of a created bucket go to this existing bucket, under `prefix`. */
  accessLogs?: { bucket: string; prefix: string };
}

/** The bucket, and the resources created for it (none for an existing bucket). */
export interface ExportBucket {
  name: pulumi.Output<string>;
  created?: {
    bucket: aws.s3.Bucket;
    encryption: aws.s3.BucketServerSideEncryptionConfiguration;
    publicAccessBlock: aws.s3.BucketPublicAccessBlock;
    policy: aws.s3.BucketPolicy;
    versioning?: aws.s3.BucketVersioning;
    logging?: aws.s3.BucketLogging;
  };
}

/** Returns the existing bucket, or creates one with `name` as the logical name prefix. */
export function exportBucket(name: string, args: ExportBucketArgs, parent: pulumi.Resource): ExportBucket {
  if (args.existingName !== undefined) return { name: pulumi.output(args.existingName) };

  const keep: pulumi.CustomResourceOptions = { parent, retainOnDelete: args.retainOnDelete };
  const bucket = new aws.s3.Bucket(
    `${name}-bucket`,
    // forceDestroy stays off: deleting a bucket that holds exports must be a deliberate act.
    { bucket: args.createName, forceDestroy: false, tags: args.tags },
    keep,
  );
  const encryption = new aws.s3.BucketServerSideEncryptionConfiguration(
    `${name}-bucket-encryption`,
    {
      bucket: bucket.id,
      rules: [
        {
          applyServerSideEncryptionByDefault: args.kmsKeyArn
            ? { sseAlgorithm: 'aws:kms', kmsMasterKeyId: args.kmsKeyArn }
            : { sseAlgorithm: 'AES256' },
          // Bucket keys cut KMS request costs for the many small chain objects.
          bucketKeyEnabled: args.kmsKeyArn !== undefined,
        },
      ],
    },
    keep,
  );
  const publicAccessBlock = new aws.s3.BucketPublicAccessBlock(
    `${name}-bucket-public-access`,
    {
      bucket: bucket.id,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    },
    keep,
  );
  const policy = new aws.s3.BucketPolicy(
    `${name}-bucket-policy`,
    {
      bucket: bucket.id,
      policy: pulumi.all([args.partition, bucket.bucket]).apply(([partition, b]) => {
        const policy = denyInsecureTransportPolicy(partition, b);
        policy.Statement.push(...(args.statements?.(partition, b) ?? []));
        return JSON.stringify(policy);
      }),
    },
    { ...keep, dependsOn: [publicAccessBlock] },
  );
  const versioning = args.versioning
    ? new aws.s3.BucketVersioning(
        `${name}-bucket-versioning`,
        { bucket: bucket.id, versioningConfiguration: { status: 'Enabled' } },
        keep,
      )
    : undefined;
  const logging = args.accessLogs
    ? new aws.s3.BucketLogging(
        `${name}-bucket-logging`,
        { bucket: bucket.id, targetBucket: args.accessLogs.bucket, targetPrefix: args.accessLogs.prefix },
        keep,
      )
    : undefined;
  return {
    name: bucket.bucket,
    created: { bucket, encryption, publicAccessBlock, policy, versioning, logging },
  };
}
