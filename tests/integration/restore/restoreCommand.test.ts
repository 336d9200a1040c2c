/** `dce restore` end to end through the CLI: flags, progress, report, and its usage errors. */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { runDce } from '../../../cli/dce';
import { parseKeySchema, parseRestoreTarget } from '../../../cli/restore/restoreCommand';
import { UsageError } from '../../../cli/target';
import { LocalTableImport } from '../../../sim/fakeAws/tableImport';
import { startLocalDynamoDb, type LocalDynamoDb } from '../../../sim/servers';
import { canonicalTable, generateWorkload } from '../../../sim/workload';
import { MemoryS3, writeCliChain } from '../../helpers/exportChain';
import { capturedIo } from '../../helpers/capturedIo';

const capture = () => capturedIo();

describe('dce restore', () => {
  const START = 1_790_000_000;
  const source = generateWorkload({
    from: START - 3600,
    to: START + 4 * 900,
    writesPerMinute: 6,
    seed: 5,
    keySpace: 40,
  });
  const s3 = new MemoryS3();
  let ddb: LocalDynamoDb;
  let dir: string;
  let imports: LocalTableImport;
  const clients = () => ({ s3, ssm: { send: async () => ({}) }, dynamodb: imports });
  const where = ['--alias', 'orders', '--bucket', 'exports', '--prefix', 'dce/orders'];

  before(async () => {
    ddb = await startLocalDynamoDb();
    imports = new LocalTableImport(ddb.client, s3, {
      account: '123456789012',
      region: 'eu-west-1',
      pollsInProgress: 0,
    });
    dir = mkdtempSync(join(tmpdir(), 'dce-restore-cli-'));
    await writeCliChain(s3, source, START);
  });
  after(async () => {
    await ddb.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('imports the full export into a new table and applies up to the boundary before --to, showing progress', async () => {
    const c = capture();
    const to = new Date((START + 2 * 900 + 300) * 1000).toISOString(); // inside the third window
    const argv = [
      'restore',
      ...where,
      '--to',
      to,
      '--table',
      'orders-dr',
      '--key-schema',
      'pk:S,sk:N',
      '--state',
      join(dir, 's1.json'),
    ];
    expect(await runDce(argv, c.io, { clients: clients as never }), c.stderr()).to.equal(0);
    expect(c.stdout()).to.match(/restored to:\s+sequence 2: every write before/);
    expect(c.stdout()).to.contain('inside a window');
    expect(c.stderr()).to.match(/restore: import COMPLETED/);
    expect(c.stderr()).to.match(/restore: 2\/2 exports/);
    const scanned = await ddb.client.send(new ScanCommand({ TableName: 'orders-dr' }));
    expect(canonicalTable(scanned.Items ?? [])).to.deep.equal(
      canonicalTable(source.snapshotBefore(START + 2 * 900)),
    );
  });

  it('refuses a time after the watermark with exit 2, naming the nearest point', async () => {
    const c = capture();
    const late = new Date((START + 10 * 900) * 1000).toISOString();
    const argv = [
      'restore',
      ...where,
      '--to',
      late,
      '--table',
      'orders-late',
      '--key-schema',
      'pk:S,sk:N',
      '--state',
      join(dir, 's2.json'),
    ];
    expect(await runDce(argv, c.io, { clients: clients as never })).to.equal(2);
    expect(c.stderr()).to.contain(
      `nearest: sequence 4 (${new Date((START + 4 * 900) * 1000).toISOString()})`,
    );
  });

  it('parses --to and --key-schema, naming what is wrong', () => {
    expect(parseRestoreTarget('12')).to.deep.equal({ sequence: 12 });
    expect(parseRestoreTarget('2026-11-24T12:00:00Z')).to.deep.equal({
      time: Date.UTC(2026, 10, 24, 12) / 1000,
    });
    expect(() => parseRestoreTarget('yesterday')).to.throw(UsageError, /--to.*or a sequence number/);
    expect(parseKeySchema('pk:S,sk:N').KeySchema).to.deep.equal([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    expect(() => parseKeySchema('pk:X')).to.throw(UsageError, /"pk:X" is not name:type/);
    expect(() => parseKeySchema('a:S,b:S,c:S')).to.throw(UsageError, /one or two keys/);
  });
});
