import { isDeepStrictEqual } from "node:util";
import type { ConsulClient, ConsulResponse } from "../consul/client.js";
import type { Dependency } from "../dependency/dependency.js";
import { markUnsafe } from "../untrusted.js";
import type { Logger } from "../observe/logger.js";
import type { Metrics } from "../observe/metrics.js";
import { blockingTimeoutMs } from "../consul/blocking.js";
import { ConnectionLimitError } from "../errors.js";
import { systemClock } from "../time.js";
import { isUnreachable, Reachability } from "../consul/reachability.js";
import { runBlockingLoop, type LoopTiming } from "./blocking-loop.js";
import { InstanceOwners, instancesOf } from "./instance-owners.js";
import { ProbePool } from "./probe-pool.js";
import { shareUnchanged } from "./share-unchanged.js";
import { readSnapshot, snapshotMinimum, worthASnapshot, type Snapshot } from "./snapshot.js";

export interface WatcherOptions {
  readonly client: ConsulClient;
  readonly logger: Logger;
  readonly timing: LoopTiming;
  /** Most dependencies that each hold their own blocking query; the rest go to probe pools. */
  readonly maxDirectWatches: number;
  /**
   * When more are wanted than `maxDirectWatches`, the pool serves most of them anyway: only this
   * many keep their own query, and the rest of the budget stays unused, for the agent's other
   * clients.
   */
  readonly overflowDirectWatches: number;
  /** Requests in flight at once for one probe pool's sweep. */
  readonly poolConcurrency: number;
  /** --once: a dependency whose first answer came from a snapshot is not watched after it. */
  readonly once?: boolean;
  /** Called when a dependency's data is first known or changes. */
  readonly onChange: (key: string) => void;
  readonly metrics?: Metrics | undefined;
}

interface Entry {
  readonly dependency: Dependency;
  hasData: boolean;
  data: unknown;
  index: number;
  /** Aborts this dependency's own loop; undefined when a pool serves it. */
  controller?: AbortController;
  loop?: Promise<void>;
  lastError?: string;
}

/**
 * The set of live dependencies, shared by every template: one watch per unique query.
 * `sync` starts what is newly wanted and stops what nobody uses any more.
 */
export class Watcher {
  readonly #entries = new Map<string, Entry>();
  readonly #pools = new Map<string, ProbePool>();
  readonly #reachability = new Reachability();
  #directWatches = 0;
  #closing: Promise<void> | undefined;
  readonly #owners = new InstanceOwners();
  /** Ends the one-shot re-reads when the watcher closes. */
  readonly #controller = new AbortController();
  readonly #refreshing = new Set<string>();
  #pooling = false;
  /** How many may be direct, given what the templates want now. */
  #directCap = Number.POSITIVE_INFINITY;
  /** Moved to a pool because the agent refused their connection; they go back after `#promotion`. */
  readonly #refused = new Set<string>();
  #promotion: Promise<void> | undefined;
  readonly #seeding = new Set<Promise<void>>();

  constructor(private readonly options: WatcherOptions) {}

  get size(): number {
    return this.#entries.size;
  }

  /** False after a request found the agent unreachable, until one succeeds again. */
  get reachable(): boolean | undefined {
    return this.#reachability.reachable;
  }

  /** The data of a dependency, or `undefined` when none has arrived yet. */
  read(key: string): { hasData: boolean; data: unknown } {
    const entry = this.#entries.get(key);
    return entry ? { hasData: entry.hasData, data: entry.data } : { hasData: false, data: undefined };
  }

  /** The index last seen for one dependency (0 before the first answer). */
  indexOf(key: string): number {
    return this.#entries.get(key)?.index ?? 0;
  }

  sync(wanted: ReadonlyMap<string, Dependency>): void {
    if (this.#closing) return;
    let poolable = 0;
    for (const dependency of wanted.values()) if (dependency.probe) poolable++;
    const { maxDirectWatches, overflowDirectWatches } = this.options;
    this.#directCap = poolable > maxDirectWatches ? Math.min(maxDirectWatches, overflowDirectWatches) : maxDirectWatches;
    for (const [key, entry] of this.#entries) {
      if (!wanted.has(key)) this.#stop(key, entry);
    }
    const seedable = new Map<string, Dependency[]>();
    for (const [key, dependency] of wanted) {
      if (this.#entries.has(key)) continue;
      const entry: Entry = { dependency, hasData: false, data: undefined, index: 0 };
      this.#entries.set(key, entry);
      if (dependency.snapshotService === undefined) {
        this.#begin(entry);
        continue;
      }
      const group = seedable.get(dependency.datacenter) ?? [];
      seedable.set(dependency.datacenter, group);
      group.push(dependency);
    }
    for (const [datacenter, group] of seedable) {
      if (group.length >= snapshotMinimum) {
        const seeding = this.#seed(datacenter, group).finally(() => this.#seeding.delete(seeding));
        this.#seeding.add(seeding);
      }
      else for (const dependency of group) this.#begin(this.#entries.get(dependency.key)!);
    }
  }

  /**
   * Many new service watches at once (a template over the whole catalog): their first answers
   * come from one snapshot of the catalog instead of a read each, and their watches start from
   * its index. Any service the snapshot does not answer, or every one if it fails, reads as usual.
   */
  async #seed(datacenter: string, group: Dependency[]): Promise<void> {
    const signal = this.#controller.signal;
    // Every dependency of the group asks the same datacenter with the same consistency.
    const { dc, stale } = group[0]!.request().query;
    const query = { dc, stale };
    let snapshot: Snapshot | undefined;
    try {
      if (await worthASnapshot(this.options.client, query, group.length, this.#servicesListed(datacenter), signal)) {
        const clock = this.options.timing.clock ?? systemClock;
        const started = clock.now();
        const read = await readSnapshot(this.options.client, datacenter, query, signal);
        const tooStale = stale === true && read.lastContactMs > this.options.timing.maxStaleMs;
        this.options.logger.debug("watch", "snapshot", { datacenter: datacenter || undefined, services: group.length, index: read.index, ms: Math.round(clock.now() - started), tooStale: tooStale || undefined });
        if (!tooStale) snapshot = read;
      }
    } catch (error) {
      if (signal.aborted) return;
      this.options.logger.debug("watch", "no snapshot, reading each service", { datacenter: datacenter || undefined, error: error instanceof Error ? error.message : String(error) });
    }
    for (const dependency of group) {
      const entry = this.#entries.get(dependency.key);
      if (this.#closing || entry?.dependency !== dependency) continue;
      const answer = snapshot?.answerFor(dependency.snapshotService!);
      if (answer) this.#publish(dependency, answer);
      if (answer && this.options.once) continue;
      this.#begin(entry, answer ? snapshot!.index : undefined);
    }
  }

  /** How many services the datacenter's list names, when a template watches that list. */
  #servicesListed(datacenter: string): number | undefined {
    for (const { dependency, hasData, data } of this.#entries.values()) {
      if (hasData && dependency.datacenter === datacenter && dependency.servicesListed) return dependency.servicesListed(data);
    }
    return undefined;
  }

  /** Starts serving an entry: its own blocking query, or a pool's. `seededAt`: data known as of that index. */
  #begin(entry: Entry, seededAt?: number): void {
    const { dependency } = entry;
    if (dependency.probe && (this.#directWatches >= this.#directCap || this.#promotion)) {
      if (!this.#pooling && !this.#promotion) {
        this.#pooling = true;
        this.options.logger.warn("watch", "more watches than the connection budget: the rest share a probe pool, which notices changes more slowly", {
          directWatches: this.#directWatches,
          helps: "an https:// agent (HTTP/2 carries every watch on a few connections), or a higher http_max_conns_per_client on the agent with --max-connections",
        });
      }
      // Refused connections lately: it gets its own query when the refused ones do.
      if (this.#promotion) this.#refused.add(dependency.key);
      this.#pool(dependency.datacenter).add(dependency, seededAt);
      this.options.logger.debug("watch", "watching (pooled)", { dependency: dependency.description });
      return;
    }
    this.#direct(entry, seededAt);
    this.options.logger.debug("watch", "watching", { dependency: dependency.description });
  }

  #direct(entry: Entry, index = 0): void {
    const { dependency } = entry;
    entry.controller = new AbortController();
    this.#directWatches++;
    entry.loop = runBlockingLoop(
      this.options.client,
      () => dependency.request(),
      dependency.blocking,
      this.options.timing,
      {
        onResult: (response) => this.#publish(dependency, response),
        onError: (error) => this.#failed(entry, error),
      },
      entry.controller.signal,
      { index },
    );
  }

  /**
   * The agent refused this watch a connection: the room its limit per client address allows is
   * taken (by our predecessor's queries, which Consul 1.8 holds for their whole wait after the
   * client has gone, or by another client). The pool serves it on the connections it has, and
   * once every query older than ours has ended, it gets its own query again.
   */
  #refuse(entry: Entry): void {
    const { dependency } = entry;
    entry.controller?.abort();
    entry.controller = undefined;
    entry.loop = undefined;
    this.#directWatches--;
    this.#refused.add(dependency.key);
    // Read afresh: after an error an index proves nothing (the agent may have restarted).
    this.#pool(dependency.datacenter).add(dependency);
    if (this.#promotion) return;
    const clock = this.options.timing.clock ?? systemClock;
    const afterMs = blockingTimeoutMs(this.options.timing.waitMs, 1_000);
    this.options.logger.warn("watch", "the agent refuses new connections (its limit per client address, http_max_conns_per_client, is reached): watches it refused share the probe pool for now", {
      retryInS: Math.round(afterMs / 1000),
      helps: "fewer clients of this agent at once, a higher http_max_conns_per_client, a lower --max-connections, or an https:// agent",
    });
    this.#promotion = clock.sleep(afterMs, this.#controller.signal).then((slept) => {
      this.#promotion = undefined;
      if (slept) this.#promote();
    });
  }

  #promote(): void {
    let promoted = 0;
    for (const key of this.#refused) {
      const entry = this.#entries.get(key);
      if (entry && !entry.controller && this.#directWatches < this.#directCap) {
        this.#pools.get(entry.dependency.datacenter)?.delete(key);
        this.#direct(entry);
        promoted++;
      }
    }
    this.#refused.clear();
    this.options.logger.info("watch", "watches the agent refused have their own blocking queries again", { watches: promoted });
  }

  #pool(datacenter: string): ProbePool {
    let pool = this.#pools.get(datacenter);
    if (!pool) {
      pool = new ProbePool(this.options.client, datacenter, this.options.timing, this.options.poolConcurrency, {
        publish: (dependency, response) => this.#publish(dependency, response),
        onError: (error) => this.#failed(undefined, error),
        onSuccess: () => this.#succeeded(),
        onSweep: (summary) => this.options.logger.debug("watch", "probe sweep", { datacenter: datacenter || undefined, ...summary }),
      });
      this.#pools.set(datacenter, pool);
    }
    return pool;
  }

  #stop(key: string, entry: Entry): void {
    this.#entries.delete(key);
    this.#owners.remove(key);
    if (entry.controller) this.#directWatches--;
    entry.controller?.abort();
    this.#pools.get(entry.dependency.datacenter)?.delete(key);
    this.options.logger.debug("watch", "stopped watching", { dependency: entry.dependency.description });
  }

  #publish(dependency: Dependency, response: ConsulResponse<unknown>): void {
    const entry = this.#entries.get(dependency.key);
    if (!entry || entry.dependency !== dependency) return;
    this.#succeeded();
    if (response.index !== entry.index) this.options.metrics?.wakeups.inc();
    entry.lastError = undefined;
    entry.index = response.index;
    const data = shareUnchanged(entry.data, markUnsafe(dependency.normalize(response), dependency.description));
    // Consul wakes a blocking query for changes that leave this view equal: not a change for us.
    const same = entry.hasData && (data === entry.data || isDeepStrictEqual(entry.data, data));
    this.options.logger.debug("watch", "answer", { dependency: dependency.description, index: response.index, changed: !same });
    if (same) return;
    entry.data = data;
    entry.hasData = true;
    this.options.onChange(dependency.key);
    if (dependency.service !== undefined) {
      for (const stale of this.#owners.update(dependency.key, dependency.service, instancesOf(data, dependency.datacenter))) void this.#refresh(stale, dependency);
    }
  }

  // An instance of `to` is still held by the query `key` of another service: it moved, and
  // Consul did not move the old service's index. A plain read (no index) gives the truth now.
  async #refresh(key: string, to: Dependency): Promise<void> {
    const entry = this.#entries.get(key);
    if (!entry || this.#refreshing.has(key)) return;
    this.#refreshing.add(key);
    this.options.metrics?.staleCorrections.inc();
    this.options.logger.debug("watch", "an instance moved to another service: reading the service it left again", { from: entry.dependency.description, to: to.description });
    try {
      const { path, query, allowNotFound } = entry.dependency.request();
      const response = await this.options.client.get(path, { query, allowNotFound, signal: this.#controller.signal, timeoutMs: blockingTimeoutMs(0) });
      this.#publish(entry.dependency, response);
    } catch (error) {
      if (!this.#controller.signal.aborted) this.#failed(entry, error);
    } finally {
      this.#refreshing.delete(key);
    }
  }

  #succeeded(): void {
    if (this.#reachability.answered()) this.options.logger.info("watch", "Consul is reachable again", { consul: this.options.client.address });
  }

  // One line per state change, not per retry.
  #failed(entry: Entry | undefined, error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    // A new connection closed unanswered means a full agent only while the agent answers; one
    // that is going down or starting up closes connections the same way.
    if (error instanceof ConnectionLimitError && this.#reachability.reachable !== false) {
      this.options.logger.debug("watch", "the agent refused a connection, retrying", { dependency: entry?.dependency.description, error: message });
      this.options.metrics?.consulErrors.inc({ kind: "limit" });
      if (entry?.controller && entry.dependency.probe && !this.#closing) this.#refuse(entry);
      return;
    }
    this.options.logger.debug("watch", "request failed, retrying with backoff", { dependency: entry?.dependency.description, error: message });
    // No HTTP answer at all: the agent is unreachable. An HTTP error belongs to this query.
    const unreachable = isUnreachable(error);
    this.options.metrics?.consulErrors.inc({ kind: unreachable ? "unreachable" : "http" });
    if (unreachable) {
      if (this.#reachability.unreachable()) this.options.logger.warn("watch", "waiting for Consul, retrying with backoff", { consul: this.options.client.address, error: message });
      return;
    }
    if (entry && entry.lastError !== message) {
      entry.lastError = message;
      this.options.logger.error("watch", "query failed, retrying with backoff", { dependency: entry.dependency.description, error: message });
    }
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#controller.abort();
      const loops = [...this.#entries.values()].map((e) => {
        e.controller?.abort();
        return e.loop;
      });
      await Promise.allSettled([...this.#seeding]);
      await Promise.allSettled([...loops, this.#promotion, ...[...this.#pools.values()].map((p) => p.close())]);
      this.#entries.clear();
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
