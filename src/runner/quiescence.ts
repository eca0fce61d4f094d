/** Timers the runner uses; injectable so quiescence tests need no real waits. */
export interface Clock {
  now(): number;
  /** With ms 0 the callback should run on the next turn of the event loop (setImmediate). */
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

function isImmediate(handle: unknown): handle is NodeJS.Immediate {
  return typeof handle === "object" && handle !== null && "_onImmediate" in handle;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  // Node clamps setTimeout(0) to 1 ms: with no quiescence, the next turn is soon enough.
  setTimeout: (fn, ms) => (ms <= 0 ? setImmediate(fn) : setTimeout(fn, ms)),
  clearTimeout: (handle) => (isImmediate(handle) ? clearImmediate(handle) : clearTimeout(handle as NodeJS.Timeout)),
};

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
