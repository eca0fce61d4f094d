import { OnceTimeoutError } from "../errors.js";
import type { Clock } from "../time.js";

/**
 * `--once`: the run ends when every template has rendered and its commands ran, with the first
 * failure's error (and exit code), or with OnceTimeoutError naming what never answered.
 */
export class OnceOutcome {
  #error: Error | undefined;
  #waiter: { resolve: () => void; reject: (error: Error) => void } | undefined;

  constructor(
    readonly enabled: boolean,
    private readonly clock: Clock,
  ) {}

  /** The first failure ends the run; later ones are only logged. */
  failed(error: Error): void {
    if (!this.enabled || this.#error) return;
    this.#error = error;
    this.#waiter?.reject(error);
  }

  /** Call after each cycle: resolves the wait when everything is rendered and nothing failed. */
  cycleDone(allRendered: boolean): void {
    if (this.enabled && !this.#error && allRendered) this.#waiter?.resolve();
  }

  /** `stillMissing` names what has not answered yet when the time is up. */
  wait(timeoutMs: number, allRendered: () => boolean, stillMissing: () => string[], signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
      if (this.#error) reject(this.#error);
      if (allRendered()) resolve();
      const timer = this.clock.setTimeout(() => {
        const missing = stillMissing();
        const named = missing.length > 10 ? `${missing.slice(0, 10).join(", ")} and ${missing.length - 10} more` : missing.join(", ");
        reject(new OnceTimeoutError(`--once: gave up after ${timeoutMs} ms; still waiting for ${named || "a first answer from Consul"}`));
      }, timeoutMs);
      signal.addEventListener("abort", () => this.clock.clearTimeout(timer), { once: true });
    });
  }
}
