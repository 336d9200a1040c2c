/**
 * The `bucket` section of a table: where its exports go. Allowed in `defaults` too; merged key by key.
 */
import { z } from 'zod';
import { flag } from './fields';

/** The reasons S3 would refuse a bucket name (empty when it is valid). */
export function bucketNameProblems(name: string): string[] {
  const problems: string[] = [];
  if (name.length < 3 || name.length > 63) problems.push(`is ${name.length} characters long`);
  if (!/^[a-z0-9.-]*$/.test(name)) problems.push('has characters other than a-z, 0-9, "." and "-"');
  if (!/^[a-z0-9]/.test(name) || !/[a-z0-9]$/.test(name))
    problems.push('does not start and end with a letter or digit');
  if (name.includes('..')) problems.push('has two adjacent periods');
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(name)) problems.push('looks like an IP address');
  if (name.startsWith('xn--')) problems.push('starts with "xn--"');
  if (name.endsWith('-s3alias')) problems.push('ends with "-s3alias"');
  return problems;
}

const OWNER_WORDS = 'a 12-digit AWS account id, together with bucket.existingName';

export const bucketSchema = z
  .strictObject({
    /** Use this existing bucket; when absent a bucket is created (and kept on `pulumi destroy`). */
    existingName: z
      .string()
      .superRefine((name, ctx) => {
        const problems = bucketNameProblems(name);
        if (problems.length > 0) ctx.addIssue({ code: 'custom', message: problems.join(', ') });
      })
      .optional()
      .describe(
        'an S3 bucket name: 3-63 characters a-z, 0-9, "." and "-", starting and ending with a letter or digit, no "..", not an IP address, no "xn--" prefix, no "-s3alias" suffix',
      ),
    /**
     * Key prefix, without leading or trailing '/'. Exports land in `<prefix>/AWSDynamoDB/`, the chain
     * manifest in `<prefix>/chain/`.
     * @default the table's alias (set when the table is resolved)
     */
    prefix: z
      .string()
      .min(1)
      .max(1024)
      .refine((p) => !p.startsWith('/') && !p.endsWith('/'), { message: 'starts or ends with "/"' })
      // S3 keeps "a//b" as a different key from "a/b": tools that normalise paths would miss the exports.
      .refine((p) => !p.includes('//'), { message: 'has an empty folder ("//")' })
      .optional()
      .describe('1-1024 characters, not starting or ending with "/", no "//"'),
    /** Account that owns an existing bucket in another account (12 digits). */
    ownerAccountId: z
      .string()
      .regex(/^\d{12}$/)
      .optional()
      .describe(OWNER_WORDS),
    /**
     * Turn on versioning of a created bucket. Ignored for an existing bucket.
     * @default false
     */
    versioning: flag().default(false),
  })
  // Checked on the merged value: `defaults.bucket` may hold one field and the table the other.
  .superRefine((bucket, ctx) => {
    // A bucket in another account must already exist: this stack cannot create it there.
    if (bucket.ownerAccountId !== undefined && bucket.existingName === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['ownerAccountId'],
        input: bucket.ownerAccountId,
        message: 'a bucket in another account cannot be created here; set bucket.existingName too',
      });
  })
  .describe('an object with existingName, prefix, ownerAccountId, versioning');

/** Where a table's exports go, as written. */
export type BucketInput = z.input<typeof bucketSchema>;
