import { CatalogNodeDependency, CatalogNodesDependency, CatalogServicesDependency, DatacentersDependency } from "../dependency/catalog.js";
import { splitDatacenter, type Dependency, type QueryDefaults } from "../dependency/dependency.js";
import { HealthServiceDependency } from "../dependency/health-service.js";
import { KvKeyDependency, KvListDependency } from "../dependency/kv.js";
import type { DataKind } from "../template/scope.js";

// `services "@dc"` and `nodes "@dc"` (the @ may be left out).
const dcOf = (arg: string) => (arg.includes("@") ? splitDatacenter(arg)[1] : arg);

/** Maps what a template asked for to the Consul query that answers it. */
export function createDependency(kind: DataKind, arg: string, options: Readonly<Record<string, string>>, defaults: QueryDefaults): Dependency {
  switch (kind) {
    case "service":
      return new HealthServiceDependency(arg, { status: options.status, near: options.near, filter: options.filter, exact: options.exact }, defaults);
    case "services":
      return new CatalogServicesDependency(dcOf(arg), defaults);
    case "key":
    case "keyValue":
      return new KvKeyDependency(arg, defaults);
    case "ls":
      return new KvListDependency(arg, false, defaults);
    case "tree":
      return new KvListDependency(arg, true, defaults);
    case "nodes":
      return new CatalogNodesDependency(dcOf(arg), defaults);
    case "node":
      return new CatalogNodeDependency(arg, defaults);
    case "datacenters":
      return new DatacentersDependency();
  }
}

/**
 * Dependencies by what templates asked for, created once and shared by every render pass. Nested
 * maps rather than one composite key: the argument is usually a string the data already holds
 * (a service's Name), whose hash V8 keeps, so a lookup builds no string (5,000 lookups a pass).
 */
export class DependencyCache {
  readonly #byKind = new Map<string, Map<string, Map<string, Dependency>>>();

  constructor(private readonly defaults: QueryDefaults) {}

  get(kind: DataKind, arg: string, options: Readonly<Record<string, string>>): Dependency {
    // keyOrDefault and keyExists read the same key as key.
    const family = kind === "keyValue" ? "key" : kind;
    let byArg = this.#byKind.get(family);
    if (!byArg) this.#byKind.set(family, (byArg = new Map<string, Map<string, Dependency>>()));
    let byOptions = byArg.get(arg);
    if (!byOptions) byArg.set(arg, (byOptions = new Map<string, Dependency>()));
    let optionsKey = "";
    for (const name in options) optionsKey += `\u0000${name}=${options[name]}`;
    let dependency = byOptions.get(optionsKey);
    if (!dependency) byOptions.set(optionsKey, (dependency = createDependency(kind, arg, options, this.defaults)));
    return dependency;
  }
}

/** Parses what a template asks for as the render pass will, without data: `status="bogus"` throws. */
export function checkLookup(kind: DataKind, arg: string, options: Readonly<Record<string, string>>): void {
  createDependency(kind, arg, options, { stale: false });
}
