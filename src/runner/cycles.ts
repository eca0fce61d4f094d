import type { Clock } from "../time.js";

/**
 * Render cycles, one at a time: a cycle asked for while one runs starts when it ends (once,
 * however often it was asked), so every change is picked up by the next cycle. `later` asks for a
 * cycle after a delay (a write to retry, a guard to release): the earliest one asked for stands.
 */
export class CycleScheduler {
  #chain: Promise<void> = Promise.resolve();
  #pending = false;
  #closed = false;
  #timer: unknown;
  #due = Number.POSITIVE_INFINITY;

  constructor(
    private readonly run: () => Promise<void>,
    private readonly onError: (error: Error) => void,
    private readonly clock: Clock,
  ) {}

  schedule(): void {
    if (this.#pending || this.#closed) return;
    this.#pending = true;
    this.#chain = this.#chain.then(async () => {
      this.#pending = false;
      if (this.#closed) return;
      try {
        await this.run();
      } catch (error) {
        // A bug must not end the daemon silently or leave the chain rejected: report it, go on.
        this.onError(error instanceof Error ? error : new Error(String(error)));
      }
    });
  }

  later(ms: number): void {
    const due = this.clock.now() + ms;
    if (this.#closed || due >= this.#due) return;
    if (this.#timer !== undefined) this.clock.clearTimeout(this.#timer);
    this.#due = due;
    this.#timer = this.clock.setTimeout(() => {
      this.#timer = undefined;
      this.#due = Number.POSITIVE_INFINITY;
      this.schedule();
    }, ms);
  }

  /** From now on starts nothing new. */
  stop(): void {
    this.#closed = true;
    if (this.#timer !== undefined) this.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#due = Number.POSITIVE_INFINITY;
  }

  /** Resolves when the cycle in flight (if any) has ended. */
  idle(): Promise<void> {
    return this.#chain;
  }
}
