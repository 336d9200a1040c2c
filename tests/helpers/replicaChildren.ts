/**
 * A Distributed Map child of the replica definition, step for step, for tests that drive the apply
 * Lambda directly: the items as its ItemReader and ItemSelector build them, and the child's loop of
 * invocations, each going on from where the previous one stopped.
 */
import type { ChildAnswer, DataFileItem, PlanOutput, ReplicaEvent } from '../../functions/replica/contract';
import type { S3Sender } from '../../format';
import { getText } from '../../format/s3io';

/** The Map's items for an APPLY_DISTRIBUTED plan: one per line of manifest-files.json, with the entry, format and child work. */
export async function planItems(s3: S3Sender, plan: PlanOutput): Promise<DataFileItem[]> {
  const text = await getText(s3, plan.reader!.Bucket, plan.reader!.Key);
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => ({ file: JSON.parse(l), entry: plan.entry!, format: plan.format!, child: plan.child! }));
}

/** Runs one child's batch: invocations chained until it answers done. Resolves to the answers. */
export async function runChild(
  handler: (event: ReplicaEvent) => Promise<unknown>,
  Items: DataFileItem[],
  maxInvocations = 10_000,
): Promise<ChildAnswer[]> {
  const answers: ChildAnswer[] = [];
  let from: ChildAnswer['resume'] = null;
  for (let i = 0; i < maxInvocations; i++) {
    const answer = (await handler({ step: 'applyFiles', Items, from })) as ChildAnswer;
    answers.push(answer);
    if (answer.done) return answers;
    from = answer.resume;
  }
  throw new Error(`the child did not finish in ${maxInvocations} invocations`);
}
