import { encodePath } from "../consul/path.js";
import type { ConsulResponse } from "../consul/client.js";
import { baseQuery, compareStrings, dependencyKey, splitDatacenter, type Dependency, type DependencyRequest, type QueryDefaults } from "./dependency.js";

export interface KvPair {
  Key: string;
  Value: string;
}

interface RawPair {
  Key: string;
  Value: string | null;
}

function decode(value: string | null): string {
  return value === null ? "" : Buffer.from(value, "base64").toString("utf8");
}

/** One KV key: its value, or `null` when the key does not exist. */
export class KvKeyDependency implements Dependency<string | null> {
  readonly key: string;
  readonly description: string;
  readonly blocking = true;
  readonly datacenter: string;
  readonly #path: string;
  constructor(
    arg: string,
    private readonly defaults: QueryDefaults,
  ) {
    [this.#path, this.datacenter] = splitDatacenter(arg.replace(/^\/+/, ""));
    this.key = dependencyKey("kv.key", arg);
    this.description = `key "${arg}"`;
  }
  request(): DependencyRequest {
    return { path: `/kv/${encodePath(this.#path)}`, query: baseQuery(this.datacenter, this.defaults), allowNotFound: true };
  }
  normalize(response: ConsulResponse<unknown>): string | null {
    const pairs = response.body as RawPair[] | undefined;
    const pair = pairs?.[0];
    return pair ? decode(pair.Value) : null;
  }
}

/** Every key under a prefix (`tree`), or only its top level (`ls`); keys relative to the prefix. */
export class KvListDependency implements Dependency<KvPair[]> {
  readonly key: string;
  readonly description: string;
  readonly blocking = true;
  readonly datacenter: string;
  readonly #prefix: string;
  constructor(
    arg: string,
    private readonly recursive: boolean,
    private readonly defaults: QueryDefaults,
  ) {
    const [prefix, dc] = splitDatacenter(arg.replace(/^\/+/, ""));
    this.#prefix = prefix === "" || prefix.endsWith("/") ? prefix : `${prefix}/`;
    this.datacenter = dc;
    this.key = dependencyKey(recursive ? "kv.tree" : "kv.ls", arg);
    this.description = `${recursive ? "tree" : "ls"} "${arg}"`;
  }
  request(): DependencyRequest {
    return { path: `/kv/${encodePath(this.#prefix)}`, query: { ...baseQuery(this.datacenter, this.defaults), recurse: true }, allowNotFound: true };
  }
  normalize(response: ConsulResponse<unknown>): KvPair[] {
    const pairs = (response.body ?? []) as RawPair[];
    return pairs
      .map((p) => ({ Key: p.Key.slice(this.#prefix.length), Value: decode(p.Value) }))
      .filter((p) => p.Key !== "" && !p.Key.endsWith("/") && (this.recursive || !p.Key.includes("/")))
      .sort((a, b) => compareStrings(a.Key, b.Key));
  }
}
