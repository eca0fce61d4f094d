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
