/**
 * The multi-host topology of examples/multi-host/topology.sh, driven from a test or a benchmark:
 * five hosts in network namespaces (three Consul servers, two Docker hosts with a client agent,
 * a dockerd and a registrator each), and one renderer with HAProxy on host a.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { parseLogs, type LogLine } from "./cli.js";
import { repoRoot } from "./consul-agent.js";
import { killPidFile, request as proxyRequest } from "./proxy.js";

const run = promisify(execFile);
export const script = join(repoRoot, "examples/multi-host/topology.sh");
export const ip = { s1: "10.77.0.11", s2: "10.77.0.12", s3: "10.77.0.13", a: "10.77.0.21", b: "10.77.0.22" } as const;
export type Host = keyof typeof ip;
export const image = "consulate-multihost/busybox:1.0";

export class Topology {
  constructor(readonly state: string) {}

  async sh(...args: string[]): Promise<string> {
    const { stdout } = await run("bash", [script, ...args], { env: { ...process.env, STATE: this.state }, maxBuffer: 16 * 2 ** 20 });
    return stdout.trim();
  }

  docker(host: "a" | "b", ...args: string[]): Promise<string> {
    return run("docker", args, { env: { ...process.env, DOCKER_HOST: `unix://${this.state}/${host}/docker.sock` } }).then((r) => r.stdout.trim());
  }

  /** A web container on a Docker host, published on the host's address, answering with its name. */
  web(host: "a" | "b", name: string, ...extra: string[]): Promise<string> {
    return this.docker(host, "run", "-d", "--name", name, "-p", `${ip[host]}::8080`, "-e", "SERVICE_NAME=web", "-e", "SERVICE_TAGS=http", ...extra, image, "sh", "-c", `echo ${name} > /www/index.html; exec httpd -f -p 8080 -h /www`);
  }

  /** A process inside a host (nsenter: the network namespace only). */
  spawnIn(host: Host, command: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
    return spawn("nsenter", [`--net=/var/run/netns/cmh-${host}`, ...command], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  }

  /** GET on an agent's HTTP API (any host's address); undefined when it does not answer 200. */
  async api<T>(host: Host, path: string): Promise<T | undefined> {
    const res = await fetch(`http://${ip[host]}:8500/v1${path}`, { signal: AbortSignal.timeout(3_000) }).catch(() => undefined);
    return res?.ok ? ((await res.json()) as T) : undefined;
  }
}

/** The renderer on host a, HAProxy beside it, both in that host's namespace. */
export class Renderer {
  stderr = "";
  readonly child: ChildProcess;

  constructor(topology: Topology, readonly config: string, args: string[] = []) {
    const reload = join(repoRoot, "examples/haproxy-sidecar/reload-haproxy.sh");
    this.child = topology.spawnIn(
      "a",
      [process.execPath, join(repoRoot, "dist/src/cli/main.js"), "render", "--consul", "127.0.0.1:8500", "--log-level", "debug",
        "-t", `${join(repoRoot, "templates/haproxy.hbs")}:${config}`, "--check", "haproxy -c -q -f {{candidate}}",
        "--exec", `sh ${reload} ${config} ${config}.pid`, "--haproxy-socket", `${config}.sock`, ...args],
      { CONSULATE_LISTEN: `${ip.a}:8080` },
    );
    this.child.stderr?.on("data", (c: Buffer) => (this.stderr += c.toString()));
  }

  logs(): LogLine[] {
    return parseLogs(this.stderr);
  }

  async file(): Promise<string> {
    return readFile(this.config, "utf8").catch(() => "");
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once("exit", resolve));
    this.child.kill("SIGTERM");
    await exited;
    await killPidFile(`${this.config}.pid`);
  }
}

/** The backend servers of the web service in a rendered HAProxy config, as host:port. */
export function servers(config: string): string[] {
  return [...config.matchAll(/^ {4}server \S+ (10\.77\.0\.\d+:\d+) /gm)].map((m) => m[1]!).sort();
}

/** One request for web.localhost through HAProxy on host a: the body, or undefined. */
export async function request(): Promise<string | undefined> {
  const answer = await proxyRequest(8080, "web.localhost", "/", ip.a);
  return answer?.status === 200 ? answer.body : undefined;
}

/** Polls `check` every 100 ms until it holds; resolves with the ms it took. */
export async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 60_000): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < timeoutMs) {
    if (await check()) return performance.now() - started;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
}
