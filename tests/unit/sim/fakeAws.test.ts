import { expect } from 'chai';
import fc from 'fast-check';
import {
  DescribeContinuousBackupsCommand,
  DescribeExportCommand,
  ExportTableToPointInTimeCommand,
  type ExportTableToPointInTimeCommandInput,
  ListTablesCommand,
} from '@aws-sdk/client-dynamodb';
import {
  DeleteParameterCommand,
  GetParameterCommand,
  GetParametersCommand,
  PutParameterCommand,
} from '@aws-sdk/client-ssm';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { PublishCommand } from '@aws-sdk/client-sns';
import type { ExportSink } from '../../../sim/contracts';
import { createFakeAws, TRANSIENT_FAULTS, type FakeAws } from '../../../sim/fakeAws';
import { EXPORT_WRITE_FAILURE_CODE } from '../../../sim/fakeAws/dynamodb';
import { MemorySink } from '../../../sim/memorySink';
import { SimpleTable } from '../../../sim/simpleTable';

const T0 = Date.parse('2026-03-01T12:00:00Z');
const REGION = 'eu-west-1';
const ACCOUNT = '123456789012';
const TABLE_ARN = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/orders`;

/** An account whose clock the test moves by hand. */
function account(options: { maxConcurrentExports?: number } = {}) {
  const clock = { now: T0 };
  const sink = new MemorySink({ keepData: true });
  const table = new SimpleTable();
  const aws = createFakeAws({ now: () => clock.now, sink, region: REGION, account: ACCOUNT, ...options });
  aws.dynamodb.addTable({ name: 'orders', source: table, pitrEnabledAt: T0 - 2 * 86_400_000 });
  aws.dynamodb.addTable({ name: 'other', pitrEnabledAt: T0 - 2 * 86_400_000 });
  const advance = (seconds: number) => {
    clock.now += seconds * 1000;
  };
  return { aws, clock, sink, table, advance };
}

const sec = (ms: number) => Math.floor(ms / 1000);

function incremental(
  from: number,
  to: number,
  token?: string,
  table = TABLE_ARN,
): ExportTableToPointInTimeCommandInput {
  return {
    TableArn: table,
    S3Bucket: 'exports-bucket',
    S3Prefix: 'orders',
    ExportType: 'INCREMENTAL_EXPORT',
    ClientToken: token,
    IncrementalExportSpecification: {
      ExportFromTime: new Date(from * 1000),
      ExportToTime: new Date(to * 1000),
      ExportViewType: 'NEW_AND_OLD_IMAGES',
    },
  };
}

async function rejection(promise: Promise<unknown>): Promise<any> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

async function pitr(aws: FakeAws, table = 'orders') {
  const out = await aws.dynamodb.send(new DescribeContinuousBackupsCommand({ TableName: table }));
  return out.ContinuousBackupsDescription!.PointInTimeRecoveryDescription!;
}

describe('fake DynamoDB export engine', () => {
  it('reports the PITR window: earliest = max(enable time, now - recovery period), latest = now - lag', async () => {
    const { aws, advance } = account();
    let d = await pitr(aws);
    expect(d!.PointInTimeRecoveryStatus).to.equal('ENABLED');
    expect(d!.EarliestRestorableDateTime!.getTime()).to.equal(T0 - 2 * 86_400_000);
    expect(d!.LatestRestorableDateTime!.getTime()).to.equal(T0 - 300_000);
    advance(40 * 86_400);
    d = await pitr(aws);
    expect(d!.EarliestRestorableDateTime!.getTime()).to.equal(T0 + 5 * 86_400_000);
    aws.dynamodb.setRestorableLag(900);
    d = await pitr(aws);
    expect(d!.LatestRestorableDateTime!.getTime()).to.equal(T0 + 40 * 86_400_000 - 900_000);
    // Accepts the table ARN as well as its name.
    expect((await pitr(aws, TABLE_ARN)).PointInTimeRecoveryStatus).to.equal('ENABLED');
  });

  it('loses history when PITR is disabled and enabled again', async () => {
    const { aws, clock, advance } = account();
    aws.dynamodb.disablePitr('orders');
    expect((await pitr(aws)).PointInTimeRecoveryStatus).to.equal('DISABLED');
    expect((await pitr(aws)).EarliestRestorableDateTime).to.equal(undefined);
    advance(600);
    aws.dynamodb.enablePitr('orders');
    const d = await pitr(aws);
    expect(d!.EarliestRestorableDateTime!.getTime()).to.equal(clock.now);
    const err = await rejection(
      aws.dynamodb.send(new ExportTableToPointInTimeCommand(incremental(sec(T0) - 3600, sec(T0) - 1800))),
    );
    expect(err.name).to.equal('InvalidExportTimeException');
    expect(err.message).to.match(/outside PITR window/);
  });

  it('rejects exports while PITR is disabled, and everything once the table is deleted', async () => {
    const { aws } = account();
    aws.dynamodb.disablePitr('orders');
    const e1 = await rejection(
      aws.dynamodb.send(new ExportTableToPointInTimeCommand(incremental(sec(T0) - 3600, sec(T0) - 1800))),
    );
    expect(e1.name).to.equal('PointInTimeRecoveryUnavailableException');
    expect(e1.$fault).to.equal('client');
    expect(e1.$metadata.httpStatusCode).to.equal(400);
    aws.dynamodb.deleteTable('orders');
    expect((await rejection(pitr(aws))).name).to.equal('TableNotFoundException');
    const e2 = await rejection(
      aws.dynamodb.send(new ExportTableToPointInTimeCommand(incremental(sec(T0) - 3600, sec(T0) - 1800))),
    );
    expect(e2.name).to.equal('TableNotFoundException');
  });

  it('accepts a full export inside the restorable range only', async () => {
    const { aws } = account();
    const full = (t: number) =>
      aws.dynamodb.send(
        new ExportTableToPointInTimeCommand({
          TableArn: TABLE_ARN,
          S3Bucket: 'exports-bucket',
          ExportType: 'FULL_EXPORT',
          ExportTime: new Date(t * 1000),
        }),
      );
    expect((await full(sec(T0) - 300)).ExportDescription!.ExportStatus).to.equal('IN_PROGRESS');
    expect((await rejection(full(sec(T0) - 299))).name).to.equal('InvalidExportTimeException');
    expect((await rejection(full(sec(T0) - 3 * 86_400))).name).to.equal('InvalidExportTimeException');
  });

  it('enforces the incremental window rules', async () => {
    const { aws } = account();
    const now = sec(T0);
    const cases: [number, number, RegExp][] = [
      [now - 3600, now - 3600, /greater or equal/],
      [now - 3600, now - 3600 + 899, /at least 15 minutes/],
      [now - 86_400 - 1000, now - 999, /at most 24 hours/],
      [now - 3 * 86_400, now - 3 * 86_400 + 900, /outside PITR window/],
      [now - 1200, now - 299, /later than the current time/],
    ];
    for (const [from, to, message] of cases) {
      const err = await rejection(
        aws.dynamodb.send(new ExportTableToPointInTimeCommand(incremental(from, to))),
      );
      expect(err.name, `${from}..${to}`).to.equal('InvalidExportTimeException');
      expect(err.message).to.match(message);
    }
    // Boundaries that are allowed: exactly 15 minutes, exactly 24 hours, to == latest restorable.
    for (const [from, to] of [
      [now - 1200, now - 300],
      [now - 86_400 - 300, now - 300],
    ]) {
      const out = await aws.dynamodb.send(new ExportTableToPointInTimeCommand(incremental(from, to)));
      expect(out.ExportDescription!.ExportStatus).to.equal('IN_PROGRESS');
    }
    const fraction = await rejection(
      aws.dynamodb.send(
        new ExportTableToPointInTimeCommand({
          ...incremental(now - 3600, now - 1800),
          IncrementalExportSpecification: {
            ExportFromTime: new Date((now - 3600) * 1000 + 500),
            ExportToTime: new Date((now - 1800) * 1000),
          },
        }),
      ),
    );
    expect(fraction.name).to.equal('ValidationException');
  });

  it('makes a client token idempotent for 8 hours after completion, and not per table', async () => {
    const { aws, advance } = account();
    const now = sec(T0);
    const a = await aws.dynamodb.send(
      new ExportTableToPointInTimeCommand(incremental(now - 3600, now - 1800, 'tok-1')),
    );
    const b = await aws.dynamodb.send(
      new ExportTableToPointInTimeCommand(incremental(now - 3600, now - 1800, 'tok-1')),
    );
    expect(b.ExportDescription!.ExportArn).to.equal(a.ExportDescription!.ExportArn);
    expect(aws.dynamodb.exports.size).to.equal(1);
    const changed = await rejection(
      aws.dynamodb.send(new ExportTableToPointInTimeCommand(incremental(now - 3600, now - 1700, 'tok-1'))),
    );
    expect(changed.name).to.equal('ExportConflictException');
    const otherTable = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/other`;
    const cross = await rejection(
      aws.dynamodb.send(
        new ExportTableToPointInTimeCommand(incremental(now - 3600, now - 1800, 'tok-1', otherTable)),
      ),
    );
    expect(cross.name).to.equal('ExportConflictException');
    // A rejected request does not reserve its token.
    await rejection(
      aws.dynamodb.send(new ExportTableToPointInTimeCommand(incremental(now - 100, now - 50, 'tok-2'))),
    );
    const c = await aws.dynamodb.send(
      new ExportTableToPointInTimeCommand(incremental(now - 3600, now - 1800, 'tok-2')),
    );
    expect(c.ExportDescription!.ExportArn).not.to.equal(a.ExportDescription!.ExportArn);
    // Completed after 6 minutes; the token is still bound 8 h later minus a second, and free after.
    advance(360 + 8 * 3600 - 1);
    const d = await aws.dynamodb.send(
      new ExportTableToPointInTimeCommand(incremental(now - 3600, now - 1800, 'tok-1')),
    );
    expect(d.ExportDescription!.ExportArn).to.equal(a.ExportDescription!.ExportArn);
    advance(1);
    const e = await aws.dynamodb.send(
      new ExportTableToPointInTimeCommand(incremental(now - 3600, now - 1800, 'tok-1')),
    );
    expect(e.ExportDescription!.ExportArn).not.to.equal(a.ExportDescription!.ExportArn);
  });

  it('limits exports in flight', async () => {
    const { aws, advance } = account({ maxConcurrentExports: 2 });
    const now = sec(T0);
    await aws.dynamodb.send(new ExportTableToPointInTimeCommand(incremental(now - 7200, now - 5400)));
    await aws.dynamodb.send(new ExportTableToPointInTimeCommand(incremental(now - 5400, now - 3600)));
    const err = await rejection(
      aws.dynamodb.send(new ExportTableToPointInTimeCommand(incremental(now - 3600, now - 1800))),
    );
    expect(err.name).to.equal('LimitExceededException');
    advance(360);
    await aws.dynamodb.send(new ExportTableToPointInTimeCommand(incremental(now - 3600, now - 1800)));
  });

  it('names exports like AWS, in increasing order', async () => {
    const { aws, advance } = account();
    const now = sec(T0);
    const arns: string[] = [];
    for (let i = 0; i < 3; i++) {
      const out = await aws.dynamodb.send(
        new ExportTableToPointInTimeCommand(incremental(now - 7200 + i * 900, now - 6300 + i * 900)),
      );
      arns.push(out.ExportDescription!.ExportArn!);
      if (i === 1) advance(1);
    }
    for (const arn of arns) {
      expect(arn).to.match(
        /^arn:aws:dynamodb:eu-west-1:123456789012:table\/orders\/export\/\d{14}-[0-9a-f]{8}$/,
      );
    }
    expect([...arns].sort()).to.deep.equal(arns);
    expect(new Set(arns).size).to.equal(3);
  });

  it('completes after the duration, writes the export once, and echoes the window', async () => {
    const { aws, sink, table, advance } = account();
    const now = sec(T0);
    table.put(now - 3000, SimpleTable.item('a', { n: { N: '1' } }));
    table.put(now - 2000, SimpleTable.item('b'));
    table.put(now - 1000, SimpleTable.item('c'));
    const start = await aws.dynamodb.send(
      new ExportTableToPointInTimeCommand(incremental(now - 2400, now - 1200)),
    );
    const arn = start.ExportDescription!.ExportArn;
    advance(359);
    let d = (await aws.dynamodb.send(new DescribeExportCommand({ ExportArn: arn }))).ExportDescription;
    expect(d!.ExportStatus).to.equal('IN_PROGRESS');
    expect(d!.EndTime).to.equal(undefined);
    expect(sink.written).to.have.length(0);
    advance(1);
    d = (await aws.dynamodb.send(new DescribeExportCommand({ ExportArn: arn }))).ExportDescription;
    expect(d!.ExportStatus).to.equal('COMPLETED');
    expect(d!.EndTime!.getTime()).to.equal(T0 + 360_000);
    expect(d!.ItemCount).to.equal(1);
    expect(d!.ExportManifest).to.equal(`orders/AWSDynamoDB/${arn!.split('/').pop()}/manifest-summary.json`);
    expect(d!.IncrementalExportSpecification!.ExportFromTime!.getTime()).to.equal((now - 2400) * 1000);
    expect(d!.IncrementalExportSpecification!.ExportToTime!.getTime()).to.equal((now - 1200) * 1000);
    await aws.dynamodb.send(new DescribeExportCommand({ ExportArn: arn }));
    expect(sink.timesWritten(arn!)).to.equal(1);
    expect(sink.written[0].records!.map((r) => r.keys.pk.S)).to.deep.equal(['b']);
  });

  it('fails exports on request, reporting a failure code and writing nothing', async () => {
    const { aws, sink, advance } = account();
    const now = sec(T0);
    aws.dynamodb.failNextExports(1);
    const a = await aws.dynamodb.send(
      new ExportTableToPointInTimeCommand(incremental(now - 3600, now - 1800)),
    );
    const b = await aws.dynamodb.send(
      new ExportTableToPointInTimeCommand(incremental(now - 1800, now - 900)),
    );
    advance(400);
    const da = (
      await aws.dynamodb.send(new DescribeExportCommand({ ExportArn: a.ExportDescription!.ExportArn }))
    ).ExportDescription;
    const db = (
      await aws.dynamodb.send(new DescribeExportCommand({ ExportArn: b.ExportDescription!.ExportArn }))
    ).ExportDescription;
    expect(da!.ExportStatus).to.equal('FAILED');
    expect(da!.FailureCode).to.be.a('string').and.not.empty;
    expect(db!.ExportStatus).to.equal('COMPLETED');
    expect(sink.written.map((w) => w.spec.exportArn)).to.deep.equal([b.ExportDescription!.ExportArn]);
    const missing = await rejection(
      aws.dynamodb.send(
        new DescribeExportCommand({ ExportArn: `${TABLE_ARN}/export/01772366400000-ffffffff` }),
      ),
    );
    expect(missing.name).to.equal('ExportNotFoundException');
    expect(
      (await rejection(aws.dynamodb.send(new DescribeExportCommand({ ExportArn: 'nope' })))).name,
    ).to.equal('ValidationException');
  });

  it('ends an export FAILED when its files cannot be written, and does not write it again', async () => {
    const clock = { now: T0 };
    let writes = 0;
    const failing: ExportSink = {
      async writeFull() {
        throw new Error('unused');
      },
      async writeIncremental() {
        writes += 1;
        throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError', code: 'ECONNRESET' });
      },
    };
    const aws = createFakeAws({ now: () => clock.now, sink: failing, region: REGION, account: ACCOUNT });
    aws.dynamodb.addTable({ name: 'orders', source: new SimpleTable(), pitrEnabledAt: T0 - 86_400_000 });
    const now = sec(T0);
    const started = await aws.dynamodb.send(
      new ExportTableToPointInTimeCommand(incremental(now - 3600, now - 1800)),
    );
    const arn = started.ExportDescription!.ExportArn!;
    clock.now += 400_000;
    for (let i = 0; i < 3; i++) {
      const d = (await aws.dynamodb.send(new DescribeExportCommand({ ExportArn: arn }))).ExportDescription!;
      expect(d.ExportStatus).to.equal('FAILED');
      expect(d.FailureCode).to.equal(EXPORT_WRITE_FAILURE_CODE);
      expect(d.FailureMessage).to.match(/TimeoutError: socket hang up/);
    }
    expect(writes).to.equal(1);
    expect(aws.dynamodb.exports.get(arn)!.writeError).to.be.an('error');
    expect(aws.calls.of('DescribeExport').map((c) => c.outcome)).to.deep.equal(['ok', 'ok', 'ok']);
    expect(await aws.dynamodb.flushCompleted()).to.deep.equal([]);
  });

  it('injects transient faults per command and records every call', async () => {
    for (const kind of TRANSIENT_FAULTS) {
      const { aws } = account();
      aws.injectFault({ command: 'DescribeContinuousBackupsCommand', error: kind, times: 2 });
      const e1 = await rejection(pitr(aws));
      const e2 = await rejection(pitr(aws));
      expect(e1.message).to.match(/injected/);
      expect(e2.name).to.equal(e1.name);
      expect((await pitr(aws)).PointInTimeRecoveryStatus).to.equal('ENABLED');
      const calls = aws.calls.of('DescribeContinuousBackups');
      expect(calls.map((c) => c.outcome)).to.deep.equal([e1.name, e1.name, 'ok']);
      expect(calls.every((c, i) => c.injected === i < 2)).to.equal(true);
      if (kind === 'InternalServerError' || kind === 'ServiceUnavailable')
        expect(e1.$fault).to.equal('server');
      if (kind === 'SdkClientException') expect(e1.code).to.equal('ECONNRESET');
    }
  });

  it('throws on a command it does not implement', async () => {
    const { aws } = account();
    const err = await rejection(aws.dynamodb.send(new ListTablesCommand({})));
    expect(err.message).to.match(/ListTablesCommand/);
    expect(aws.calls.of('ListTables')[0].outcome).to.equal(err.name);
  });
});

describe('fake SSM', () => {
  it('creates, overwrites, refuses duplicates, limits size and deletes', async () => {
    const { aws } = account();
    const put = (Value: string, Overwrite?: boolean) =>
      aws.ssm.send(new PutParameterCommand({ Name: '/x/lock', Value, Type: 'String', Overwrite }));
    expect((await put('a')).Version).to.equal(1);
    expect((await rejection(put('b'))).name).to.equal('ParameterAlreadyExists');
    expect((await put('b', true)).Version).to.equal(2);
    expect((await rejection(put('x'.repeat(4097), true))).name).to.equal('ValidationException');
    const got = await aws.ssm.send(new GetParametersCommand({ Names: ['/x/lock', '/x/none'] }));
    expect(got.Parameters!.map((p: any) => [p.Name, p.Value, p.Version])).to.deep.equal([
      ['/x/lock', 'b', 2],
    ]);
    expect(got.InvalidParameters).to.deep.equal(['/x/none']);
    expect((await aws.ssm.send(new GetParameterCommand({ Name: '/x/lock' }))).Parameter!.Value).to.equal('b');
    await aws.ssm.send(new DeleteParameterCommand({ Name: '/x/lock' }));
    expect((await rejection(aws.ssm.send(new DeleteParameterCommand({ Name: '/x/lock' })))).name).to.equal(
      'ParameterNotFound',
    );
    expect((await rejection(aws.ssm.send(new GetParameterCommand({ Name: '/x/lock' })))).name).to.equal(
      'ParameterNotFound',
    );
  });
});

describe('fake S3', () => {
  it('stores, reads, heads, lists with delimiter and pages, and deletes objects', async () => {
    const { aws } = account();
    const keys = [
      'p/chain/CURRENT.json',
      'p/chain/e1/HEAD.json',
      'p/chain/e1/0001.json',
      'p/chain/e1/0002.json',
      'p/x.json',
    ];
    for (const Key of keys)
      await aws.s3.send(new PutObjectCommand({ Bucket: 'b', Key, Body: `{"k":"${Key}"}` }));
    const got = await aws.s3.send(new GetObjectCommand({ Bucket: 'b', Key: keys[0] }));
    expect(JSON.parse(await got.Body!.transformToString())).to.deep.equal({ k: keys[0] });
    expect((await got.Body!.transformToByteArray()).byteLength).to.equal(got.ContentLength);
    expect(
      (await aws.s3.send(new HeadObjectCommand({ Bucket: 'b', Key: keys[1] }))).ContentLength,
    ).to.be.greaterThan(0);
    expect((await rejection(aws.s3.send(new HeadObjectCommand({ Bucket: 'b', Key: 'none' })))).name).to.equal(
      'NotFound',
    );
    expect((await rejection(aws.s3.send(new GetObjectCommand({ Bucket: 'b', Key: 'none' })))).name).to.equal(
      'NoSuchKey',
    );

    const top = await aws.s3.send(
      new ListObjectsV2Command({ Bucket: 'b', Prefix: 'p/chain/', Delimiter: '/' }),
    );
    expect(top.Contents!.map((c: any) => c.Key)).to.deep.equal(['p/chain/CURRENT.json']);
    expect(top.CommonPrefixes).to.deep.equal([{ Prefix: 'p/chain/e1/' }]);

    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = await aws.s3.send(
        new ListObjectsV2Command({ Bucket: 'b', Prefix: 'p/chain/', MaxKeys: 2, ContinuationToken: token }),
      );
      expect(page.KeyCount).to.be.at.most(2);
      seen.push(...(page.Contents ?? []).map((c: any) => c.Key));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    expect(seen).to.deep.equal(keys.filter((k) => k.startsWith('p/chain/')).sort());

    await aws.s3.send(new DeleteObjectCommand({ Bucket: 'b', Key: keys[0] }));
    expect(aws.s3.keys('b', 'p/chain/')).not.to.include(keys[0]);
  });
});

describe('fake SNS', () => {
  it('records messages and validates the topic and subject', async () => {
    const { aws } = account();
    const TopicArn = `arn:aws:sns:${REGION}:${ACCOUNT}:exports`;
    await aws.sns.send(new PublishCommand({ TopicArn, Subject: 'ok', Message: '{"status":"SUCCESS"}' }));
    expect(aws.sns.json()).to.deep.equal([{ status: 'SUCCESS' }]);
    expect(
      (
        await rejection(
          aws.sns.send(new PublishCommand({ TopicArn, Subject: 'x'.repeat(101), Message: 'm' })),
        )
      ).name,
    ).to.equal('InvalidParameterException');
    expect(
      (await rejection(aws.sns.send(new PublishCommand({ TopicArn, Subject: 'a\nb', Message: 'm' })))).name,
    ).to.equal('InvalidParameterException');
    expect(
      (await rejection(aws.sns.send(new PublishCommand({ TopicArn: 'topic', Message: 'm' })))).name,
    ).to.equal('InvalidParameterException');
    expect(aws.sns.messages).to.have.length(1);
  });
});

describe('simple table', () => {
  it('gives compacted changes that turn the snapshot at the window start into the one at its end', () => {
    const write = fc.record({
      dt: fc.integer({ min: 0, max: 5 }),
      pk: fc.constantFrom('a', 'b', 'c', 'd'),
      del: fc.boolean(),
      v: fc.integer({ min: 0, max: 9 }),
    });
    fc.assert(
      fc.property(fc.array(write, { maxLength: 40 }), fc.nat(120), fc.nat(120), (writes, x, y) => {
        const table = new SimpleTable();
        let t = 1000;
        for (const w of writes) {
          t += w.dt;
          if (w.del) table.delete(t, { pk: { S: w.pk } });
          else table.put(t, SimpleTable.item(w.pk, { v: { N: String(w.v) } }));
        }
        const from = 1000 + Math.min(x, y);
        const to = 1000 + Math.max(x, y) + 1;
        const state = new Map(table.snapshotAt(from - 1).map((i) => [i.pk.S, i]));
        for (const r of table.changesBetween(from, to)) {
          expect(r.oldImage).to.deep.equal(state.get(r.keys.pk.S!));
          if (r.newImage) state.set(r.keys.pk.S!, r.newImage);
          else state.delete(r.keys.pk.S!);
        }
        const expected = new Map(table.snapshotAt(to - 1).map((i) => [i.pk.S, i]));
        expect(Object.fromEntries(state)).to.deep.equal(Object.fromEntries(expected));
      }),
    );
  });
});
