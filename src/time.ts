/**
 * Time, in one place: the clock every timer-driven part takes (injectable, so their unit tests run
 * in milliseconds without real waits), sleeping that an AbortSignal ends, and retry backoff.
 */
import { setTimeout as sleepTimer } from "node:timers/promises";

/** Sleeps `ms`, resolving `false` (not throwing) when the signal aborts first. */
export async function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (ms <= 0) return !signal?.aborted;
  try {
    await sleepTimer(ms, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}

export interface Clock {
  /** Milliseconds on a monotonic scale (performance.now() for the system clock). */
  now(): number;
  /** With ms 0 the callback should run on the next turn of the event loop (setImmediate). */
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /** Resolves true after `ms`, or false as soon as the signal aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<boolean>;
}

function isImmediate(handle: unknown): handle is NodeJS.Immediate {
  return typeof handle === "object" && handle !== null && "_onImmediate" in handle;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  // Node clamps setTimeout(0) to 1 ms: with no delay, the next turn is soon enough.
  setTimeout: (fn, ms) => (ms <= 0 ? setImmediate(fn) : setTimeout(fn, ms)),
  clearTimeout: (handle) => (isImmediate(handle) ? clearImmediate(handle) : clearTimeout(handle as NodeJS.Timeout)),
  sleep,
};

export interface BackoffOptions {
  readonly baseMs: number;
  readonly maxMs: number;
  /** [0, 1): returns the random number used for jitter; injectable for tests. */
  readonly random?: () => number;
}

/**
 * Jittered exponential backoff ("full jitter" above half the step): attempt 0 waits about
 * `baseMs`, doubling up to `maxMs`.
 */
export function backoffDelayMs(attempt: number, { baseMs, maxMs, random = Math.random }: BackoffOptions): number {
  const step = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(step / 2 + (random() * step) / 2);
}

/** Consecutive failures of one thing, and how long to wait after the latest; a success resets it. */
export class Backoff {
  #attempt = 0;

  constructor(private readonly options: BackoffOptions) {}

  /** Failures since the last success. */
  get attempt(): number {
    return this.#attempt;
  }

  /** Counts a failure and returns the delay before the next try. */
  failed(): number {
    return backoffDelayMs(this.#attempt++, this.options);
  }

  succeeded(): void {
    this.#attempt = 0;
  }
}
