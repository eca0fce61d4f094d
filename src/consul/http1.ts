/**
 * GET requests over HTTP/1.1 (node:http or node:https) on two keep-alive pools that share
 * `maxConnections` sockets: blocking queries hold a socket for their whole wait, so they get
 * their own lane and never take the sockets short requests (first reads, probes, one-shot
 * calls, writes) need.
 */
import http from "node:http";
import type * as Https from "node:https";
import { createRequire } from "node:module";
import type { ConsulAddress } from "./address.js";
import type { ResolvedTls } from "./tls.js";
import type { RawAnswer } from "./wire.js";

/** How a budget of connections is split between short requests and held blocking queries. */
export function splitBudget(maxConnections: number): { short: number; held: number } {
  const short = Math.max(2, Math.min(20, Math.floor(maxConnections / 3)));
  return { short, held: maxConnections - short };
}

// node:https brings TLS and crypto with it (≈ 40 ms at start-up): only an https:// agent needs it.
const loadHttps = (): typeof Https => createRequire(import.meta.url)("node:https") as typeof Https;

export class Http1Pool {
  /** Short requests: reads that answer at once, and the `consul` package's writes. */
  readonly agent: http.Agent;
  readonly #held: http.Agent;
  readonly #secure: boolean;
  readonly #transport: typeof http | typeof Https;

  constructor(
    private readonly address: ConsulAddress,
    tls: ResolvedTls | undefined,
    maxConnections: number,
  ) {
    this.#secure = address.protocol === "https:";
    const https = this.#secure ? loadHttps() : undefined;
    this.#transport = https ?? http;
    const make = (sockets: number) => {
      const pool = { keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets, scheduling: "lifo" as const };
      return https
        ? new https.Agent({ ...pool, ca: tls?.ca as Buffer[] | undefined, cert: tls?.cert, key: tls?.key, servername: tls?.serverName, rejectUnauthorized: !tls?.skipVerify })
        : new http.Agent(pool);
    };
    const { short, held } = splitBudget(maxConnections);
    this.agent = make(short);
    this.#held = make(held);
  }

  /** Open sockets right now (busy and idle). */
  get connections(): number {
    const count = (pool: NodeJS.ReadOnlyDict<unknown[]>) => Object.values(pool).reduce((n, list) => n + (list?.length ?? 0), 0);
    return [this.agent, this.#held].reduce((n, a) => n + count(a.sockets) + count(a.freeSockets), 0);
  }

  /**
   * One GET; rejects with the socket's error (its code kept), or ETIMEDOUT after `timeoutMs` (0:
   * none). `held`: a blocking query, sent in the held lane. A new socket that the agent closes
   * before answering is marked `connectionLimit`: that is how Consul refuses a client over its
   * per-address limit (an agent that is down refuses the connection instead).
   */
  get(target: string, headers: Record<string, string>, signal: AbortSignal | undefined, timeoutMs: number, held = false): Promise<RawAnswer> {
    return new Promise((resolve, reject) => {
      const agent = held ? this.#held : this.agent;
      const request = this.#transport.request({ host: this.address.host, port: this.address.port, path: target, headers, agent, signal });
      let timedOut: Error | undefined;
      const timer = timeoutMs > 0 ? setTimeout(() => request.destroy((timedOut = Object.assign(new Error(`timed out after ${timeoutMs} ms`), { code: "ETIMEDOUT" }))), timeoutMs) : undefined;
      request.once("error", (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        const refusedOnArrival = !request.reusedSocket && (error.code === "ECONNRESET" || error.code === "EPIPE") && !signal?.aborted;
        reject(refusedOnArrival ? Object.assign(error, { connectionLimit: true }) : error);
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

  close(): void {
    this.agent.destroy();
    this.#held.destroy();
  }
}
