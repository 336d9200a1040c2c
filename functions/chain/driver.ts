/**
 * Which execution drives the chain. The scheduler may deliver an execution twice, and a slow
 * execution may overlap the next one; the newest execution with a live lease drives, the others stand
 * down without side effects.
 */
import type { ChainState } from './state';
import { iso } from '../shared/time';

/** The execution a tick belongs to: its scheduled time and the end of its period. */
export interface ExecutionInfo {
  executionId: string;
  scheduledAt: number;
  periodEnd: number;
}

/** Extra lease beyond the period end, so a slow last tick keeps its claim. */
export const DRIVER_LEASE_EXTRA_SECONDS = 120;

export type DriverDecision =
  | { kind: 'DRIVE'; driver: NonNullable<ChainState['driver']> }
  /** Another execution drives the chain (duplicate delivery, older overlap, or this one was superseded). */
  | { kind: 'STAND_DOWN'; reason: string };

/** Which execution drives the chain: the newest one with a live lease. */
export function decideDriver(
  current: ChainState['driver'],
  exec: ExecutionInfo,
  now: number,
): DriverDecision {
  const mine = {
    executionId: exec.executionId,
    scheduledAt: exec.scheduledAt,
    leaseUntil: exec.periodEnd + DRIVER_LEASE_EXTRA_SECONDS,
  };
  if (!current || current.executionId === exec.executionId) return { kind: 'DRIVE', driver: mine };
  if (current.leaseUntil > now && current.scheduledAt >= exec.scheduledAt) {
    return {
      kind: 'STAND_DOWN',
      reason: `execution ${current.executionId} (scheduled ${iso(current.scheduledAt)}) drives the chain until ${iso(current.leaseUntil)}`,
    };
  }
  return { kind: 'DRIVE', driver: mine };
}
