/**
 * GET requests over HTTP/1.1 (node:http or node:https) on a keep-alive pool of at most
 * `maxConnections` sockets: each blocking query holds one socket while it waits.
 */
import http from "node:http";
import https from "node:https";
import type { ConsulAddress } from "./address.js";
import type { ResolvedTls } from "./tls.js";
import type { RawAnswer } from "./wire.js";

export class Http1Pool {
  readonly agent: http.Agent;
  readonly #secure: boolean;

  constructor(
    private readonly address: ConsulAddress,
    tls: ResolvedTls | undefined,
    maxConnections: number,
  ) {
    const pool = { keepAlive: true, maxSockets: maxConnections, maxFreeSockets: maxConnections, scheduling: "lifo" as const };
    this.#secure = address.protocol === "https:";
    this.agent = this.#secure
      ? new https.Agent({ ...pool, ca: tls?.ca as Buffer[] | undefined, cert: tls?.cert, key: tls?.key, servername: tls?.serverName, rejectUnauthorized: !tls?.skipVerify })
      : new http.Agent(pool);
  }

  /** Open sockets right now (busy and idle). */
  get connections(): number {
    const count = (pool: NodeJS.ReadOnlyDict<unknown[]>) => Object.values(pool).reduce((n, list) => n + (list?.length ?? 0), 0);
    return count(this.agent.sockets) + count(this.agent.freeSockets);
  }

  /** One GET; rejects with the socket's error (its code kept), or ETIMEDOUT after `timeoutMs` (0: none). */
  get(target: string, headers: Record<string, string>, signal: AbortSignal | undefined, timeoutMs: number): Promise<RawAnswer> {
    return new Promise((resolve, reject) => {
      const request = (this.#secure ? https : http).request({ host: this.address.host, port: this.address.port, path: target, headers, agent: this.agent, signal });
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

  close(): void {
    this.agent.destroy();
  }
}
