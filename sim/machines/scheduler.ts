/**
 * A simulated EventBridge Scheduler: one `rate(<period> minutes)` schedule that starts the state
 * machine with `{"scheduledTime": "<ISO>"}`, plus the ways real delivery can go wrong that the
 * workflow must tolerate: late delivery, duplicate delivery (at-least-once), skipped deliveries
 * and pauses.
 */
import type { SimulatedClock } from './simulatedClock';

export interface SchedulerOptions {
  /** @default settings.schedulePeriodMinutes */
  periodMinutes?: number;
  /** First scheduled time, epoch ms. @default the run's start */
  firstAt?: number;
  /** Delivery delay after the scheduled time, seconds (the scheduler's precision is ~60 s). @default 0 */
  deliveryDelaySeconds?: number | ((scheduledTime: number) => number);
  /** Extra deliveries of the same scheduled time (at-least-once delivery). @default none */
  duplicates?: (scheduledTime: number) => number;
  /** Seconds between a delivery and its duplicate. @default 1 */
  duplicateDelaySeconds?: number;
  /** Deliveries that never happen. */
  skip?: (scheduledTime: number) => boolean;
  /** Start with the schedule disabled. */
  paused?: boolean;
}

/** One scheduled time and what happened to it. */
export interface Delivery {
  scheduledTime: number;
  deliveredAt?: number;
  outcome: 'delivered' | 'duplicate' | 'skipped' | 'paused';
}

export class Scheduler {
  readonly deliveries: Delivery[] = [];
  private paused: boolean;
  private started = false;
  private readonly periodMs: number;

  constructor(
    private readonly clock: Pick<SimulatedClock, 'now' | 'setTimeout'>,
    private readonly options: SchedulerOptions,
    defaultPeriodMinutes: number,
    private readonly runStart: number,
    private readonly deliver: (input: { scheduledTime: string }, kind: 'scheduled' | 'duplicate') => unknown,
  ) {
    this.periodMs = (options.periodMinutes ?? defaultPeriodMinutes) * 60_000;
    if (!(this.periodMs >= 60_000)) throw new Error('Scheduler: the period must be at least one minute');
    this.paused = options.paused ?? false;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.scheduleFrom(this.options.firstAt ?? this.runStart);
  }

  /** Disables the schedule: scheduled times pass without a delivery. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Scheduled times that were delivered at least once. */
  delivered(): number[] {
    return this.deliveries.filter((d) => d.outcome === 'delivered').map((d) => d.scheduledTime);
  }

  private scheduleFrom(scheduledTime: number): void {
    const delay = Math.max(0, scheduledTime - this.clock.now);
    this.clock.setTimeout(() => {
      this.fire(scheduledTime);
      this.scheduleFrom(scheduledTime + this.periodMs);
    }, delay);
  }

  private fire(scheduledTime: number): void {
    if (this.paused) {
      this.deliveries.push({ scheduledTime, outcome: 'paused' });
      return;
    }
    if (this.options.skip?.(scheduledTime)) {
      this.deliveries.push({ scheduledTime, outcome: 'skipped' });
      return;
    }
    const input = { scheduledTime: new Date(scheduledTime).toISOString() };
    const d = this.options.deliveryDelaySeconds;
    const delayMs = Math.round((typeof d === 'function' ? d(scheduledTime) : (d ?? 0)) * 1000);
    const extra = this.options.duplicates?.(scheduledTime) ?? 0;
    const send = (kind: 'scheduled' | 'duplicate', after: number) => {
      const go = () => {
        this.deliveries.push({
          scheduledTime,
          deliveredAt: this.clock.now,
          outcome: kind === 'scheduled' ? 'delivered' : 'duplicate',
        });
        this.deliver({ ...input }, kind);
      };
      if (after <= 0) go();
      else this.clock.setTimeout(go, after);
    };
    send('scheduled', delayMs);
    const gap = Math.round((this.options.duplicateDelaySeconds ?? 1) * 1000);
    for (let i = 1; i <= extra; i++) send('duplicate', delayMs + i * gap);
  }
}
