import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort, freePorts } from "./ports.js";

export const repoRoot = resolve(import.meta.dirname, "../..");
export const consulBinary = join(repoRoot, ".cache/consul/usr/bin/consul");

export interface AgentPorts {
  http: number;
  /** 0 unless the agent was created with TLS. */
  https: number;
  dns: number;
  server: number;
  serfLan: number;
  serfWan: number;
}

/**
 * A real `consul agent -dev` (1.8.7, from scripts/setup.sh) on free loopback ports. It can be
 * stopped and started again on the same ports (a dev agent starts empty each time).
 */
export class ConsulAgent {
  #process: ChildProcess | undefined;
  #log = "";

  private constructor(
    readonly ports: AgentPorts,
    private readonly configDir: string,
    /** Sent with every request the test makes (the management token of an ACL agent). */
    readonly token?: string,
  ) {}

  /**
   * An agent that also serves HTTPS with these certificates; `verifyIncoming` makes it require a
   * client certificate signed by the CA. The plain HTTP port stays, for the test's own requests.
   */
  static async createWithTls(tls: { ca: string; cert: string; key: string; verifyIncoming: boolean }): Promise<ConsulAgent> {
    const https = await freePort();
    const agent = await ConsulAgent.create({
      config: { ports: { https }, ca_file: tls.ca, cert_file: tls.cert, key_file: tls.key, verify_incoming_https: tls.verifyIncoming, verify_incoming_rpc: false },
    });
    agent.ports.https = https;
    return agent;
  }

  /** An agent with ACLs on and default deny; the tests act with `managementToken`. */
  static async createWithAcls(managementToken: string): Promise<ConsulAgent> {
    // Short cache TTLs: a policy change shows within a second, not the default 30 s.
    const acl = { enabled: true, default_policy: "deny", enable_token_persistence: false, token_ttl: "1s", policy_ttl: "1s", tokens: { master: managementToken, agent: managementToken } };
    return ConsulAgent.create({ config: { acl }, token: managementToken });
  }

  static async create(options: { start?: boolean; config?: object; token?: string } = {}): Promise<ConsulAgent> {
    if (!existsSync(consulBinary)) throw new Error(`${consulBinary} is missing: run scripts/setup.sh`);
    const [http, dns, server, serfLan, serfWan] = (await freePorts(5)) as [number, number, number, number, number];
    const ports = { http, https: 0, dns, server, serfLan, serfWan };
    const configDir = await mkdtemp(join(tmpdir(), "consulate-agent-"));
    await writeFile(join(configDir, "config.json"), JSON.stringify(options.config ?? {}));
    const agent = new ConsulAgent(ports, configDir, options.token);
    if (options.start !== false) await agent.start();
    return agent;
  }

  get address(): string {
    return `127.0.0.1:${this.ports.http}`;
  }

  get url(): string {
    return `http://${this.address}`;
  }

  get log(): string {
    return this.#log;
  }

  async start(): Promise<void> {
    const { http, dns, server, serfLan, serfWan } = this.ports;
    // -node is fixed so restarts keep the node name; gRPC is off; everything on loopback.
    this.#process = spawn(
      consulBinary,
      ["agent", "-dev", "-node", "consulate-test", "-bind", "127.0.0.1", "-client", "127.0.0.1", "-http-port", `${http}`, "-dns-port", `${dns}`,
        "-server-port", `${server}`, "-serf-lan-port", `${serfLan}`, "-serf-wan-port", `${serfWan}`, "-grpc-port", "-1", "-config-dir", this.configDir],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    this.#process.stdout?.on("data", (chunk: Buffer) => (this.#log = (this.#log + chunk.toString()).slice(-20_000)));
    this.#process.stderr?.on("data", (chunk: Buffer) => (this.#log = (this.#log + chunk.toString()).slice(-20_000)));
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if (this.#process.exitCode !== null) throw new Error(`consul exited early:\n${this.#log}`);
      try {
        const res = await fetch(`${this.url}/v1/status/leader`);
        // The leader is elected and the agent has synced its own node into the catalog.
        if (res.ok && (await res.text()).length > 2) {
          const node = await fetch(`${this.url}/v1/catalog/node/consulate-test`, { headers: this.#headers() });
          if (node.ok && (await node.text()) !== "null") return;
        }
      } catch {
        // not up yet
      }
      await sleep(50);
    }
    throw new Error(`consul did not become ready:\n${this.#log}`);
  }

  /** Kills the agent (SIGKILL: like a crash) and waits until it is gone. */
  async stop(): Promise<void> {
    const child = this.#process;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGKILL");
    await exited;
    this.#process = undefined;
  }

  async close(): Promise<void> {
    await this.stop();
    await rm(this.configDir, { recursive: true, force: true });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #headers(): Record<string, string> {
    return this.token ? { "x-consul-token": this.token } : {};
  }

  async request(method: string, path: string, body?: unknown): Promise<unknown> {
    const res = await fetch(`${this.url}/v1${path}`, { method, headers: this.#headers(), body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body) });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return text ? (JSON.parse(text) as unknown) : undefined;
  }

  /** Registers a service on the agent; `check: "critical" | "warning" | "passing"` adds a TTL check in that state. */
  async registerService(service: { ID: string; Name: string; Port: number; Address?: string; Tags?: string[]; Meta?: Record<string, string> }, check?: "passing" | "warning" | "critical"): Promise<void> {
    const definition = check ? { ...service, Check: { CheckID: `check-${service.ID}`, TTL: "10m", Status: check } } : service;
    await this.request("PUT", "/agent/service/register", definition);
  }

  async deregisterService(id: string): Promise<void> {
    await this.request("PUT", `/agent/service/deregister/${encodeURIComponent(id)}`);
  }

  async setCheck(serviceId: string, status: "pass" | "warn" | "fail"): Promise<void> {
    await this.request("PUT", `/agent/check/${status}/check-${encodeURIComponent(serviceId)}`);
  }

  async putKey(key: string, value: string): Promise<void> {
    await this.request("PUT", `/kv/${key}`, value);
  }

  async deleteKey(key: string): Promise<void> {
    await this.request("DELETE", `/kv/${key}`);
  }

  /** With ACLs: a policy from HCL rules, and a token holding it; returns the token's secret. */
  async createToken(name: string, rules: string): Promise<{ secret: string; accessor: string; policyId: string }> {
    const policy = (await this.request("PUT", "/acl/policy", { Name: name, Rules: rules })) as { ID: string };
    const token = (await this.request("PUT", "/acl/token", { Description: name, Policies: [{ ID: policy.ID }] })) as { SecretID: string; AccessorID: string };
    return { secret: token.SecretID, accessor: token.AccessorID, policyId: policy.ID };
  }
}
