import { blockingTimeoutMs, nextIndex, rateLimitDelayMs } from "../consul/blocking.js";
import { Backoff, systemClock, type Clock } from "../time.js";
import type { ConsulGetter, ConsulResponse } from "../consul/client.js";
import type { DependencyRequest } from "../dependency/dependency.js";

export interface LoopTiming {
  /** `wait` sent with each blocking query. */
  readonly waitMs: number;
  /** Minimum time between two requests of one watch. */
  readonly minIntervalMs: number;
  /** Poll period for endpoints that do not block. */
  readonly pollMs: number;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  /** Serve stale reads only while the server lag stays under this; 0 = consistent reads. */
  readonly maxStaleMs: number;
  /** What all of it is timed by (the system clock unless a test injects one). */
  readonly clock?: Clock;
}

export interface LoopHandlers {
  /**
   * Called with every answer. An answer whose index stood still can still differ: Consul 1.8
   * keeps a service's index when an instance moves to another service name, and when the token
   * loses read access; the receiver compares the data, the index alone proves nothing.
   */
  onResult(response: ConsulResponse<unknown>): void;
  onError(error: unknown, attempt: number): void;
}

/**
 * Runs one blocking query forever, by Consul's rules, until the signal aborts: sends the last
 * index, resets it when it goes backwards, rate-limits wake-ups and backs off on errors.
 * `lane`: over HTTP/1.1, "held" sends the waiting queries on the connections kept for them;
 * "short" keeps them with the short requests (the probe pool's one detector, which must work
 * when no new connection can be had). `index`: the data are already known as of this index (a
 * snapshot): the first request is a blocking query from it.
 */
export async function runBlockingLoop(
  client: ConsulGetter,
  request: () => DependencyRequest,
  blocking: boolean,
  timing: LoopTiming,
  handlers: LoopHandlers,
  signal: AbortSignal,
  { lane = "held", index: known = 0 }: { lane?: "held" | "short"; index?: number } = {},
): Promise<void> {
  const clock = timing.clock ?? systemClock;
  const backoff = new Backoff({ baseMs: timing.backoffBaseMs, maxMs: timing.backoffMaxMs });
  let index = blocking ? known : 0;
  let lastStart = Number.NEGATIVE_INFINITY;
  let forceConsistent = false;
  while (!signal.aborted) {
    const pause = blocking ? rateLimitDelayMs(lastStart, clock.now(), timing.minIntervalMs) : index === 0 ? 0 : timing.pollMs;
    if (!(await clock.sleep(pause, signal))) return;
    lastStart = clock.now();
    const { path, query, allowNotFound } = request();
    const blockingQuery = blocking && index > 0 ? { index, wait: `${timing.waitMs}ms` } : {};
    const stale = query.stale && !forceConsistent ? true : undefined;
    try {
      const response = await client.get(path, {
        query: { ...query, stale, ...blockingQuery },
        signal,
        timeoutMs: blockingTimeoutMs(blocking ? timing.waitMs : 0),
        allowNotFound,
        held: lane === "held" && index > 0 && blocking,
      });
      backoff.succeeded();
      // A stale answer older than --max-stale is not served: ask the leader once instead.
      if (stale && response.lastContactMs > timing.maxStaleMs) {
        forceConsistent = true;
        continue;
      }
      forceConsistent = false;
      index = nextIndex(index, response.index);
      handlers.onResult(response);
    } catch (error) {
      if (signal.aborted) return;
      handlers.onError(error, backoff.attempt);
      // The agent may have restarted with a lower index: a blocking query with our old index
      // would hang until the new agent caught up. Start over with a plain read.
      index = 0;
      if (!(await clock.sleep(backoff.failed(), signal))) return;
    }
  }
}
