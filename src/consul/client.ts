import { EventEmitter } from "node:events";
import http from "node:http";
import https from "node:https";
import Consul from "consul";
import { ConsulRequestError } from "../errors.js";
import type { ConsulAddress } from "../config/consul-address.js";

/** The one module that imports `consul`: its untyped edges (ctx emitter, raw requests) stay here. */

export type Query = Record<string, string | number | boolean | undefined>;

export interface ConsulResponse<T> {
  readonly body: T;
  /** `X-Consul-Index`, 0 when the endpoint does not send one. */
  readonly index: number;
  readonly statusCode: number;
  /** `X-Consul-LastContact`: how stale a stale read is, in ms. */
  readonly lastContactMs: number;
}

export interface RequestOptions {
  readonly query?: Query;
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
  /** Resolve a 404 as `{ statusCode: 404, body: undefined }` instead of rejecting (KV reads). */
  readonly allowNotFound?: boolean;
}

export interface ConsulClientOptions {
  readonly address: ConsulAddress;
  readonly token?: string;
  /** Upper bound on concurrent HTTP connections to the agent. */
  readonly maxConnections: number;
}

interface RawResponse {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  body?: unknown;
}

interface RawError extends Error {
  isResponse?: boolean;
  isAbort?: boolean;
  isTimeout?: boolean;
  response?: RawResponse;
  code?: string;
}

interface RawClient {
  _get(opts: object): Promise<RawResponse>;
  _put(opts: object): Promise<RawResponse>;
  destroy(): void;
}

export class ConsulClient {
  readonly #raw: RawClient;
  readonly #agent: http.Agent;
  readonly #token: string | undefined;
  readonly #address: string;
  #closed = false;

  constructor(options: ConsulClientOptions) {
    const { address } = options;
    const AgentClass = address.protocol === "https:" ? https.Agent : http.Agent;
    this.#agent = new AgentClass({
      keepAlive: true,
      maxSockets: options.maxConnections,
      maxFreeSockets: options.maxConnections,
      scheduling: "lifo",
    });
    this.#token = options.token;
    this.#address = `${address.host}:${address.port}`;
    this.#raw = new Consul({
      host: address.host,
      port: address.port,
      secure: address.protocol === "https:",
      agent: this.#agent,
    }) as unknown as RawClient;
  }

  /** Open TCP connections to the agent right now (busy and idle). */
  get connectionCount(): number {
    const count = (pool: NodeJS.ReadOnlyDict<unknown[]>) =>
      Object.values(pool).reduce((n, list) => n + (list?.length ?? 0), 0);
    return count(this.#agent.sockets) + count(this.#agent.freeSockets);
  }

  get address(): string {
    return this.#address;
  }

  async get<T>(path: string, options: RequestOptions = {}): Promise<ConsulResponse<T>> {
    return this.#request<T>("GET", path, undefined, options);
  }

  async put<T>(path: string, body: unknown, options: RequestOptions = {}): Promise<ConsulResponse<T>> {
    return this.#request<T>("PUT", path, body, options);
  }

  async #request<T>(method: "GET" | "PUT", path: string, body: unknown, options: RequestOptions): Promise<ConsulResponse<T>> {
    const { signal } = options;
    signal?.throwIfAborted();
    // node-consul cancels a request when its ctx emitter emits "cancel": adapt the AbortSignal to it.
    const ctx = new EventEmitter();
    const onAbort = () => ctx.emit("cancel");
    signal?.addEventListener("abort", onAbort, { once: true });
    const query = Object.fromEntries(
      Object.entries(options.query ?? {})
        .filter(([, v]) => v !== undefined && v !== false)
        .map(([k, v]) => [k, v === true ? "" : String(v)]),
    );
    const headers: Record<string, string> = this.#token ? { "x-consul-token": this.#token } : {};
    const request = { path, query, headers, ctx, timeout: options.timeoutMs ?? 0, ...(body === undefined ? {} : { body, type: "json" }) };
    try {
      const res = await (method === "GET" ? this.#raw._get(request) : this.#raw._put(request));
      // Newer agents say when the token hid part of an answer: a partial view is not data.
      if (readHeader(res.headers, "x-consul-results-filtered-by-acls") === "true") {
        throw new ConsulRequestError(`${method} ${this.#address}/v1${path}: results filtered by ACLs (the token may not read all of it); give the token read access`, 403);
      }
      return { body: res.body as T, index: readIndex(res.headers), statusCode: res.statusCode, lastContactMs: readHeaderNumber(res.headers, "x-consul-lastcontact") };
    } catch (error) {
      if (error instanceof ConsulRequestError) throw error;
      const raw = error as RawError;
      if (signal?.aborted) throw signal.reason;
      if (raw.isResponse && raw.response?.statusCode === 404 && options.allowNotFound) {
        return { body: undefined as T, index: readIndex(raw.response.headers), statusCode: 404, lastContactMs: 0 };
      }
      throw this.#describe(method, path, raw);
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }

  #describe(method: string, path: string, raw: RawError): ConsulRequestError {
    const where = `${method} ${this.#address}/v1${path.split("?")[0]}`;
    if (raw.isResponse && raw.response) {
      const text = typeof raw.response.body === "string" ? raw.response.body.trim().split("\n")[0] : raw.message;
      return new ConsulRequestError(`${where}: HTTP ${raw.response.statusCode} ${text ?? ""}`.trim(), raw.response.statusCode, { cause: raw });
    }
    if (raw.isTimeout) return new ConsulRequestError(`${where}: timed out`, undefined, { cause: raw });
    const code = raw.code ?? (raw.cause as RawError | undefined)?.code;
    return new ConsulRequestError(`${where}: ${code === "ECONNREFUSED" ? "connection refused" : (code ?? raw.message)}`, undefined, { cause: raw });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#agent.destroy();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

function readIndex(headers: RawResponse["headers"]): number {
  return readHeaderNumber(headers, "x-consul-index");
}

function readHeader(headers: RawResponse["headers"], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function readHeaderNumber(headers: RawResponse["headers"], name: string): number {
  const n = Number(readHeader(headers, name));
  return Number.isFinite(n) ? n : 0;
}

/** Encodes each segment of a KV key or service name for use in a URL path. */
export function encodePath(...segments: string[]): string {
  return segments.map((s) => s.split("/").map(encodeURIComponent).join("/")).join("/");
}
