/**
 * The whole system with each export format: the real export tick and the local runner drive the
 * simulated export engine, which writes the files through the format module in the requested
 * format (`ExportFormat` of the export request); then `dce verify --deep` finds nothing wrong and
 * `dce replay` rebuilds exactly the source table as of the watermark, identically for both formats.
 */
import { expect } from 'chai';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { replayChain } from '../../cli/replay';
import { verifyChain } from '../../cli/verify';
import { S3ExportSink, type Item, type S3Sender } from '../../format';
import { startScenario } from '../../sim/scenario';
import { withDeployedRole } from '../helpers/chainAssertions';
import { startLocalDynamoDb, type LocalDynamoDb } from '../../sim/servers';
import { canonicalTable, generateWorkload } from '../../sim/workload';
import { newWorkloadTable } from '../helpers/localTables';

const HOUR_MS = 3600_000;
const START = '2026-03-02T00:00:00Z';
const T0 = Date.parse(START) / 1000;

describe('export formats end to end: simulated workflow, verify --deep and replay (format/, sim/)', () => {
  let ddb: LocalDynamoDb;
  before(async () => {
    ddb = await startLocalDynamoDb();
  });
  after(async () => {
    await ddb?.stop();
  });

  const tables = new Map<string, string[]>();
  for (const format of ['DYNAMODB_JSON', 'ION'] as const) {
    it(`runs six hours with ${format} exports; verify and replay give back the source table`, async () => {
      const source = generateWorkload({
        from: T0 - 3600,
        to: T0 + 8 * 3600,
        writesPerMinute: 6,
        seed: 5,
        keySpace: 50,
      });
      // The engine's S3 is the fake account's, known once the scenario exists.
      const s3Ref: { s3?: S3Sender } = {};
      const sink = new S3ExportSink(
        { send: (command: any) => s3Ref.s3!.send(command) },
        { itemsPerFile: 25 },
      );
      const scenario = await startScenario(
        withDeployedRole({ start: START, table: source, sink, settings: { exportFormat: format } }),
      );
      s3Ref.s3 = scenario.aws.s3;
      const { settings } = scenario;
      try {
        await scenario.run.runFor(6 * HOUR_MS);
      } finally {
        await scenario.dispose();
      }
      const s3 = scenario.aws.s3;
      const dataKeys = [...(s3.buckets.get(settings.bucket)?.keys() ?? [])].filter((k) =>
        k.includes('/data/'),
      );
      expect(dataKeys.length).to.be.greaterThan(1);
      const suffix = format === 'ION' ? '.ion.gz' : '.json.gz';
      expect(dataKeys.every((k) => k.endsWith(suffix))).to.equal(true);
      // The full export's data under its export folder, the incrementals' in the shared folder.
      expect(dataKeys.some((k) => k.startsWith(`${settings.prefix}/AWSDynamoDB/data/`))).to.equal(true);
      expect(dataKeys.some((k) => /\/AWSDynamoDB\/[^/]+\/data\//.test(k))).to.equal(true);

      const report = await verifyChain({ s3, bucket: settings.bucket, prefix: settings.prefix, deep: true });
      expect(report.problems).to.deep.equal([]);
      expect(report.entries).to.be.greaterThan(10);

      const target = `replica-${format.toLowerCase().replace('_', '-')}`;
      await newWorkloadTable(ddb.client, target);
      const replay = await replayChain({
        s3,
        dynamodb: ddb.client,
        bucket: settings.bucket,
        prefix: settings.prefix,
        targetTable: target,
      });
      const items: Item[] = [];
      let startKey: Record<string, any> | undefined;
      do {
        const out = await ddb.client.send(
          new ScanCommand({ TableName: target, ExclusiveStartKey: startKey }),
        );
        items.push(...((out.Items ?? []) as Item[]));
        startKey = out.LastEvaluatedKey;
      } while (startKey);
      const watermark = Date.parse(replay.watermark!) / 1000;
      const expected = canonicalTable(source.snapshotBefore(watermark));
      expect(canonicalTable(items)).to.deep.equal(expected);
      tables.set(format, canonicalTable(items));
    });
  }

  it('gives the same table from the ION chain as from the DYNAMODB_JSON chain of the same workload', () => {
    expect(tables.get('ION')).to.have.length.greaterThan(0);
    expect(tables.get('ION')).to.deep.equal(tables.get('DYNAMODB_JSON'));
  });
});
