import { sleep } from "../abort.js";
import { backoffDelayMs } from "../consul/blocking.js";
import type { ConsulClient, ConsulResponse } from "../consul/client.js";
import type { Dependency } from "../dependency/dependency.js";
import { runBlockingLoop, type LoopHandlers, type LoopTiming } from "./blocking-loop.js";
import { mapLimit } from "./map-limit.js";

// Matches no service: the answer is `[]`, but its index is the catalog-wide one (nodes, services, checks).
const detectorRequest = (datacenter: string) => ({
  path: "/internal/ui/services",
  query: { dc: datacenter || undefined, filter: 'Service.ID == "\u0001consulate-detector"' },
});

export interface PoolHandlers extends Pick<LoopHandlers, "onError"> {
  publish(dependency: Dependency, response: ConsulResponse<unknown>): void;
  onSuccess(): void;
}

/**
 * Serves many dependencies of one datacenter with a bounded number of connections, for when
 * there are more watches than the connection budget: one blocking query on a catalog-wide
 * change detector; when it fires, each dependency is probed with a request whose body is empty
 * but whose index is that dependency's own, and only those whose index moved are fetched.
 */
export class ProbePool {
  readonly #members = new Map<string, { dependency: Dependency; index: number }>();
  readonly #controller = new AbortController();
  #detector: Promise<void> | undefined;
  #sweeping: Promise<void> | undefined;
  #again = false;
  #failures = 0;

  constructor(
    private readonly client: ConsulClient,
    private readonly datacenter: string,
    private readonly timing: LoopTiming,
    private readonly concurrency: number,
    private readonly handlers: PoolHandlers,
  ) {}

  get size(): number {
    return this.#members.size;
  }

  add(dependency: Dependency): void {
    if (this.#members.has(dependency.key)) return;
    // index -1 never matches a probe: the first sweep fetches it.
    this.#members.set(dependency.key, { dependency, index: -1 });
    this.#detector ??= runBlockingLoop(this.client, () => detectorRequest(this.datacenter), true, this.timing, {
      onResult: () => this.#sweep(),
      onError: (error, attempt) => this.handlers.onError(error, attempt),
    }, this.#controller.signal);
    this.#sweep();
  }

  delete(key: string): void {
    this.#members.delete(key);
  }

  #sweep(): void {
    if (this.#sweeping) {
      this.#again = true;
      return;
    }
    this.#sweeping = this.#runSweeps().finally(() => (this.#sweeping = undefined));
  }

  async #runSweeps(): Promise<void> {
    const signal = this.#controller.signal;
    do {
      this.#again = false;
      const errors = await mapLimit([...this.#members.values()], this.concurrency, async (member) => {
        if (member.index >= 0) {
          const probe = member.dependency.probe?.();
          if (!probe) return;
          const answer = await this.client.get(probe.path, { query: probe.query, signal, timeoutMs: 10_000 });
          if (answer.index === member.index) return;
        }
        const { path, query, allowNotFound } = member.dependency.request();
        const response = await this.client.get(path, { query, signal, timeoutMs: 30_000, allowNotFound });
        // Removed while in flight: drop the answer.
        if (this.#members.get(member.dependency.key) !== member) return;
        member.index = response.index;
        this.handlers.publish(member.dependency, response);
      });
      if (signal.aborted) return;
      if (errors.length > 0) {
        this.handlers.onError(errors[0], this.#failures);
        this.#again = true;
        if (!(await sleep(backoffDelayMs(this.#failures++, { baseMs: this.timing.backoffBaseMs, maxMs: this.timing.backoffMaxMs }), signal))) return;
      } else {
        if (this.#failures > 0) this.handlers.onSuccess();
        this.#failures = 0;
      }
    } while (this.#again && !signal.aborted);
  }

  async close(): Promise<void> {
    this.#controller.abort();
    await Promise.allSettled([this.#detector, this.#sweeping]);
  }
}
