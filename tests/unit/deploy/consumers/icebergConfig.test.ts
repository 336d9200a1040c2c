import { expect } from 'chai';
import { ConfigError, formatProblem, validateConfig } from '../../../../components/config';
import { MAX_ICEBERG_BUCKETS, MAX_ICEBERG_COLUMNS } from '../../../../components/config/iceberg';

const STACK = 'dev';
const KEY = { attribute: 'pk', type: 'S' };

function problemsOf(tables: unknown[]) {
  try {
    validateConfig({ tables }, STACK);
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigError);
    return (error as ConfigError).problems.map(formatProblem);
  }
  throw new Error('expected a ConfigError');
}

describe('stack config: iceberg (components/icebergConfig.ts)', () => {
  it('a table has no Iceberg feed unless it configures one', () => {
    const [t] = validateConfig({ tables: [{ tableName: 'Orders' }] }, STACK);
    expect(t.iceberg).to.equal(undefined);
  });

  it('fills every default: database from the stack, table from the alias, glue, hourly merges, rebuild', () => {
    const [t] = validateConfig(
      { tables: [{ tableName: 'Orders-2', iceberg: { partitionKey: KEY } }] },
      STACK,
    );
    expect(t.iceberg).to.deep.equal({
      database: 'dev_lake',
      table: 'orders_2',
      target: 'glue',
      partitionKey: { attribute: 'pk', type: 'S', column: 'pk' },
      columns: [],
      mergeEveryMinutes: 60,
      maxExportsPerMerge: 96,
      onNewEpoch: 'rebuild',
      bytesScannedCutoffMb: 102_400,
      // On by default, with Glue's own default days.
      optimizers: {
        enabled: true,
        snapshotRetentionDays: 5,
        snapshotsToRetain: 1,
        orphanFileRetentionDays: 3,
      },
    });
  });

  it('keeps every field that is set, and derives the DynamoDB type each projection reads', () => {
    const [t] = validateConfig(
      {
        tables: [
          {
            tableName: 'orders',
            iceberg: {
              database: 'lake',
              table: 'orders_lake',
              target: 'glue',
              partitionKey: { attribute: 'PK', type: 'S' },
              sortKey: { attribute: 'SK', type: 'N', column: 'seq' },
              columns: [
                { column: 'status', attribute: 'status', type: 'string' },
                { column: 'amount', attribute: 'amount', type: 'decimal(38, 9)' },
                { column: 'paid', attribute: 'paid', type: 'boolean' },
                { column: 'created', attribute: 'createdAt', type: 'timestamp', conversion: 'epoch_millis' },
                { column: 'shipped', attribute: 'shippedAt', type: 'timestamp', conversion: 'iso8601' },
              ],
              bucketPartitions: 16,
              mergeEveryMinutes: 240,
              maxExportsPerMerge: 10,
              onNewEpoch: 'halt',
              bytesScannedCutoffMb: 1000,
            },
          },
        ],
      },
      STACK,
    );
    expect(t.iceberg!.partitionKey).to.deep.equal({ attribute: 'PK', type: 'S', column: 'pk' });
    expect(t.iceberg!.sortKey).to.deep.equal({ attribute: 'SK', type: 'N', column: 'seq' });
    expect(t.iceberg!.columns.map((c) => [c.column, c.type, c.conversion, c.attributeType])).to.deep.equal([
      ['status', 'string', 'none', 'S'],
      ['amount', 'decimal(38,9)', 'none', 'N'],
      ['paid', 'boolean', 'none', 'BOOL'],
      ['created', 'timestamp', 'epoch_millis', 'N'],
      ['shipped', 'timestamp', 'iso8601', 'S'],
    ]);
    expect(t.iceberg).to.include({
      database: 'lake',
      table: 'orders_lake',
      target: 'glue',
      bucketPartitions: 16,
      mergeEveryMinutes: 240,
      maxExportsPerMerge: 10,
      onNewEpoch: 'halt',
      bytesScannedCutoffMb: 1000,
    });
  });

  it('names every problem at once, each with its path and what is allowed', () => {
    const problems = problemsOf([
      {
        tableName: 'orders',
        exportFormat: 'ION',
        iceberg: {
          partitionKey: { attribute: 'a b', type: 'X' },
          sortKey: { attribute: 'item', type: 'S' },
          columns: [
            { column: 'Status', attribute: 'status', type: 'varchar' },
            { column: 'amount', attribute: 'amount', type: 'decimal(40,2)' },
            { column: 'amount', attribute: 'other', type: 'bigint', conversion: 'epoch_millis' },
            { column: 'at', attribute: 'at', type: 'timestamp', conversion: 'iso8601', attributeType: 'N' },
          ],
          bucketPartitions: MAX_ICEBERG_BUCKETS + 1,
          mergeEveryMinutes: 5,
          onNewEpoch: 'rebaseline',
          target: 'redshift',
          tabel: 'x',
        },
      },
    ]);
    const text = problems.join('\n');
    for (const path of [
      'tables[0].iceberg.partitionKey.attribute',
      'tables[0].iceberg.partitionKey.type',
      'tables[0].iceberg.columns[0].column',
      'tables[0].iceberg.columns[0].type',
      'tables[0].iceberg.columns[1].type',
      'tables[0].iceberg.bucketPartitions',
      'tables[0].iceberg.mergeEveryMinutes',
      'tables[0].iceberg.onNewEpoch',
      'tables[0].iceberg.target',
      'tables[0].iceberg.tabel',
    ])
      expect(text, path).to.include(`${path} (table 0 "orders")`);
    expect(text).to.match(/iceberg\.tabel .*did you mean table\?/);
    expect(text).to.match(/bucketPartitions .*got 101; .*at most 100 partitions per query/);
  });

  it(`refuses more than ${MAX_ICEBERG_COLUMNS} projection columns, naming the bound`, () => {
    const columns = (n: number) =>
      Array.from({ length: n }, (_, i) => ({ column: `c${i}`, attribute: `a${i}`, type: 'string' }));
    const [t] = validateConfig(
      {
        tables: [
          { tableName: 'orders', iceberg: { partitionKey: KEY, columns: columns(MAX_ICEBERG_COLUMNS) } },
        ],
      },
      STACK,
    );
    expect(t.iceberg!.columns).to.have.length(MAX_ICEBERG_COLUMNS);
    const text = problemsOf([
      { tableName: 'orders', iceberg: { partitionKey: KEY, columns: columns(MAX_ICEBERG_COLUMNS + 1) } },
    ]).join('\n');
    expect(text).to.include('tables[0].iceberg.columns (table 0 "orders")');
    expect(text).to.include(`a list of at most ${MAX_ICEBERG_COLUMNS} projections`);
  });

  it('reports reserved and repeated columns and conversions that do not fit their type', () => {
    const problems = problemsOf([
      {
        tableName: 'orders',
        iceberg: {
          partitionKey: KEY,
          sortKey: { attribute: 'item', type: 'S' },
          columns: [
            { column: 'pk', attribute: 'x', type: 'string' },
            { column: 'item', attribute: 'y', type: 'bigint' },
            { column: 'a', attribute: 'a', type: 'bigint', conversion: 'epoch_millis' },
            { column: 'b', attribute: 'b', type: 'timestamp', conversion: 'iso8601', attributeType: 'N' },
          ],
        },
      },
    ]);
    const text = problems.join('\n');
    expect(text).to.match(/iceberg\.sortKey\.column .*"item" is a reserved column/);
    expect(text).to.match(/iceberg\.columns\[0\]\.column .*partitionKey has the same column/);
    expect(text).to.match(/iceberg\.columns\[1\]\.column .*"item" is a reserved column/);
    // The other reserved columns start with "_", which no column name may: refused as a name.
    const underscore = problemsOf([
      {
        tableName: 'orders',
        iceberg: { partitionKey: KEY, columns: [{ column: '_chain_seq', attribute: 'y', type: 'bigint' }] },
      },
    ]).join('\n');
    expect(underscore).to.match(/iceberg\.columns\[0\]\.column .*got "_chain_seq"; allowed: a column name/);
    expect(text).to.match(
      /iceberg\.columns\[2\]\.conversion .*epoch_millis makes a timestamp, but type is bigint/,
    );
    expect(text).to.match(/iceberg\.columns\[3\]\.attributeType .*iso8601 reads S values/);
  });

  it('refuses target s3tables, naming the field and why (S3 Tables has no views; glue is the default)', () => {
    for (const iceberg of [{ target: 's3tables' }, { target: 's3tables', optimizers: { enabled: false } }]) {
      const text = problemsOf([{ tableName: 'orders', iceberg: { partitionKey: KEY, ...iceberg } }]).join(
        '\n',
      );
      expect(text).to.match(
        /tables\[0\]\.iceberg\.target \(table 0 "orders"\): got "s3tables"; allowed: glue .*s3tables is not supported yet: the feed needs a view over the epoch's table and S3 Tables has no views/,
      );
    }
  });

  it('optimizers: set days are kept, and enabled false turns them off', () => {
    const feed = (iceberg: Record<string, unknown>) =>
      validateConfig(
        { tables: [{ tableName: 'orders', iceberg: { partitionKey: KEY, ...iceberg } }] },
        STACK,
      )[0].iceberg!;
    expect(
      feed({ optimizers: { snapshotRetentionDays: 30, orphanFileRetentionDays: 7 } }).optimizers,
    ).to.deep.equal({
      enabled: true,
      snapshotRetentionDays: 30,
      snapshotsToRetain: 1,
      orphanFileRetentionDays: 7,
    });
    expect(feed({ optimizers: { enabled: false, snapshotRetentionDays: 30 } }).optimizers.enabled).to.equal(
      false,
    );
  });

  it('optimizers: the resolved block parses back to itself (a component validates its args again)', () => {
    for (const iceberg of [
      {},
      { optimizers: { enabled: false } },
      { target: 'glue' },
      { optimizers: { snapshotsToRetain: 3 } },
    ]) {
      const [once] = validateConfig(
        { tables: [{ tableName: 'orders', iceberg: { partitionKey: KEY, ...iceberg } }] },
        STACK,
      );
      const [twice] = validateConfig({ tables: [{ tableName: 'orders', iceberg: once.iceberg }] }, STACK);
      expect(twice.iceberg, JSON.stringify(iceberg)).to.deep.equal(once.iceberg);
    }
  });

  it('optimizers: every bad value is named', () => {
    const text = problemsOf([
      {
        tableName: 'orders',
        iceberg: {
          partitionKey: KEY,
          optimizers: {
            enabled: 'yes',
            snapshotRetentionDays: 0,
            snapshotsToRetain: 1.5,
            orphanFileRetentionDays: 4000,
            days: 3,
          },
        },
      },
    ]).join('\n');
    for (const field of [
      'enabled',
      'snapshotRetentionDays',
      'snapshotsToRetain',
      'orphanFileRetentionDays',
      'days',
    ])
      expect(text, field).to.include(`tables[0].iceberg.optimizers.${field} (table 0 "orders")`);
    expect(text).to.match(
      /optimizers\.orphanFileRetentionDays .*got 4000; allowed: an integer from 1 to 3650/,
    );
  });

  it('refuses an ION chain: Athena reads the DYNAMODB_JSON data files', () => {
    const problems = problemsOf([
      { tableName: 'orders', exportFormat: 'ION', iceberg: { partitionKey: KEY } },
    ]);
    expect(problems.join('\n')).to.match(/tables\[0\]\.exportFormat .*reads DYNAMODB_JSON exports only/);
  });

  it('iceberg is per table only, never in defaults', () => {
    expect(() =>
      validateConfig(
        { tables: [{ tableName: 'orders' }], defaults: { iceberg: { partitionKey: KEY } } },
        STACK,
      ),
    ).to.throw(ConfigError, /defaults\.iceberg/);
  });
});
