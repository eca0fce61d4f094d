/**
 * The sidecar's own path, `render --registrator` in one process: a container starts → its new
 * host port is in the rendered file. Timed from Docker's `State.StartedAt` (the daemon's clock,
 * which is this machine's) to the file holding the port, 20 times, beside a floor measured in the
 * same run: a bare script that follows the same Docker events, inspects the container, registers
 * it with the local agent, and is woken by a blocking query already waiting on that service.
 *
 *   npm run build && npx tsx bench/sidecar.ts
 */
import { spawn } from "node:child_process";
import http from "node:http";
import { watch } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { ConsulAgent } from "../test/helpers/consul-agent.js";
import { DockerDaemon, testImage } from "../test/helpers/docker-daemon.js";
import { cli, jsonLines, machine, median, percentile, whenFile, writeResults } from "./lib.js";

const samples = 20;
const work = await mkdtemp(join(tmpdir(), "consulate-sidecar-"));
/** Wall-clock ms with sub-ms precision: Docker's StartedAt is wall-clock too. */
const now = () => performance.timeOrigin + performance.now();

/** One request to the Docker engine's API over its unix socket; the body parsed as JSON. */
function dockerApi(socket: string, method: string, path: string, agent?: http.Agent): Promise<unknown> {
  return new Promise((resolve, reject) => {
    http
      .request({ socketPath: socket, method, path, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve(chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : undefined));
      })
      .on("error", reject)
      .end();
  });
}

interface Inspect {
  Id: string;
  State: { StartedAt: string };
  NetworkSettings: { Ports: Record<string, { HostPort: string }[] | null> };
}

/** StartedAt ("2026-11-30T05:10:11.123456789Z") as wall-clock ms, keeping the sub-ms digits. */
function startedAtMs(text: string): number {
  const [whole, fraction = "0"] = text.replace(/Z$/, "").split(".");
  return Date.parse(`${whole}Z`) + Number(`0.${fraction}`) * 1000;
}

/** When each port was first seen (wall-clock ms), recorded as it happens; `when` waits for one. */
class Sightings {
  readonly #at = new Map<number, number>();
  readonly #waiting = new Map<number, (at: number) => void>();
  saw(port: number, at: number): void {
    if (this.#at.has(port)) return;
    this.#at.set(port, at);
    this.#waiting.get(port)?.(at);
  }
  /** Forget what was seen (a restarted container may get a port it had before). */
  clear(): void {
    this.#at.clear();
    this.#waiting.clear();
  }
  when(port: number): Promise<number> {
    const at = this.#at.get(port);
    return at !== undefined ? Promise.resolve(at) : new Promise((resolve) => this.#waiting.set(port, resolve));
  }
}

/** Stop and start the container `samples` times; `seen(port)` resolves with when the new port was first visible. */
async function cycle(docker: DockerDaemon, name: string, sightings: Sightings): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i < samples; i++) {
    await docker.docker("stop", "-t", "0", name);
    await new Promise((r) => setTimeout(r, 300));
    sightings.clear();
    const started = docker.docker("start", name);
    const inspect = (await (async () => {
      await started;
      return dockerApi(docker.socket, "GET", `/containers/${name}/json`);
    })()) as Inspect;
    const port = Number(inspect.NetworkSettings.Ports["8080/tcp"]![0]!.HostPort);
    latencies.push((await sightings.when(port)) - startedAtMs(inspect.State.StartedAt));
  }
  return latencies;
}

/** The floor: Docker events → inspect → register → a waiting blocking query wakes. */
async function floor(consul: ConsulAgent, docker: DockerDaemon): Promise<number[]> {
  const agent = new http.Agent({ keepAlive: true });
  const wakes = new Sightings();
  // Follow the start events and register each, as a registrator does.
  const events = http.request({ socketPath: docker.socket, path: `/events?filters=${encodeURIComponent(JSON.stringify({ type: ["container"], event: ["start"] }))}` }, (res) => {
    jsonLines(res, (event) => {
      void (async () => {
        const inspect = (await dockerApi(docker.socket, "GET", `/containers/${String(event.id)}/json`, agent)) as Inspect;
        const port = Number(inspect.NetworkSettings.Ports["8080/tcp"]![0]!.HostPort);
        await fetch(`${consul.url}/v1/agent/service/register`, { method: "PUT", body: JSON.stringify({ ID: `floor-${port}`, Name: "floor", Port: port, Address: "127.0.0.1" }) });
      })();
    });
  });
  events.end();
  // A blocking query held on the service all along, as the renderer's is.
  const controller = new AbortController();
  void (async () => {
    let index = "0";
    while (!controller.signal.aborted) {
      const res = await fetch(`${consul.url}/v1/health/service/floor?index=${index}&wait=30s`, { signal: controller.signal }).catch(() => undefined);
      if (!res) return;
      const body = (await res.json()) as { Service: { Port: number } }[];
      const at = now();
      index = res.headers.get("x-consul-index") ?? "0";
      for (const entry of body) wakes.saw(entry.Service.Port, at);
    }
  })();
  await docker.runContainer("--name", "floor", "-p", "8080", testImage, "sleep", "600");
  const latencies = await cycle(docker, "floor", wakes);
  controller.abort();
  events.destroy();
  agent.destroy();
  await docker.docker("rm", "-f", "floor");
  return latencies;
}

async function sidecar(consul: ConsulAgent, docker: DockerDaemon): Promise<{ latencies: number[]; breakdown: string }> {
  const source = join(work, "sidecar.hbs");
  const out = join(work, "sidecar.cfg");
  await writeFile(source, '{{#each (service "web")}}server {{ID}} {{address Address}}:{{port Port}}\n{{/each}}');
  const child = spawn(cli, ["render", "--registrator", "--consul", consul.address, "--docker", docker.host, "--ip", "127.0.0.1", "--hostname", "bench", "--log-level", "info", "-t", `${source}:${out}`], { stdio: ["ignore", "ignore", "pipe"] });
  // consulate's own account: the registrator's inspect and registration, the renderer's answer → file.
  const logged: Record<string, number[]> = { inspectMs: [], reconcileMs: [], sinceChangeMs: [], renderMs: [], writeMs: [] };
  jsonLines(child.stderr, (entry) => {
    if (entry.msg !== "registered" && entry.msg !== "rendered") return;
    for (const key of Object.keys(logged)) if (typeof entry[key] === "number") logged[key]!.push(entry[key]);
  });
  await docker.runContainer("--name", "web", "-e", "SERVICE_NAME=web", "-p", "8080", testImage, "sleep", "600");
  await whenFile(out, (c) => c.includes(":"), 30_000);
  // Every version of the file, read as soon as it is renamed into place.
  const sightings = new Sightings();
  const look = async () => {
    const at = now();
    const text = await readFile(out, "utf8").catch(() => "");
    for (const m of text.matchAll(/:(\d+)\n/g)) sightings.saw(Number(m[1]), at);
  };
  const watcher = watch(work, (_event, name) => name === "sidecar.cfg" && void look());
  for (const list of Object.values(logged)) list.length = 0;
  const latencies = await cycle(docker, "web", sightings);
  watcher.close();
  const m = (key: string) => `${median(logged[key]!).toFixed(1)} ms`;
  const breakdown = `inspect ${m("inspectMs")}, event → registered ${m("reconcileMs")}; Consul's answer → file in place ${m("sinceChangeMs")} (render ${m("renderMs")}, write and fsync ${m("writeMs")})`;
  child.kill("SIGTERM");
  await new Promise((r) => child.once("exit", r));
  await docker.docker("rm", "-f", "web");
  return { latencies, breakdown };
}

const rows: string[] = [];
try {
  await using consul = await ConsulAgent.create();
  await using docker = await DockerDaemon.create();
  const bare = await floor(consul, docker);
  const { latencies: ours, breakdown } = await sidecar(consul, docker);
  const ms = (n: number) => `${n.toFixed(1)} ms`;
  rows.push(
    `| floor: a bare script (Docker events → inspect → register → a waiting blocking query wakes) | ${ms(median(bare))} | ${ms(percentile(bare, 90))} | |`,
    `| \`consulate render --registrator\`: container start → the new host port in the rendered file | ${ms(median(ours))} | ${ms(percentile(ours, 90))} | **${(median(ours) / median(bare)).toFixed(2)}×** (target ≤ 1.3×) |`,
    `| of which, by consulate's own log (medians) | ${breakdown} | | |`,
  );
} finally {
  await rm(work, { recursive: true, force: true });
}
const body = `### Sidecar path: container start → rendered file — ${new Date().toISOString().slice(0, 10)}

Machine: ${cpus().length} × ${cpus()[0]?.model ?? "?"}, ${Math.round(totalmem() / 2 ** 30)} GiB, ${machine()}; Docker (Debian docker.io), Consul 1.8.7 dev agent, both local. ${samples} starts of one stopped container (each start gets a new dynamic host port), timed from Docker's \`State.StartedAt\`.

| path | median | p90 | ratio |
|---|---|---|---|
${rows.join("\n")}

Where the rest goes: Docker's start event leaves the daemon a few ms after \`StartedAt\`, and the agent's blocking-query wake and the benchmark noticing the renamed file take the same time on both rows. On the path, consulate does what the floor does and no more: one inspect on a kept-alive Docker connection, one registration, then the renderer learns of the instance from Consul's answer (the catalog stays the source of truth), renders (the kept outputs of unchanged items reused) and writes. At the default level it logs one line per registration and one per write, each a single small write to stderr.`;
console.log(body);
await writeResults("sidecar", body);
