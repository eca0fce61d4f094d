/**
 * Registrator benchmarks against a real dockerd (its own, like the tests) and a real Consul agent.
 * Run: npm run build && npx tsx bench/registrator.ts
 */
import { spawn } from "node:child_process";
import { cpus, totalmem } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { ConsulAgent } from "../test/helpers/consul-agent.js";
import { servicesWithPrefix } from "../test/helpers/consul-wait.js";
import { DockerDaemon, testImage } from "../test/helpers/docker-daemon.js";
import { cli, machine, median, percentile, writeResults } from "./lib.js";

const containers = 50;
const samples = 20;
const lines: string[] = [];
const report = (line: string) => {
  console.log(line);
  lines.push(line);
};

async function until(consul: ConsulAgent, predicate: (n: number) => boolean, poll = 5): Promise<number> {
  for (;;) {
    const n = (await servicesWithPrefix(consul, "bench:")).length;
    if (predicate(n)) return performance.now();
    await sleep(poll);
  }
}

await using consul = await ConsulAgent.create();
await using docker = await DockerDaemon.create();
const registrator = spawn(cli, ["registrator", "--consul", consul.address, "--docker", docker.host, "--hostname", "bench", "--log-level", "warn"], { stdio: "inherit" });
await sleep(1_500);

// 50 containers started at once (one `docker run` each, in parallel).
const names = Array.from({ length: containers }, (_, i) => `b${i}`);
const t0 = performance.now();
await Promise.all(names.map((name) => docker.runContainer("--name", name, "-p", "8080", testImage, "sleep", "600")));
const started = performance.now();
const allRegistered = await until(consul, (n) => n === containers);
const r0 = performance.now();
await docker.docker("rm", "-f", ...names);
const removed = performance.now();
const allGone = await until(consul, (n) => n === 0);

// Start → registration: one container at a time, timed from `docker start` returning (the
// docker CLI itself takes ~200 ms; Docker emits the start event before it returns).
await docker.runContainer("--name", "single", "-p", "8080", testImage, "sleep", "600");
await until(consul, (n) => n === 1);
const latencies: number[] = [];
for (let i = 0; i < samples; i++) {
  await docker.docker("stop", "-t", "0", "single");
  await until(consul, (n) => n === 0);
  await docker.docker("start", "single");
  const begin = performance.now();
  latencies.push((await until(consul, (n) => n === 1, 1)) - begin);
}
registrator.kill("SIGTERM");

report(`### Registrator — ${new Date().toISOString().slice(0, 10)}`);
report("");
report(`Machine: ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${machine()}; Docker 20.10 (Debian docker.io), Consul 1.8.7 dev agent; registrations observed by polling /v1/agent/services.`);
report("");
report("| measurement | result |");
report("|---|---|");
report(`| ${containers} containers started at once: first \`docker run\` → all ${containers} registered | ${((allRegistered - t0) / 1000).toFixed(2)} s (the \`docker run\`s themselves took ${((started - t0) / 1000).toFixed(2)} s) |`);
report(`| \`docker rm -f\` of all ${containers} → all deregistered | ${((allGone - r0) / 1000).toFixed(2)} s (the removal itself took ${((removed - r0) / 1000).toFixed(2)} s) |`);
report(`| \`docker start\` returned → service registered, median of ${samples} | ${median(latencies).toFixed(1)} ms (p90 ${percentile(latencies, 90).toFixed(1)} ms) |`);
await writeResults("registrator", lines.join("\n"));
