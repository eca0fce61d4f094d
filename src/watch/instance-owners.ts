/**
 * Which watched service queries hold each instance, to catch an instance that moved to another
 * service name. Consul 1.8 keeps the old service's `X-Consul-Index` when an instance ID is
 * re-registered under a new name: a blocking query on the old service neither wakes nor (by its
 * index) admits that its answer changed. The new service's answer does arrive, and it names the
 * instance: any other service query still holding that instance is stale and is read again.
 */
export class InstanceOwners {
  /** Instance (datacenter, node, service ID) → keys of the queries that hold it. */
  readonly #owners = new Map<string, Set<string>>();
  /** Query key → its service name and the instances it holds. */
  readonly #held = new Map<string, { service: string; instances: readonly string[] }>();

  /**
   * Records what one query holds now. Returns the queries of *other* services that still hold
   * one of these instances: their data is stale.
   */
  update(key: string, service: string, instances: readonly string[]): string[] {
    this.remove(key);
    this.#held.set(key, { service, instances });
    const stale = new Set<string>();
    for (const instance of instances) {
      let owners = this.#owners.get(instance);
      if (!owners) this.#owners.set(instance, (owners = new Set()));
      for (const other of owners) if (this.#held.get(other)?.service !== service) stale.add(other);
      owners.add(key);
    }
    return [...stale];
  }

  remove(key: string): void {
    const held = this.#held.get(key);
    if (!held) return;
    this.#held.delete(key);
    for (const instance of held.instances) {
      const owners = this.#owners.get(instance);
      owners?.delete(key);
      if (owners?.size === 0) this.#owners.delete(instance);
    }
  }
}

const text = (v: unknown) => (typeof v === "string" ? v : v && typeof v === "object" && "raw" in v ? String((v).raw) : String(v));

/** Instance identities of a health-service answer (as normalized for templates). */
export function instancesOf(data: unknown, datacenter: string): string[] {
  if (!Array.isArray(data)) return [];
  return data.map((i: { Node?: unknown; ID?: unknown }) => `${datacenter}\u0000${text(i.Node)}\u0000${text(i.ID)}`);
}
