/**
 * The window mode of a table: `fixed` windows of `windowMinutes`, or `costAware` windows that grow
 * up to `maxStalenessMinutes` while exports would bill DynamoDB's per-export minimum anyway, and
 * shrink back as soon as they bill more (functions/chain/costAwareWindow.ts decides the length).
 *
 * A section of the table config (components/config/table.ts): `windowModeShape` joins the per-table
 * schema (defaults included); `resolveWindowMode` names the problems across fields
 * (tableChecks.ts), and `longestWindowMinutes` gives the default lag alarm its allowance.
 */
import { WINDOW_MODES, type WindowMode } from '../../functions/chain/settings';
import { int, oneOf } from './fields';

/** The resolved fields. */
export interface WindowModeConfig {
  windowMode: WindowMode;
  maxStalenessMinutes: number;
}

export const WINDOW_MODE_DEFAULTS: WindowModeConfig = { windowMode: 'fixed', maxStalenessMinutes: 1440 };

/** What each field accepts, in words, for the config errors. */
export const WINDOW_MODE_ALLOWED: Record<keyof WindowModeConfig, string> = {
  windowMode: 'fixed or costAware',
  maxStalenessMinutes: 'an integer from windowMinutes to 1440, with windowMode costAware',
};

/** The fields, spread into the per-table (and defaults) schema. */
export const windowModeShape = {
  /**
   * `fixed`: every window is `windowMinutes` long. `costAware`: a quiet table's windows grow (in
   * whole `windowMinutes`) up to `maxStalenessMinutes`, as long as its exports would bill less than
   * DynamoDB's 10 MB minimum per export; they shorten again as soon as exports bill more.
   * @default 'fixed'
   */
  windowMode: oneOf(WINDOW_MODES).default(WINDOW_MODE_DEFAULTS.windowMode),
  /**
   * With `windowMode: costAware`, the longest window in minutes, windowMinutes..1440: how stale the
   * exports of a quiet table may get. Rounded down to a whole number of `windowMinutes`.
   * @default 1440
   */
  maxStalenessMinutes: int(15, 1440, WINDOW_MODE_ALLOWED.maxStalenessMinutes).optional(),
};

/** The fields as the stack config gives them (per table or in `defaults`). */
export interface WindowModeInput {
  windowMode?: WindowMode;
  maxStalenessMinutes?: number;
}

/** One cross-field problem, named by field. */
export interface WindowModeProblem {
  field: keyof WindowModeConfig;
  value: unknown;
  message: string;
}

/**
 * Defaults and the checks between fields, every problem named: the staleness bound is at least one
 * window, and is only meaningful with `costAware` (a table that sets it with `fixed` windows would
 * never get what it asked for). `origin` says where a value came from (`' (value from defaults)'`),
 * and a bound set in `defaults` for all tables is fine on a table that keeps fixed windows.
 */
export function resolveWindowMode(
  input: WindowModeInput & { windowMinutes: number },
  fromDefaults: (field: keyof WindowModeConfig) => boolean,
): { config: WindowModeConfig; problems: WindowModeProblem[] } {
  const config: WindowModeConfig = {
    windowMode: input.windowMode ?? WINDOW_MODE_DEFAULTS.windowMode,
    maxStalenessMinutes: input.maxStalenessMinutes ?? WINDOW_MODE_DEFAULTS.maxStalenessMinutes,
  };
  const problems: WindowModeProblem[] = [];
  const origin = (field: keyof WindowModeConfig) => (fromDefaults(field) ? ' (value from defaults)' : '');
  if (config.windowMode === 'costAware' && config.maxStalenessMinutes < input.windowMinutes) {
    problems.push({
      field: 'maxStalenessMinutes',
      value: config.maxStalenessMinutes,
      message: `is less than windowMinutes (${input.windowMinutes})${origin('maxStalenessMinutes')}; allowed: ${WINDOW_MODE_ALLOWED.maxStalenessMinutes}`,
    });
  }
  if (
    config.windowMode === 'fixed' &&
    input.maxStalenessMinutes !== undefined &&
    // The default itself is what a resolved config carries back in, checked again by the component.
    input.maxStalenessMinutes !== WINDOW_MODE_DEFAULTS.maxStalenessMinutes &&
    !fromDefaults('maxStalenessMinutes')
  ) {
    problems.push({
      field: 'maxStalenessMinutes',
      value: input.maxStalenessMinutes,
      message: `has no effect with windowMode fixed${origin('windowMode')}; set windowMode: costAware, or remove maxStalenessMinutes`,
    });
  }
  return { config, problems };
}

/**
 * The longest normal window in minutes: what the chain's lag grows to on a quiet table, so the
 * default lag alarm allows for it.
 */
export function longestWindowMinutes(config: WindowModeConfig, windowMinutes: number): number {
  return config.windowMode === 'costAware'
    ? Math.max(windowMinutes, config.maxStalenessMinutes)
    : windowMinutes;
}
