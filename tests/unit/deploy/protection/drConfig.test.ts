import { expect } from 'chai';
import fc from 'fast-check';
import { ConfigError, validateConfig } from '../../../../components/config';
import { protectionProblems, resolveProtection } from '../../../../components/config/protection';

const KEY = (region: string) => `arn:aws:kms:${region}:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab`;

function problemsOf(tables: unknown[], defaults?: unknown) {
  try {
    validateConfig({ tables, defaults, region: 'eu-west-1' }, 'dev');
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('data-protection config (components/drConfig.ts)', () => {
  it('applies the defaults: no access logs, no break-glass deny, no copy; RTC off with a one-hour lag alarm', () => {
    const [plain] = validateConfig({ tables: [{ tableName: 'Orders' }] }, 'dev');
    expect(plain.dr).to.equal(undefined);
    expect(plain.accessLogs).to.equal(undefined);
    expect(plain.breakGlassRoleArn).to.equal(undefined);
    const [t] = validateConfig(
      {
        tables: [
          {
            tableName: 'Orders',
            dr: { bucket: 'arn:aws:s3:::orders-dr', region: 'us-west-2' },
            accessLogs: { bucket: 'logs' },
          },
        ],
      },
      'dev',
    );
    expect(t.dr).to.deep.include({
      bucket: 'orders-dr',
      create: false,
      replicationTimeControl: false,
      lagAlarmSeconds: 3600,
    });
    expect(t.accessLogs).to.deep.equal({ bucket: 'logs', prefix: 's3-access-logs/orders/' });
  });

  it('takes dr from defaults for every table (per stack), and RTC brings the 15-minute alarm', () => {
    const tables = validateConfig(
      {
        tables: [{ tableName: 'a-table' }, { tableName: 'b-table' }],
        defaults: { dr: { bucket: 'copy-bucket', replicationTimeControl: true } },
      },
      'dev',
    );
    for (const t of tables) expect(t.dr).to.deep.include({ bucket: 'copy-bucket', lagAlarmSeconds: 900 });
  });

  it('a resolved table is valid input again (the program passes it to the component)', () => {
    const [t] = validateConfig(
      {
        tables: [
          {
            tableName: 'Orders',
            kmsKeyArn: KEY('eu-west-1'),
            dr: {
              bucket: 'orders-dr',
              region: 'us-west-2',
              create: true,
              kmsKeyArn: KEY('us-west-2'),
              objectLock: { mode: 'COMPLIANCE', days: 30 },
            },
          },
        ],
        region: 'eu-west-1',
      },
      'dev',
    );
    const [again] = validateConfig({ tables: [t], region: 'eu-west-1' }, 'dev');
    expect(again.dr).to.deep.equal(t.dr);
  });

  it('names every problem at once, each with its path', () => {
    const problems = problemsOf([
      {
        tableName: 'Orders',
        bucket: { existingName: 'theirs' },
        kmsKeyArn: KEY('eu-west-1'),
        breakGlassRoleArn: 'arn:aws:iam::123456789012:role/glass',
        dr: {
          bucket: 'copy',
          accountId: '999999999999',
          create: true,
          objectLock: { mode: 'GOVERNANCE', days: 0 },
        },
      },
    ]);
    const paths = problems.map((p) => p.path);
    expect(paths).to.include('tables[0].dr.objectLock.days');
    const second = problemsOf([
      {
        tableName: 'Orders',
        bucket: { existingName: 'theirs' },
        kmsKeyArn: KEY('eu-west-1'),
        breakGlassRoleArn: 'arn:aws:iam::123456789012:role/glass',
        dr: {
          bucket: 'copy',
          accountId: '999999999999',
          create: true,
          kmsKeyArn: KEY('us-east-1'),
          region: 'us-west-2',
          objectLock: { mode: 'GOVERNANCE', days: 7 },
        },
      },
    ]).map((p) => `${p.path}: ${p.message}`);
    expect(second.some((m) => m.startsWith('tables[0].breakGlassRoleArn: the stack manages'))).to.equal(true);
    expect(second.some((m) => m.startsWith('tables[0].dr: the stack manages'))).to.equal(true);
    expect(
      second.some((m) =>
        m.startsWith('tables[0].dr.kmsKeyArn: the key is in us-east-1, the destination bucket in us-west-2'),
      ),
    ).to.equal(true);
    expect(
      second.some((m) =>
        m.startsWith('tables[0].dr.create: the stack cannot create a bucket in account 999999999999'),
      ),
    ).to.equal(true);
  });

  it('asks for a replica key when the exports use SSE-KMS, and hints at a misspelt dr field', () => {
    const problems = problemsOf([
      { tableName: 'Orders', kmsKeyArn: KEY('eu-west-1'), dr: { bucket: 'copy' } },
    ]);
    expect(problems.map((p) => p.path)).to.deep.equal(['tables[0].dr.kmsKeyArn']);
    expect(problems[0].message).to.match(/SSE-KMS/);
    const typo = problemsOf([{ tableName: 'Orders', dr: { bucket: 'copy', replicationTimeControll: true } }]);
    expect(typo[0].path).to.equal('tables[0].dr.replicationTimeControll');
    expect(typo[0].message).to.include('did you mean replicationTimeControl?');
  });

  it('property: Object Lock is accepted only on a bucket the stack creates', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.constantFrom('GOVERNANCE' as const, 'COMPLIANCE' as const),
        fc.integer({ min: 1, max: 36500 }),
        (create, mode, days) => {
          const dr = { bucket: 'copy', create, objectLock: { mode, days } };
          const problems = protectionProblems({ dr }, { createsBucket: true, stackRegion: 'eu-west-1' });
          expect(problems.map((p) => p.field)).to.deep.equal(create ? [] : ['dr.objectLock']);
          expect(resolveProtection({ dr }, 'x').dr?.objectLock).to.deep.equal({ mode, days });
        },
      ),
      { numRuns: 50 },
    );
  });
});
