import { spawn, type ChildProcess } from "node:child_process";
import { readFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

/** One GET through a proxy with a Host header (fetch() drops Host, a forbidden header name). */
export function request(port: number, host: string, path = "/", address = "127.0.0.1"): Promise<{ status: number; body: string } | undefined> {
  return new Promise((resolve) => {
    const req = http.get({ host: address, port, path, headers: { host }, agent: false, timeout: 5_000 }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: body.trim() }));
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(undefined));
  });
}

/** The bodies of the 200 answers to `n` requests through a proxy. */
export async function answers(n: number, port: number, host: string, address?: string): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) {
    const answer = await request(port, host, "/", address);
    if (answer?.status === 200) seen.add(answer.body);
  }
  return seen;
}

/** Sends SIGTERM to every PID a pid file lists (the processes a reload script started). */
export async function killPidFile(pidfile: string): Promise<void> {
  const pids = (await readFile(pidfile, "utf8").catch(() => "")).split(/\s+/).filter(Boolean);
  for (const pid of pids) {
    try {
      process.kill(Number(pid), "SIGTERM");
    } catch {
      // already gone
    }
  }
}

/** A loopback HTTP server that answers every request with its name and counts them. */
export class NamedBackend {
  hits = 0;
  private constructor(
    readonly name: string,
    private readonly server: http.Server,
  ) {}

  static async start(name: string): Promise<NamedBackend> {
    const server = http.createServer();
    const backend = new NamedBackend(name, server);
    server.on("request", (_req: http.IncomingMessage, res: http.ServerResponse) => {
      backend.hits++;
      res.end(`${name}\n`);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return backend;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/** HAProxy or nginx in the foreground on a rendered config, until close(). */
export class ProxyProcess {
  #log = "";
  private constructor(private readonly child: ChildProcess) {
    child.stdout?.on("data", (c: Buffer) => (this.#log += c.toString()));
    child.stderr?.on("data", (c: Buffer) => (this.#log += c.toString()));
  }

  static async start(kind: "haproxy" | "nginx", config: string, port: number): Promise<ProxyProcess> {
    const args = kind === "haproxy" ? ["-db", "-f", config] : ["-c", config, "-g", "daemon off;"];
    const proxy = new ProxyProcess(spawn(kind, args, { stdio: ["ignore", "pipe", "pipe"] }));
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (proxy.child.exitCode !== null) throw new Error(`${kind} exited: ${proxy.#log}`);
      if (await request(port, "probe.invalid")) return proxy;
      await sleep(50);
    }
    throw new Error(`${kind} did not answer on ${port}: ${proxy.#log}`);
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once("exit", resolve));
    this.child.kill("SIGTERM");
    await exited;
  }
}
