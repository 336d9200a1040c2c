/**
 * The config reference in the docs and the schema agree: every field docs/deploy.md ("Configure the
 * tables") and docs/replica.md (the replica field table) name exists in the schema, every field of the
 * schema is documented there, and each default the docs state as a plain value is the schema's.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { expect } from 'chai';
import { tableSchema } from '../../../components/config';
import { fieldsAt } from '../../../components/config/fields';
import { defaultsSchema } from '../../../components/config/stack';
import { parseConfigPath, shellWords } from '../../helpers/pulumiConfigSet';
import { REPO_ROOT } from '../../helpers/repoRoot';

const read = (file: string) => readFileSync(path.join(REPO_ROOT, file), 'utf8');

/** A field as the docs name it: `windowMinutes`, `bucket.prefix`, `replicas`. */
interface Documented {
  field: string;
  /** `defaults.<field>` rather than `tables[n].<field>`. */
  inDefaults: boolean;
  /** The default the line's comment states as a plain value (`default 15`), if any. */
  stated?: string;
}

/** The `pulumi config set --path` lines of docs/deploy.md's "Configure the tables" section. */
function deployDocFields(): Documented[] {
  const doc = read('docs/deploy.md');
  const section = doc.slice(doc.indexOf('## 3. Configure the tables'), doc.indexOf('## 4. '));
  const block = /```bash\n([\s\S]*?)```/.exec(section);
  if (!block) throw new Error('docs/deploy.md: no bash block in "Configure the tables"');
  return block[1]
    .split('\n')
    .filter((line) => line.startsWith('pulumi config set --path'))
    .map((line) => {
      const [, , , , key] = shellWords(line.split('#')[0]);
      const parts = parseConfigPath(key).filter((p): p is string => typeof p === 'string');
      const [scope, field, sub] = parts;
      const stated = /\bdefault ([A-Za-z0-9_.-]+)\s*(?:$|[;,])/.exec(line.split('#')[1] ?? '')?.[1];
      return {
        field: field === 'bucket' ? `bucket.${sub}` : field,
        inDefaults: scope === 'defaults',
        ...(stated ? { stated } : {}),
      };
    });
}

/** The rows of the replica field table in docs/replica.md: field and default. */
function replicaDocFields(): { field: string; stated: string }[] {
  const doc = read('docs/replica.md');
  const table = doc.slice(doc.indexOf('| field '));
  const rows = table.slice(0, table.indexOf('\n\n')).split('\n').slice(2);
  return rows.map((row) => {
    const [, field, stated] = row.split('|').map((cell) => cell.trim().replace(/`/g, ''));
    return { field, stated };
  });
}

describe('config reference (docs/deploy.md, docs/replica.md) and the schema', () => {
  const documented = deployDocFields();
  const tableFields = fieldsAt(tableSchema, []);
  const bucketFields = fieldsAt(tableSchema, ['bucket']).map((f) => `bucket.${f}`);
  const replicaFields = fieldsAt(tableSchema, ['replicas', 0]);
  const resolved = tableSchema.parse({ tableName: 'Orders', replicas: [{ tableName: 'copy' }] });

  it('reads the documented fields (not an empty reference)', () => {
    expect(documented.length).to.be.greaterThan(15);
    expect(replicaDocFields().length).to.equal(replicaFields.length);
  });

  it('documents only fields the schema has, and defaults only where defaults may set them', () => {
    const known = [...tableFields.filter((f) => f !== 'bucket'), ...bucketFields];
    for (const d of documented) {
      expect(known, `docs/deploy.md names ${d.field}`).to.include(d.field);
      if (d.inDefaults) expect(fieldsAt(defaultsSchema, [])).to.include(d.field.split('.')[0]);
    }
    for (const { field } of replicaDocFields())
      expect(replicaFields, `docs/replica.md names ${field}`).to.include(field);
  });

  it('documents every field of the schema', () => {
    const fields = new Set(documented.map((d) => d.field));
    for (const field of tableFields.filter((f) => f !== 'bucket'))
      expect(fields.has(field), `${field} is missing from docs/deploy.md`).to.equal(true);
    for (const field of bucketFields)
      expect(fields.has(field), `${field} is missing from docs/deploy.md`).to.equal(true);
    const replicaDocs = replicaDocFields().map((r) => r.field);
    for (const field of replicaFields)
      expect(replicaDocs, `${field} is missing from docs/replica.md`).to.include(field);
  });

  it('states the defaults the schema applies', () => {
    const stated = documented.filter((d) => d.stated !== undefined);
    expect(stated.length).to.be.at.least(5);
    const valueOf = (field: string): unknown =>
      field.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown>)[k], resolved);
    for (const d of stated) expect(String(valueOf(d.field)), d.field).to.equal(d.stated);
    const replica = resolved.replicas[0] as Record<string, unknown>;
    const plain = replicaDocFields().filter((r) => /^[\w.-]+$/.test(r.stated));
    expect(plain.map((r) => r.field)).to.include.members(['bootstrap', 'maxWritesPerSecond', 'onNewEpoch']);
    for (const r of plain) expect(String(replica[r.field]), r.field).to.equal(r.stated);
  });
});
