/**
 * The offline AWS account: DynamoDB export engine, SSM, S3 and SNS fakes sharing one call log and one
 * clock. Each fake is an object with the SDK v3 `send(command)` method, so the export tick handler
 * runs against them unchanged.
 */
import type { ExportTickClients } from '../../functions/chain/tickAws';
import type { ExportSink } from '../contracts';
import { MemorySink } from '../memorySink';
import { FakeDynamoDB, type ExportRequestInfo } from './dynamodb';
import { FakeS3 } from './s3';
import { CallLog, type FaultRule, type NowFn } from './service';
import { FakeSNS } from './sns';
import { FakeSSM } from './ssm';

export { FakeDynamoDB, FakeS3, FakeSNS, FakeSSM, CallLog };
export type { FaultRule, ExportRequestInfo };
export * from './errors';
export type { CallRecord } from './service';

export interface FakeAwsOptions {
  /** Clock of the fakes, epoch ms. @default Date.now (the simulated clock once installed) */
  now?: NowFn;
  region?: string;
  account?: string;
  /** Where completed exports are written. @default a MemorySink */
  sink?: ExportSink;
  /** Export duration in seconds per request. @default full 600, incremental 360 */
  exportDurationSeconds?: (request: ExportRequestInfo) => number;
  /** LatestRestorableDateTime trails now by this much. @default 300 */
  restorableLagSeconds?: number;
  maxConcurrentExports?: number;
}

/**
 * The four clients the export tick takes, plus the controls scenarios use. Extending the tick's client
 * types makes the compiler check that each fake fits where its SDK client's `send` is taken.
 */
export interface FakeAws extends ExportTickClients {
  dynamodb: FakeDynamoDB;
  ssm: FakeSSM;
  s3: FakeS3;
  sns: FakeSNS;
  calls: CallLog;
  sink: ExportSink;
  region: string;
  account: string;
  /** Routes a fault rule to the service that implements the command. */
  injectFault(rule: FaultRule): void;
  clearFaults(): void;
}

export function createFakeAws(options: FakeAwsOptions = {}): FakeAws {
  const now = options.now ?? (() => Date.now());
  const region = options.region ?? 'eu-west-1';
  const account = options.account ?? '123456789012';
  const calls = new CallLog();
  const sink = options.sink ?? new MemorySink();
  const dynamodb = new FakeDynamoDB({
    log: calls,
    now,
    region,
    account,
    sink,
    exportDurationSeconds: options.exportDurationSeconds,
    restorableLagSeconds: options.restorableLagSeconds,
    maxConcurrentExports: options.maxConcurrentExports,
  });
  const ssm = new FakeSSM(calls, now, region, account);
  const s3 = new FakeS3(calls, now);
  const sns = new FakeSNS(calls, now);
  const services = [dynamodb, ssm, s3, sns];
  return {
    dynamodb,
    ssm,
    s3,
    sns,
    calls,
    sink,
    region,
    account,
    injectFault(rule) {
      const service = services.find((s) => s.handles(rule.command));
      if (!service) throw new Error(`no fake service implements ${rule.command}`);
      service.injectFault(rule);
    },
    clearFaults() {
      for (const s of services) s.clearFaults();
    },
  };
}
