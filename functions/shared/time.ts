/**
 * Time helpers. The chain works in whole epoch seconds; DynamoDB takes seconds for export times, and
 * whole minutes keep window boundaries readable and on a stable grid.
 */

/** Current time in whole epoch seconds, read from `Date.now()` so a simulated clock drives it. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** Epoch seconds, floored to the whole minute. */
export function floorToMinute(epochSeconds: number): number {
  return Math.floor(epochSeconds / 60) * 60;
}

/** ISO 8601 text or a Date -> whole epoch seconds (fractions dropped); undefined when absent or invalid. */
export function toSeconds(value: Date | string | number | undefined | null): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number') return Number.isFinite(value) ? Math.floor(value) : undefined;
  const ms = value instanceof Date ? value.getTime() : Date.parse(value);
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : undefined;
}

export function iso(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString();
}
