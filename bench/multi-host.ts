/**
 * How long each failure case of the multi-host topology takes (examples/multi-host): three Consul
 * servers, two Docker hosts with a registrator each, one renderer with HAProxy on host a. Needs root.
 *
 *   bash scripts/setup.sh && npx tsx bench/multi-host.ts
 */
import { mkdtemp, rm } from "node:fs/promises";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { ip, Renderer, request, servers, Topology, until } from "../test/helpers/multi-host.js";
import { machine, writeResults } from "./lib.js";

const work = await mkdtemp(join(tmpdir(), "consulate-multihost-bench-"));
const topology = new Topology(join(work, "state"));
const rows: string[] = [];
const ms = (v: number) => `${(v / 1000).toFixed(2)} s`;
const hostOf = (server: string) => (server.startsWith(`${ip.a}:`) ? "a" : "b");
let renderer: Renderer | undefined;

/** A new container on `host`, timed from `docker run` returning to the rendered config listing it. */
async function renderedAfterStart(host: "a" | "b", name: string, count: number): Promise<number> {
  await topology.web(host, name);
  const t0 = performance.now();
  await until(`${name} rendered`, async () => servers(await renderer!.file()).length === count);
  return performance.now() - t0;
}

try {
  await topology.sh("up");
  await Promise.all([topology.web("a", "a1"), topology.web("a", "a2"), topology.web("b", "b1"), topology.web("b", "b2")]);
  renderer = new Renderer(topology, join(work, "haproxy.cfg"), ["--blocking-wait", "5s"]);
  await until("both hosts rendered", async () => servers(await renderer!.file()).length === 4);
  const floor = await renderedAfterStart("a", "a3", 5);
  rows.push(`| a container starts on host a, all servers up (the floor of the rows below) | ${ms(floor)} |`);

  // A host dies.
  await topology.sh("agent", "kill", "b");
  await topology.sh("link", "down", "b");
  const critical = await until("node b critical", async () => (await topology.api<{ CheckID: string; Status: string }[]>("s1", "/health/node/b"))?.find((c) => c.CheckID === "serfHealth")?.Status === "critical");
  const left = await until("b out of the config", async () => servers(await renderer!.file()).every((s) => hostOf(s) === "a"));
  const unsent = await until("HAProxy sends nothing to b", async () => {
    for (let i = 0; i < 10; i++) if ((await request())?.startsWith("b")) return false;
    return true;
  });
  rows.push(`| host b dies (agent SIGKILL, cable cut) → its node is critical | ${ms(critical)} |`);
  rows.push(`| … → its instances are out of the config | + ${ms(left)} |`);
  rows.push(`| … → HAProxy sends nothing to them | + ${ms(unsent)} |`);
  await topology.sh("link", "up", "b");
  await topology.sh("agent", "start", "b");
  const back = await until("b back", async () => servers(await renderer!.file()).length === 5);
  rows.push(`| host b's agent back → its instances are in the config again | ${ms(back)} |`);

  // Servers.
  await topology.sh("agent", "stop", "s3");
  rows.push(`| one server of three stopped: a container starts → rendered | ${ms(await renderedAfterStart("a", "a4", 6))} |`);
  await topology.sh("agent", "stop", "s2");
  const t0 = performance.now();
  await topology.web("b", "b3");
  await until("no leader noticed", () => renderer!.logs().some((l) => /No cluster leader/.test(String(l.error))));
  rows.push(`| two of three stopped → the renderer logs "No cluster leader" (5 s blocking wait; the last file stays) | ${ms(performance.now() - t0)} |`);
  await topology.sh("agent", "start", "s2");
  const quorum = performance.now();
  await until("caught up", async () => servers(await renderer!.file()).length === 7);
  rows.push(`| one server back (quorum) → the container started during the outage is rendered | ${ms(performance.now() - quorum)} |`);
  await topology.sh("agent", "start", "s3");
  await until("three voters again", async () => ((await topology.api<{ Servers: { Voter: boolean }[] }>("s1", "/operator/autopilot/health"))?.Servers ?? []).filter((v) => v.Voter).length === 3);

  // --max-stale during a leader election.
  const leader = (await topology.api<string>("s1", "/status/leader")) ?? "";
  const leaderHost = (Object.entries(ip).find(([, address]) => leader.startsWith(`${address}:`))?.[0] ?? "s1") as "s1" | "s2" | "s3";
  const asker = leaderHost === "s1" ? "s2" : "s1";
  await topology.sh("agent", "kill", leaderHost);
  const killed = performance.now();
  // Reads fired every 50 ms during the election, each timed: stale ones are answered by any
  // server at once; consistent ones wait for the new leader (Consul holds them, it does not fail them).
  const reads: Promise<{ stale: boolean; ok: boolean; ms: number }>[] = [];
  const timed = (stale: boolean) => {
    const started = performance.now();
    return topology.api<unknown[]>("a", `/health/service/web${stale ? "?stale" : ""}`).then((r) => ({ stale, ok: r !== undefined, ms: performance.now() - started }));
  };
  let elected = 0;
  while (performance.now() - killed < 30_000) {
    reads.push(timed(true), timed(false));
    const l = await topology.api<string>(asker, "/status/leader");
    if (l && !l.startsWith(`${ip[leaderHost]}:`)) {
      elected = performance.now() - killed;
      break;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const done = await Promise.all(reads);
  const summary = (stale: boolean) => {
    const these = done.filter((r) => r.stale === stale);
    return `${these.filter((r) => r.ok).length}/${these.length} answered, slowest ${Math.round(Math.max(...these.map((r) => r.ms)))} ms`;
  };
  rows.push(`| the leader killed → a new leader | ${ms(elected)} |`);
  rows.push(`| … reads meanwhile through host a's agent, every 50 ms: stale (what --max-stale sends) | ${summary(true)} |`);
  rows.push(`| … consistent (the default) | ${summary(false)} |`);
  await topology.sh("agent", "start", leaderHost);

  // The renderer's agent restarts.
  await topology.sh("agent", "stop", "a");
  await topology.sh("agent", "start", "a");
  const restarted = performance.now();
  await until("reachable again", () => renderer!.logs().some((l) => l.msg === "Consul is reachable again"));
  rows.push(`| the renderer's agent restarted → consulate reaches it again | ${ms(performance.now() - restarted)} |`);
  rows.push(`| … then a container starts → rendered | ${ms(await renderedAfterStart("b", "b4", 8))} |`);

  // A Docker daemon restarts.
  // The containers die with the daemon, before their events can be read: the registrator's resync
  // at the reconnection takes them out.
  await topology.sh("docker", "stop", "b");
  const starting = performance.now();
  await topology.sh("docker", "start", "b");
  await until("b's containers out", async () => servers(await renderer!.file()).filter((s) => hostOf(s) === "b").length === 0);
  rows.push(`| host b's dockerd restarted (its containers died with it) → from its start command, they are out of the config | ${ms(performance.now() - starting)} |`);
  rows.push(`| host b's dockerd back → a new container there is rendered | ${ms(await renderedAfterStart("b", "b5", servers(await renderer.file()).length + 1))} |`);
} finally {
  await renderer?.stop();
  await topology.sh("down");
  await rm(work, { recursive: true, force: true });
}

const body = `## Multi-host failure cases

${new Date().toISOString().slice(0, 10)}, ${machine()}, ${cpus().length} × ${cpus()[0]?.model ?? "CPU"}, ${Math.round(totalmem() / 2 ** 30)} GiB. Consul 1.8.7 (three servers, \`raft_multiplier = 1\`), two Docker hosts in network namespaces (\`examples/multi-host\`), the renderer and HAProxy on host a. One run; each time from the event the row names.

| case | time |
|---|---|
${rows.join("\n")}
`;
process.stdout.write(body);
await writeResults("multi-host", body);
