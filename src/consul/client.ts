import { EventEmitter } from "node:events";
import http from "node:http";
import https from "node:https";
import { ConsulRequestError, TlsError } from "../errors.js";
import type { ConsulAddress } from "./address.js";
import type { ResolvedTls } from "./tls.js";
import { Http2Pool } from "./http2-pool.js";

/**
 * The one module that imports `consul`: its untyped edges (ctx emitter, raw requests) stay here.
 * GETs (every watch, every read) go straight through node:http(s), or node:http2 for HTTPS
 * agents: one request is one socket write and one JSON.parse, with nothing in between. The
 * `consul` package carries the writes (the registrator's agent API) and is loaded on the first.
 */

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

export class ConsulClient {
  #raw: Promise<RawClient> | undefined;
  readonly #agent: http.Agent;
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
    const pool = { keepAlive: true, maxSockets: options.maxConnections, maxFreeSockets: options.maxConnections, scheduling: "lifo" as const };
    const { tls } = options;
    this.#tls = tls;
    this.#agent =
      address.protocol === "https:"
        ? new https.Agent({ ...pool, ca: tls?.ca as Buffer[] | undefined, cert: tls?.cert, key: tls?.key, servername: tls?.serverName, rejectUnauthorized: !tls?.skipVerify })
        : new http.Agent(pool);
    this.#token = options.token;
    this.#address = `${address.host}:${address.port}`;
    const host = address.host.includes(":") ? `[${address.host}]` : address.host;
    if (address.protocol === "https:" && options.http2 !== false) this.#h2 = new Http2Pool(`https://${host}:${address.port}`, tls);
    this.#host = address.host;
    this.#port = address.port;
    this.#secure = address.protocol === "https:";
  }

  #consul(): Promise<RawClient> {
    this.#raw ??= import("consul").then(({ default: Consul }) => new Consul({ host: this.#host, port: this.#port, secure: this.#secure, agent: this.#agent }) as unknown as RawClient);
    return this.#raw;
  }

  /** Open TCP connections to the agent right now (busy and idle). */
  get connectionCount(): number {
    const count = (pool: NodeJS.ReadOnlyDict<unknown[]>) =>
      Object.values(pool).reduce((n, list) => n + (list?.length ?? 0), 0);
    return count(this.#agent.sockets) + count(this.#agent.freeSockets) + (this.#h2?.sessions ?? 0);
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
      res = await (this.#h2 ? this.#h2.get(target, headers, options.signal, options.timeoutMs ?? 0) : this.#getH1(target, headers, options.signal, options.timeoutMs ?? 0));
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason;
      const raw = error as NodeJS.ErrnoException;
      throw this.#describe("GET", path, { name: "Error", message: raw.message, code: raw.code, isTimeout: raw.code === "ETIMEDOUT", cause: raw });
    }
    const where = `GET ${this.#address}/v1${path}`;
    refuseFilteredAnswer(res.headers, where);
    const meta = { index: readIndex(res.headers), statusCode: res.status, lastContactMs: readHeaderNumber(res.headers, "x-consul-lastcontact") };
    if (res.status === 404 && options.allowNotFound) return { body: undefined as T, ...meta };
    if (res.status >= 400) throw new ConsulRequestError(`${where}: HTTP ${res.status} ${res.text.trim().split("\n")[0] ?? ""}`.trim(), res.status);
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

  /** One GET over HTTP/1.1 on the keep-alive pool; rejects with the socket's error (code kept). */
  #getH1(target: string, headers: Record<string, string>, signal: AbortSignal | undefined, timeoutMs: number): Promise<RawAnswer> {
    return new Promise((resolve, reject) => {
      const request = (this.#secure ? https : http).request({ host: this.#host, port: this.#port, path: target, headers, agent: this.#agent, signal });
      let timedOut: Error | undefined;
      const timer = timeoutMs > 0 ? setTimeout(() => request.destroy((timedOut = Object.assign(new Error(`timed out after ${timeoutMs} ms`), { code: "ETIMEDOUT" }))), timeoutMs) : undefined;
      request.once("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
      request.once("response", (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.once("end", () => {
          clearTimeout(timer);
          resolve({ status: response.statusCode ?? 0, headers: response.headers, text: chunks.length === 1 ? chunks[0]!.toString("utf8") : Buffer.concat(chunks).toString("utf8") });
        });
        // Cut before its end (timeout, abort, agent gone): the error says why, or this does.
        response.once("close", () => {
          clearTimeout(timer);
          if (!response.complete) reject(timedOut ?? Object.assign(new Error("connection closed before the answer ended"), { code: "ECONNRESET" }));
        });
      });
      request.end();
    });
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
    this.#agent.destroy();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

interface RawAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

/** `?a=1&stale&index=7`: Consul's flags (true) go without a value; undefined and false are left out. */
function searchOf(query: Query | undefined): string {
  let search = "";
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v === undefined || v === false) continue;
    search += `${search ? "&" : "?"}${encodeURIComponent(k)}${v === true ? "" : `=${encodeURIComponent(String(v))}`}`;
  }
  return search;
}

function readIndex(headers: Headers): number {
  return readHeaderNumber(headers, "x-consul-index");
}

type Headers = Readonly<Record<string, string | string[] | undefined>>;

/** Newer agents say when the token hid part of an answer: a partial view is not data. */
function refuseFilteredAnswer(headers: Headers, where: string): void {
  if (readHeader(headers, "x-consul-results-filtered-by-acls") === "true") {
    throw new ConsulRequestError(`${where}: results filtered by ACLs (the token may not read all of it); give the token read access`, 403);
  }
}

function readHeader(headers: Headers, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function readHeaderNumber(headers: Headers, name: string): number {
  const n = Number(readHeader(headers, name));
  return Number.isFinite(n) ? n : 0;
}


/**
 * One line for a failed TLS handshake, naming the file to look at, or undefined when the error
 * is not one. Unknown CA, name mismatch, expiry and a refused client certificate are configuration
 * problems that no retry fixes.
 */
export function describeTlsFailure(code: string | undefined, message: string, address: string, tls: ResolvedTls | undefined): string | undefined {
  const ca = tls?.caSource ?? "the system's CAs";
  switch (code) {
    case "UNABLE_TO_VERIFY_LEAF_SIGNATURE":
    case "UNABLE_TO_GET_ISSUER_CERT_LOCALLY":
    case "SELF_SIGNED_CERT_IN_CHAIN":
    case "DEPTH_ZERO_SELF_SIGNED_CERT":
      return `TLS to ${address}: the agent's certificate is not signed by a CA in ${ca} (unknown CA, ${code}); give the CA that signed it with --ca-file or CONSUL_CACERT`;
    case "ERR_TLS_CERT_ALTNAME_INVALID":
      return `TLS to ${address}: the agent's certificate is not valid for this name (${message.replace(/^Hostname\/IP does not match certificate's altnames: /, "")}); connect by a name it holds or set --tls-server-name`;
    case "CERT_HAS_EXPIRED":
      return `TLS to ${address}: the agent's certificate has expired`;
    case "CERT_NOT_YET_VALID":
      return `TLS to ${address}: the agent's certificate is not valid yet`;
    case "ERR_SSL_WRONG_VERSION_NUMBER":
      return `TLS to ${address}: the agent does not speak TLS on this port (plain http?)`;
  }
  if (/certificate required|alert bad certificate|alert certificate unknown|handshake failure/i.test(message) || code === "ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED" || code === "ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE") {
    return `TLS to ${address}: the agent refused our client certificate${tls?.certSource ? ` (${tls.certSource})` : " (none given: it requires one, --client-cert and --client-key)"}`;
  }
  return undefined;
}
