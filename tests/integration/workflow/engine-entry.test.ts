import { expect } from 'chai';
import {
  DescribeContinuousBackupsCommand,
  DynamoDBClient,
  ExportTableToPointInTimeCommand,
} from '@aws-sdk/client-dynamodb';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import {
  DeleteParameterCommand,
  GetParametersCommand,
  PutParameterCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { emfRecord } from '../../../functions/shared/emf';
import {
  classifyStartError,
  exportRequest,
  failureCause,
  manifestSummaryKeyOf,
} from '../../../functions/chain/exportTick';
import { createClients, handler } from '../../../functions/chain/handler';
import { METRICS } from '../../../functions/shared/metrics';
import { toEnvironment, type WorkflowSettings } from '../../../functions/chain/settings';
import { initialState, initialStateJson } from '../../../functions/chain/state';
import { chainSettings } from '../../helpers/chainSettings';

const settings: WorkflowSettings = chainSettings({
  prefix: 'tables/orders',
  exportFormat: 'ION',
  exportViewType: 'NEW_IMAGE',
  maxCatchUpWindowMinutes: 240,
  maxInFlight: 2,
  notifyOnSuccess: false,
});

describe('export tick Lambda entry', () => {
  let ddb: ReturnType<typeof mockClient>;
  let ssm: ReturnType<typeof mockClient>;
  let sns: ReturnType<typeof mockClient>;
  const saved = { ...process.env };
  let log: typeof console.log;

  before(() => {
    ddb = mockClient(DynamoDBClient);
    ssm = mockClient(SSMClient);
    sns = mockClient(SNSClient);
    Object.assign(process.env, toEnvironment(settings), { AWS_REGION: 'eu-west-1' });
    log = console.log;
  });
  after(() => {
    ddb.restore();
    ssm.restore();
    sns.restore();
    console.log = log;
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
  });

  it('creates SDK clients without SDK-level retries', async () => {
    const clients = createClients();
    for (const client of Object.values(clients) as { config: { maxAttempts: () => Promise<number> } }[]) {
      expect(await client.config.maxAttempts()).to.equal(1);
    }
  });

  it('runs a tick with settings from the environment through real SDK clients', async () => {
    ssm.on(PutParameterCommand).resolves({ Version: 1 });
    ssm.on(DeleteParameterCommand).resolves({});
    ssm.on(GetParametersCommand).resolves({
      Parameters: [
        { Name: settings.stateParameterName, Value: initialStateJson() },
        { Name: settings.actionParameterName, Value: 'RUN' },
      ],
    });
    const now = Date.now();
    ddb.on(DescribeContinuousBackupsCommand).resolves({
      ContinuousBackupsDescription: {
        ContinuousBackupsStatus: 'ENABLED',
        PointInTimeRecoveryDescription: {
          PointInTimeRecoveryStatus: 'ENABLED',
          EarliestRestorableDateTime: new Date(now - 86_400_000),
          LatestRestorableDateTime: new Date(now - 300_000),
        },
      },
    });
    ddb.on(ExportTableToPointInTimeCommand).resolves({
      ExportDescription: { ExportArn: `${settings.tableArn}/export/01-abc`, ExportStatus: 'IN_PROGRESS' },
    });
    sns.on(PublishCommand).resolves({ MessageId: 'm' });
    const lines: string[] = [];
    console.log = (line: string) => lines.push(line);
    const result = await handler({
      mode: 'TICK',
      executionId: 'arn:aws:states:eu-west-1:123456789012:execution:chain:x',
      executionStartTime: new Date(now).toISOString(),
    });
    console.log = log;
    expect(result.summary.outcome).to.equal('OK');
    const start = ddb.commandCalls(ExportTableToPointInTimeCommand)[0].args[0].input;
    expect(start).to.include({ ExportType: 'FULL_EXPORT', ExportFormat: 'ION', TableArn: settings.tableArn });
    expect(start.S3Prefix).to.equal('tables/orders');
    expect(lines.some((l) => l.includes('"_aws"'))).to.equal(true);
  });
});

describe('export requests', () => {
  it('incremental: window, view type, KMS and bucket owner', () => {
    const input = exportRequest(
      {
        ...settings,
        prefix: 'p',
        kmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/k',
        bucketOwnerAccountId: '210987654321',
      },
      initialState(),
      '20261124T000000Z',
      { type: 'INCREMENTAL', from: 1795478400, to: 1795479300, attempt: 2 },
    );
    expect(input).to.include({
      ExportType: 'INCREMENTAL_EXPORT',
      S3Prefix: 'p',
      S3SseAlgorithm: 'KMS',
      S3SseKmsKeyId: 'arn:aws:kms:eu-west-1:123456789012:key/k',
      S3BucketOwner: '210987654321',
    });
    expect(input.ExportTime).to.equal(undefined);
    expect(input.IncrementalExportSpecification?.ExportFromTime?.getTime()).to.equal(1795478400_000);
    expect(input.IncrementalExportSpecification?.ExportToTime?.getTime()).to.equal(1795479300_000);
    expect(input.IncrementalExportSpecification?.ExportViewType).to.equal('NEW_IMAGE');
  });

  it('full: explicit ExportTime, SSE-S3 by default', () => {
    const input = exportRequest(settings, initialState(), '20261124T000000Z', {
      type: 'FULL',
      from: 1795478400,
      to: 1795478400,
      attempt: 1,
    });
    expect(input.ExportType).to.equal('FULL_EXPORT');
    expect(input.ExportTime?.getTime()).to.equal(1795478400_000);
    expect(input.S3SseAlgorithm).to.equal('AES256');
    expect(input.IncrementalExportSpecification).to.equal(undefined);
    expect(
      exportRequest({ ...settings, prefix: '' }, initialState(), 'e', {
        type: 'FULL',
        from: 0,
        to: 0,
        attempt: 1,
      }),
    ).to.not.have.property('S3Prefix');
  });

  it('classifies refusals', () => {
    const err = (name: string) => Object.assign(new Error(name), { name });
    expect(classifyStartError(err('InvalidExportTimeException')).kind).to.equal('NOT_YET');
    expect(classifyStartError(err('PointInTimeRecoveryUnavailableException')).kind).to.equal(
      'PITR_UNAVAILABLE',
    );
    expect(classifyStartError(err('TableNotFoundException')).kind).to.equal('TABLE_NOT_FOUND');
    expect(classifyStartError(err('ExportConflictException')).kind).to.equal('REJECTED');
  });
});

describe('manifest summary key', () => {
  const arn = 'arn:aws:dynamodb:eu-west-1:123456789012:table/orders/export/01795478400000-abcdef12';
  it('takes a full key as given, puts a bare file name in the export folder, and falls back to the layout', () => {
    expect(manifestSummaryKeyOf('p', arn, 'other/AWSDynamoDB/x/manifest-summary.json')).to.equal(
      'other/AWSDynamoDB/x/manifest-summary.json',
    );
    expect(manifestSummaryKeyOf('p', arn, 'manifest-summary.json')).to.equal(
      'p/AWSDynamoDB/01795478400000-abcdef12/manifest-summary.json',
    );
    expect(manifestSummaryKeyOf('p', arn, undefined)).to.equal(
      'p/AWSDynamoDB/01795478400000-abcdef12/manifest-summary.json',
    );
    expect(manifestSummaryKeyOf('', arn, '')).to.equal(
      'AWSDynamoDB/01795478400000-abcdef12/manifest-summary.json',
    );
  });
});

describe('failure cause', () => {
  it('extracts the message of a Lambda error cause and keeps other text', () => {
    const lambda = JSON.stringify({
      errorType: 'AccessDenied',
      errorMessage: 'not allowed',
      trace: ['at x'],
    });
    expect(failureCause(lambda)).to.equal('not allowed');
    expect(failureCause('plain text')).to.equal('plain text');
    expect(failureCause(undefined)).to.equal('');
    expect(failureCause('x'.repeat(900))).to.have.length(500);
  });
});

describe('EMF record', () => {
  it('declares every metric under the namespace with the Table dimension and carries the values', () => {
    const record = emfRecord(
      'DCE',
      'orders',
      {
        chainLagSeconds: 720,
        inFlightExports: 1,
        exportsStarted: 1,
        exportsCompleted: 2,
        exportsFailed: 0,
        notificationsPending: 0,
        notificationsDropped: 0,
      },
      1_795_478_400_000,
    ) as any;
    expect(record._aws.Timestamp).to.equal(1_795_478_400_000);
    const directive = record._aws.CloudWatchMetrics[0];
    expect(directive.Namespace).to.equal('DCE');
    expect(directive.Dimensions).to.deep.equal([['Table']]);
    expect(directive.Metrics.map((m: any) => m.Name)).to.have.members(Object.values(METRICS));
    expect(record.Table).to.equal('orders');
    expect(record[METRICS.chainLagSeconds]).to.equal(720);
    expect(record[METRICS.exportsCompleted]).to.equal(2);
  });
});
