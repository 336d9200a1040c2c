/**
 * A consumer meeting a new epoch (pure). A RESET or a PITR gap starts a new epoch of the chain: its
 * entries do not continue the old ones, so a consumer either halts with one alert (its data stays as
 * of its watermark in the old epoch, until the operator rebuilds it) or starts over from the new
 * epoch's full export (the replica's `rebaseline`, the Iceberg feed's `rebuild`).
 */

/** What the consumer does about the chain's epoch. */
export type NewEpochDecision =
  /** Start over from the new epoch's full export. */
  | { kind: 'START_OVER'; fromEpoch: string; toEpoch: string }
  /** Halt (`NEW_EPOCH`), saying what the consumer holds. */
  | { kind: 'HALT'; detail: string };

export interface NewEpochContext {
  /** Whether the consumer starts over on a new epoch (else it halts). */
  startOver: boolean;
  /** How the halt detail names the consumer and what it stops doing: `the replica`, `writes`. */
  holder: string;
  stops: string;
}

/**
 * Undefined while the chain's live epoch is the consumer's (or the consumer has none yet, or the chain
 * has none): it goes on.
 */
export function newEpochDecision(
  cursor: { epoch: string | null; watermark: string | null },
  currentEpoch: string,
  context: NewEpochContext,
): NewEpochDecision | undefined {
  if (cursor.epoch === null || currentEpoch === '' || cursor.epoch === currentEpoch) return undefined;
  if (context.startOver) return { kind: 'START_OVER', fromEpoch: cursor.epoch, toEpoch: currentEpoch };
  return {
    kind: 'HALT',
    detail: `the chain moved from epoch ${cursor.epoch} to ${currentEpoch}; ${context.holder} holds epoch ${cursor.epoch} up to ${cursor.watermark ?? 'its start'} and ${context.stops} nothing of the new epoch until rebuilt`,
  };
}
