/**
 * The machinery a config section relies on (components/config/fields.ts, coerce.ts, stack.ts), shown
 * on a made-up section: a new section gets its words in messages, its defaults after the merge, its
 * rules on the merged value and its text fields back from numbers without code of its own.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { z } from 'zod';
import { coerceNumbers } from '../../../components/config/coerce';
import { zodProblems } from '../../../components/config/errors';
import {
  allowedAt,
  asWritten,
  defaultsOf,
  fieldsAt,
  flag,
  int,
  oneOf,
} from '../../../components/config/fields';
import { mergeDefaults } from '../../../components/config/stack';
import type { TableInput } from '../../../components/config';

const sectionShape = {
  namespace: z.string().min(3).optional().describe('a namespace of 3 characters or more'),
  enabled: flag().default(false),
  mode: oneOf(['append', 'merge'], { merge: 'upserts by key' }).default('append'),
  batch: int(1, 100).default(10),
};
const section = z.strictObject(sectionShape).superRefine((s, ctx) => {
  if (s.enabled && s.namespace === undefined)
    ctx.addIssue({
      code: 'custom',
      path: ['namespace'],
      input: undefined,
      message: 'is needed when enabled',
    });
});
const root = z.strictObject({
  name: z.string(),
  lake: section.prefault({}),
  list: z.array(section).default([]),
});

describe('config schema machinery (components/config/fields.ts)', () => {
  it('words an enumeration and a range from the values themselves', () => {
    expect(allowedAt(root, ['lake', 'mode'])).to.equal('append or merge (upserts by key)');
    expect(allowedAt(root, ['list', 3, 'batch'])).to.equal('an integer from 1 to 100');
    expect(fieldsAt(root, ['list', 0])).to.deep.equal(['namespace', 'enabled', 'mode', 'batch']);
    expect(defaultsOf(sectionShape)).to.deep.equal({ enabled: false, mode: 'append', batch: 10 });
  });

  it('checks a value as written: no default applied, rules across fields left for the merged value', () => {
    const written = asWritten(root);
    expect(written.parse({ name: 'n', lake: { enabled: true } })).to.deep.equal({
      name: 'n',
      lake: { enabled: true },
    });
    expect(written.safeParse({ name: 'n', lake: { batch: 0 } }).success).to.equal(false);
    expect(allowedAt(written, ['lake', 'batch'])).to.equal('an integer from 1 to 100');
    const merged = root.safeParse({ name: 'n', lake: { enabled: true } });
    expect(merged.success).to.equal(false);
    const [problem] = zodProblems(merged.error!, {
      schema: root,
      base: 'tables[2]',
      fromDefaults: new Set(['lake']),
    });
    expect(problem).to.deep.include({ path: 'tables[2].lake.namespace', value: undefined });
    expect(problem.message).to.equal(
      'is needed when enabled (value from defaults); allowed: a namespace of 3 characters or more',
    );
  });

  it('turns back into text exactly the numbers Pulumi stored in text fields', () => {
    fc.assert(
      fc.property(fc.nat(), fc.nat({ max: 100 }), (namespace, batch) => {
        const coerced = new Map<string, unknown>();
        const out = coerceNumbers(
          { name: 7, lake: { namespace, batch }, list: [{ namespace }] },
          root,
          'tables[0]',
          coerced,
        );
        expect(out).to.deep.equal({
          name: '7',
          lake: { namespace: String(namespace), batch },
          list: [{ namespace: String(namespace) }],
        });
        expect([...coerced.keys()]).to.deep.equal([
          'tables[0].name',
          'tables[0].lake.namespace',
          'tables[0].list[0].namespace',
        ]);
      }),
    );
  });

  it('merges defaults into a table: the table wins, objects merge key by key, lists do not', () => {
    const merged = mergeDefaults(
      { windowMinutes: 60, tags: { team: 'data', env: 'dev' }, failureEmails: ['a@example.com'] },
      { tableName: 'Orders', tags: { env: 'prod' }, failureEmails: ['b@example.com'] } as TableInput,
    );
    expect(merged).to.deep.equal({
      tableName: 'Orders',
      windowMinutes: 60,
      tags: { team: 'data', env: 'prod' },
      failureEmails: ['b@example.com'],
    });
  });
});
