/**
 * The S3 clients of a simulation run: real S3Clients against the local S3 server, signing with real
 * time, and the tick's view of S3, counted and with the plan's transient errors.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { isTransientError } from '../../format';
import { serviceError } from '../fakeAws';
import type { SendClient } from '../machines/localRun';
import { S3RVER_CREDENTIALS } from '../servers';
import type { FaultPlan } from './faults';

/** Real wall-clock epoch ms, also while the simulated clock is installed (performance is not faked). */
export function realNowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** A client whose requests are signed with real time. */
function signingWithRealTime(client: S3Client): SendClient {
  return {
    send(command) {
      // s3rver checks request signatures against its real clock (15 minutes of skew at most), while
      // this process runs on the simulated one.
      client.config.systemClockOffset = realNowMs() - Date.now();
      return client.send(command);
    },
  };
}

/** The two clients of the local S3 server: the workflow's, and the simulated export engine's. */
export function localS3Clients(
  endpoint: string,
  region: string,
): { workflow: SendClient; exportEngine: SendClient; destroy(): void } {
  const config = { endpoint, forcePathStyle: true, region, credentials: S3RVER_CREDENTIALS };
  const workflow = new S3Client({
    ...config,
    // Retries are the handler's job (with its own back-off on the simulated clock); an SDK retry
    // would wait on the simulated clock while the run waits for the call: a deadlock.
    maxAttempts: 1,
    // The middleware stack is resolved once per command type instead of on every call (tens of
    // thousands of calls in a long run); nothing adds middleware after the first call.
    cacheMiddleware: true,
  });
  // The export engine's own client (it stands in for DynamoDB writing to S3, not for the
  // workflow): no flexible checksums, which only cost time against the local server.
  const exportEngine = new S3Client({
    ...config,
    maxAttempts: 1,
    cacheMiddleware: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return {
    workflow: signingWithRealTime(workflow),
    exportEngine: signingWithRealTime(exportEngine),
    destroy: () => {
      workflow.destroy();
      exportEngine.destroy();
    },
  };
}

/** Tries of one export-engine request before its error ends the export FAILED. */
export const EXPORT_WRITER_ATTEMPTS = 3;

/**
 * The export engine's S3 requests, each sent again at once after a transient error, as DynamoDB
 * retries its own writes (the requests are idempotent PUTs). The error this is for: the engine builds
 * a large export's files synchronously (seconds for 100,000 items), and a pooled connection the local
 * server closed meanwhile (its keep-alive timeout is 5 s) is reused before the process has read the
 * close, so the next request fails with "socket hang up". No wait between tries: a wait would be on
 * the simulated clock, which is held while a DescribeExport waits for these writes.
 */
export function retryingExportWrites(client: SendClient): SendClient {
  return {
    async send(command) {
      for (let attempt = 1; ; attempt++) {
        try {
          return await client.send(command);
        } catch (error) {
          if (attempt >= EXPORT_WRITER_ATTEMPTS || !isTransientError(error)) throw error;
        }
      }
    },
  };
}

/** Requests of the tick to S3 by kind, and the transient errors injected into them. */
export interface TickS3Counts {
  putsAndLists: number;
  gets: number;
  injected: number;
}

/** The tick's S3: every request counted (for the cost estimate), some failing as the plan says. */
export function tickS3(
  s3: () => SendClient,
  plan: Pick<FaultPlan, 's3TransientRate'>,
  random: () => number,
): { client: SendClient; counts: TickS3Counts } {
  const counts: TickS3Counts = { putsAndLists: 0, gets: 0, injected: 0 };
  const client: SendClient = {
    async send(command) {
      const name: string = command.constructor.name;
      if (/^(Put|List|Copy|Delete)/.test(name)) counts.putsAndLists += 1;
      else counts.gets += 1;
      if (plan.s3TransientRate > 0 && random() < plan.s3TransientRate) {
        counts.injected += 1;
        throw serviceError('SlowDown', 'Please reduce your request rate. (injected)', 503);
      }
      return s3().send(command);
    },
  };
  return { client, counts };
}
