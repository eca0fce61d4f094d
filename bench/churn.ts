/**
 * Churn: instance IDs move between services (the same ID re-registered under another name, which
 * Consul 1.8 does not reflect in the old service's index) at ≥ 10 moves a second for 30 s while
 * consulate watches 150 services. Then: how long until the rendered file matches Consul exactly,
 * and does it stay so. Run with most services in the probe pool, and with every service a
 * direct blocking query.
 *
 *   npm run build && npx tsx bench/churn.ts [--seconds 30]
 */
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { ConsulAgent } from "../test/helpers/consul-agent.js";
import { cli, loadCatalog, machine, rssKiB, writeResults } from "./lib.js";

const seconds = (process.argv.includes("--seconds") ? Number(process.argv[process.argv.indexOf("--seconds") + 1]) : 30);
const services = 150;
const movers = 40;
const work = await mkdtemp(join(tmpdir(), "consulate-churn-"));
const template = "{{#each (services)}}{{#if (hasPrefix Name \"svc-\")}}{{Name}}:{{#each (service Name)}} {{ID}}{{/each}}\n{{/if}}{{/each}}";

/** service name → sorted instance IDs, as a file line set. */
function parse(text: string): Map<string, string> {
  return new Map(text.split("\n").filter(Boolean).map((l) => [l.slice(0, l.indexOf(":")), l]));
}

/** What Consul holds now, read fresh (no index) for every service, rendered like the template. */
async function truth(consul: ConsulAgent): Promise<Map<string, string>> {
  const lines = new Map<string, string>();
  for (let s = 0; s < services; s++) {
    const body = (await (await fetch(`${consul.url}/v1/health/service/svc-${s}`)).json()) as { Node: { Node: string }; Service: { ID: string } }[];
    const ids = body.sort((a, b) => a.Node.Node.localeCompare(b.Node.Node) || (a.Service.ID < b.Service.ID ? -1 : 1)).map((e) => ` ${e.Service.ID}`);
    lines.set(`svc-${s}`, `svc-${s}:${ids.join("")}`);
  }
  return lines;
}

/** Lines of the file that Consul does not hold (stale) and lines Consul holds that the file lacks. */
function compare(file: Map<string, string>, consul: Map<string, string>): { stale: number; missing: number } {
  let stale = 0;
  let missing = 0;
  for (const [name, line] of consul) {
    const have = new Set((file.get(name) ?? "").split(" ").slice(1));
    const want = new Set(line.split(" ").slice(1));
    for (const id of have) if (!want.has(id)) stale++;
    for (const id of want) if (!have.has(id)) missing++;
  }
  return { stale, missing };
}

async function scenario(label: string, extra: string[]): Promise<string> {
  await using consul = await ConsulAgent.create();
  await loadCatalog(consul, services, 2);
  // Movers live on node-0 and start spread over the services.
  const where = Array.from({ length: movers }, (_, m) => m % services);
  const move = async (m: number, to: number) => {
    const res = await fetch(`${consul.url}/v1/catalog/register`, { method: "PUT", body: JSON.stringify({ Node: "node-0", Address: "127.0.1.1", Service: { ID: `mover-${m}`, Service: `svc-${to}`, Port: 40000 + m } }) });
    if (!res.ok) throw new Error(`register: ${res.status}`);
    where[m] = to;
  };
  for (let m = 0; m < movers; m++) await move(m, where[m]!);
  const slug = label.replace(/\W+/g, "-");
  const source = join(work, `${slug}.hbs`);
  const out = join(work, `${slug}.cfg`);
  await writeFile(source, template);
  const child = spawn(cli, ["render", "--consul", consul.address, "--log-level", "warn", "-t", `${source}:${out}`, ...extra], { stdio: ["ignore", "ignore", "inherit"] });
  while (!(await readFile(out, "utf8").catch(() => "")).includes(`svc-${services - 1}:`)) await new Promise((r) => setTimeout(r, 50));

  let peakRss = 0;
  let moves = 0;
  const sampler = setInterval(() => void rssKiB(child.pid!).then((kib) => (peakRss = Math.max(peakRss, kib))), 250);
  const started = performance.now();
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed / 2 ** 31);
  // 20 moves a second, paced: each tick moves one instance to a random other service.
  while (performance.now() - started < seconds * 1000) {
    const tick = performance.now();
    const m = Math.floor(random() * movers);
    await move(m, (where[m]! + 1 + Math.floor(random() * (services - 1))) % services);
    moves++;
    await new Promise((r) => setTimeout(r, Math.max(0, 50 - (performance.now() - tick))));
  }
  const churnSeconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  const stopped = performance.now();
  const expected = await truth(consul);
  let convergedMs: number | undefined;
  let diff = { stale: 0, missing: 0 };
  while (performance.now() - stopped < 60_000) {
    diff = compare(parse(await readFile(out, "utf8")), expected);
    if (diff.stale === 0 && diff.missing === 0) {
      convergedMs = performance.now() - stopped;
      break;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  await new Promise((r) => setTimeout(r, 3_000));
  const settled = compare(parse(await readFile(out, "utf8")), await truth(consul));
  child.kill("SIGTERM");
  await new Promise((r) => child.once("exit", r));
  const rate = (moves / churnSeconds).toFixed(1);
  const bound = convergedMs === undefined ? `**not within 60 s** (${diff.stale} stale, ${diff.missing} missing)` : `${Math.round(convergedMs)} ms`;
  return `| ${label} | ${moves} moves in ${churnSeconds.toFixed(1)} s (${rate}/s) | ${bound} | ${settled.stale} stale, ${settled.missing} missing | ${Math.round(peakRss / 1024)} MiB |`;
}

const rows = [
  await scenario(`probe pool (--max-connections 40: ${services} services, 27 direct, the rest pooled)`, ["--max-connections", "40"]),
  await scenario("--max-connections 180 (every service a direct blocking query)", ["--max-connections", "180"]),
];
await rm(work, { recursive: true, force: true });
const body = `### Churn: instances moving between services — ${new Date().toISOString().slice(0, 10)}

Machine: ${cpus().length} × ${cpus()[0]?.model ?? "?"}, ${Math.round(totalmem() / 2 ** 30)} GiB, ${machine()}; Consul 1.8.7 dev agent. ${services} services × 2 instances plus ${movers} instance IDs that move (re-registered under another service name, 20 per second) for ${seconds} s; the template lists every service's instances. "Converged" is the time from the last move until the file equals what Consul answers for every service (read fresh); "3 s later" checks it again.

| run | churn | converged after the last move | 3 s later | peak RSS during churn |
|---|---|---|---|---|
${rows.join("\n")}

For comparison, consul-template v0.20.1 under the same kind of churn (issue #9's soak, 40 s) kept 146 stale server lines after the settle time, and they stayed: it treats an unmoved index as unchanged data and never corrects. consulate compares every answer by its data, and when an instance shows up under another service it reads the service it left again at once.`;
console.log(body);
await writeResults("churn", body);
