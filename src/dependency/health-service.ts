import { encodePath } from "../consul/path.js";
import type { ConsulResponse } from "../consul/client.js";
import { ConfigError, ConsulRequestError } from "../errors.js";
import { baseQuery, compareStrings, dependencyKey, type Dependency, type DependencyRequest, type QueryDefaults } from "./dependency.js";
import { parseServiceArg } from "./parse-service-arg.js";

export type HealthStatus = "passing" | "warning" | "critical";

/** What a template sees for one instance: consul-template's field names. */
export interface ServiceInstance {
  ID: string;
  Name: string;
  Address: string;
  Port: number;
  Tags: string[];
  Meta: Record<string, string>;
  Node: string;
  NodeAddress: string;
  NodeMeta: Record<string, string>;
  Datacenter: string;
  Status: HealthStatus;
  Checks: { CheckID: string; Name: string; Status: string; Output: string; ServiceID: string }[];
}

interface RawEntry {
  Node: { Node: string; Address: string; Datacenter: string; Meta: Record<string, string> | null };
  Service: { ID: string; Service: string; Address: string; Port: number; Tags: string[] | null; Meta: Record<string, string> | null };
  Checks: { CheckID: string; Name: string; Status: string; Output: string; ServiceID: string }[];
}

export interface ServiceOptions {
  status?: string;
  /** The argument is the exact service name: no `tag.` or `@dc` parsing (names with dots). */
  exact?: string;
  near?: string;
  filter?: string;
}

const statusRank: Record<string, number> = { passing: 0, warning: 1, critical: 2, maintenance: 2 };

/** The health of an instance is its worst check; maintenance counts as critical. */
export function aggregateStatus(checks: readonly { Status: string }[]): HealthStatus {
  const worst = Math.max(0, ...checks.map((c) => statusRank[c.Status] ?? 2));
  return worst === 0 ? "passing" : worst === 1 ? "warning" : "critical";
}

function parseStatusOption(text: string | undefined): ReadonlySet<HealthStatus> | "any" {
  if (text === undefined || text === "") return new Set<HealthStatus>(["passing"]);
  if (text.trim() === "any") return "any";
  const wanted = text.split(",").map((s) => s.trim());
  for (const s of wanted) {
    if (!(s in statusRank) || s === "maintenance") {
      throw new ConfigError(`service: status="${text}": expected "any" or a list of passing, warning, critical`);
    }
  }
  return new Set(wanted as HealthStatus[]);
}

// Matches nothing: the probe returns `[]` but still carries this service's own X-Consul-Index.
const probeFilter = 'Service.ID == "\u0001consulate-probe"';

/** `(service "[tag.]name[@dc]" status=… near=… filter=…)`: healthy instances, sorted by Node then ID. */
export class HealthServiceDependency implements Dependency<ServiceInstance[]> {
  readonly key: string;
  readonly description: string;
  readonly blocking = true;
  readonly datacenter: string;
  readonly service: string;
  readonly snapshotService: string | undefined;
  readonly #tag: string | undefined;
  readonly #statuses: ReadonlySet<HealthStatus> | "any";
  readonly #options: ServiceOptions;
  readonly #defaults: QueryDefaults;

  constructor(arg: string, options: ServiceOptions, defaults: QueryDefaults) {
    const exact = options.exact === "true";
    const parsed = exact ? { name: arg, datacenter: "", tag: undefined } : parseServiceArg(arg);
    this.service = parsed.name;
    this.#tag = parsed.tag;
    this.datacenter = parsed.datacenter;
    this.#statuses = parseStatusOption(options.status);
    this.#options = options;
    this.#defaults = defaults;
    this.snapshotService = this.#tag === undefined && !options.near && !options.filter ? this.service : undefined;
    const status = this.#statuses === "any" ? "any" : [...this.#statuses].sort().join(",");
    this.key = dependencyKey("health.service", exact ? arg : arg.trim(), { status, near: options.near, filter: options.filter, exact: exact ? "true" : undefined });
    this.description = `service "${arg.trim()}"`;
  }

  request(): DependencyRequest {
    const query = { ...baseQuery(this.datacenter, this.#defaults), tag: this.#tag, near: this.#options.near, filter: this.#options.filter };
    return { path: `/health/service/${encodePath(this.service)}`, query };
  }

  probe(): DependencyRequest {
    return { path: `/health/service/${encodePath(this.service)}`, query: { ...baseQuery(this.datacenter, this.#defaults), filter: probeFilter } };
  }

  normalize(response: ConsulResponse<unknown>): ServiceInstance[] {
    if (response.body !== undefined && !Array.isArray(response.body)) throw new ConsulRequestError(`${this.description}: expected a list from Consul, got ${typeof response.body}`, response.statusCode);
    const entries = (response.body ?? []) as RawEntry[];
    const instances = entries.map(toInstance).filter((i) => this.#statuses === "any" || this.#statuses.has(i.Status));
    // near= keeps Consul's round-trip order; otherwise a stable order so output does not churn.
    if (this.#options.near) return instances;
    return instances.sort((a, b) => compareStrings(a.Node, b.Node) || compareStrings(a.ID, b.ID));
  }
}

function toInstance(entry: RawEntry): ServiceInstance {
  const { Node: node, Service: service, Checks: checks } = entry;
  return {
    ID: service.ID,
    Name: service.Service,
    Address: service.Address || node.Address,
    Port: service.Port,
    Tags: [...new Set(service.Tags ?? [])],
    Meta: service.Meta ?? {},
    Node: node.Node,
    NodeAddress: node.Address,
    NodeMeta: node.Meta ?? {},
    Datacenter: node.Datacenter,
    Status: aggregateStatus(checks),
    Checks: checks.map(({ CheckID, Name, Status, Output, ServiceID }) => ({ CheckID, Name, Status, Output, ServiceID })),
  };
}
