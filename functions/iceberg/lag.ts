/**
 * How far the lake is behind the chain (pure): the seconds between the chain's committed watermark
 * (its HEAD, the newest committed export's window end) and the lake's watermark. The chain's own lag
 * behind the table has its own metric and alarm; this one isolates the feed, so an Athena outage or a
 * pause shows here and nowhere else.
 */
import type { IcebergChainView } from './planner';
import type { IcebergFeedState } from './state';

/**
 * The lake's lag behind the chain, in seconds (never negative). A lake without a watermark yet counts
 * from the window end of the first entry it has to merge (the full export); a chain without a
 * committed entry leaves nothing to lag behind (0).
 */
export function icebergLagSeconds(
  state: Pick<IcebergFeedState, 'watermark'>,
  chain: Pick<IcebergChainView, 'head' | 'entries'>,
): number {
  const head = chain.head;
  if (!head) return 0;
  const from = state.watermark ?? chain.entries[0]?.to ?? head.watermark;
  return Math.max(0, (Date.parse(head.watermark) - Date.parse(from)) / 1000);
}
