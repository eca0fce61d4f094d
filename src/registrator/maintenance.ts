import type { DockerEngine } from "../docker/client.js";
import type { Logger } from "../observe/logger.js";
import type { ServiceRegistry } from "./agent-registry.js";
import type { ConsulStanding } from "./consul-standing.js";
import type { Ledger } from "./ledger.js";

export interface MaintenanceDeps {
  readonly docker: DockerEngine;
  readonly registry: ServiceRegistry;
  readonly ledger: Ledger;
  readonly standing: ConsulStanding;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  /** Queues a reconcile of one container. */
  reconcile(containerId: string): Promise<void>;
}

/**
 * The registrator's periodic work beside the events: removing what no container backs any more,
 * noticing an agent that lost our services, and keeping TTL checks passing.
 */
export class Maintenance {
  constructor(private readonly deps: MaintenanceDeps) {}

  /** Deregisters this host's services whose container is gone (`--cleanup`). */
  async cleanup(running: ReadonlySet<string>): Promise<void> {
    const { registry, docker, ledger, logger, signal } = this.deps;
    const ours = ledger.serviceIds();
    for (const [serviceId, service] of await registry.managedServices(signal)) {
      if (ours.has(serviceId)) continue;
      const container = service.Meta?.["consulate-container"] ?? "";
      if ([...running].some((r) => r.startsWith(container))) continue;
      if (container && (await docker.inspect(container, signal).catch(() => "unknown"))) continue;
      await registry.deregister(serviceId, signal);
      logger.info("registrator", "cleaned up a service whose container is gone", { id: serviceId });
    }
  }

  /** Notices an agent that restarted or lost its state, and registers again what it lacks. */
  async checkAgent(): Promise<void> {
    const { registry, ledger, standing, logger, signal } = this.deps;
    const present = await registry.managedServices(signal);
    standing.answered();
    for (const [id, services] of ledger.containers()) {
      const missing = [...services.keys()].filter((sid) => !present.has(sid));
      if (missing.length === 0) continue;
      logger.warn("registrator", "the agent lost services, registering them again", { container: id.slice(0, 12), services: missing });
      for (const sid of missing) services.delete(sid);
      void this.deps.reconcile(id);
    }
  }

  /** Marks every TTL check passing; an unknown check means the agent lost its state. */
  async refreshTtls(): Promise<void> {
    const { registry, ledger, standing, signal } = this.deps;
    let lost = false;
    for (const [, services] of ledger.containers()) {
      for (const { definition } of services.values()) {
        const ttl = definition.Checks.find((c) => c.CheckID.endsWith(":ttl"));
        if (ttl && !(await registry.passTtl(ttl.CheckID, signal))) lost = true;
      }
    }
    standing.answered();
    if (lost) await this.checkAgent();
  }
}
