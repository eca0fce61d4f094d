import type { ConsulResponse } from "../consul/client.js";
import type { Query } from "../consul/wire.js";

export interface DependencyRequest {
  readonly path: string;
  readonly query: Query;
  readonly allowNotFound?: boolean;
}

/**
 * One query against Consul that templates can use. Identified by `key`, a canonical string that
 * includes every argument, so templates asking the same question share one watch.
 */
export interface Dependency<T = unknown> {
  readonly key: string;
  /** For humans: `service "web"`, `key "app/config"`. */
  readonly description: string;
  /** False for endpoints that do not support blocking queries: they are polled. */
  readonly blocking: boolean;
  request(): DependencyRequest;
  normalize(response: ConsulResponse<unknown>): T;
  /**
   * A request whose `X-Consul-Index` moves exactly when this dependency's data may have changed,
   * with a tiny body. Used when there are more watches than the connection budget allows.
   */
  probe?(): DependencyRequest;
  /** The service this dependency reads, for dependencies that read one service's instances. */
  readonly service?: string;
  /**
   * Set when the answer is a plain health read of this service (no tag, near or filter), which a
   * snapshot of the whole catalog can stand in for (watch/snapshot.ts).
   */
  readonly snapshotService?: string | undefined;
  /** Set on the list of a datacenter's services: how many services its data name. */
  servicesListed?(data: unknown): number;
  /** Datacenter the dependency reads from ("" = the agent's). */
  readonly datacenter: string;
}

/** Options every query shares. */
export interface QueryDefaults {
  /** Allow stale reads (set when --max-stale > 0). */
  readonly stale: boolean;
}

export function baseQuery(datacenter: string, defaults: QueryDefaults): Query {
  return { dc: datacenter || undefined, stale: defaults.stale || undefined };
}

/** Builds the canonical key: `kind(arg|opt=value|…)`, with options sorted and empty ones dropped. */
export function dependencyKey(kind: string, arg: string, options: Record<string, string | undefined> = {}): string {
  const parts = Object.entries(options)
    .filter(([, v]) => v !== undefined && v !== "")
    // Option names are ASCII: code-unit order, without localeCompare's collation cost.
    .sort(([a], [b]) => compareStrings(a, b))
    .map(([k, v]) => `${k}=${v}`);
  return `${kind}(${[arg, ...parts].join("|")})`;
}

export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `name@dc` → [name, dc] (dc "" for the agent's own); the last `@` separates, so a KV key may hold one. */
export function splitDatacenter(arg: string): [string, string] {
  const at = arg.lastIndexOf("@");
  return at < 0 ? [arg, ""] : [arg.slice(0, at), arg.slice(at + 1)];
}
