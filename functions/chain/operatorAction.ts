/**
 * The operator action parameter: what its value means, and whether the RESET it holds was carried
 * out. One rule, used by the export tick (which carries a RESET out), by `dce status` (which says
 * whether it was) and by `dce pause | resume | reset` (which must not cancel a pending one).
 *
 * The workflow never writes the action back (it would overwrite what an operator wrote meanwhile), so
 * a RESET stays in the parameter after it was carried out; the chain state records which one it was.
 * That record must name something that cannot repeat. The parameter's version can: a destroy and
 * re-deploy recreates the action parameter at version 1 while the chain state is retained, so a later
 * RESET could carry a version already recorded as done. Hence:
 *
 * - `RESET:<nonce>` (what `dce reset` writes, a fresh random nonce each time) is recognised by its
 *   nonce;
 * - a plain `RESET` (written by hand, e.g. in the console) is recognised by its version together with
 *   the time SSM last modified the parameter: a recreated parameter gets a later modification time, so
 *   the pair does not repeat.
 *
 * A chain state written before it recorded this identity names only the version (`resetVersion`);
 * there a plain RESET of that version counts as carried out, as it did then, so an upgrade never starts
 * a new epoch by itself.
 */

/** The action parameter as read. */
export interface ActionObservation {
  /** Raw value; null when the parameter is absent (treated as RUN). */
  value: string | null;
  /** Its version, when known. */
  version: number | null;
  /** When SSM last modified it (`LastModifiedDate`), epoch milliseconds, when known. */
  modifiedAtMs?: number | null;
}

/** What the value asks for. A RESET carries its nonce when it has one. */
export type OperatorAction =
  | { kind: 'RUN' }
  | { kind: 'PAUSE' }
  | { kind: 'RESET'; nonce: string | null }
  | { kind: 'INVALID'; value: string };

/**
 * Nonce characters and length. Bounded, since the chain state (a 4 KB parameter) records it; no `#`
 * or `@`, so a nonce never equals the identity of a plain RESET.
 */
const NONCE = /^[A-Za-z0-9_-]{1,64}$/;

/** Longest identity the state records: a nonce, or `v<version>@<ms>`. */
export const MAX_RESET_ID_LENGTH = 64;

/** Pure: the meaning of the raw value. Absent is RUN; surrounding blanks are ignored. */
export function parseAction(value: string | null): OperatorAction {
  if (value === null) return { kind: 'RUN' };
  const raw = value.trim();
  if (raw === 'RUN' || raw === 'PAUSE') return { kind: raw };
  if (raw === 'RESET') return { kind: 'RESET', nonce: null };
  if (raw.startsWith('RESET:')) {
    const nonce = raw.slice('RESET:'.length);
    if (NONCE.test(nonce)) return { kind: 'RESET', nonce };
  }
  return { kind: 'INVALID', value: raw };
}

/** The value `dce reset` writes for a nonce. */
export function resetValue(nonce: string): string {
  if (!NONCE.test(nonce)) throw new Error(`not a RESET nonce: ${JSON.stringify(nonce)}`);
  return `RESET:${nonce}`;
}

/**
 * Pure: the identity of the RESET the parameter holds (null when it holds none): its nonce, or for a
 * plain RESET `v<version>@<last modified, epoch ms>` (`?` for what was not read).
 */
export function resetId(action: ActionObservation): string | null {
  const parsed = parseAction(action.value);
  if (parsed.kind !== 'RESET') return null;
  if (parsed.nonce !== null) return parsed.nonce;
  const modified = action.modifiedAtMs ?? null;
  return `v${action.version ?? '?'}@${modified === null ? '?' : Math.round(modified)}`;
}

/** What the chain state records of the last RESET it carried out. */
export interface ResetRecord {
  /** Identity (`resetId`) of the last RESET carried out; null before any, or in a state written before it was recorded. */
  lastReset?: string | null;
  /** Version of the action parameter at that RESET. */
  resetVersion?: number | null;
}

/** Pure: whether the RESET the parameter holds was carried out (false when it holds none). */
export function resetCarriedOut(action: ActionObservation, record: ResetRecord): boolean {
  const id = resetId(action);
  if (id === null) return false;
  const last = record.lastReset ?? null;
  if (last !== null) return last === id;
  // A state from before identities were recorded: the version is all it names (see above).
  const parsed = parseAction(action.value);
  return (
    parsed.kind === 'RESET' &&
    parsed.nonce === null &&
    action.version !== null &&
    record.resetVersion === action.version
  );
}

/** Pure: the record after carrying out the RESET the parameter holds. */
export function recordReset(action: ActionObservation): Required<ResetRecord> {
  return { lastReset: resetId(action), resetVersion: action.version };
}
