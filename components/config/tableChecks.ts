/**
 * The rules of one table that need more than the table: the stack name and the component name (its
 * physical names must fit AWS's limits), the stack's Region (a KMS key of a created bucket), which of
 * its fields came from `defaults`, and its replicas' names. Rules that need only the table are in
 * its schema (table.ts and its sections).
 */
import { overlongNames, physicalNames } from '../names';
import type { ConfigProblem } from './errors';
import { allowedAt } from './fields';
import { protectionProblems } from './protection';
import { resolveWindowMode } from './windowMode';
import { replicaProblems } from './replica';
import { stackNameProblem } from './stack';
import { deriveAlias, tableSchema, type TableInput } from './table';

/** What the checks of one table know about the stack, and where they report. */
export interface StackContext {
  stack: string;
  region?: string;
  /** The component name of a table's alias; every physical name of the table derives from it. */
  nameOf: (alias: string) => string;
  problems: ConfigProblem[];
  warnings: string[];
  /** Stack-name problems already reported, by whether a bucket is created. */
  stackBlamed: Map<boolean, boolean>;
}

/** Where one table's problems go, and how they name its fields. */
interface TableScope {
  table: { index: number; name: string };
  /** The path of a field of this table, e.g. `tables[1].alias`. */
  at: (field: string) => string;
  /** Says so in a message when the field's value came from `defaults`. */
  origin: (field: string) => string;
  report: (field: string, value: unknown, message: string) => void;
}

const ALIAS_WORDS = allowedAt(tableSchema, ['alias']);

/**
 * The physical names of the table's resources must fit AWS's limits. When the stack name alone is too
 * long, every alias would fail: the stack name is blamed once instead of each table's alias.
 */
function checkPhysicalNames(
  alias: string,
  createsBucket: boolean,
  scope: TableScope,
  context: StackContext,
): void {
  const { stack, nameOf } = context;
  const stackProblem = stackNameProblem(stack, nameOf, createsBucket);
  if (stackProblem) {
    if (!context.stackBlamed.get(createsBucket) && !context.stackBlamed.get(false))
      context.problems.push(stackProblem);
    context.stackBlamed.set(createsBucket, true);
  } else if (alias !== '') {
    const names = physicalNames(nameOf(alias), stack, alias);
    for (const long of overlongNames(names, createsBucket)) {
      scope.report(
        'alias',
        alias,
        `makes the ${long.kind} name "${long.name}" ${long.name.length} characters long (AWS limit ${long.limit}, stack "${stack}"); ` +
          `set a shorter alias; allowed: ${ALIAS_WORDS}, short enough for every name to fit`,
      );
    }
  }
}

/** A table's own success addresses next to `notifyOnSuccess: false` would never receive anything. */
function checkSuccessEmails(input: TableInput, fromDefaults: ReadonlySet<string>, scope: TableScope): void {
  // A table that turns success mail off while `defaults` names success addresses is fine.
  if (
    input.notifyOnSuccess === false &&
    (input.successEmails ?? []).length > 0 &&
    !fromDefaults.has('successEmails')
  ) {
    scope.report(
      'successEmails',
      input.successEmails,
      `would never be notified: notifyOnSuccess is false${scope.origin('notifyOnSuccess')}; remove successEmails or set notifyOnSuccess to true`,
    );
  }
}

/**
 * S3 encrypts with a KMS key only in the bucket's Region. A created bucket is in the stack's Region,
 * so another Region is an error there; an existing bucket's Region is unknown here, so only a warning.
 */
function checkKmsRegion(
  input: TableInput,
  createsBucket: boolean,
  scope: TableScope,
  context: StackContext,
): void {
  const kmsRegion = input.kmsKeyArn?.split(':')[3];
  if (!kmsRegion || !context.region || kmsRegion === context.region) return;
  const message = `the key is in ${kmsRegion}, the stack deploys to ${context.region}; S3 encrypts with a KMS key only in the bucket's Region`;
  if (createsBucket) {
    scope.report(
      'kmsKeyArn',
      input.kmsKeyArn,
      `${message} (the created bucket is in ${context.region})${scope.origin('kmsKeyArn')}; use a key in ${context.region}`,
    );
  } else {
    context.warnings.push(
      `${scope.at('kmsKeyArn')} (table "${input.tableName}"): ${message}; this is right only if bucket ${input.bucket?.existingName} is in ${kmsRegion}`,
    );
  }
}

/**
 * Reports the problems of one table (merged with `defaults`) that need the stack: physical names,
 * success addresses, KMS key Region, replicas.
 */
export function checkTableInStack(
  input: TableInput,
  index: number,
  fromDefaults: ReadonlySet<string>,
  context: StackContext,
): void {
  const table = { index, name: input.tableName };
  const at = (field: string) => `tables[${index}].${field}`;
  const scope: TableScope = {
    table,
    at,
    origin: (field) => (fromDefaults.has(field) ? ' (value from defaults)' : ''),
    report: (field, value, message) => context.problems.push({ path: at(field), table, value, message }),
  };
  const alias = input.alias ?? deriveAlias(input.tableName);
  const createsBucket = input.bucket?.existingName === undefined;
  checkPhysicalNames(alias, createsBucket, scope, context);
  checkSuccessEmails(input, fromDefaults, scope);
  checkKmsRegion(input, createsBucket, scope, context);
  // A staleness bound set on a table that keeps fixed windows would never be what it asked for.
  const windowMode = resolveWindowMode({ ...input, windowMinutes: input.windowMinutes ?? 15 }, (field) =>
    fromDefaults.has(field),
  );
  for (const p of windowMode.problems.filter((p) => !p.message.startsWith('is less than')))
    scope.report(p.field, p.value, p.message);
  const protection = { createsBucket, exportKmsKeyArn: input.kmsKeyArn, stackRegion: context.region };
  for (const p of protectionProblems(input, protection)) scope.report(p.field, p.value, p.message);
  context.problems.push(
    ...replicaProblems(input.replicas ?? [], {
      index,
      tableName: input.tableName,
      component: context.nameOf(alias),
      stackRegion: context.region,
      bucketOwnerAccountId: input.bucket?.ownerAccountId,
    }),
  );
}
