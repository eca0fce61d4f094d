/**
 * GET requests to an HTTPS agent over HTTP/2 (`node:http2`, the one module that imports it).
 * Consul's HTTPS listener speaks h2: thousands of blocking queries share a handful of TCP
 * connections as streams, instead of one connection each. Consul limits connections per client
 * (`http_max_conns_per_client`, 200), not streams; Go's server allows 250 streams a connection,
 * so each session carries at most `streamsPerSession` and another opens past that.
 */
import { createRequire } from "node:module";
import type * as http2 from "node:http2";
import type { ResolvedTls } from "./tls.js";

// node:http2 brings TLS and crypto with it (≈ 40 ms at start-up): loaded on the first session,
// so a plain-HTTP renderer never pays for it.
let loaded: typeof http2 | undefined;
const h2 = (): typeof http2 => (loaded ??= createRequire(import.meta.url)("node:http2") as typeof http2);

export const streamsPerSession = 200;

export interface H2Response {
  readonly status: number;
  readonly headers: http2.IncomingHttpHeaders;
  readonly text: string;
}

/** A failure below HTTP (connect, TLS, reset, GOAWAY, timeout): `code` as Node gives it. */
export class H2TransportError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

interface Session {
  readonly session: http2.ClientHttp2Session;
  active: number;
  /** Resolves once connected (TLS and settings exchanged); rejects with the connect error. */
  readonly ready: Promise<void>;
}

export class Http2Pool {
  readonly #sessions = new Set<Session>();
  #closed = false;

  constructor(
    private readonly origin: string,
    private readonly tls: ResolvedTls | undefined,
  ) {}

  /** TCP connections open now. */
  get sessions(): number {
    return this.#sessions.size;
  }

  #session(): Session {
    for (const s of this.#sessions) if (s.active < this.#limit(s) && !s.session.closed && !s.session.destroyed) return s;
    const tls = this.tls;
    const session = h2().connect(this.origin, {
      ca: tls?.ca as Buffer[] | undefined,
      cert: tls?.cert,
      key: tls?.key,
      servername: tls?.serverName,
      rejectUnauthorized: !tls?.skipVerify,
      // Room for every stream's window: a large answer must not stall the others.
      settings: { initialWindowSize: 4 * 1024 * 1024 },
    });
    const entry: Session = {
      session,
      active: 0,
      ready: new Promise<void>((resolve, reject) => {
        session.once("connect", () => resolve());
        session.once("error", reject);
      }),
    };
    entry.ready.catch(() => undefined);
    // A session that ends (GOAWAY from an agent shutting down, a reset, an error) takes no new
    // streams; the ones in flight fail, and their callers retry on a new session.
    const forget = () => this.#sessions.delete(entry);
    session.on("goaway", forget);
    session.on("close", forget);
    session.on("error", forget);
    this.#sessions.add(entry);
    return entry;
  }

  // What the agent allows on one connection once it has said so (Go: 250), and never above ours.
  #limit(s: Session): number {
    const remote = s.session.remoteSettings?.maxConcurrentStreams;
    return Math.min(streamsPerSession, remote && remote > 0 ? remote : streamsPerSession);
  }

  /** One GET; rejects with H2TransportError below HTTP, AbortError when `signal` aborts. */
  async get(pathAndQuery: string, headers: Record<string, string>, signal: AbortSignal | undefined, timeoutMs: number): Promise<H2Response> {
    if (this.#closed) throw new H2TransportError("client closed", "ERR_CLOSED");
    const entry = this.#session();
    entry.active++;
    try {
      await entry.ready;
      return await this.#stream(entry.session, pathAndQuery, headers, signal, timeoutMs);
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      const code = (error as NodeJS.ErrnoException).code;
      throw error instanceof H2TransportError ? error : new H2TransportError((error as Error).message, code, { cause: error });
    } finally {
      entry.active--;
    }
  }

  #stream(session: http2.ClientHttp2Session, path: string, headers: Record<string, string>, signal: AbortSignal | undefined, timeoutMs: number): Promise<H2Response> {
    return new Promise((resolve, reject) => {
      const stream = session.request({ ":method": "GET", ":path": path, ...headers }, { endStream: true });
      let responseHeaders: http2.IncomingHttpHeaders = {};
      const chunks: Buffer[] = [];
      const timer = timeoutMs > 0 ? setTimeout(() => stop(new H2TransportError(`no answer in ${timeoutMs} ms`, "ETIMEDOUT")), timeoutMs) : undefined;
      const onAbort = () => stop(signal?.reason instanceof Error ? signal.reason : new H2TransportError("aborted", "ABORT_ERR"));
      const stop = (error: Error) => {
        cleanup();
        stream.close(h2().constants.NGHTTP2_CANCEL);
        reject(error);
      };
      const cleanup = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      stream.on("response", (h) => (responseHeaders = h));
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", () => {
        cleanup();
        const status = Number(responseHeaders[":status"] ?? 0);
        // A stream refused or cut before its headers ends with no status: not an answer.
        if (!status) reject(new H2TransportError(`stream ended without an answer (${stream.rstCode ?? "no code"})`, "ERR_HTTP2_STREAM_ERROR"));
        else resolve({ status, headers: responseHeaders, text: Buffer.concat(chunks).toString("utf8") });
      });
      stream.on("error", (error: NodeJS.ErrnoException) => {
        cleanup();
        reject(new H2TransportError(error.message, error.code, { cause: error }));
      });
      stream.on("close", () => {
        // Closed before "end" (RST_STREAM, session gone): reject unless already settled.
        if (stream.rstCode && stream.rstCode !== h2().constants.NGHTTP2_NO_ERROR) {
          cleanup();
          reject(new H2TransportError(`stream reset (${stream.rstCode})`, "ERR_HTTP2_STREAM_ERROR"));
        }
      });
    });
  }

  close(): void {
    this.#closed = true;
    for (const { session } of this.#sessions) session.destroy();
    this.#sessions.clear();
  }
}
