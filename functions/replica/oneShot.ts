/**
 * A one-shot restore execution of the replica's state machine: the execution input
 * `{"restore": {"stopAtSequence": N, "epoch": E}}` makes the plan step apply the chain up to sequence N
 * of epoch E only and then answer IDLE, so the execution ends there (docs/disaster-recovery.md,
 * "Distributed restore"). While the chain's live epoch is another than E, a one-shot execution applies,
 * halts and rebaselines nothing: the point asked for is in E, and a replica that rebaselines would
 * otherwise empty the table and fill it from the new epoch.
 * The plan step reads the execution's input (`$$.Execution.Input` in the definition); a scheduled
 * execution's input is `{}`, which follows the chain as always.
 */

/** What the plan step is told by its execution's input. */
export interface OneShotInput {
  /** Apply no entry after this sequence; the execution ends once it is applied. */
  stopAtSequence?: number;
  /** The epoch of the point: nothing is done while the chain's live epoch is another. */
  epoch?: string;
}

/**
 * The restore point of an execution's input, or nothing for a scheduled execution. A `restore` that
 * is not `{ stopAtSequence: <whole number >= 0> }` is refused, naming the field, so a mistyped start
 * never turns into a replica that follows the chain past the point asked for.
 */
export function oneShotInput(input: unknown): OneShotInput {
  if (input === undefined || input === null || typeof input !== 'object') return {};
  const restore = (input as Record<string, unknown>).restore;
  if (restore === undefined) return {};
  const stop =
    typeof restore === 'object' && restore !== null
      ? (restore as Record<string, unknown>).stopAtSequence
      : undefined;
  if (typeof stop !== 'number' || !Number.isSafeInteger(stop) || stop < 0)
    throw new Error(
      `execution input restore.stopAtSequence: expected a whole number >= 0, got ${JSON.stringify(stop ?? restore)}`,
    );
  const epoch = (restore as Record<string, unknown>).epoch;
  if (epoch !== undefined && (typeof epoch !== 'string' || !/^\d{8}T\d{6}Z$/.test(epoch)))
    throw new Error(
      `execution input restore.epoch: expected an epoch like 20261124T000000Z, got ${JSON.stringify(epoch)}`,
    );
  return { stopAtSequence: stop, ...(epoch !== undefined ? { epoch } : {}) };
}
