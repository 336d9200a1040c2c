import { expect } from 'chai';
import fc from 'fast-check';
import {
  bucketNameProblems,
  ConfigError,
  defaultLagAlarmMinutes,
  deriveAlias,
  LOG_RETENTION_DAYS,
  validateConfig,
} from '../../../components/config';
import { componentName, listPhysicalNames, physicalNames } from '../../../components/names';

const STACK = 'dev';

function problemsOf(raw: { tables: unknown; defaults?: unknown }, stack = STACK) {
  try {
    validateConfig(raw, stack);
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('stack config (components/config/)', () => {
  describe('defaults', () => {
    it('fills every field of a table that names only its table', () => {
      const [t] = validateConfig({ tables: [{ tableName: 'Orders' }] }, STACK);
      expect(t.alias).to.equal('orders');
      expect(t.windowMinutes).to.equal(15);
      expect(t.maxCatchUpWindowMinutes).to.equal(1440);
      expect(t.exportFormat).to.equal('DYNAMODB_JSON');
      expect(t.exportViewType).to.equal('NEW_AND_OLD_IMAGES');
      expect(t.notifyOnSuccess).to.equal(true);
      expect(t.onPitrGap).to.equal('alert');
      expect(t.logRetentionDays).to.equal(30);
      expect(t.maxInFlight).to.equal(4);
      expect(t.restorableMarginSeconds).to.equal(60);
      expect(t.lagAlarmMinutes).to.equal(3 * 15 + 30);
      expect(t.bucket).to.deep.equal({
        existingName: undefined,
        prefix: 'orders',
        ownerAccountId: undefined,
        versioning: false,
      });
      expect(t.successEmails).to.deep.equal([]);
      expect(t.failureEmails).to.deep.equal([]);
      expect(t.tags).to.deep.equal({});
      expect(t.kmsKeyArn).to.equal(undefined);
    });

    it('derives the lag alarm from the window when not set', () => {
      fc.assert(
        fc.property(fc.integer({ min: 15, max: 1440 }), (windowMinutes) => {
          const [t] = validateConfig({ tables: [{ tableName: 'Orders', windowMinutes }] }, STACK);
          expect(t.lagAlarmMinutes).to.equal(defaultLagAlarmMinutes(windowMinutes));
          expect(t.lagAlarmMinutes).to.be.greaterThan(windowMinutes);
        }),
        { numRuns: 50 },
      );
    });

    it('applies `defaults` to every table; a table value wins; bucket and tags merge key by key', () => {
      const tables = validateConfig(
        {
          defaults: {
            windowMinutes: 60,
            exportViewType: 'NEW_IMAGE',
            failureEmails: ['ops@example.com'],
            bucket: { existingName: 'shared-exports', versioning: true },
            tags: { team: 'data', env: 'dev' },
          },
          tables: [
            { tableName: 'Orders' },
            {
              tableName: 'Customers',
              windowMinutes: 30,
              bucket: { prefix: 'crm/customers' },
              tags: { env: 'prod', owner: 'crm' },
            },
          ],
        },
        STACK,
      );
      expect(tables[0].windowMinutes).to.equal(60);
      expect(tables[0].exportViewType).to.equal('NEW_IMAGE');
      expect(tables[0].failureEmails).to.deep.equal(['ops@example.com']);
      expect(tables[0].bucket).to.include({
        existingName: 'shared-exports',
        prefix: 'orders',
        versioning: true,
      });
      expect(tables[1].windowMinutes).to.equal(30);
      expect(tables[1].lagAlarmMinutes).to.equal(defaultLagAlarmMinutes(30));
      expect(tables[1].bucket).to.include({ existingName: 'shared-exports', prefix: 'crm/customers' });
      expect(tables[1].tags).to.deep.equal({ team: 'data', env: 'prod', owner: 'crm' });
    });

    it('keeps an explicit alias and uses it as the default prefix', () => {
      const [t] = validateConfig({ tables: [{ tableName: 'customer_profiles', alias: 'customers' }] }, STACK);
      expect(t.alias).to.equal('customers');
      expect(t.bucket.prefix).to.equal('customers');
    });
  });

  describe('alias derivation', () => {
    it('lower-cases, replaces characters outside [a-z0-9-] and trims dashes', () => {
      expect(deriveAlias('Customer_Profiles.v2')).to.equal('customer-profiles-v2');
      expect(deriveAlias('__Orders__')).to.equal('orders');
    });

    it('always yields a lower-case, dash-trimmed alias, and is idempotent', () => {
      fc.assert(
        fc.property(fc.stringMatching(/^[a-zA-Z0-9_.-]{3,40}$/), (name) => {
          const alias = deriveAlias(name);
          expect(alias).to.match(/^[a-z0-9-]*$/);
          expect(alias).not.to.match(/^-|-$/);
          expect(deriveAlias(alias)).to.equal(alias);
        }),
      );
    });
  });

  describe('bucket names', () => {
    it('accepts names S3 accepts', () => {
      fc.assert(
        fc.property(fc.stringMatching(/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/), (name) => {
          fc.pre(!name.startsWith('xn--') && !name.endsWith('-s3alias'));
          expect(bucketNameProblems(name)).to.deep.equal([]);
        }),
      );
    });

    it('names every rule a bad name breaks', () => {
      expect(bucketNameProblems('ab')).to.have.length(1);
      expect(bucketNameProblems('a'.repeat(64))).to.have.length(1);
      expect(bucketNameProblems('My_Bucket')).to.have.length.greaterThan(0);
      expect(bucketNameProblems('-bucket')).to.have.length(1);
      expect(bucketNameProblems('my..bucket')).to.have.length(1);
      expect(bucketNameProblems('192.168.1.10')).to.have.length(1);
      expect(bucketNameProblems('xn--bucket')).to.have.length(1);
      expect(bucketNameProblems('bucket-s3alias')).to.have.length(1);
    });
  });

  describe('invalid configs', () => {
    const ok = { tableName: 'Orders' };
    // [description, config, the exact field path the error must name]
    const cases: [string, { tables: unknown; defaults?: unknown }, string][] = [
      ['no tables', { tables: [] }, 'tables'],
      ['tables is not a list', { tables: { tableName: 'Orders' } }, 'tables'],
      ['missing table name', { tables: [{ windowMinutes: 15 }] }, 'tables[0].tableName'],
      ['table name with a space', { tables: [{ tableName: 'my table' }] }, 'tables[0].tableName'],
      ['window below 15', { tables: [{ ...ok, windowMinutes: 10 }] }, 'tables[0].windowMinutes'],
      ['window above 1440', { tables: [{ ...ok, windowMinutes: 1441 }] }, 'tables[0].windowMinutes'],
      ['window not an integer', { tables: [{ ...ok, windowMinutes: 15.5 }] }, 'tables[0].windowMinutes'],
      [
        'max catch-up below window',
        { tables: [{ ...ok, windowMinutes: 60, maxCatchUpWindowMinutes: 30 }] },
        'tables[0].maxCatchUpWindowMinutes',
      ],
      [
        'malformed success email',
        { tables: [{ ...ok, successEmails: ['a@b.com', 'nope'] }] },
        'tables[0].successEmails[1]',
      ],
      [
        'malformed failure email',
        { tables: [{ ...ok, failureEmails: ['x@'] }] },
        'tables[0].failureEmails[0]',
      ],
      [
        'bucket name with capitals',
        { tables: [{ ...ok, bucket: { existingName: 'MyBucket' } }] },
        'tables[0].bucket.existingName',
      ],
      [
        'bucket name like an IP',
        { tables: [{ ...ok, bucket: { existingName: '10.0.0.1' } }] },
        'tables[0].bucket.existingName',
      ],
      [
        'bucket name with ..',
        { tables: [{ ...ok, bucket: { existingName: 'a..b' } }] },
        'tables[0].bucket.existingName',
      ],
      [
        'bucket name xn--',
        { tables: [{ ...ok, bucket: { existingName: 'xn--exports' } }] },
        'tables[0].bucket.existingName',
      ],
      [
        'bucket name -s3alias',
        { tables: [{ ...ok, bucket: { existingName: 'exports-s3alias' } }] },
        'tables[0].bucket.existingName',
      ],
      [
        'prefix with leading /',
        { tables: [{ ...ok, bucket: { prefix: '/exports' } }] },
        'tables[0].bucket.prefix',
      ],
      [
        'prefix with trailing /',
        { tables: [{ ...ok, bucket: { prefix: 'exports/' } }] },
        'tables[0].bucket.prefix',
      ],
      [
        'prefix too long',
        { tables: [{ ...ok, bucket: { prefix: 'p'.repeat(1025) } }] },
        'tables[0].bucket.prefix',
      ],
      [
        'bad account id',
        { tables: [{ ...ok, bucket: { existingName: 'exports', ownerAccountId: '1234' } }] },
        'tables[0].bucket.ownerAccountId',
      ],
      [
        'owner without existing bucket',
        { tables: [{ ...ok, bucket: { ownerAccountId: '123456789012' } }] },
        'tables[0].bucket.ownerAccountId',
      ],
      ['bad KMS ARN', { tables: [{ ...ok, kmsKeyArn: 'alias/exports' }] }, 'tables[0].kmsKeyArn'],
      ['unknown field', { tables: [{ ...ok, windowMinute: 15 }] }, 'tables[0].windowMinute'],
      ['unknown bucket field', { tables: [{ ...ok, bucket: { name: 'x' } }] }, 'tables[0].bucket.name'],
      ['unknown defaults field', { defaults: { colour: 'blue' }, tables: [ok] }, 'defaults.colour'],
      ['tableName in defaults', { defaults: { tableName: 'x' }, tables: [ok] }, 'defaults.tableName'],
      ['bad defaults window', { defaults: { windowMinutes: 5 }, tables: [ok] }, 'defaults.windowMinutes'],
      ['bad export format', { tables: [{ ...ok, exportFormat: 'CSV' }] }, 'tables[0].exportFormat'],
      ['bad view type', { tables: [{ ...ok, exportViewType: 'OLD_IMAGE' }] }, 'tables[0].exportViewType'],
      ['bad PITR gap reaction', { tables: [{ ...ok, onPitrGap: 'ignore' }] }, 'tables[0].onPitrGap'],
      [
        'retention CloudWatch refuses',
        { tables: [{ ...ok, logRetentionDays: 31 }] },
        'tables[0].logRetentionDays',
      ],
      ['maxInFlight 11', { tables: [{ ...ok, maxInFlight: 11 }] }, 'tables[0].maxInFlight'],
      [
        'margin above an hour',
        { tables: [{ ...ok, restorableMarginSeconds: 3601 }] },
        'tables[0].restorableMarginSeconds',
      ],
      [
        'lag alarm not above window',
        { tables: [{ ...ok, windowMinutes: 60, lagAlarmMinutes: 60 }] },
        'tables[0].lagAlarmMinutes',
      ],
      [
        'notifyOnSuccess as text',
        { tables: [{ ...ok, notifyOnSuccess: 'yes' }] },
        'tables[0].notifyOnSuccess',
      ],
      ['alias with capitals', { tables: [{ ...ok, alias: 'Orders' }] }, 'tables[0].alias'],
      ['table name without usable alias', { tables: [{ tableName: '___' }] }, 'tables[0].alias'],
      ['duplicate table', { tables: [ok, { tableName: 'Orders', alias: 'orders2' }] }, 'tables[1].tableName'],
      ['duplicate alias', { tables: [ok, { tableName: 'orders' }] }, 'tables[1].alias'],
      [
        'overlapping prefixes in one bucket',
        {
          tables: [
            { tableName: 'A1x', bucket: { existingName: 'lake', prefix: 'db' } },
            { tableName: 'B1x', bucket: { existingName: 'lake', prefix: 'db/b' } },
          ],
        },
        'tables[1].bucket.prefix',
      ],
      [
        'alias too long for the Lambda name',
        { tables: [{ ...ok, alias: 'a'.repeat(50) }] },
        'tables[0].alias',
      ],
    ];

    for (const [description, raw, path] of cases) {
      it(`rejects ${description}, naming ${path}`, () => {
        const problems = problemsOf(raw);
        expect(problems.map((p) => p.path)).to.include(path);
      });
    }

    it('reports every problem of every table and of defaults in one error', () => {
      let error: ConfigError | undefined;
      try {
        validateConfig(
          {
            defaults: { maxInFlight: 0 },
            tables: [
              { tableName: 'Orders', windowMinutes: 5, successEmails: ['bad'] },
              { tableName: 'Customers', bucket: { existingName: 'Bad_Bucket' }, extra: true },
            ],
          },
          STACK,
        );
      } catch (e) {
        error = e as ConfigError;
      }
      expect(error).to.be.instanceOf(ConfigError);
      const paths = error!.problems.map((p) => p.path);
      expect(paths).to.include.members([
        'defaults.maxInFlight',
        'tables[0].windowMinutes',
        'tables[0].successEmails[0]',
        'tables[1].bucket.existingName',
        'tables[1].extra',
      ]);
      // Each line names the table by index and name, the field path, the bad value and what is allowed.
      const line = error!.message.split('\n').find((l) => l.includes('tables[0].windowMinutes'))!;
      expect(line).to.include('table 0 "Orders"');
      expect(line).to.include('got 5');
      expect(line).to.match(/allowed: an integer from 15 to 1440/);
      const bucketLine = error!.message.split('\n').find((l) => l.includes('tables[1].bucket.existingName'))!;
      expect(bucketLine).to.include('table 1 "Customers"');
      expect(bucketLine).to.include('"Bad_Bucket"');
    });

    it('says when the offending value came from defaults', () => {
      const problems = problemsOf({
        defaults: { maxCatchUpWindowMinutes: 30 },
        tables: [{ tableName: 'Orders', windowMinutes: 60 }],
      });
      const p = problems.find((x) => x.path === 'tables[0].maxCatchUpWindowMinutes');
      expect(p?.message).to.include('from defaults');
    });

    it('lists the allowed retention values', () => {
      const [p] = problemsOf({ tables: [{ tableName: 'Orders', logRetentionDays: 2 }] });
      for (const days of LOG_RETENTION_DAYS) expect(p.message).to.include(String(days));
    });
  });

  describe('physical name limits', () => {
    it('accepts an alias exactly when every physical name fits its limit', () => {
      fc.assert(
        fc.property(
          fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,70}[a-z0-9]$/),
          fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/),
          fc.boolean(),
          (alias, stack, existing) => {
            const names = physicalNames(componentName(stack, alias), stack, alias);
            const fits = listPhysicalNames(names, !existing).every((n) => n.name.length <= n.limit);
            const table = {
              tableName: 'Orders',
              alias,
              ...(existing ? { bucket: { existingName: 'lake' } } : {}),
            };
            let accepted = true;
            try {
              validateConfig({ tables: [table] }, stack);
            } catch (error) {
              expect(error).to.be.instanceOf(ConfigError);
              accepted = false;
            }
            expect(accepted).to.equal(fits);
          },
        ),
        { numRuns: 200 },
      );
    });

    it('checks the created bucket name only when a bucket is created', () => {
      // 41 characters: "dev-" + alias + "-exports-" + 12 digits is 66 > 63, other names fit.
      const alias = 'a'.repeat(41);
      expect(problemsOf({ tables: [{ tableName: 'Orders', alias }] }).map((p) => p.path)).to.deep.equal([
        'tables[0].alias',
      ]);
      expect(() =>
        validateConfig({ tables: [{ tableName: 'Orders', alias, bucket: { existingName: 'lake' } }] }, STACK),
      ).not.to.throw();
    });
  });
});
