import { systemClock, type Clock } from "../time.js";

/**
 * How long to wait before rendering, given when the first unrendered change arrived: `min` after
 * the latest change, but never past `max` after the first one (consul-template's `wait`).
 */
export function quiescenceDelayMs(firstChangeAt: number, now: number, minMs: number, maxMs: number): number {
  return Math.max(0, Math.min(minMs, firstChangeAt + maxMs - now));
}

/** Debounces change notifications into one `fire` per quiet period (immediately when min is 0). */
export class Quiescence {
  #firstChangeAt: number | undefined;
  #timer: unknown;

  constructor(
    private readonly minMs: number,
    private readonly maxMs: number,
    private readonly fire: () => void,
    private readonly clock: Clock = systemClock,
  ) {}

  trigger(): void {
    const now = this.clock.now();
    this.#firstChangeAt ??= now;
    if (this.#timer !== undefined) this.clock.clearTimeout(this.#timer);
    this.#timer = this.clock.setTimeout(() => {
      this.#timer = undefined;
      this.#firstChangeAt = undefined;
      this.fire();
    }, quiescenceDelayMs(this.#firstChangeAt, now, this.minMs, this.maxMs));
  }

  cancel(): void {
    if (this.#timer !== undefined) this.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#firstChangeAt = undefined;
  }
}
