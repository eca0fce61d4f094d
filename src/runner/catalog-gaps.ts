import { CatalogServicesDependency } from "../dependency/catalog.js";
import type { Dependency } from "../dependency/dependency.js";

/**
 * Services a template asks for that the catalog does not list: a typo, a service not registered
 * yet, or, with ACLs, one the token may not read. Consul answers an empty list for each of these
 * (a token without `service:read` sees `[]` with 200), so an empty backend alone says nothing.
 * Cross-checked against `/v1/catalog/services`, which the same token filters the same way.
 */
export function missingServices(used: Iterable<Dependency>, catalogOf: (datacenter: string) => ReadonlySet<string> | undefined): string[] {
  const missing = new Set<string>();
  for (const dependency of used) {
    if (dependency.service === undefined) continue;
    const names = catalogOf(dependency.datacenter);
    if (names && !names.has(dependency.service)) missing.add(dependency.description);
  }
  return [...missing].sort();
}

type Read = (key: string) => { hasData: boolean; data: unknown };

/** The catalog service lists (one per datacenter) watched beside the templates' own queries. */
export class CatalogCheck {
  readonly #dependencies = new Map<string, CatalogServicesDependency>();
  readonly #keys = new Set<string>();
  // The names as a set, built once per answer (not once per dependency that asks).
  readonly #names = new WeakMap<object, ReadonlySet<string>>();

  constructor(
    private readonly read: Read,
    private readonly stale: boolean,
  ) {}

  /** The catalog list to watch for a datacenter. */
  dependency(datacenter: string): CatalogServicesDependency {
    let dependency = this.#dependencies.get(datacenter);
    if (!dependency) {
      dependency = new CatalogServicesDependency(datacenter, { stale: this.stale });
      this.#dependencies.set(datacenter, dependency);
      this.#keys.add(dependency.key);
    }
    return dependency;
  }

  isCatalogKey(key: string): boolean {
    return this.#keys.has(key);
  }

  /** Descriptions of the service queries in `used` whose service the catalog does not list. */
  missing(used: Iterable<Dependency>): string[] {
    return missingServices(used, (dc) => this.#namesOf(dc));
  }

  /** Whether a catalog change can change the answer for these queries: one of them is empty. */
  mayHaveGap(used: Iterable<Dependency>, reported: readonly string[]): boolean {
    if (reported.length > 0) return true;
    for (const d of used) {
      if (d.service === undefined) continue;
      const { hasData, data } = this.read(d.key);
      if (hasData && Array.isArray(data) && data.length === 0) return true;
    }
    return false;
  }

  #namesOf(datacenter: string): ReadonlySet<string> | undefined {
    const { hasData, data } = this.read(this.dependency(datacenter).key);
    if (!hasData || !Array.isArray(data)) return undefined;
    let names = this.#names.get(data);
    if (!names) this.#names.set(data, (names = new Set((data as { Name: unknown }[]).map((s) => String(s.Name)))));
    return names;
  }
}
