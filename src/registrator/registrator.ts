import { setMaxListeners } from "node:events";
import { sleep } from "../abort.js";
import { backoffDelayMs } from "../consul/blocking.js";
import type { DockerEngine } from "../docker/client.js";
import type { ContainerInfo } from "../docker/container.js";
import { ConsulRequestError } from "../errors.js";
import { logMs, type Logger } from "../observe/logger.js";
import type { Metrics } from "../observe/metrics.js";
import type { AgentRegistry } from "./agent-registry.js";
import { probe } from "./probe.js";
import { deriveServices, type ModelOptions, type PlannedService, type ServiceDefinition } from "./service-model.js";

export interface RegistratorOptions extends ModelOptions {
  /** Full resync period; 0 = off. */
  readonly resyncMs: number;
  /** Remove this host's services whose container no longer exists. */
  readonly cleanup: boolean;
  /** How often TTL checks are marked passing (with --ttl). */
  readonly ttlRefreshMs: number;
  /** On container exit: always deregister, or only when it exited with code 0. */
  readonly deregister: "always" | "on-success";
  /** Deregister everything this process registered when it stops. */
  readonly deregisterOnStop: boolean;
  /** How often the agent is compared with what we registered (agent restarts lose services). */
  readonly agentCheckMs: number;
}

interface Registered {
  readonly definition: ServiceDefinition;
  /** The definition before probes set check states: what decides whether to re-register. */
  readonly spec: string;
}

interface ContainerState {
  services: Map<string, Registered>;
  running: Promise<void> | undefined;
  again: boolean;
  attempt: number;
  retryTimer: NodeJS.Timeout | undefined;
}

/**
 * Docker → Consul. Each event, resync or retry for a container runs one reconcile of that
 * container: inspect it now, derive the services it should have, register what is missing or
 * changed, deregister what is left. Reconciles of one container run one at a time, in order, so a
 * quick start/die/start ends registered; different containers proceed in parallel. A failed
 * reconcile is retried with backoff until it succeeds or a newer one supersedes it.
 */
export class Registrator {
  readonly #containers = new Map<string, ContainerState>();
  readonly #controller = new AbortController();
  readonly #tasks: Promise<void>[] = [];
  #consulReachable: boolean | undefined;
  /** What Consul refuses us (`permission denied: …`), until a request succeeds again. */
  #problem: string | undefined;
  #dockerConnected: boolean | undefined;
  #closing: Promise<void> | undefined;
  readonly #warned = new Map<string, string>();

  constructor(
    private readonly docker: DockerEngine,
    private readonly registry: AgentRegistry,
    private readonly options: RegistratorOptions,
    private readonly logger: Logger,
    private readonly metrics?: Metrics,
  ) {
    setMaxListeners(0, this.#controller.signal);
  }

  /** Subscribes to Docker events, then syncs every running container, then follows the events. */
  async start(): Promise<void> {
    const events = await this.#openEvents(undefined);
    this.#tasks.push(this.#followEvents(events));
    await this.#resync("start");
    if (this.options.resyncMs > 0) this.#every(this.options.resyncMs, () => this.#resync("periodic resync"));
    if (this.options.ttlSeconds > 0) this.#every(this.options.ttlRefreshMs, () => this.#refreshTtls());
    this.#every(this.options.agentCheckMs, () => this.#checkAgent());
  }

  /** A permission Consul refuses us, or undefined; /readyz and /status show it. */
  problem(): string | undefined {
    return this.#problem;
  }

  /** What is registered now, by container. */
  registered(): Map<string, ServiceDefinition[]> {
    return new Map([...this.#containers].map(([id, s]) => [id, [...s.services.values()].map((r) => r.definition)]));
  }

  #every(ms: number, fn: () => Promise<void>): void {
    const signal = this.#controller.signal;
    this.#tasks.push(
      (async () => {
        while (await sleep(ms, signal)) await fn().catch((error: unknown) => this.#consulFailed(error));
      })(),
    );
  }

  async #openEvents(since: number | undefined): Promise<AsyncIterable<{ id: string; action: string; timeNano: bigint }>> {
    const signal = this.#controller.signal;
    for (let attempt = 0; ; attempt++) {
      try {
        const events = await this.docker.events(since, signal);
        if (this.#dockerConnected === false) this.logger.info("docker", "Docker event stream is back", { docker: this.docker.address });
        this.#dockerConnected = true;
        return events;
      } catch (error) {
        if (signal.aborted) throw error;
        if (this.#dockerConnected !== false) {
          this.logger.warn("docker", "cannot reach Docker, retrying with backoff", { docker: this.docker.address, error: (error as Error).message });
        }
        this.#dockerConnected = false;
        if (!(await sleep(backoffDelayMs(attempt, { baseMs: 250, maxMs: 5_000 }), signal))) throw error;
      }
    }
  }

  // registrator exits when the stream drops; consulate reconnects from the last event and resyncs.
  async #followEvents(first: AsyncIterable<{ id: string; action: string; timeNano: bigint }>): Promise<void> {
    const signal = this.#controller.signal;
    let events = first;
    let lastNano: bigint | undefined;
    while (!signal.aborted) {
      try {
        for await (const event of events) {
          lastNano = event.timeNano;
          this.logger.debug("docker", "event", { container: event.id.slice(0, 12), action: event.action });
          void this.#reconcile(event.id);
        }
      } catch (error) {
        if (signal.aborted) return;
        this.logger.debug("docker", "event stream error", { error: (error as Error).message });
      }
      if (signal.aborted) return;
      this.logger.warn("docker", "Docker event stream ended, reconnecting", { docker: this.docker.address });
      this.#dockerConnected = false;
      try {
        const since = lastNano === undefined ? undefined : Number(lastNano / 1_000_000n) / 1000;
        events = await this.#openEvents(since);
        this.metrics?.dockerReconnects.inc();
      } catch {
        return;
      }
      // Containers may have started or died while the stream was down.
      await this.#resync("reconnect");
    }
  }

  async #resync(reason: string): Promise<void> {
    const signal = this.#controller.signal;
    let running: string[];
    try {
      running = await this.docker.runningContainers(signal);
    } catch (error) {
      if (!signal.aborted) this.logger.warn("docker", "cannot list containers", { reason, error: (error as Error).message });
      return;
    }
    const ids = new Set([...running, ...this.#containers.keys()]);
    this.logger.debug("registrator", "resync", { reason, containers: ids.size });
    await Promise.all([...ids].map((id) => this.#reconcile(id)));
    if (this.options.cleanup) await this.#cleanup(new Set(running)).catch((error: unknown) => this.#consulFailed(error));
  }

  /** Queues a reconcile of one container; resolves when the reconcile it joined is done. */
  #reconcile(id: string): Promise<void> {
    let state = this.#containers.get(id);
    if (!state) {
      state = { services: new Map(), running: undefined, again: false, attempt: 0, retryTimer: undefined };
      this.#containers.set(id, state);
    }
    const s = state;
    if (s.running) {
      s.again = true;
      return s.running;
    }
    clearTimeout(s.retryTimer);
    s.running = (async () => {
      do {
        s.again = false;
        await this.#reconcileOnce(id, s);
      } while (s.again && !this.#controller.signal.aborted);
    })().finally(() => {
      s.running = undefined;
      if (s.services.size === 0 && !s.retryTimer) {
        this.#containers.delete(id);
        this.#warned.delete(id);
      }
    });
    return s.running;
  }

  async #reconcileOnce(id: string, state: ContainerState): Promise<void> {
    const signal = this.#controller.signal;
    if (signal.aborted) return;
    const started = performance.now();
    let info: ContainerInfo | undefined;
    try {
      info = await this.docker.inspect(id, signal);
    } catch (error) {
      if (!signal.aborted) this.logger.warn("docker", "cannot inspect container", { container: id.slice(0, 12), error: (error as Error).message });
      this.#retry(id, state);
      return;
    }
    const inspected = performance.now();
    const desired = this.#desired(info);
    // registrator's --deregister on-success: a container that failed keeps its services.
    if (desired === "keep") return;
    try {
      for (const planned of desired.values()) await this.#ensure(id, state, planned, { started, inspected });
      for (const [serviceId, registered] of state.services) {
        if (desired.has(serviceId)) continue;
        await this.registry.deregister(serviceId, signal);
        state.services.delete(serviceId);
        this.metrics?.registrations.inc({ action: "deregister" });
        this.logger.info("registrator", "deregistered", { service: registered.definition.Name, id: serviceId, container: info?.name ?? id.slice(0, 12), exitCode: info?.running === false ? info.exitCode : undefined });
      }
      state.attempt = 0;
      this.#consulOk();
      if (desired.size > 0 || state.services.size > 0) this.#permissionsOk();
    } catch (error) {
      if (signal.aborted) return;
      this.#consulFailed(error);
      this.#retry(id, state);
    }
  }

  // Said once per container and set of warnings, not at every event or resync.
  #warn(info: ContainerInfo, warnings: readonly string[]): void {
    const key = warnings.join("\n");
    if (this.#warned.get(info.id) === key) return;
    this.#warned.set(info.id, key);
    for (const warning of warnings) this.logger.warn("registrator", `container metadata refused: ${warning}`, { container: info.name });
  }

  /** The services a container should have now. */
  #desired(info: ContainerInfo | undefined): Map<string, PlannedService> | "keep" {
    if (info?.running) {
      const { services, warnings } = deriveServices(info, this.options);
      this.#warn(info, warnings);
      return new Map(services.map((p) => [p.definition.ID, p]));
    }
    if (info && this.options.deregister === "on-success" && info.exitCode !== 0) return "keep";
    return new Map();
  }

  /** `at`: when this reconcile began and when its inspect answered (performance.now()), for the log. */
  async #ensure(id: string, state: ContainerState, planned: PlannedService, at: { started: number; inspected: number }): Promise<void> {
    const spec = JSON.stringify(planned.definition);
    if (state.services.get(planned.definition.ID)?.spec === spec) return;
    await this.#deregisterRenamed(planned.definition);
    const definition = structuredClone(planned.definition);
    // A new check starts critical and HTTP/TCP checks first run up to an interval later: probe now
    // so a healthy container is in passing-only queries at once, and a broken one is not.
    for (const check of definition.Checks) {
      const target = planned.probes.get(check.CheckID);
      if (target) check.Status = await probe(target, this.#controller.signal);
    }
    await this.registry.register(definition, this.#controller.signal);
    for (const check of definition.Checks) {
      if (check.CheckID.endsWith(":docker-health") && check.Status) await this.registry.updateTtl(check.CheckID, check.Status, this.#controller.signal);
    }
    state.services.set(definition.ID, { definition, spec });
    this.metrics?.registrations.inc({ action: "register" });
    // Where the time went: the inspect, then the registration (with any check probes).
    const timing = { inspectMs: logMs(at.inspected - at.started), reconcileMs: logMs(performance.now() - at.started) };
    this.logger.info("registrator", "registered", { service: definition.Name, id: definition.ID, address: definition.Address || undefined, port: definition.Port, container: id.slice(0, 12), ...timing });
  }

  /**
   * A service ID another container held (recreated under the same name: same ID) changes owner.
   * Consul 1.8 keeps a service's index when one of its IDs is re-registered under another name,
   * so blocking queries on the old name never see the instance leave. A container recreated
   * under its old name with a new SERVICE_NAME does exactly that (same ID): deregister the old
   * registration first, so our own registrations never trigger it.
   */
  async #deregisterRenamed(definition: ServiceDefinition): Promise<void> {
    for (const [containerId, other] of this.#containers) {
      const old = other.services.get(definition.ID);
      if (!old) continue;
      if (old.definition.Name !== definition.Name) {
        await this.registry.deregister(definition.ID, this.#controller.signal);
        this.logger.info("registrator", "service renamed: deregistered the old name first", { id: definition.ID, from: old.definition.Name, to: definition.Name, container: containerId.slice(0, 12) });
      }
      // The ID is the new container's now: the old one's late "die" must not deregister it.
      other.services.delete(definition.ID);
    }
  }

  #retry(id: string, state: ContainerState): void {
    if (this.#controller.signal.aborted) return;
    this.metrics?.registrations.inc({ action: "error" });
    clearTimeout(state.retryTimer);
    state.retryTimer = setTimeout(() => {
      state.retryTimer = undefined;
      void this.#reconcile(id);
    }, backoffDelayMs(state.attempt++, { baseMs: 250, maxMs: 10_000 }));
  }

  async #cleanup(running: ReadonlySet<string>): Promise<void> {
    const signal = this.#controller.signal;
    const ours = new Set([...this.#containers.values()].flatMap((s) => [...s.services.keys()]));
    for (const [serviceId, service] of await this.registry.managedServices(signal)) {
      if (ours.has(serviceId)) continue;
      const container = service.Meta?.["consulate-container"] ?? "";
      if ([...running].some((r) => r.startsWith(container))) continue;
      if (container && (await this.docker.inspect(container, signal).catch(() => "unknown"))) continue;
      await this.registry.deregister(serviceId, signal);
      this.logger.info("registrator", "cleaned up a service whose container is gone", { id: serviceId });
    }
  }

  // Notices an agent that restarted or lost its state, and registers again what it lacks.
  async #checkAgent(): Promise<void> {
    const present = await this.registry.managedServices(this.#controller.signal);
    this.#consulOk();
    for (const [id, state] of this.#containers) {
      const missing = [...state.services.keys()].filter((sid) => !present.has(sid));
      if (missing.length === 0) continue;
      this.logger.warn("registrator", "the agent lost services, registering them again", { container: id.slice(0, 12), services: missing });
      for (const sid of missing) state.services.delete(sid);
      void this.#reconcile(id);
    }
  }

  async #refreshTtls(): Promise<void> {
    let lost = false;
    for (const state of this.#containers.values()) {
      for (const { definition } of state.services.values()) {
        const ttl = definition.Checks.find((c) => c.CheckID.endsWith(":ttl"));
        if (ttl && !(await this.registry.passTtl(ttl.CheckID, this.#controller.signal))) lost = true;
      }
    }
    this.#consulOk();
    if (lost) await this.#checkAgent();
  }

  #consulOk(): void {
    if (this.#consulReachable === false) this.logger.info("registrator", "Consul is reachable again");
    this.#consulReachable = true;
  }

  #permissionsOk(): void {
    if (this.#problem !== undefined) this.logger.info("registrator", "Consul accepts our registrations again");
    this.#problem = undefined;
  }

  #consulFailed(error: unknown): void {
    if (this.#controller.signal.aborted) return;
    const message = error instanceof Error ? error.message : String(error);
    // 403: the token lacks a permission. Said once per change of what is missing, not per retry.
    if (error instanceof ConsulRequestError && error.statusCode === 403) {
      const problem = permissionProblem(error.message);
      if (problem !== this.#problem) this.logger.error("registrator", problem, { hint: "give the token service:write on the services (and service:read, node:read) with --token-file" });
      this.#problem = problem;
      this.#consulReachable = true;
      return;
    }
    if (error instanceof ConsulRequestError && error.statusCode !== undefined) {
      this.logger.error("registrator", "Consul refused a request, retrying with backoff", { error: message });
      return;
    }
    if (this.#consulReachable !== false) this.logger.warn("registrator", "cannot reach Consul, queueing changes and retrying", { error: message });
    this.#consulReachable = false;
  }

  /** Stops following Docker; registrations stay unless deregisterOnStop. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#controller.abort();
      for (const s of this.#containers.values()) clearTimeout(s.retryTimer);
      await Promise.allSettled([...this.#tasks, ...[...this.#containers.values()].map((s) => s.running)]);
      if (this.options.deregisterOnStop) {
        for (const s of this.#containers.values()) {
          for (const serviceId of s.services.keys()) await this.registry.deregister(serviceId).catch(() => undefined);
        }
      }
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Consul 1.8's "Permission denied: Missing service:write on web" → "permission denied: missing service:write on web". */
export function permissionProblem(message: string): string {
  const detail = /Permission denied:?\s*(.*)$/i.exec(message)?.[1]?.trim();
  return `permission denied: ${detail ? detail.charAt(0).toLowerCase() + detail.slice(1) : "the token may not do this"}`;
}
