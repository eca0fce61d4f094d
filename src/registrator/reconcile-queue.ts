import { Backoff, systemClock, type BackoffOptions, type Clock } from "../time.js";

interface Entry {
  running: Promise<void> | undefined;
  /** Asked for again while running: run once more when this run ends. */
  again: boolean;
  readonly backoff: Backoff;
  retry: unknown;
}

export interface ReconcileQueueOptions {
  readonly backoff: BackoffOptions;
  readonly signal: AbortSignal;
  readonly clock?: Clock;
  /** Called when a key has nothing running and no retry pending. */
  readonly settled?: (key: string) => void;
}

/**
 * Runs the reconciles of one key one at a time and in order, different keys in parallel. A
 * reconcile asked for while one runs makes it run once more when it ends (however often it was
 * asked), so a quick start/die/start is always followed by a look at the latest state. When the
 * last run fails (`run` returns false), it is retried with backoff, until a run succeeds or a newer
 * request supersedes the retry.
 */
export class ReconcileQueue {
  readonly #entries = new Map<string, Entry>();
  readonly #clock: Clock;

  constructor(
    private readonly run: (key: string) => Promise<boolean>,
    private readonly options: ReconcileQueueOptions,
  ) {
    this.#clock = options.clock ?? systemClock;
  }

  /** Queues a reconcile of `key`; resolves when the run it joined is done. */
  request(key: string): Promise<void> {
    let entry = this.#entries.get(key);
    if (!entry) {
      entry = { running: undefined, again: false, backoff: new Backoff(this.options.backoff), retry: undefined };
      this.#entries.set(key, entry);
    }
    const e = entry;
    if (e.running) {
      e.again = true;
      return e.running;
    }
    this.#cancelRetry(e);
    e.running = (async () => {
      let ok: boolean;
      do {
        e.again = false;
        ok = await this.run(key);
      } while (e.again && !this.options.signal.aborted);
      if (ok) e.backoff.succeeded();
      else if (!this.options.signal.aborted) {
        e.retry = this.#clock.setTimeout(() => {
          e.retry = undefined;
          void this.request(key);
        }, e.backoff.failed());
      }
    })().finally(() => {
      e.running = undefined;
      if (e.retry !== undefined) return;
      this.#entries.delete(key);
      this.options.settled?.(key);
    });
    return e.running;
  }

  /** A retry is waiting for this key. */
  retrying(key: string): boolean {
    return this.#entries.get(key)?.retry !== undefined;
  }

  #cancelRetry(e: Entry): void {
    if (e.retry === undefined) return;
    this.#clock.clearTimeout(e.retry);
    e.retry = undefined;
  }

  /** Cancels pending retries and waits for the runs in flight (the signal should be aborted first). */
  async close(): Promise<void> {
    for (const e of this.#entries.values()) this.#cancelRetry(e);
    await Promise.allSettled([...this.#entries.values()].flatMap((e) => (e.running ? [e.running] : [])));
  }
}
