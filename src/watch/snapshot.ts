import type { ConsulGetter, ConsulResponse } from "../consul/client.js";
import { encodePath } from "../consul/path.js";
import type { Query } from "../consul/wire.js";

/**
 * The first answers of many service watches, cut from one read of the whole catalog.
 *
 * A template over every service starts with one `/v1/health/service/<name>` per service: at
 * 1,000 services, 1,000 requests that each cost the agent a query and an encoding. Consul 1.8's
 * `/v1/internal/ui/nodes` returns every node with its services and checks in one answer, the
 * same structs a health read returns, under one index X. From it each service's health answer is
 * rebuilt the way the agent builds it: every instance of that name (matched without case, as the
 * agent's index matches), with its node, and the node's own checks followed by the instance's (in
 * the dump's order, which is the agent's: by check ID). The
 * watches then start from X: a blocking query with index X returns at once if the service changed
 * after the snapshot, and waits otherwise, so nothing between the snapshot and the watch is lost.
 *
 * A service the snapshot does not show (none registered, or hidden from the token) is left to its
 * own read, so whatever that read says (nothing, or a denial) is what the template sees.
 */

interface NodeInfo {
  ID?: string;
  Node: string;
  Address: string;
  TaggedAddresses?: Record<string, string> | null;
  Meta?: Record<string, string> | null;
  Services?: { ID: string; Service: string }[] | null;
  Checks?: { ServiceID: string }[] | null;
}

export interface Snapshot {
  /** X-Consul-Index of the snapshot: every change up to it is in it. */
  readonly index: number;
  /** X-Consul-LastContact: how stale the snapshot is, for a stale read. */
  readonly lastContactMs: number;
  /** The health answer for one service, or undefined when the snapshot does not show it. */
  answerFor(service: string): ConsulResponse<unknown> | undefined;
}

/** Fewer new service watches than this read one by one, without asking whether a snapshot pays. */
export const snapshotMinimum = 16;

/**
 * Whether `wanted` services are worth one read of the whole catalog: the snapshot's cost follows
 * the catalog's size, the reads it replaces follow `wanted`. The size is `known` (a template's
 * list of services, already watched) or one read of that list (`/v1/catalog/services`).
 */
export async function worthASnapshot(client: ConsulGetter, query: Query, wanted: number, known: number | undefined, signal: AbortSignal): Promise<boolean> {
  let total = known;
  if (total === undefined) {
    const { body } = await client.get<Record<string, unknown> | null>("/catalog/services", { query, signal, timeoutMs: 10_000 });
    total = body && typeof body === "object" ? Object.keys(body).length : 0;
  }
  return wanted * 4 >= total;
}

export async function readSnapshot(client: ConsulGetter, datacenter: string, query: Query, signal: AbortSignal): Promise<Snapshot> {
  const dump = await client.get<unknown>("/internal/ui/nodes", { query, signal, timeoutMs: 60_000 });
  if (!Array.isArray(dump.body)) throw new Error("/v1/internal/ui/nodes: expected a list");
  const nodes = (dump.body as NodeInfo[]).filter((n) => n && typeof n.Node === "string" && Array.isArray(n.Services));
  // The dump's nodes carry no datacenter; a health answer's do. Ask one node of it which.
  const dc = datacenter || (await nodeDatacenter(client, nodes, query, signal));
  const byName = new Map<string, object[]>();
  for (const node of nodes) {
    const { Services: services, Checks: checks, ...rest } = node;
    const head = { ID: rest.ID, Node: rest.Node, Address: rest.Address, Datacenter: dc, TaggedAddresses: rest.TaggedAddresses ?? null, Meta: rest.Meta ?? null };
    // Grouped once per node: a node with thousands of services has thousands of checks too.
    const checksOf = new Map<string, object[]>();
    for (const check of checks ?? []) {
      if (!check || typeof check.ServiceID !== "string") continue;
      const list = checksOf.get(check.ServiceID);
      if (list) list.push(check);
      else checksOf.set(check.ServiceID, [check]);
    }
    const nodeChecks = checksOf.get("") ?? [];
    for (const service of services ?? []) {
      if (!service || typeof service.Service !== "string") continue;
      const name = service.Service.toLowerCase();
      let list = byName.get(name);
      if (!list) byName.set(name, (list = []));
      const own = service.ID === "" ? [] : (checksOf.get(service.ID) ?? []);
      list.push({ Node: head, Service: service, Checks: [...nodeChecks, ...own] });
    }
  }
  return {
    index: dump.index,
    lastContactMs: dump.lastContactMs,
    answerFor(service) {
      const body = byName.get(service.toLowerCase());
      return body && { body, index: dump.index, statusCode: 200, lastContactMs: dump.lastContactMs };
    },
  };
}

async function nodeDatacenter(client: ConsulGetter, nodes: NodeInfo[], query: Query, signal: AbortSignal): Promise<string> {
  const node = nodes.find((n) => (n.Services?.length ?? 0) > 0);
  if (!node) return "";
  const { body } = await client.get<{ Node?: { Datacenter?: unknown } } | null>(`/catalog/node/${encodePath(node.Node)}`, { query, signal, timeoutMs: 10_000 });
  const dc = body?.Node?.Datacenter;
  if (typeof dc !== "string" || dc === "") throw new Error("/v1/catalog/node: no datacenter in the answer");
  return dc;
}
