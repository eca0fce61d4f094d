/**
 * Renderer benchmarks against a real Consul 1.8.7 dev agent (scripts/setup.sh installs it).
 * Run: npm run build && npx tsx bench/render.ts [--quick]
 * Prints a Markdown section and writes it into bench/RESULTS.md.
 */
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { ConsulAgent } from "../test/helpers/consul-agent.js";
import { addInstance, bareSnapshotRender, changeLatencies, cli, connectionsTo, loadCatalog, machine, median, percentile, wakeLatencies, whenFile, writeResults } from "./lib.js";

const quick = process.argv.includes("--quick");
const repetitions = quick ? 5 : 20;
const scaleTemplate = "{{#each (services)}}backend {{identifier Name}}\n{{#each (service Name)}}  server {{ID}} {{Address}}:{{Port}}\n{{/each}}{{/each}}";
const work = await mkdtemp(join(tmpdir(), "consulate-bench-"));
const lines: string[] = [];
const report = (line: string) => {
  console.log(line);
  lines.push(line);
};

function startRender(args: string[]) {
  const child = spawn(cli, ["render", "--log-level", "warn", ...args], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  return {
    child,
    stderr: () => stderr,
    stop: () => new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : (child.once("exit", () => resolve()), child.kill("SIGTERM")))),
  };
}

/** The floor: a bare blocking query answering a registration. */
const rawFloor = (consul: ConsulAgent) => wakeLatencies(consul, "/health/service/floor", repetitions, (i) => addInstance(consul, "floor", `floor-r${i}`, 30000 + i));

/**
 * The same floor plus a safe write: a bare script whose blocking query, on each answer, writes
 * the instances to a file the way consulate and consul-template do (temp file, fsync, rename),
 * noticed by this benchmark the same way. What a tool that writes safely cannot go below.
 */
const bareWatch = `
import http from "node:http";
import { closeSync, fsyncSync, openSync, renameSync, writeSync } from "node:fs";
const agent = new http.Agent({ keepAlive: true });
const get = (path) => new Promise((resolve, reject) => http.get(process.env.ORIGIN + path, { agent }, (res) => {
  const c = []; res.on("data", (d) => c.push(d)); res.on("end", () => resolve({ index: res.headers["x-consul-index"], body: JSON.parse(Buffer.concat(c).toString()) }));
}).on("error", reject));
let index = 0;
for (;;) {
  const answer = await get("/v1/health/service/floor?index=" + index + "&wait=60s");
  index = answer.index;
  const fd = openSync(process.env.OUT + ".tmp", "w", 0o644);
  writeSync(fd, answer.body.map((e) => e.Service.ID + " " + e.Service.Port + "\\n").join(""));
  fsyncSync(fd);
  closeSync(fd);
  renameSync(process.env.OUT + ".tmp", process.env.OUT);
}
`;

async function safeWriteFloor(consul: ConsulAgent): Promise<number[]> {
  const out = join(work, "bare.cfg");
  const child = spawn(process.execPath, ["--input-type=module", "-e", bareWatch], { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, ORIGIN: consul.url, OUT: out } });
  await whenFile(out, (c) => c.includes("floor-0 "));
  const samples = await changeLatencies(consul, out, repetitions, () => "floor", { idPrefix: "floor-w", portBase: 32000, pauseMs: 100 });
  child.kill();
  return samples;
}

async function oneTemplate(consul: ConsulAgent): Promise<number[]> {
  const source = join(work, "one.hbs");
  const out = join(work, "one.cfg");
  await writeFile(source, '{{#each (service "floor")}}{{ID}} {{Port}}\n{{/each}}');
  const render = startRender(["--consul", consul.address, "-t", `${source}:${out}`]);
  await whenFile(out, (c) => c.includes("floor-0 "));
  const samples = await changeLatencies(consul, out, repetitions, () => "floor", { idPrefix: "floor-t", portBase: 31000, pauseMs: 100 });
  await render.stop();
  return samples;
}

/** Wall seconds and peak RSS (MiB) of one command, by /usr/bin/time. */
function timed(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ wallS: number; rssMiB: number; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn("/usr/bin/time", ["-f", "%e %M", command, ...args], { stdio: ["ignore", "ignore", "pipe"], env });
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.on("close", () => {
      const [wall, rssKiB] = stderr.trim().split("\n").at(-1)!.split(" ").map(Number);
      resolve({ wallS: wall!, rssMiB: rssKiB! / 1024, stderr });
    });
  });
}

// The floor of a --once run is \`bareSnapshotRender\` (lib.ts): the reads consulate makes for it.

async function once(services: number) {
  await using consul = await ConsulAgent.create();
  await loadCatalog(consul, services, 5);
  const source = join(work, "scale.hbs");
  const out = join(work, `once-${services}.cfg`);
  await writeFile(source, scaleTemplate);
  const floor = await timed(process.execPath, ["--input-type=module", "-e", bareSnapshotRender], { ...process.env, ORIGIN: consul.url, OUT: `${out}.floor` });
  const result = await timed(cli, ["render", "--once", "--log-level", "warn", "--consul", consul.address, "-t", `${source}:${out}`]);
  const rendered = (await readFile(out, "utf8")).split("\n").filter((l) => l.includes("server svc-")).length;
  if (rendered !== services * 5) throw new Error(`--once rendered ${rendered} instances, expected ${services * 5}: ${result.stderr}`);
  const floorLines = (await readFile(`${out}.floor`, "utf8")).split("\n").filter((l) => l.includes("server svc-")).length;
  if (floorLines !== services * 5) throw new Error(`the bare script wrote ${floorLines} instances: ${floor.stderr}`);
  return { ...result, lines: rendered, floorS: floor.wallS };
}

/** The pool's floor at this scale: a bare blocking query on its change detector (the catalog summary) answering a registration. */
const detectorFloor = (consul: ConsulAgent) =>
  wakeLatencies(consul, "/internal/ui/services", Math.min(repetitions, 10), (i) => addInstance(consul, `svc-${i}`, `detector-${i}`, 33000 + i));

async function watchScale(services: number) {
  await using consul = await ConsulAgent.create();
  await loadCatalog(consul, services, 5);
  const source = join(work, "scale.hbs");
  const out = join(work, "watch.cfg");
  await writeFile(source, scaleTemplate);
  const detector = await detectorFloor(consul);
  let maxConnections = 0;
  const start = performance.now();
  const render = startRender(["--consul", consul.address, "-t", `${source}:${out}`]);
  const pid = render.child.pid!;
  const sampler = setInterval(() => void connectionsTo(consul.ports.http, pid).then((n) => (maxConnections = Math.max(maxConnections, n))), 50);
  const firstAt = await whenFile(out, (c) => c.includes(`svc-${services - 1}-4 `), 120_000);
  const firstRenderMs = firstAt - start;
  const samples = await changeLatencies(consul, out, repetitions, () => `svc-${Math.floor(Math.random() * services)}`);
  clearInterval(sampler);
  maxConnections = Math.max(maxConnections, await connectionsTo(consul.ports.http, pid));
  const errors = render.stderr();
  await render.stop();
  return { firstRenderMs, samples, maxConnections, errors, detector };
}

const fmt = (n: number) => n.toFixed(1);
try {
  report(`### Renderer — ${new Date().toISOString().slice(0, 10)}`);
  report("");
  report(`Machine: ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${machine()}; Consul 1.8.7 dev agent on loopback; ${repetitions} samples per latency.`);
  report("");
  {
    await using consul = await ConsulAgent.create();
    await addInstance(consul, "floor", "floor-0", 30000);
    const floor = await rawFloor(consul);
    const safe = await safeWriteFloor(consul);
    const one = await oneTemplate(consul);
    report("| change → file, one template | median | p90 |");
    report("|---|---|---|");
    report(`| raw floor: bare blocking query answering a registration | ${fmt(median(floor))} ms | ${fmt(percentile(floor, 90))} ms |`);
    report(`| floor with a safe write: a bare script's blocking query → file written, fsynced, renamed → noticed here | ${fmt(median(safe))} ms | ${fmt(percentile(safe, 90))} ms |`);
    report(`| consulate: registration → file renamed into place | ${fmt(median(one))} ms | ${fmt(percentile(one, 90))} ms |`);
    report(`| ratio to the raw floor (target ≤ 1.5×) | ${(median(one) / median(floor)).toFixed(2)}× | |`);
    report(`| ratio to the floor with a safe write | ${(median(one) / median(safe)).toFixed(2)}× | |`);
    report("");
  }
  report("| `--once`, services × 5 instances, template over every service | wall | bare script, same reads | ratio | peak RSS | target |");
  report("|---|---|---|---|---|---|");
  for (const n of quick ? [1000] : [1000, 2000, 5000]) {
    const r = await once(n);
    const target = n === 1000 ? "≤ 0.8 s" : n === 5000 ? "≤ 2.5 s" : "";
    report(`| ${n} × 5 (${r.lines} instances) | ${r.wallS.toFixed(2)} s | ${r.floorS.toFixed(2)} s | ${(r.wallS / r.floorS).toFixed(2)}× | ${r.rssMiB.toFixed(0)} MiB | ${target} |`);
  }
  report("");
  const n = quick ? 1000 : 5000;
  const w = await watchScale(n);
  report(`| watch mode, ${n} × 5 instances | result | target |`);
  report("|---|---|---|");
  report(`| first full render (process start → file) | ${(w.firstRenderMs / 1000).toFixed(2)} s | ≤ 3 s |`);
  report(`| one instance added → file updated, median | ${fmt(median(w.samples))} ms (p90 ${fmt(percentile(w.samples, 90))} ms) | ≤ 100 ms |`);
  report(`| … floor: a bare blocking query on the pool's change detector (\`/v1/internal/ui/services\`) answering a registration, median | ${fmt(median(w.detector))} ms (consulate ${(median(w.samples) / median(w.detector)).toFixed(2)}×) | |`);
  report(`| most connections from consulate to the agent (sampled every 50 ms) | ${w.maxConnections} | ≤ 64 |`);
  // The probe-pool notice is expected here (5,000 services over plain HTTP); anything else is news.
  const warnings = w.errors.trim().split("\n").filter((l) => l && !l.includes("more watches than the connection budget"));
  if (warnings.length > 0) report(`\nrenderer warnings: ${warnings.slice(0, 3).join(" / ")}`);
  report("");
  if (!quick) await writeResults("render", lines.join("\n"));
} finally {
  await rm(work, { recursive: true, force: true });
}
