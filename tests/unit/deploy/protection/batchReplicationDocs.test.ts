/**
 * The S3 Batch Replication command of docs/disaster-recovery.md, parsed from the docs and checked
 * against the S3 Control CreateJob request as the Amazon S3 API Reference defines it (CreateJob,
 * JobOperation / S3ReplicateObjectOperation, JobManifestGenerator / S3JobManifestGenerator,
 * JobManifestGeneratorFilter, KeyNameConstraint, JobReport): every member named exists in its shape,
 * the required ones are there, the values have the documented types, patterns and enumerations. The
 * AWS CLI takes each member as a kebab-case flag and the structures as JSON. Without
 * @aws-sdk/client-s3-control (not a dependency) the shapes are written out here, with only the
 * members the command may use.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { REPO_ROOT } from '../../../helpers/repoRoot';

const DOC = readFileSync(join(REPO_ROOT, 'docs', 'disaster-recovery.md'), 'utf8');

const bucketArn = z
  .string()
  .min(1)
  .max(128)
  .regex(/^arn:[^:]+:s3:.*/);
const accountId = z
  .string()
  .max(64)
  .regex(/^\d{12}$/);

/** JobOperation is a union: exactly one operation; S3ReplicateObject's structure has no members. */
const jobOperation = z.strictObject({ S3ReplicateObject: z.strictObject({}) });

const keyNameConstraint = z.strictObject({
  MatchAnyPrefix: z.array(z.string().min(1).max(1024)).min(1).optional(),
  MatchAnySuffix: z.array(z.string().min(1).max(1024)).min(1).optional(),
  MatchAnySubstring: z.array(z.string().min(1).max(1024)).min(1).optional(),
});

const manifestGeneratorFilter = z.strictObject({
  EligibleForReplication: z.boolean().optional(),
  CreatedAfter: z.string().optional(),
  CreatedBefore: z.string().optional(),
  ObjectReplicationStatuses: z.array(z.enum(['COMPLETED', 'FAILED', 'REPLICA', 'NONE'])).optional(),
  KeyNameConstraint: keyNameConstraint.optional(),
  ObjectSizeGreaterThanBytes: z.number().int().optional(),
  ObjectSizeLessThanBytes: z.number().int().optional(),
});

/** JobManifestGenerator is a union whose one member is S3JobManifestGenerator. */
const manifestGenerator = z.strictObject({
  S3JobManifestGenerator: z.strictObject({
    // [U] The API Reference describes it once as the owner of the source bucket and once as the owner
    // of the bucket the generated manifest is written to: with no manifest output they are the same.
    ExpectedBucketOwner: accountId.optional(),
    SourceBucket: bucketArn,
    EnableManifestOutput: z.boolean(),
    Filter: manifestGeneratorFilter.optional(),
  }),
});

const jobReport = z.strictObject({
  Enabled: z.boolean(),
  Bucket: bucketArn.optional(),
  Format: z.literal('Report_CSV_20180820').optional(),
  Prefix: z.string().min(1).max(512).optional(),
  ReportScope: z.enum(['AllTasks', 'FailedTasksOnly']).optional(),
  ExpectedBucketOwner: accountId.optional(),
});

/** CreateJob's members as AWS CLI flags: the JSON ones with their shapes, the others with theirs. */
const JSON_FLAGS: Record<string, z.ZodType> = {
  '--operation': jobOperation,
  '--manifest-generator': manifestGenerator,
  '--report': jobReport,
};
const VALUE_FLAGS: Record<string, RegExp> = {
  '--account-id': /^\d{12}$/,
  '--priority': /^\d{1,10}$/,
  '--role-arn': /^arn:[^:]+:iam::\d{12}:role\/.+$/,
  // A global option of the CLI: where the job runs (the source bucket's Region).
  '--region': /^[a-z]{2}(-[a-z]+)+-\d$/,
};
/** Boolean flags: ConfirmationRequired off (the job runs at once). */
const SWITCHES = new Set(['--no-confirmation-required']);
/** CreateJob's required members (ClientRequestToken: the CLI fills its idempotency token). */
const REQUIRED = ['--account-id', '--operation', '--report', '--priority', '--role-arn'];

/** Placeholders of the docs block, filled with sample values of their kind. */
const SAMPLES: Record<string, string> = {
  '<account>': '123456789012',
  '<export bucket>': 'orders-exports-123456789012',
  '<export bucket Region>': 'us-east-1',
  '<prefix>': 'orders',
  '<report bucket>': 'orders-batch-reports',
  '<batch replication role>': 'dce-batch-replication',
};

/** The first bash block that runs `aws s3control create-job`. */
function createJobCommand(markdown: string): string {
  const blocks = [...markdown.matchAll(/```bash\n([\s\S]*?)```/g)].map((m) => m[1]);
  const block = blocks.find((b) => b.includes('aws s3control create-job'));
  if (!block) throw new Error('docs/disaster-recovery.md has no aws s3control create-job block');
  return block;
}

/** Shell words of one command: line continuations joined, single quotes kept together. */
function shellWords(command: string): string[] {
  const text = command.replace(/\\\n/g, ' ');
  const words: string[] = [];
  let word = '';
  let quoted = false;
  let started = false;
  for (const c of text) {
    if (c === "'") {
      quoted = !quoted;
      started = true;
    } else if (!quoted && /\s/.test(c)) {
      if (started) words.push(word);
      word = '';
      started = false;
    } else {
      word += c;
      started = true;
    }
  }
  if (quoted) throw new Error('unbalanced single quote in the create-job command');
  if (started) words.push(word);
  return words;
}

function fill(text: string): string {
  return text.replace(/<[^<>]+>/g, (p) => {
    const sample = SAMPLES[p];
    if (sample === undefined) throw new Error(`unknown placeholder ${p} in the create-job command`);
    return sample;
  });
}

/** The command's flags and their values. */
function parsedFlags(words: string[]): Map<string, string | true> {
  expect(words.slice(0, 3)).to.deep.equal(['aws', 's3control', 'create-job']);
  const flags = new Map<string, string | true>();
  for (let i = 3; i < words.length; i++) {
    const flag = words[i];
    expect(flag, `word ${i}`).to.match(/^--[a-z-]+$/);
    expect(flags.has(flag), `${flag} twice`).to.equal(false);
    if (SWITCHES.has(flag)) flags.set(flag, true);
    else flags.set(flag, words[++i]);
  }
  return flags;
}

describe('docs/disaster-recovery.md: the S3 Batch Replication command against CreateJob', () => {
  // Placeholders filled first: some have spaces (`<export bucket Region>`).
  const flags = parsedFlags(shellWords(fill(createJobCommand(DOC))));

  it('names only CreateJob members (or the CLI Region), and every required one', () => {
    const known = new Set([...Object.keys(JSON_FLAGS), ...Object.keys(VALUE_FLAGS), ...SWITCHES]);
    for (const flag of flags.keys()) expect(known, flag).to.include(flag);
    for (const flag of REQUIRED) expect([...flags.keys()], flag).to.include(flag);
    // A generated manifest, not a manifest file: exactly one of the two.
    expect(flags.has('--manifest-generator')).to.equal(true);
    expect(flags.has('--manifest')).to.equal(false);
  });

  it('gives each structure as JSON of its shape, and each value in its pattern', () => {
    for (const [flag, schema] of Object.entries(JSON_FLAGS)) {
      const value = flags.get(flag);
      if (value === undefined) continue;
      const parsed = schema.safeParse(JSON.parse(String(value)));
      expect(
        parsed.success,
        `${flag}: ${parsed.success ? '' : JSON.stringify(parsed.error.issues)}`,
      ).to.equal(true);
    }
    for (const [flag, pattern] of Object.entries(VALUE_FLAGS)) {
      const value = flags.get(flag);
      if (value !== undefined) expect(String(value), flag).to.match(pattern);
    }
  });

  it('replicates what the rule makes eligible under the chain prefix, and only that', () => {
    const generator = JSON.parse(String(flags.get('--manifest-generator'))).S3JobManifestGenerator;
    expect(generator.SourceBucket).to.equal(`arn:aws:s3:::${SAMPLES['<export bucket>']}`);
    expect(generator.Filter).to.deep.equal({
      EligibleForReplication: true,
      KeyNameConstraint: { MatchAnyPrefix: [`${SAMPLES['<prefix>']}/`] },
    });
    expect(JSON.parse(String(flags.get('--operation')))).to.deep.equal({ S3ReplicateObject: {} });
  });

  it('the checks refuse what CreateJob would: an unknown member, a missing required one, a wrong enumeration', () => {
    const generator = JSON.parse(String(flags.get('--manifest-generator')));
    expect(
      manifestGenerator.safeParse({
        S3JobManifestGenerator: { ...generator.S3JobManifestGenerator, Prefix: 'x' },
      }).success,
    ).to.equal(false);
    const { EnableManifestOutput: _, ...without } = generator.S3JobManifestGenerator;
    expect(manifestGenerator.safeParse({ S3JobManifestGenerator: without }).success).to.equal(false);
    const report = JSON.parse(String(flags.get('--report')));
    expect(jobReport.safeParse({ ...report, ReportScope: 'Everything' }).success).to.equal(false);
    expect(jobOperation.safeParse({ S3ReplicateObject: { Force: true } }).success).to.equal(false);
    expect(() => parsedFlags(shellWords("aws s3control create-job --priority '10"))).to.throw(/unbalanced/);
  });
});
