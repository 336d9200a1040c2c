import { LAMBDA_HANDLERS } from './lambdaHandlers';

/** Timeout of the export tick function, from the list of functions that deploy. */
export function lambdaTimeoutSeconds(): number {
  return LAMBDA_HANDLERS.find((h) => h.name === 'export-tick')?.timeoutSeconds ?? 120;
}
