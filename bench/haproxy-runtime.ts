/**
 * HAProxy under instance churn, twice: once reloading at every change (what consul-template
 * does), once with `--haproxy-socket` (the Runtime API). Both runs are the same in everything else:
 * the shipped template, the shipped seamless reload script (`-x` socket hand-over, `-sf`), a
 * bounded loopback request loop (a new connection per request, ~250 per second), loopback HTTP
 * backends (a fresh port for every instance), and 50 instance changes (add, remove, move to another port) 300 ms apart.
 * Reported for each: failed requests, HAProxy processes started, the most HAProxy processes alive
 * at once, and the time from a registration to HAProxy routing to it (first request the new
 * backend answers) beside the time to the file holding it.
 *
 *   npm run build && npx tsx bench/haproxy-runtime.ts
 */
import { spawn } from "node:child_process";
import http from "node:http";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { uniqueId } from "../src/template/helpers-text.js";
import { ConsulAgent, repoRoot } from "../test/helpers/consul-agent.js";
import { freePort } from "../test/helpers/ports.js";
import { request } from "../test/helpers/proxy.js";
import { cli, machine, median, percentile, whenFile, writeResults } from "./lib.js";

const changes = 50;
const changeEveryMs = 300;
const requestsPerSecond = 250;

/** Loopback backends that note when each first answered (performance.now()). */
async function startBackends(n: number): Promise<{ ports: number[]; firstHit: Map<number, number>; close(): Promise<void> }> {
  const firstHit = new Map<number, number>();
  const servers = await Promise.all(
    Array.from({ length: n }, async () => {
      const server = http.createServer((_req, res) => {
        const port = (server.address() as AddressInfo).port;
        if (!firstHit.has(port)) firstHit.set(port, performance.now());
        res.end(`${port}\n`);
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      return server;
    }),
  );
  return {
    ports: servers.map((s) => (s.address() as AddressInfo).port),
    firstHit,
    close: async () => {
      for (const s of servers) s.closeAllConnections();
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    },
  };
}

/** One request through HAProxy: answered 200, or not. */
const get = async (port: number) => (await request(port, "web.localhost"))?.status === 200;

/** HAProxy processes running this config, read from /proc (a pgrep would see the other pgreps). */
async function haproxyPids(config: string): Promise<string[]> {
  const pids = (await readdir("/proc")).filter((d) => /^\d+$/.test(d));
  const found: string[] = [];
  await Promise.all(
    pids.map(async (pid) => {
      const argv = (await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "")).split("\0");
      if (argv[0]?.endsWith("haproxy") && argv.includes("-D") && argv.includes(config)) found.push(pid);
    }),
  );
  return found;
}

/** Straight into the catalog (a node of its own, so the agent's anti-entropy leaves it alone): the change is in Consul when the PUT returns. */
async function registerAt(consul: ConsulAgent, id: string, port: number): Promise<void> {
  const res = await fetch(`${consul.url}/v1/catalog/register`, { method: "PUT", body: JSON.stringify({ Node: "backends", Address: "127.0.0.1", Service: { ID: id, Service: "web", Address: "127.0.0.1", Port: port, Tags: ["http"] } }) });
  if (!res.ok) throw new Error(`register: ${res.status}`);
}

async function deregister(consul: ConsulAgent, id: string): Promise<void> {
  const res = await fetch(`${consul.url}/v1/catalog/deregister`, { method: "PUT", body: JSON.stringify({ Node: "backends", ServiceID: id }) });
  if (!res.ok) throw new Error(`deregister: ${res.status}`);
}

interface RunResult {
  requests: number;
  failed: number;
  started: number;
  peak: number;
  routeMs: number[];
  fileMs: number[];
  reloads: number;
  applied: number;
}

async function runOnce(mode: "reload" | "runtime"): Promise<RunResult> {
  await using consul = await ConsulAgent.create();
  const backends = await startBackends(changes + 2);
  const work = await mkdtemp(join(tmpdir(), `consulate-hx-${mode}-`));
  const config = join(work, "haproxy.cfg");
  const pidfile = join(work, "haproxy.pid");
  const socket = join(work, "haproxy.sock");
  const listen = await freePort();
  // Every instance gets a backend port no instance had before: an old process (a reload's -sf)
  // still sending to a port must not look like the new config routing there.
  const fresh = [...backends.ports];
  const live = new Map<string, number>([["web-0", fresh.shift()!], ["web-1", fresh.shift()!]]);
  for (const [id, port] of live) await registerAt(consul, id, port);
  const args = [cli, "render", "--consul", consul.address, "-t", `${join(repoRoot, "templates/haproxy.hbs")}:${config}`, "--check", "haproxy -c -q -f {{candidate}}", "--exec", `sh ${join(repoRoot, "examples/haproxy-sidecar/reload-haproxy.sh")} ${config} ${pidfile}`];
  if (mode === "runtime") args.push("--haproxy-socket", socket);
  // Both runs serve the Runtime API and reload seamlessly (-x): only --haproxy-socket differs.
  const child = spawn(process.execPath, args, { env: { ...process.env, CONSULATE_LISTEN: `127.0.0.1:${listen}`, CONSULATE_HAPROXY_SOCKET: socket }, stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  child.stderr.on("data", (c: Buffer) => (log += c.toString()));
  const seen = new Set<string>();
  let peak = 0;
  const sampler = setInterval(() => {
    void haproxyPids(config).then((pids) => {
      for (const p of pids) seen.add(p);
      peak = Math.max(peak, pids.length);
    });
  }, 20);
  try {
    const deadline = Date.now() + 20_000;
    while (!(await get(listen)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const startedBefore = seen.size;
    // The request loop: a fixed rate, new connection each, until the changes are done.
    let requests = 0;
    let failed = 0;
    let stop = false;
    const loop = (async () => {
      const inFlight = new Set<Promise<void>>();
      while (!stop) {
        const p = get(listen).then((ok) => {
          requests++;
          if (!ok) failed++;
        });
        inFlight.add(p);
        void p.finally(() => inFlight.delete(p));
        await new Promise((r) => setTimeout(r, 1000 / requestsPerSecond));
      }
      await Promise.all(inFlight);
    })();
    const routeMs: number[] = [];
    const fileMs: number[] = [];
    let next = 2;
    for (let i = 0; i < changes; i++) {
      await new Promise((r) => setTimeout(r, changeEveryMs));
      const kind = i % 3;
      if (kind === 0 || live.size < 2) {
        // add: a new instance on a port no one serves now
        const port = fresh.shift()!;
        const id = `web-${next++}`;
        const written = whenFile(config, (c) => c.includes(`${uniqueId(id)} 127.0.0.1:${port}`));
        const t0 = performance.now();
        await registerAt(consul, id, port);
        live.set(id, port);
        fileMs.push((await written) - t0);
        const until = Date.now() + 5_000;
        while (!backends.firstHit.has(port) && Date.now() < until) await new Promise((r) => setTimeout(r, 1));
        if (backends.firstHit.has(port)) routeMs.push(backends.firstHit.get(port)! - t0);
      } else if (kind === 1) {
        const [id] = [...live.keys()];
        await deregister(consul, id!);
        live.delete(id!);
      } else {
        const [id] = [...live.keys()].slice(-1);
        const port = fresh.shift()!;
        await registerAt(consul, id!, port);
        live.set(id!, port);
      }
    }
    await new Promise((r) => setTimeout(r, 1_000));
    stop = true;
    await loop;
    const reloads = (log.match(/"msg":"command succeeded"/g) ?? []).length;
    const applied = (log.match(/"msg":"applied through the Runtime API, no reload"/g) ?? []).length;
    return { requests, failed, started: seen.size - startedBefore, peak, routeMs, fileMs, reloads, applied };
  } finally {
    clearInterval(sampler);
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
    const pid = await readFile(pidfile, "utf8").catch(() => "");
    for (const p of new Set([...pid.split(/\s+/).filter(Boolean), ...(await haproxyPids(config))])) {
      try {
        process.kill(Number(p), "SIGTERM");
      } catch {
        // already gone
      }
    }
    await rm(work, { recursive: true, force: true });
    await backends.close();
  }
}

const results = { reload: await runOnce("reload"), runtime: await runOnce("runtime") };
const ms = (v: number[]) => (v.length ? `${median(v).toFixed(1)} (p90 ${percentile(v, 90).toFixed(1)})` : "–");
const row = (name: string, r: RunResult) =>
  `| ${name} | ${r.requests} | ${r.failed} | ${r.reloads} | ${r.applied} | ${r.started} | ${r.peak} | ${ms(r.fileMs)} | ${ms(r.routeMs)} | ${r.routeMs.length && r.fileMs.length ? (median(r.routeMs) / median(r.fileMs)).toFixed(2) : "–"}× |`;
const body = `## HAProxy under instance churn: reloads vs the Runtime API

${new Date().toISOString().slice(0, 10)}, ${machine()}, ${cpus().length} × ${cpus()[0]?.model ?? "CPU"}, ${Math.round(totalmem() / 2 ** 30)} GiB; HAProxy 2.6 (Debian).
${changes} instance changes (add, remove, move to another port) ${changeEveryMs} ms apart during a loopback request loop (~${requestsPerSecond}/s, a new connection each), the shipped template and seamless reload script (\`-x\`, \`-sf\`) in both runs; only \`--haproxy-socket\` differs. Route = registration → first request the new backend answers (resolution: one request in ${Math.round(1000 / requestsPerSecond)} ms spread over the servers); file = registration → the file holds it.

| run | requests | failed | reload commands | runtime applies | HAProxy processes started | most alive at once | file ms (median) | route ms (median) | route / file |
|---|---|---|---|---|---|---|---|---|---|
${row("reload at every change", results.reload)}
${row("--haproxy-socket", results.runtime)}
`;
process.stdout.write(body);
await writeResults("haproxy-runtime", body);
