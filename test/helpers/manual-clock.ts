import type { Clock } from "../../src/time.js";

/** Lets pending promise callbacks and I/O-free async steps run (a few event-loop turns). */
export async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * A clock whose time moves only when the test says so: timers and sleeps fire in time order as
 * `advance` passes them, and the code they wake runs before the next one fires.
 */
export class ManualClock implements Clock {
  #time = 0;
  readonly #timers = new Map<number, { at: number; fn: () => void }>();
  #next = 1;

  now(): number {
    return this.#time;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.#next++;
    this.#timers.set(id, { at: this.#time + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
    if (signal?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const onAbort = () => {
        this.clearTimeout(handle);
        resolve(false);
      };
      const handle = this.setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve(true);
      }, ms);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Timers waiting now, as delays from the present. */
  pending(): number[] {
    return [...this.#timers.values()].map((t) => t.at - this.#time).sort((a, b) => a - b);
  }

  /** Moves time forward by `ms`, firing every timer due on the way, each followed by settle(). */
  async advance(ms: number): Promise<void> {
    const target = this.#time + ms;
    await settle();
    for (;;) {
      const due = [...this.#timers].filter(([, t]) => t.at <= target).sort((a, b) => a[1].at - b[1].at || a[0] - b[0])[0];
      if (!due) break;
      const [id, timer] = due;
      this.#timers.delete(id);
      this.#time = timer.at;
      timer.fn();
      await settle();
    }
    this.#time = target;
  }
}
