/**
 * Stack configs a newcomer writes with `pulumi config set --path`, run through the Pulumi program
 * (index.ts) under mocks: what used to be accepted silently is now an error, or a warning that
 * `pulumi preview` shows.
 */
import { expect } from 'chai';
import * as pulumi from '@pulumi/pulumi';
import { ConfigError } from '../../../components/config';
import { LARGE_STACK_TABLES, largeStackWarning } from '../../../components/stackSize';
import { applyConfigSet } from '../../helpers/pulumiConfigSet';
import { ofType, runProgram, type ProgramRun } from '../../helpers/pulumiMocks';

/** A stack config from `pulumi config set` lines (region eu-west-1). */
function configFrom(lines: string[]): Record<string, unknown> {
  const config: Record<string, unknown> = { 'aws:region': 'eu-west-1' };
  for (const line of lines) applyConfigSet(config, line);
  return config;
}

/** Runs the program and returns its error message (fails the test when it is accepted). */
async function rejection(config: Record<string, unknown>, stack = 'dev'): Promise<ConfigError> {
  try {
    await runProgram(config, stack);
  } catch (error) {
    expect(error, String(error)).to.be.instanceOf(Error);
    expect((error as Error).name).to.equal('ConfigError');
    return error as ConfigError;
  }
  throw new Error('expected the program to reject the config');
}

/** Runs the program and collects what it passed to pulumi.log.warn. */
async function runWithWarnings(
  config: Record<string, unknown>,
): Promise<{ run: ProgramRun; warnings: string[] }> {
  const warnings: string[] = [];
  const log = pulumi.log as unknown as { warn: (message: string) => Promise<void> };
  const original = log.warn;
  log.warn = async (message: string) => {
    warnings.push(message);
  };
  try {
    return { run: await runProgram(config), warnings };
  } finally {
    log.warn = original;
  }
}

const ORDERS = `pulumi config set --path 'tables[0].tableName' Orders`;

describe('stack config inputs through the Pulumi program', () => {
  describe('numbers that `pulumi config set --path` made of strings', () => {
    it('reads a numeric tag value and table name as the text typed', async () => {
      const { run } = await runWithWarnings(
        configFrom([
          `pulumi config set --path 'tables[0].tableName' 12345`,
          `pulumi config set --path 'tables[0].tags.costCenter' 1234`,
        ]),
      );
      expect(run.outputs.tables['12345'].tableName).to.equal('12345');
      const topic = ofType(run.resources, 'aws:sns/topic:Topic')[0];
      expect(topic.inputs.tags).to.deep.include({ costCenter: '1234' });
    });

    it('says why a number that lost its leading zeros is wrong, and shows --type string', async () => {
      const error = await rejection(
        configFrom([
          ORDERS,
          `pulumi config set --path 'tables[0].bucket.existingName' lake-exports`,
          `pulumi config set --path 'tables[0].bucket.ownerAccountId' 011122223333`,
        ]),
      );
      expect(error.problems).to.have.length(1);
      expect(error.problems[0].path).to.equal('tables[0].bucket.ownerAccountId');
      expect(error.message).to.match(/Pulumi stored 11122223333 as a number/);
      expect(error.message).to.include(
        "pulumi config set --path 'tables[0].bucket.ownerAccountId' <value> --type string",
      );
    });

    it('accepts the value once it is set with --type string', async () => {
      const { run } = await runWithWarnings(
        configFrom([
          ORDERS,
          `pulumi config set --path 'tables[0].bucket.existingName' lake-exports`,
          `pulumi config set --path 'tables[0].bucket.ownerAccountId' 011122223333 --type string`,
        ]),
      );
      expect(run.outputs.tables.orders.crossAccountBucketPolicyStatements).to.be.a('string');
    });
  });

  describe('inputs that used to be accepted silently', () => {
    const cases: [string, string[], RegExp][] = [
      [
        'a repeated address',
        [
          ORDERS,
          `pulumi config set --path 'tables[0].failureEmails[0]' oncall@example.com`,
          `pulumi config set --path 'tables[0].failureEmails[1]' OnCall@example.com`,
        ],
        /tables\[0\]\.failureEmails\[1\] .*lists OnCall@example.com a second time/,
      ],
      [
        'a KMS key in another Region than a created bucket',
        [
          ORDERS,
          `pulumi config set --path 'tables[0].kmsKeyArn' arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab`,
        ],
        /tables\[0\]\.kmsKeyArn .*the key is in us-east-1, the stack deploys to eu-west-1/,
      ],
      [
        'a tag key with the reserved aws: prefix',
        [ORDERS, `pulumi config set --path 'tables[0].tags.aws:team' data`],
        /tables\[0\]\.tags.*"aws:" prefix is reserved/,
      ],
      [
        'a prefix with an empty folder',
        [ORDERS, `pulumi config set --path 'tables[0].bucket.prefix' exports//orders`],
        /tables\[0\]\.bucket\.prefix .*empty folder/,
      ],
      [
        'successEmails with notifyOnSuccess false',
        [
          ORDERS,
          `pulumi config set --path 'tables[0].successEmails[0]' team@example.com`,
          `pulumi config set --path 'tables[0].notifyOnSuccess' false`,
        ],
        /tables\[0\]\.successEmails .*would never be notified: notifyOnSuccess is false/,
      ],
      [
        'a misspelt top-level key',
        [`pulumi config set --path 'table[0].tableName' Orders`],
        /dynamodb-continuous-exports:table: .*unknown setting; did you mean tables\?/,
      ],
      [
        'a misspelt table field',
        [ORDERS, `pulumi config set --path 'tables[0].windowMinute' 30`],
        /tables\[0\]\.windowMinute .*unknown field; did you mean windowMinutes\?/,
      ],
    ];
    for (const [description, lines, pattern] of cases) {
      it(`rejects ${description}`, async () => {
        const error = await rejection(configFrom(lines));
        expect(error.problems, error.message).to.have.length(1);
        expect(error.message).to.match(pattern);
      });
    }

    it('names a misspelt `tables` once, and still says tables is missing when the typo is elsewhere', async () => {
      const typo = await rejection(configFrom([`pulumi config set --path 'table[0].tableName' Orders`]));
      expect(typo.problems.map((p) => p.path)).to.deep.equal(['dynamodb-continuous-exports:table']);
      const other = await rejection(configFrom([`pulumi config set --path 'defualts.windowMinutes' 30`]));
      expect(other.problems.map((p) => p.path)).to.deep.equal([
        'dynamodb-continuous-exports:defualts',
        'tables',
      ]);
      expect(other.message).to.match(/did you mean defaults\?/);
    });

    it('rejects more than 50 tags, counting defaults and the table together', async () => {
      const lines = [ORDERS];
      for (let i = 0; i < 30; i++) lines.push(`pulumi config set --path 'defaults.tags.d${i}' x`);
      for (let i = 0; i < 21; i++) lines.push(`pulumi config set --path 'tables[0].tags.t${i}' x`);
      const error = await rejection(configFrom(lines));
      expect(error.message).to.match(/tables\[0\]\.tags .*got "51 tags"; AWS allows at most 50 tags/);
    });

    it('lets a table turn success mail off when defaults name success addresses', async () => {
      const { run } = await runWithWarnings(
        configFrom([
          ORDERS,
          `pulumi config set --path 'tables[0].notifyOnSuccess' false`,
          `pulumi config set --path 'defaults.successEmails[0]' team@example.com`,
        ]),
      );
      expect(Object.keys(run.outputs.tables)).to.deep.equal(['orders']);
    });

    it('blames a too-long stack name once, not each alias', async () => {
      const stack = 's'.repeat(55);
      const error = await rejection(
        configFrom([ORDERS, `pulumi config set --path 'tables[1].tableName' Customers`]),
        stack,
      );
      expect(error.problems.map((p) => p.path)).to.deep.equal(['stack name']);
      expect(error.message).to.match(/stack name: got "s{55}"; is 55 characters long/);
    });

    it('warns (pulumi preview shows it) for a KMS key in another Region than the stack, with an existing bucket', async () => {
      const { warnings } = await runWithWarnings(
        configFrom([
          ORDERS,
          `pulumi config set --path 'tables[0].bucket.existingName' lake-exports`,
          `pulumi config set --path 'tables[0].kmsKeyArn' arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab`,
        ]),
      );
      expect(warnings).to.have.length(1);
      expect(warnings[0]).to.match(/kmsKeyArn .*right only if bucket lake-exports is in us-east-1/);
    });
  });

  describe('stack size', () => {
    it(`warns above ${LARGE_STACK_TABLES} tables, pointing at the split advice`, () => {
      expect(largeStackWarning(LARGE_STACK_TABLES)).to.equal(undefined);
      expect(largeStackWarning(LARGE_STACK_TABLES + 1)).to.match(/splitting the tables over several stacks/);
    });
  });
});
