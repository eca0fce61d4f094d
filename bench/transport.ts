/**
 * The renderer at everyday scale over plain HTTP (150 services × 5: under the default budget,
 * and with every service a direct blocking query) and at 5,000 × 5 over HTTPS, where every watch is an
 * HTTP/2 stream. Each latency sits beside its floor, measured in the same run: a bare blocking
 * query answering the same kind of registration.
 *
 *   npm run build && npx tsx bench/transport.ts [--quick]
 */
import { spawn } from "node:child_process";
import https from "node:https";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { makeCerts } from "../test/helpers/certs.js";
import { ConsulAgent } from "../test/helpers/consul-agent.js";
import { addInstance, bareSnapshotRender, changeLatencies, cli, connectionsTo, jsonLines, loadCatalog, machine, median, percentile, rssKiB, whenFile, writeResults } from "./lib.js";

const quick = process.argv.includes("--quick");
const repetitions = quick ? 5 : 20;
const template = "{{#each (services)}}{{#if (hasPrefix Name \"svc-\")}}backend {{identifier Name}}\n{{#each (service Name)}}  server {{ID}} {{address Address}}:{{port Port}}\n{{/each}}{{/if}}{{/each}}";
const work = await mkdtemp(join(tmpdir(), "consulate-transport-"));

interface Transport {
  readonly consulArgs: string[];
  /** Environment for the bare first-render script: how it reaches the agent. */
  readonly floorEnv: Record<string, string>;
  /** GET with a body, over the same scheme consulate uses (the floor's client). */
  get(path: string): Promise<{ index: string; ms: number }>;
}

function plain(consul: ConsulAgent): Transport {
  return {
    consulArgs: ["--consul", consul.address],
    floorEnv: { ORIGIN: consul.url },
    async get(path) {
      const res = await fetch(`${consul.url}/v1${path}`);
      await res.arrayBuffer();
      return { index: res.headers.get("x-consul-index") ?? "0", ms: performance.now() };
    },
  };
}

function secure(consul: ConsulAgent, ca: string, caPem: Buffer): Transport {
  const agent = new https.Agent({ ca: caPem, keepAlive: true });
  return {
    consulArgs: ["--consul", `https://127.0.0.1:${consul.ports.https}`, "--ca-file", ca],
    floorEnv: { ORIGIN: `https://127.0.0.1:${consul.ports.https}`, CA: ca },
    get: (path) =>
      new Promise((resolve, reject) => {
        https.get({ host: "127.0.0.1", port: consul.ports.https, path: `/v1${path}`, agent }, (res) => {
          res.resume();
          res.on("end", () => resolve({ index: String(res.headers["x-consul-index"] ?? "0"), ms: performance.now() }));
        }).on("error", reject);
      }),
  };
}

/** The floor: a bare blocking query on one service, woken by adding an instance to it. */
async function floor(consul: ConsulAgent, transport: Transport, service: string): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < repetitions; i++) {
    const { index } = await transport.get(`/health/service/${service}`);
    const answered = transport.get(`/health/service/${service}?index=${index}&wait=30s`);
    await new Promise((r) => setTimeout(r, 50));
    const start = performance.now();
    await addInstance(consul, service, `floor-${i}`, 30000 + i);
    samples.push((await answered).ms - start);
  }
  return samples;
}

async function floorFirstRender(transport: Transport, out: string, services: number): Promise<number> {
  const start = performance.now();
  const child = spawn(process.execPath, ["--input-type=module", "-e", bareSnapshotRender], { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, ...transport.floorEnv, OUT: out } });
  const code = await new Promise((r) => child.once("exit", r));
  if (code !== 0 || !(await readFile(out, "utf8")).includes(`svc-${services - 1}-4 `)) throw new Error(`the bare first render failed (exit ${String(code)})`);
  return performance.now() - start;
}

const ms = (n: number) => `${n.toFixed(1)} ms`;
let runs = 0;

async function scenario(consul: ConsulAgent, transport: Transport, services: number, port: number, extraArgs: string[] = []) {
  await loadCatalog(consul, services, 5);
  const source = join(work, "t.hbs");
  const out = join(work, `out-${services}-${++runs}.cfg`);
  await writeFile(source, template);
  const floorSamples = await floor(consul, transport, "svc-0");
  const floorFirstMs = await floorFirstRender(transport, join(work, `floor-${services}.cfg`), services);
  const start = performance.now();
  const child = spawn(cli, ["render", "--log-level", "info", ...transport.consulArgs, ...extraArgs, "-t", `${source}:${out}`], { stdio: ["ignore", "ignore", "pipe"] });
  // consulate's own account of each write: render, write (stage + rename), answer → file.
  const timings: { renderMs: number; writeMs: number; sinceChangeMs: number }[] = [];
  jsonLines(child.stderr, (entry) => {
    const { msg, renderMs, writeMs, sinceChangeMs } = entry as { msg: string; renderMs: number; writeMs: number; sinceChangeMs?: number };
    if (msg === "rendered" && sinceChangeMs !== undefined) timings.push({ renderMs, writeMs, sinceChangeMs });
  });
  let peakRss = 0;
  let peakConnections = 0;
  const sampler = setInterval(() => {
    void rssKiB(child.pid!).then((kib) => (peakRss = Math.max(peakRss, kib)));
    void connectionsTo(port, child.pid!).then((n) => (peakConnections = Math.max(peakConnections, n)));
  }, 50);
  const firstAt = await whenFile(out, (c) => c.includes(`svc-${services - 1}-4 `), 120_000);
  await new Promise((r) => setTimeout(r, 100));
  timings.length = 0;
  const samples = await changeLatencies(consul, out, repetitions, (i) => `svc-${(i * 37) % services}`);
  clearInterval(sampler);
  child.kill("SIGTERM");
  await new Promise((r) => child.once("exit", r));
  const inside = (key: "renderMs" | "writeMs" | "sinceChangeMs") => median(timings.map((t) => t[key]));
  const breakdown = `${ms(inside("sinceChangeMs"))} in consulate from the answer to the file (render ${ms(inside("renderMs"))}, write and fsync ${ms(inside("writeMs"))})`;
  return { firstMs: firstAt - start, floorFirstMs, samples, floorSamples, peakRss: peakRss / 1024, peakConnections, breakdown };
}

const rows: string[] = [];
try {
  // A fresh agent for each run: Consul 1.8 holds a finished process's blocking queries (and
  // counts their connections) until they time out.
  for (const [label, args] of [
    ["default budget (180 connections: every service a direct blocking query)", []],
    ["--max-connections 64 (40 services direct, the other 110 in the probe pool)", ["--max-connections", "64"]],
  ] as const) {
    await using consul = await ConsulAgent.create();
    const r = await scenario(consul, plain(consul), 150, consul.ports.http, [...args]);
    const ratio = median(r.samples) / median(r.floorSamples);
    rows.push(
      `| 150 × 5 over HTTP, ${label} | | | |`,
      `| first full render (process start → file) | ${(r.firstMs / 1000).toFixed(2)} s | bare script, same reads: ${(r.floorFirstMs / 1000).toFixed(2)} s (${(r.firstMs / r.floorFirstMs).toFixed(2)}×) | ≤ 0.5 s |`,
      `| one instance added → file, median (p90) | ${ms(median(r.samples))} (${ms(percentile(r.samples, 90))}) | floor ${ms(median(r.floorSamples))}: **${ratio.toFixed(2)}×** | ≤ 2× floor |`,
      `| of which (medians) | ${r.breakdown} | | |`,
      `| peak RSS | ${r.peakRss.toFixed(0)} MiB | | ≤ 80 MiB |`,
      `| most connections to the agent | ${r.peakConnections} | | |`,
    );
  }
  {
    const certs = await makeCerts(work);
    await using consul = await ConsulAgent.createWithTls({ ca: certs.ca, cert: certs.serverCert, key: certs.serverKey, verifyIncoming: false });
    const n = quick ? 1000 : 5000;
    const r = await scenario(consul, secure(consul, certs.ca, await readFile(certs.ca)), n, consul.ports.https);
    rows.push(
      `| ${n} × 5 over HTTPS (HTTP/2: every service a blocking query, as streams) | | | |`,
      `| first full render (process start → file) | ${(r.firstMs / 1000).toFixed(2)} s | bare script, same reads: ${(r.floorFirstMs / 1000).toFixed(2)} s (${(r.firstMs / r.floorFirstMs).toFixed(2)}×) | ≤ 4 s |`,
      `| one instance added → file, median (p90) | ${ms(median(r.samples))} (${ms(percentile(r.samples, 90))}) | floor (HTTPS, HTTP/1.1) ${ms(median(r.floorSamples))} | ≤ 60 ms |`,
      `| of which (medians) | ${r.breakdown} | | |`,
      `| most connections to the agent | ${r.peakConnections} | ⌈${n + 1} / 200⌉ = ${Math.ceil((n + 1) / 200)} sessions | ≤ 40 |`,
      `| peak RSS | ${r.peakRss.toFixed(0)} MiB | | |`,
    );
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
const body = `### Transport: HTTP at everyday scale, HTTPS/HTTP/2 at 5,000 services — ${new Date().toISOString().slice(0, 10)}

Machine: ${cpus().length} × ${cpus()[0]?.model ?? "?"}, ${Math.round(totalmem() / 2 ** 30)} GiB, ${machine()}; Consul 1.8.7 dev agent on loopback, sharing the machine. ${repetitions} samples per latency; the template lists every service's instances (\`address\`/\`port\` helpers). The floor is a bare blocking query on one service answering the same kind of registration, measured in the same run.

| figure | consulate | beside it | target |
|---|---|---|---|
${rows.join("\n")}

**Where the milliseconds of a change go.** "Of which" is consulate's own account (its \`rendered\` log line: \`renderMs\`, \`writeMs\`, \`sinceChangeMs\` from the answer that changed the data to the file in place); the rest of a change's time is the agent's wake-up (the floor) and the benchmark noticing the renamed file and reading it. Profiling the change path (2026-11-30) found, and this version removed: every file call of the staging was an asynchronous thread-pool round trip, ≈ 1 ms each on this busy 2-core machine (stat, read back, open, write, chmod, fsync, close, rename, unlink: 4.7 ms), now synchronous calls with the last written contents kept in memory (the fsync itself, ≈ 1.3 ms, stays: the file must be whole on disk before it is renamed, as consul-template does); every render re-ran the whole template, now each \`#each\` item's output is kept while its data are the same objects, so a change costs the service that changed (5,000 × 5: 74 ms → 4 ms warm); the kept outputs are flattened once, or writing a 1 MB string built from 25,000 pieces cost 3–8 ms; and the \`consul\` package's request stack on every answer, now one node:http(s)/http2 request and one JSON.parse. The first render starts from one snapshot of the catalog (\`/v1/internal/ui/nodes\`, see the README's "Scale"), not one read per service; the bare first render is a plain Node script making the same reads (the service list, the snapshot) and writing the same lines. What is left above it is loading consulate (≈ 100 ms), checking and normalising every instance, rendering the template, and, at the same time, starting every service's blocking query from the snapshot's index.`;
console.log(body);
if (!quick) await writeResults("transport", body);
