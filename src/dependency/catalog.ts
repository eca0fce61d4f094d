import { encodePath } from "../consul/path.js";
import type { ConsulResponse } from "../consul/client.js";
import { baseQuery, compareStrings, dependencyKey, splitDatacenter, type Dependency, type DependencyRequest, type QueryDefaults } from "./dependency.js";

export interface CatalogService {
  Name: string;
  Tags: string[];
}

/** `(services)` / `(services "@dc")`: every service in the catalog, whatever its health. */
export class CatalogServicesDependency implements Dependency<CatalogService[]> {
  readonly key: string;
  readonly description: string;
  readonly blocking = true;
  constructor(
    readonly datacenter: string,
    private readonly defaults: QueryDefaults,
  ) {
    this.key = dependencyKey("catalog.services", datacenter ? `@${datacenter}` : "");
    this.description = `services${datacenter ? ` "@${datacenter}"` : ""}`;
  }
  request(): DependencyRequest {
    return { path: "/catalog/services", query: baseQuery(this.datacenter, this.defaults) };
  }
  normalize(response: ConsulResponse<unknown>): CatalogService[] {
    const body = (response.body ?? {}) as Record<string, string[] | null>;
    return Object.entries(body)
      .map(([Name, tags]) => ({ Name, Tags: [...new Set(tags ?? [])].sort(compareStrings) }))
      .sort((a, b) => compareStrings(a.Name, b.Name));
  }
  servicesListed(data: unknown): number {
    return Array.isArray(data) ? data.length : 0;
  }
}

export interface CatalogNode {
  ID: string;
  Node: string;
  Address: string;
  Datacenter: string;
  TaggedAddresses: Record<string, string>;
  Meta: Record<string, string>;
}

/** `(nodes)` / `(nodes "@dc")`, sorted by name. */
export class CatalogNodesDependency implements Dependency<CatalogNode[]> {
  readonly key: string;
  readonly description: string;
  readonly blocking = true;
  constructor(
    readonly datacenter: string,
    private readonly defaults: QueryDefaults,
  ) {
    this.key = dependencyKey("catalog.nodes", datacenter ? `@${datacenter}` : "");
    this.description = `nodes${datacenter ? ` "@${datacenter}"` : ""}`;
  }
  request(): DependencyRequest {
    return { path: "/catalog/nodes", query: baseQuery(this.datacenter, this.defaults) };
  }
  normalize(response: ConsulResponse<unknown>): CatalogNode[] {
    return ((response.body ?? []) as CatalogNode[])
      .map(({ ID, Node, Address, Datacenter, TaggedAddresses, Meta }) => ({ ID, Node, Address, Datacenter, TaggedAddresses: TaggedAddresses ?? {}, Meta: Meta ?? {} }))
      .sort((a, b) => compareStrings(a.Node, b.Node));
  }
}

export interface NodeDetail {
  Node: CatalogNode;
  Services: { ID: string; Name: string; Tags: string[]; Address: string; Port: number; Meta: Record<string, string> }[];
}

interface RawNodeDetail {
  Node: CatalogNode;
  Services: Record<string, { ID: string; Service: string; Tags: string[] | null; Address: string; Port: number; Meta: Record<string, string> | null }>;
}

/** `(node "name")`: one node and its services, or null when there is no such node. */
export class CatalogNodeDependency implements Dependency<NodeDetail | null> {
  readonly key: string;
  readonly description: string;
  readonly blocking = true;
  readonly datacenter: string;
  readonly #name: string;
  constructor(
    arg: string,
    private readonly defaults: QueryDefaults,
  ) {
    const [name, dc] = splitDatacenter(arg);
    this.#name = name;
    this.datacenter = dc;
    this.key = dependencyKey("catalog.node", arg);
    this.description = `node "${arg}"`;
  }
  request(): DependencyRequest {
    return { path: `/catalog/node/${encodePath(this.#name)}`, query: baseQuery(this.datacenter, this.defaults) };
  }
  normalize(response: ConsulResponse<unknown>): NodeDetail | null {
    const body = response.body as RawNodeDetail | null | undefined;
    if (!body) return null;
    const services = Object.values(body.Services ?? {})
      .map((s) => ({ ID: s.ID, Name: s.Service, Tags: s.Tags ?? [], Address: s.Address || body.Node.Address, Port: s.Port, Meta: s.Meta ?? {} }))
      .sort((a, b) => compareStrings(a.Name, b.Name) || compareStrings(a.ID, b.ID));
    return { Node: { ...body.Node, TaggedAddresses: body.Node.TaggedAddresses ?? {}, Meta: body.Node.Meta ?? {} }, Services: services };
  }
}

/** `(datacenters)`: not a blocking endpoint in Consul, so it is polled. */
export class DatacentersDependency implements Dependency<string[]> {
  readonly key = dependencyKey("catalog.datacenters", "");
  readonly description = "datacenters";
  readonly blocking = false;
  readonly datacenter = "";
  request(): DependencyRequest {
    return { path: "/catalog/datacenters", query: {} };
  }
  normalize(response: ConsulResponse<unknown>): string[] {
    return [...((response.body ?? []) as string[])].sort(compareStrings);
  }
}
