import { expect } from 'chai';
import { ConfigError, REPLICA_DEFAULTS, formatProblem, validateConfig } from '../../../../components/config';

const STACK = 'dev';

function problemsOf(raw: { tables: unknown; defaults?: unknown; region?: string }) {
  try {
    validateConfig(raw, STACK);
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('stack config: replicas (components/config/replica.ts)', () => {
  it('a table has no replica unless it lists some', () => {
    const [t] = validateConfig({ tables: [{ tableName: 'Orders' }] }, STACK);
    expect(t.replicas).to.deep.equal([]);
  });

  it('fills every replica field that is not set', () => {
    const [t] = validateConfig(
      { tables: [{ tableName: 'Orders', replicas: [{ tableName: 'Orders_Replica' }] }] },
      STACK,
    );
    expect(t.replicas).to.deep.equal([
      {
        tableName: 'Orders_Replica',
        region: undefined,
        roleArn: undefined,
        alias: 'orders-replica',
        ...REPLICA_DEFAULTS,
      },
    ]);
  });

  it('keeps every field that is set', () => {
    const replica = {
      tableName: 'orders',
      region: 'us-west-2',
      roleArn: 'arn:aws:iam::210987654321:role/dce-replica-writer',
      alias: 'west',
      bootstrap: 'import',
      maxWritesPerSecond: 250,
      concurrency: 40,
      onNewEpoch: 'halt',
      schedule: false,
    };
    const [t] = validateConfig({ tables: [{ tableName: 'orders', replicas: [replica] }] }, STACK);
    expect(t.replicas).to.deep.equal([replica]);
  });

  it('names every problem of every replica at once, with table, path, value and what is allowed', () => {
    const problems = problemsOf({
      tables: [
        {
          tableName: 'orders',
          replicas: [
            {
              tableName: 'x',
              region: 'Europe',
              roleArn: 'arn:aws:iam::1:user/me',
              bootstrap: 'copy',
              maxWritesPerSecond: 0,
              concurrency: 2.5,
              onNewEpoch: 'ignore',
              colour: 'blue',
            },
          ],
        },
      ],
    });
    const byPath = new Map(problems.map((p) => [p.path, p]));
    for (const field of [
      'tableName',
      'region',
      'roleArn',
      'bootstrap',
      'maxWritesPerSecond',
      'concurrency',
      'onNewEpoch',
      'colour',
    ]) {
      expect(byPath.has(`tables[0].replicas[0].${field}`), field).to.equal(true);
    }
    expect(byPath.get('tables[0].replicas[0].bootstrap')!.message).to.include(
      'write (into an existing empty table) or import',
    );
    expect(byPath.get('tables[0].replicas[0].bootstrap')!.value).to.equal('copy');
    expect(byPath.get('tables[0].replicas[0].colour')!.message).to.include(
      'allowed fields: tableName, region, roleArn',
    );
    expect(formatProblem(byPath.get('tables[0].replicas[0].region')!)).to.equal(
      'tables[0].replicas[0].region (table 0 "orders"): got "Europe"; allowed: an AWS Region name such as eu-west-1',
    );
  });

  it('rejects replicas in defaults: a replica names one target', () => {
    const problems = problemsOf({
      tables: [{ tableName: 'orders' }],
      defaults: { replicas: [{ tableName: 'copy' }] },
    });
    expect(problems.map((p) => p.path)).to.deep.equal(['defaults.replicas']);
  });

  it('rejects the source table itself as a target, but not the same name in another Region or account', () => {
    const problems = problemsOf({
      tables: [{ tableName: 'orders', replicas: [{ tableName: 'orders' }] }],
      region: 'eu-west-1',
    });
    expect(problems).to.have.length(1);
    expect(problems[0]).to.include({ path: 'tables[0].replicas[0].tableName', value: 'orders' });
    expect(problems[0].message).to.include('is the source table itself');
    const [t] = validateConfig(
      {
        tables: [
          {
            tableName: 'orders',
            replicas: [
              { tableName: 'orders', region: 'us-east-1' },
              { tableName: 'orders', roleArn: 'arn:aws:iam::210987654321:role/w', alias: 'other-account' },
            ],
          },
        ],
        region: 'eu-west-1',
      },
      STACK,
    );
    expect(t.replicas.map((r) => r.alias)).to.deep.equal(['orders', 'other-account']);
  });

  it('rejects two replicas with one alias or one target within a table', () => {
    const problems = problemsOf({
      tables: [
        {
          tableName: 'orders',
          replicas: [{ tableName: 'copy' }, { tableName: 'copy', alias: 'second' }, { tableName: 'COPY' }],
        },
      ],
    });
    const messages = problems.map((p) => `${p.path}: ${p.message}`);
    expect(messages).to.have.length(2);
    expect(messages[0]).to.match(
      /^tables\[0\]\.replicas\[1\]\.tableName: replicas\[0\] already writes to copy/,
    );
    expect(messages[1]).to.match(/^tables\[0\]\.replicas\[2\]\.alias: replicas\[0\] has the same alias/);
  });

  it('rejects one target written by replicas of two tables', () => {
    const problems = problemsOf({
      tables: [
        { tableName: 'orders', replicas: [{ tableName: 'copy', region: 'us-east-1' }] },
        { tableName: 'invoices', replicas: [{ tableName: 'copy', region: 'us-east-1' }] },
      ],
    });
    expect(problems).to.have.length(1);
    expect(problems[0].path).to.equal('tables[1].replicas[0].tableName');
    expect(problems[0].message).to.include('tables[0].replicas[0] already writes to copy in us-east-1');
  });

  it('rejects rebaseline with an import bootstrap', () => {
    const problems = problemsOf({
      tables: [
        {
          tableName: 'orders',
          replicas: [{ tableName: 'copy', bootstrap: 'import', onNewEpoch: 'rebaseline' }],
        },
      ],
    });
    expect(problems).to.have.length(1);
    expect(problems[0]).to.include({ path: 'tables[0].replicas[0].onNewEpoch', value: 'rebaseline' });
  });

  it('rejects every replica of a table whose bucket is in another account (defaults included), and accepts an existing bucket of the stack account', () => {
    const problems = problemsOf({
      tables: [
        {
          tableName: 'orders',
          replicas: [{ tableName: 'copy' }, { tableName: 'orders-dr', alias: 'dr', region: 'us-east-1' }],
        },
      ],
      defaults: { bucket: { existingName: 'lake', ownerAccountId: '111122223333' } },
    });
    expect(problems.map((p) => formatProblem(p))).to.deep.equal(
      ['copy', 'dr'].map(
        (alias, r) =>
          `tables[0].replicas[${r}] (table 0 "orders"): got "${alias}"; replica "${alias}" of table "orders" cannot read its exports: ` +
          'bucket.ownerAccountId puts them in a bucket of account 111122223333, whose policy this stack cannot set for the roles ' +
          'that read them (the apply Lambda, the Distributed Map reader, an import role); allowed: replicas only of a table ' +
          'whose bucket is in the stack account (created here, or bucket.existingName without bucket.ownerAccountId)',
      ),
    );
    const [t] = validateConfig(
      {
        tables: [
          { tableName: 'orders', bucket: { existingName: 'lake' }, replicas: [{ tableName: 'copy' }] },
        ],
      },
      STACK,
    );
    expect(t.replicas.map((r) => r.alias)).to.deep.equal(['copy']);
  });

  it('rejects a replica alias that makes a resource name longer than AWS allows', () => {
    const longAlias = 'a'.repeat(30);
    const problems = problemsOf({
      tables: [
        { tableName: 'orders', alias: longAlias, replicas: [{ tableName: 'copy', alias: 'b'.repeat(20) }] },
      ],
    });
    expect(problems.map((p) => p.path)).to.include('tables[0].replicas[0].alias');
    expect(problems.find((p) => p.path === 'tables[0].replicas[0].alias')!.message).to.include(
      'AWS limit 64',
    );
  });
});
