import { EventEmitter } from "node:events";
import { ConnectionLimitError, ConsulRequestError, TlsError } from "../errors.js";
import type { ConsulAddress } from "./address.js";
import { Http1Pool } from "./http1.js";
import { Http2Pool } from "./http2-pool.js";
import { describeTlsFailure, type ResolvedTls } from "./tls.js";
import { readHeader, readHeaderNumber, readIndex, refuseFilteredAnswer, searchOf, type Query, type RawAnswer } from "./wire.js";

/**
 * The one module that imports `consul`: its untyped edges (ctx emitter, raw requests) stay here.
 * GETs (every watch, every read) go straight through node:http(s), or node:http2 for HTTPS
 * agents: one request is one socket write and one JSON.parse, with nothing in between. The
 * `consul` package carries the writes (the registrator's agent API) and is loaded on the first.
 */

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
  /** A blocking query that may hold its connection for the whole wait (HTTP/1.1: its own lane). */
  readonly held?: boolean;
}

export interface ConsulClientOptions {
  readonly address: ConsulAddress;
  readonly token?: string;
  /** Upper bound on concurrent HTTP connections to the agent. */
  readonly maxConnections: number;
  readonly tls?: ResolvedTls | undefined;
  /** HTTPS agents: GETs (every blocking query) over HTTP/2 streams. On unless false. */
  readonly http2?: boolean;
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
  _put(opts: object): Promise<RawResponse>;
  destroy(): void;
}

/** The read side of the client: what a watch needs (unit tests of the loops give a scripted one). */
export type ConsulGetter = Pick<ConsulClient, "get">;

export class ConsulClient {
  #raw: Promise<RawClient> | undefined;
  readonly #h1: Http1Pool;
  readonly #token: string | undefined;
  readonly #address: string;
  readonly #tls: ResolvedTls | undefined;
  readonly #h2: Http2Pool | undefined;
  readonly #host: string;
  readonly #port: number;
  readonly #secure: boolean;
  #closed = false;

  constructor(options: ConsulClientOptions) {
    const { address } = options;
    const { tls } = options;
    this.#tls = tls;
    this.#h1 = new Http1Pool(address, tls, options.maxConnections);
    this.#token = options.token;
    this.#address = `${address.host}:${address.port}`;
    const host = address.host.includes(":") ? `[${address.host}]` : address.host;
    if (address.protocol === "https:" && options.http2 !== false) this.#h2 = new Http2Pool(`https://${host}:${address.port}`, tls);
    this.#host = address.host;
    this.#port = address.port;
    this.#secure = address.protocol === "https:";
  }

  #consul(): Promise<RawClient> {
    this.#raw ??= import("consul").then(({ default: Consul }) => new Consul({ host: this.#host, port: this.#port, secure: this.#secure, agent: this.#h1.agent }) as unknown as RawClient);
    return this.#raw;
  }

  /** Open TCP connections to the agent right now (busy and idle). */
  get connectionCount(): number {
    return this.#h1.connections + (this.#h2?.sessions ?? 0);
  }

  /** True when blocking queries are streams on shared HTTP/2 connections (HTTPS agents). */
  get multiplexed(): boolean {
    return this.#h2 !== undefined;
  }

  get address(): string {
    return this.#address;
  }

  async get<T>(path: string, options: RequestOptions = {}): Promise<ConsulResponse<T>> {
    options.signal?.throwIfAborted();
    const target = `/v1${path}${searchOf(options.query)}`;
    const headers: Record<string, string> = this.#token ? { "x-consul-token": this.#token } : {};
    let res: RawAnswer;
    try {
      res = await (this.#h2 ? this.#h2.get(target, headers, options.signal, options.timeoutMs ?? 0) : this.#h1.get(target, headers, options.signal, options.timeoutMs ?? 0, options.held));
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason;
      const raw = error as NodeJS.ErrnoException & { connectionLimit?: boolean };
      const described = this.#describe("GET", path, { name: "Error", message: raw.message, code: raw.code, isTimeout: raw.code === "ETIMEDOUT", cause: raw });
      if (raw.connectionLimit && !(described instanceof TlsError)) throw new ConnectionLimitError(`${described.message} (a new connection closed unanswered: the agent's limit of connections per client address is reached)`, undefined, { cause: raw });
      throw described;
    }
    const where = `GET ${this.#address}/v1${path}`;
    refuseFilteredAnswer(res.headers, where);
    const meta = { index: readIndex(res.headers), statusCode: res.status, lastContactMs: readHeaderNumber(res.headers, "x-consul-lastcontact") };
    if (res.status === 404 && options.allowNotFound) return { body: undefined as T, ...meta };
    if (res.status >= 400) {
      const message = `${where}: HTTP ${res.status} ${res.text.trim().split("\n")[0] ?? ""}`.trim();
      throw res.status === 429 ? new ConnectionLimitError(message, 429) : new ConsulRequestError(message, res.status);
    }
    const type = readHeader(res.headers, "content-type") ?? "";
    let body: unknown = res.text;
    if (type.includes("json") && res.text) {
      try {
        body = JSON.parse(res.text);
      } catch (error) {
        throw new ConsulRequestError(`${where}: the answer is not valid JSON`, undefined, { cause: error });
      }
    }
    return { body: body as T, ...meta };
  }

  async put<T>(path: string, body: unknown, options: RequestOptions = {}): Promise<ConsulResponse<T>> {
    return this.#put<T>(path, body, options);
  }

  async #put<T>(path: string, body: unknown, options: RequestOptions): Promise<ConsulResponse<T>> {
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
      const raw = await this.#consul();
      const res = await raw._put(request);
      refuseFilteredAnswer(res.headers, `PUT ${this.#address}/v1${path}`);
      return { body: res.body as T, index: readIndex(res.headers), statusCode: res.statusCode, lastContactMs: readHeaderNumber(res.headers, "x-consul-lastcontact") };
    } catch (error) {
      if (error instanceof ConsulRequestError) throw error;
      const raw = error as RawError;
      if (signal?.aborted) throw signal.reason;
      if (raw.isResponse && raw.response?.statusCode === 404 && options.allowNotFound) {
        return { body: undefined as T, index: readIndex(raw.response.headers), statusCode: 404, lastContactMs: 0 };
      }
      throw this.#describe("PUT", path, raw);
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }

  #describe(method: string, path: string, raw: RawError): ConsulRequestError | TlsError {
    const where = `${method} ${this.#address}/v1${path.split("?")[0]}`;
    const tls = describeTlsFailure(raw.code ?? (raw.cause as RawError | undefined)?.code, raw.message, this.#address, this.#tls);
    if (tls) return new TlsError(tls, { cause: raw });
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
    this.#h2?.close();
    this.#h1.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
