import { setMaxListeners } from "node:events";
import type { RegistratorOptions } from "../config/resolved.js";
import type { DockerEngine } from "../docker/client.js";
import type { ContainerInfo } from "../docker/container.js";
import { ContainerEventStream } from "../docker/event-stream.js";
import { logMs, type Logger } from "../observe/logger.js";
import type { Metrics } from "../observe/metrics.js";
import type { RegistratorStatus } from "../observe/status.js";
import { systemClock, type Clock } from "../time.js";
import type { ServiceRegistry } from "./agent-registry.js";
import { ConsulStanding } from "./consul-standing.js";
import { Ledger } from "./ledger.js";
import { Maintenance } from "./maintenance.js";
import { probe } from "./probe.js";
import { ReconcileQueue } from "./reconcile-queue.js";
import { deriveServices, type PlannedService, type ServiceDefinition } from "./service-model.js";

export interface RegistratorDeps {
  readonly docker: DockerEngine;
  readonly registry: ServiceRegistry;
  readonly logger: Logger;
  readonly metrics?: Metrics | undefined;
  readonly clock?: Clock;
}

/**
 * Docker → Consul. Each event, resync or retry for a container runs one reconcile of that
 * container: inspect it now, derive the services it should have, register what is missing or
 * changed, deregister what is left. The ReconcileQueue runs a container's reconciles one at a time
 * and retries failed ones; Maintenance does the periodic work; ContainerEventStream follows Docker.
 */
export class Registrator implements RegistratorStatus {
  readonly #docker: DockerEngine;
  readonly #registry: ServiceRegistry;
  readonly #logger: Logger;
  readonly #metrics: Metrics | undefined;
  readonly #clock: Clock;
  readonly #controller = new AbortController();
  readonly #ledger = new Ledger();
  readonly #queue: ReconcileQueue;
  readonly #standing: ConsulStanding;
  readonly #maintenance: Maintenance;
  readonly #tasks: Promise<void>[] = [];
  readonly #warned = new Map<string, string>();
  #closing: Promise<void> | undefined;

  constructor(
    deps: RegistratorDeps,
    private readonly options: RegistratorOptions,
  ) {
    this.#docker = deps.docker;
    this.#registry = deps.registry;
    this.#logger = deps.logger;
    this.#metrics = deps.metrics;
    this.#clock = deps.clock ?? systemClock;
    const signal = this.#controller.signal;
    setMaxListeners(0, signal);
    this.#standing = new ConsulStanding(deps.logger);
    this.#queue = new ReconcileQueue((id) => this.#reconcileAndSay(id), {
      backoff: { baseMs: 250, maxMs: 10_000 },
      signal,
      clock: this.#clock,
      settled: (id) => {
        if (this.#ledger.forgetIfEmpty(id)) this.#warned.delete(id);
      },
    });
    this.#maintenance = new Maintenance({ docker: deps.docker, registry: deps.registry, ledger: this.#ledger, standing: this.#standing, logger: deps.logger, signal, reconcile: (id) => this.#queue.request(id) });
  }

  /** Subscribes to Docker events, then syncs every running container, then follows the events. */
  async start(): Promise<void> {
    const events = new ContainerEventStream(this.#docker, this.#logger, this.#controller.signal, { clock: this.#clock, onReconnect: () => this.#metrics?.dockerReconnects.inc() });
    const { following } = await events.open({ event: (event) => void this.#queue.request(event.id), resync: () => this.#resync("reconnect") });
    this.#tasks.push(following);
    await this.#resync("start");
    if (this.options.resyncMs > 0) this.#every(this.options.resyncMs, () => this.#resync("periodic resync"));
    if (this.options.ttlSeconds > 0) this.#every(this.options.ttlRefreshMs, () => this.#maintenance.refreshTtls());
    this.#every(this.options.agentCheckMs, () => this.#maintenance.checkAgent());
  }

  /** A permission Consul refuses us, or undefined; /readyz and /status show it. */
  problem(): string | undefined {
    return this.#standing.problem;
  }

  /** What is registered now, by container. */
  registered(): Map<string, ServiceDefinition[]> {
    return this.#ledger.snapshot();
  }

  #every(ms: number, fn: () => Promise<void>): void {
    const signal = this.#controller.signal;
    this.#tasks.push(
      (async () => {
        while (await this.#clock.sleep(ms, signal)) await fn().catch((error: unknown) => this.#consulFailed(error));
      })(),
    );
  }

  async #resync(reason: string): Promise<void> {
    const signal = this.#controller.signal;
    let running: string[];
    try {
      running = await this.#docker.runningContainers(signal);
    } catch (error) {
      if (!signal.aborted) this.#logger.warn("docker", "cannot list containers", { reason, error: (error as Error).message });
      return;
    }
    const ids = new Set([...running, ...[...this.#ledger.containers()].map(([id]) => id)]);
    this.#logger.debug("registrator", "resync", { reason, containers: ids.size });
    await Promise.all([...ids].map((id) => this.#queue.request(id)));
    if (this.options.cleanup) await this.#maintenance.cleanup(new Set(running)).catch((error: unknown) => this.#consulFailed(error));
  }

  // Each reconcile's end is a debug line: what a test (or an operator) waits for to know it is done.
  async #reconcileAndSay(id: string): Promise<boolean> {
    const ok = await this.#reconcileOnce(id);
    this.#logger.debug("registrator", ok ? "reconciled" : "reconcile failed, retrying with backoff", { container: id.slice(0, 12), services: this.#ledger.count(id) });
    return ok;
  }

  /** One look at a container; false when it must be retried. */
  async #reconcileOnce(id: string): Promise<boolean> {
    const signal = this.#controller.signal;
    if (signal.aborted) return true;
    const started = this.#clock.now();
    let info: ContainerInfo | undefined;
    try {
      info = await this.#docker.inspect(id, signal);
    } catch (error) {
      if (!signal.aborted) this.#logger.warn("docker", "cannot inspect container", { container: id.slice(0, 12), error: (error as Error).message });
      return this.#failed();
    }
    const inspected = this.#clock.now();
    const desired = this.#desired(info);
    // registrator's --deregister on-success: a container that failed keeps its services.
    if (desired === "keep") return true;
    const services = this.#ledger.of(id);
    try {
      for (const planned of desired.values()) await this.#ensure(id, planned, { started, inspected });
      for (const [serviceId, registered] of services) {
        if (desired.has(serviceId)) continue;
        await this.#registry.deregister(serviceId, signal);
        services.delete(serviceId);
        this.#metrics?.registrations.inc({ action: "deregister" });
        this.#logger.info("registrator", "deregistered", { service: registered.definition.Name, id: serviceId, container: info?.name ?? id.slice(0, 12), exitCode: info?.running === false ? info.exitCode : undefined });
      }
      this.#standing.answered();
      if (desired.size > 0 || services.size > 0) this.#standing.accepted();
      return true;
    } catch (error) {
      if (signal.aborted) return true;
      this.#consulFailed(error);
      return this.#failed();
    }
  }

  #failed(): boolean {
    if (!this.#controller.signal.aborted) this.#metrics?.registrations.inc({ action: "error" });
    return false;
  }

  // Said once per container and set of warnings, not at every event or resync.
  #warn(info: ContainerInfo, warnings: readonly string[]): void {
    const key = warnings.join("\n");
    if (this.#warned.get(info.id) === key) return;
    this.#warned.set(info.id, key);
    for (const warning of warnings) this.#logger.warn("registrator", `container metadata refused: ${warning}`, { container: info.name });
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

  /** `at`: when this reconcile began and when its inspect answered (clock.now()), for the log. */
  async #ensure(id: string, planned: PlannedService, at: { started: number; inspected: number }): Promise<void> {
    const signal = this.#controller.signal;
    const spec = JSON.stringify(planned.definition);
    if (this.#ledger.of(id).get(planned.definition.ID)?.spec === spec) return;
    await this.#deregisterRenamed(planned.definition);
    const definition = structuredClone(planned.definition);
    // A new check starts critical and HTTP/TCP checks first run up to an interval later: probe now
    // so a healthy container is in passing-only queries at once, and a broken one is not.
    for (const check of definition.Checks) {
      const target = planned.probes.get(check.CheckID);
      if (target) check.Status = await probe(target, signal);
    }
    await this.#registry.register(definition, signal);
    for (const check of definition.Checks) {
      if (check.CheckID.endsWith(":docker-health") && check.Status) await this.#registry.updateTtl(check.CheckID, check.Status, signal);
    }
    this.#ledger.of(id).set(definition.ID, { definition, spec });
    this.#metrics?.registrations.inc({ action: "register" });
    // Where the time went: the inspect, then the registration (with any check probes).
    const timing = { inspectMs: logMs(at.inspected - at.started), reconcileMs: logMs(this.#clock.now() - at.started) };
    this.#logger.info("registrator", "registered", { service: definition.Name, id: definition.ID, address: definition.Address || undefined, port: definition.Port, container: id.slice(0, 12), ...timing });
  }

  /**
   * A service ID another container held (recreated under the same name: same ID) changes owner.
   * Consul 1.8 keeps a service's index when one of its IDs is re-registered under another name,
   * so blocking queries on the old name never see the instance leave. A container recreated
   * under its old name with a new SERVICE_NAME does exactly that (same ID): deregister the old
   * registration first, so our own registrations never trigger it.
   */
  async #deregisterRenamed(definition: ServiceDefinition): Promise<void> {
    for (const [containerId, services, old] of [...this.#ledger.holdersOf(definition.ID)]) {
      if (old.definition.Name !== definition.Name) {
        await this.#registry.deregister(definition.ID, this.#controller.signal);
        this.#logger.info("registrator", "service renamed: deregistered the old name first", { id: definition.ID, from: old.definition.Name, to: definition.Name, container: containerId.slice(0, 12) });
      }
      // The ID is the new container's now: the old one's late "die" must not deregister it.
      services.delete(definition.ID);
    }
  }

  #consulFailed(error: unknown): void {
    if (!this.#controller.signal.aborted) this.#standing.failed(error);
  }

  /** Stops following Docker; registrations stay unless deregisterOnStop. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#controller.abort();
      await Promise.allSettled([...this.#tasks, this.#queue.close()]);
      if (this.options.deregisterOnStop) {
        for (const serviceId of this.#ledger.serviceIds()) await this.#registry.deregister(serviceId).catch(() => undefined);
      }
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
