/**
 * API latency for offline runs: every AWS call of the tick takes `latencyMs` of simulated time (half
 * before the service sees the request, half before the answer arrives), as real calls do. The waits
 * are timers on the simulated clock, so the local runner advances time through them; they are not
 * pending I/O.
 */
import type { CommandSender } from '../functions/shared/awsClients';
import type { TickClients } from './machines/localRun';

function delayed(client: CommandSender, latencyMs: number): CommandSender {
  const half = latencyMs / 2;
  const wait = () => new Promise<void>((resolve) => setTimeout(resolve, half));
  return {
    async send(command) {
      await wait();
      try {
        return await client.send(command);
      } finally {
        await wait();
      }
    },
  };
}

/** The same clients, each call taking `latencyMs` of (simulated) time; unchanged for 0. */
export function withLatency(clients: TickClients, latencyMs: number): TickClients {
  if (!(latencyMs > 0)) return clients;
  return {
    dynamodb: delayed(clients.dynamodb, latencyMs),
    ssm: delayed(clients.ssm, latencyMs),
    s3: delayed(clients.s3, latencyMs),
    sns: delayed(clients.sns, latencyMs),
  };
}
