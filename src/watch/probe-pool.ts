import { setMaxListeners } from "node:events";
import type { ConsulGetter, ConsulResponse } from "../consul/client.js";
import type { Dependency } from "../dependency/dependency.js";
import { runBlockingLoop, type LoopHandlers, type LoopTiming } from "./blocking-loop.js";
import { changedServices, fingerprints, type ServiceSummary } from "./catalog-summary.js";
import { mapLimit } from "./map-limit.js";
import { Backoff, systemClock, type Clock } from "../time.js";

export interface PoolHandlers extends Pick<LoopHandlers, "onError"> {
  publish(dependency: Dependency, response: ConsulResponse<unknown>): void;
  onSuccess(): void;
  onSweep?(summary: { members: number; fetched: number; ms: number }): void;
}

interface Member {
  readonly dependency: Dependency;
  /** The index of the data last published; -1 before the first fetch. */
  index: number;
  /**
   * The data came from a snapshot at `index`, a catalog-wide index: the service's own index is
   * not known yet, and any own index up to it is data already published.
   */
  seeded: boolean;
}

/**
 * Serves many service dependencies of one datacenter with a bounded number of connections, for
 * when there are more watches than the connection budget allows.
 *
 * One blocking query on `/v1/internal/ui/services`, whose index moves with any node, service or
 * check change, is the change detector. When it fires:
 * 1. fast path: services whose summary row changed (instance count, check states, nodes, tags)
 *    are fetched at once;
 * 2. sweep: every other member is probed with a request whose body is empty but whose index is
 *    that service's own, and fetched only if its index moved. This catches what the summary
 *    cannot show (an instance re-registered with a new port, say).
 */
export class ProbePool {
  readonly #members = new Map<string, Member>();
  readonly #controller = new AbortController();
  #detector: Promise<void> | undefined;
  #sweeping: Promise<void> | undefined;
  readonly #fast = new Set<Promise<void>>();
  #again = false;
  readonly #backoff: Backoff;
  readonly #clock: Clock;
  #summary: Map<string, string> | undefined;
  #summaryIndex = -1;

  constructor(
    private readonly client: ConsulGetter,
    private readonly datacenter: string,
    private readonly timing: LoopTiming,
    private readonly concurrency: number,
    private readonly handlers: PoolHandlers,
  ) {
    // Thousands of requests share this signal, each listening for its abort.
    setMaxListeners(0, this.#controller.signal);
    this.#clock = timing.clock ?? systemClock;
    this.#backoff = new Backoff({ baseMs: timing.backoffBaseMs, maxMs: timing.backoffMaxMs });
  }

  /** `seededAt`: the dependency's data were published from a snapshot at this index. */
  add(dependency: Dependency, seededAt?: number): void {
    if (this.#members.has(dependency.key)) return;
    this.#members.set(dependency.key, seededAt === undefined ? { dependency, index: -1, seeded: false } : { dependency, index: seededAt, seeded: true });
    this.#detector ??= runBlockingLoop(
      this.client,
      () => ({ path: "/internal/ui/services", query: { dc: this.datacenter || undefined } }),
      true,
      this.timing,
      { onResult: (response) => this.#detected(response), onError: (error, attempt) => this.handlers.onError(error, attempt) },
      this.#controller.signal,
      { lane: "short" },
    );
    // A seeded member needs no read now, unless the detector has already seen a later index: its
    // first answer, or the next, tells whether it may have moved.
    if (seededAt === undefined || (this.#summary && this.#summaryIndex > seededAt)) this.#sweep();
  }

  delete(key: string): void {
    this.#members.delete(key);
  }

  #detected(response: ConsulResponse<unknown>): void {
    // The summary's index moves with every catalog change: a wait that timed out brings nothing new.
    if (this.#summaryIndex === response.index && this.#summary) return;
    // An index that went back: the agent's state was reset, and every index we hold means nothing
    // (a fetch answered below it would be dropped as out of date): read every member afresh.
    if (response.index < this.#summaryIndex) {
      for (const m of this.#members.values()) {
        m.index = -1;
        m.seeded = false;
      }
    }
    this.#summaryIndex = response.index;
    const next = fingerprints((response.body ?? []) as ServiceSummary[]);
    const previous = this.#summary;
    this.#summary = next;
    // The first answer is the baseline: sweep unless every member's data are as of exactly it.
    if (!previous && [...this.#members.values()].every((m) => m.seeded && m.index === response.index)) return;
    if (previous) {
      const changed = changedServices(previous, next);
      const members = [...this.#members.values()].filter((m) => m.index >= 0 && changed.has(m.dependency.service ?? ""));
      if (members.length > 0) {
        const fast = mapLimit(members, this.concurrency, async (m) => void (await this.#fetch(m))).then(() => undefined);
        this.#fast.add(fast);
        // The sweep competes for the same CPU and connections: start it once the fast path is done.
        void fast.finally(() => {
          this.#fast.delete(fast);
          this.#sweep();
        });
        return;
      }
    }
    this.#sweep();
  }

  async #fetch(member: Member): Promise<boolean> {
    const { path, query, allowNotFound } = member.dependency.request();
    const response = await this.client.get(path, { query, signal: this.#controller.signal, timeoutMs: 30_000, allowNotFound });
    // Removed while in flight, or a concurrent fetch already published newer data.
    if (this.#members.get(member.dependency.key) !== member || (member.index >= 0 && !member.seeded && response.index < member.index)) return false;
    member.index = response.index;
    member.seeded = false;
    this.handlers.publish(member.dependency, response);
    return true;
  }

  async #probeAndFetch(member: Member): Promise<boolean> {
    if (member.index >= 0) {
      const probe = member.dependency.probe?.();
      if (!probe) return false;
      const answer = await this.client.get(probe.path, { query: probe.query, signal: this.#controller.signal, timeoutMs: 10_000 });
      if (member.seeded && answer.index <= member.index) {
        // Unchanged since the snapshot: from now on, the service's own index.
        member.index = answer.index;
        member.seeded = false;
        return false;
      }
      if (answer.index === member.index) return false;
    }
    return this.#fetch(member);
  }

  #sweep(): void {
    if (this.#sweeping) {
      this.#again = true;
      return;
    }
    this.#sweeping = this.#runSweeps().finally(() => (this.#sweeping = undefined));
  }

  /**
   * Sweeps until no more are asked for. New members are read at full concurrency; the probes of
   * known ones go a quarter as wide, and after a sweep the next waits as long as it took: under
   * constant churn the sweep takes at most half of the agent's attention, and the fast path (what
   * the summary shows changed) never queues behind it. At 5,000 services a sweep is thousands of
   * probes; run flat out back to back, they slowed every change the fast path carries.
   */
  async #runSweeps(): Promise<void> {
    const signal = this.#controller.signal;
    do {
      this.#again = false;
      const started = this.#clock.now();
      let fetched = 0;
      const visit = async (member: Member) => {
        if (await this.#probeAndFetch(member)) fetched++;
      };
      // Split before the first reads: a member they fetch needs no probe in the same sweep.
      const fresh = [...this.#members.values()].filter((m) => m.index < 0);
      const known = [...this.#members.values()].filter((m) => m.index >= 0);
      const errors = await mapLimit(fresh, this.concurrency, visit);
      errors.push(...(await mapLimit(known, Math.max(1, this.concurrency >> 2), visit)));
      if (signal.aborted) return;
      const ms = this.#clock.now() - started;
      this.handlers.onSweep?.({ members: this.#members.size, fetched, ms: Math.round(ms) });
      if (errors.length > 0) {
        this.handlers.onError(errors[0], this.#backoff.attempt);
        this.#again = true;
        if (!(await this.#clock.sleep(this.#backoff.failed(), signal))) return;
      } else {
        if (this.#backoff.attempt > 0) this.handlers.onSuccess();
        this.#backoff.succeeded();
        if (this.#again && ms > 0 && !(await this.#clock.sleep(Math.min(ms, 10_000), signal))) return;
      }
    } while (this.#again && !signal.aborted);
  }

  async close(): Promise<void> {
    this.#controller.abort();
    await Promise.allSettled([this.#detector, this.#sweeping, ...this.#fast]);
  }
}
