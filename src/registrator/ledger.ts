import type { ServiceDefinition } from "./service-model.js";

export interface Registered {
  readonly definition: ServiceDefinition;
  /** The definition before probes set check states: what decides whether to re-register. */
  readonly spec: string;
}

/** What this registrator has registered, by container and service ID. */
export class Ledger {
  readonly #containers = new Map<string, Map<string, Registered>>();

  /** The services of one container (created empty on first use). */
  of(containerId: string): Map<string, Registered> {
    let services = this.#containers.get(containerId);
    if (!services) {
      services = new Map();
      this.#containers.set(containerId, services);
    }
    return services;
  }

  /** How many services a container has registered. */
  count(containerId: string): number {
    return this.#containers.get(containerId)?.size ?? 0;
  }

  containers(): IterableIterator<[string, Map<string, Registered>]> {
    return this.#containers.entries();
  }

  /** Forgets a container that has nothing registered. */
  forgetIfEmpty(containerId: string): boolean {
    if ((this.#containers.get(containerId)?.size ?? 0) > 0) return false;
    return this.#containers.delete(containerId);
  }

  serviceIds(): Set<string> {
    return new Set([...this.#containers.values()].flatMap((services) => [...services.keys()]));
  }

  /** Every container's registration under this service ID (a container recreated under its old name shares it). */
  *holdersOf(serviceId: string): Generator<[containerId: string, services: Map<string, Registered>, registered: Registered]> {
    for (const [containerId, services] of this.#containers) {
      const registered = services.get(serviceId);
      if (registered) yield [containerId, services, registered];
    }
  }

  snapshot(): Map<string, ServiceDefinition[]> {
    return new Map([...this.#containers].map(([id, services]) => [id, [...services.values()].map((r) => r.definition)]));
  }
}
