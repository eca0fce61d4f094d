/**
 * The topology this tool exists for, with real processes: a three-server Consul cluster, two Docker
 * hosts (a client agent, a dockerd and a registrator each), one renderer with HAProxy over both.
 * Hosts are network namespaces on a bridge (examples/multi-host/topology.sh); nothing leaves the
 * machine. Runs alone, after the other suites (see package.json): it needs root for namespaces.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { repoRoot } from "../helpers/consul-agent.js";
import { ip, Renderer, servers, Topology, until } from "../helpers/multi-host.js";
import { answers as proxyAnswers } from "../helpers/proxy.js";

const run = promisify(execFile);

describe("multi-host: Consul cluster, two Docker hosts, one renderer over both", () => {
  let work: string;
  let topology: Topology;
  let renderer: Renderer;
  const hostOf = (server: string) => (server.startsWith(`${ip.a}:`) ? "a" : "b");

  /** The bodies HAProxy on host a answers with over n requests. */
  const answers = (n: number) => proxyAnswers(n, 8080, "web.localhost", ip.a);

  before(async () => {
    await run("bash", [join(repoRoot, "scripts/setup.sh")]);
    work = await mkdtemp(join(tmpdir(), "consulate-multihost-"));
    topology = new Topology(join(work, "state"));
    await topology.sh("up");
    await Promise.all([topology.web("a", "a1"), topology.web("a", "a2"), topology.web("b", "b1"), topology.web("b", "b2")]);
    // A 5 s blocking wait: a query parked on a server that lost its leader comes back (and says so) within seconds.
    renderer = new Renderer(topology, join(work, "haproxy.cfg"), ["--blocking-wait", "5s"]);
    await until("the config lists both hosts' containers", async () => servers(await renderer.file()).length === 4);
  });
  after(async () => {
    await renderer?.stop();
    await topology?.sh("down");
    await rm(work, { recursive: true, force: true });
  });

  it("HAProxy on host a spreads requests over the containers of both hosts; DNS on any agent answers with both", async () => {
    const config = await renderer.file();
    assert.deepEqual(new Set(servers(config).map(hostOf)), new Set(["a", "b"]));
    await until("requests reach all four containers", async () => (await answers(12)).size === 4);
    for (const agent of ["s2", "b"] as const) {
      const { stdout } = await run("dig", ["+short", `@${ip[agent]}`, "-p", "8600", "web.service.consul", "SRV"]);
      const ports = stdout.trim().split("\n").map((l) => l.split(" ")[2]);
      const targets = new Set(stdout.trim().split("\n").map((l) => l.split(" ")[3]));
      assert.equal(ports.length, 4, stdout);
      // <hex of the address>.addr.dc1.consul: 0a4d0015 is 10.77.0.21, 0a4d0016 is 10.77.0.22.
      assert.deepEqual(targets, new Set(["0a4d0015.addr.dc1.consul.", "0a4d0016.addr.dc1.consul."]));
      assert.deepEqual(ports.sort(), servers(config).map((s) => s.split(":")[1]).sort());
    }
  });

  it("host b dies (its agent killed, its cable cut): its node goes critical, its instances leave the config and HAProxy; they come back with it", async () => {
    await topology.sh("agent", "kill", "b");
    await topology.sh("link", "down", "b");
    const critical = await until("node b critical", async () => {
      const checks = await topology.api<{ CheckID: string; Status: string }[]>("s1", "/health/node/b");
      return checks?.find((c) => c.CheckID === "serfHealth")?.Status === "critical";
    });
    const left = await until("b's instances leave the config", async () => servers(await renderer.file()).every((s) => hostOf(s) === "a"));
    assert.equal(servers(await renderer.file()).length, 2, "a's two stay");
    assert.deepEqual(await answers(8), new Set(["a1", "a2"]));
    await topology.sh("link", "up", "b");
    await topology.sh("agent", "start", "b");
    const back = await until("b's instances come back", async () => servers(await renderer.file()).length === 4);
    await until("requests reach b again", async () => (await answers(12)).size === 4);
    process.stdout.write(`# host b: critical after ${Math.round(critical)} ms, out of the config ${Math.round(left)} ms later, back ${Math.round(back)} ms after its agent restarted\n`);
  });

  it("one server of three down: rendering and registration go on; two down (no quorum): the last file stays, the log says why, stale reads still work; quorum back: it catches up", async () => {
    await topology.sh("agent", "stop", "s3");
    await topology.web("a", "a3");
    await until("a3 rendered with one server down", async () => servers(await renderer.file()).length === 5);

    await topology.sh("agent", "stop", "s2");
    const before = await renderer.file();
    await topology.web("b", "b3");
    // The renderer's queries now fail with Consul's own reason, said once, and the file is kept.
    await until("the renderer says there is no leader", () => renderer.logs().some((l) => l.msg === "query failed, retrying with backoff" && /No cluster leader/.test(String(l.error))), 30_000);
    assert.equal(await renderer.file(), before, "the last good file stays (never an empty one)");
    await until("HAProxy goes on serving the last config", async () => (await answers(15)).size === 5);
    // --max-stale: a follower still answers reads without a leader. Host a's agent may first send
    // a read to a server that is down (one in 29 during the multi-host bench's election): a read
    // tried again, as any client would, is served by the remaining one.
    await until("a stale read is served by the remaining server", async () => (await topology.api<unknown[]>("a", "/health/service/web?stale"))?.length === 5, 15_000);
    const once = await run("nsenter", [`--net=/var/run/netns/cmh-a`, process.execPath, join(repoRoot, "dist/src/cli/main.js"), "render", "--once", "--max-stale", "10m", "--consul", "127.0.0.1:8500", "-t", `${join(repoRoot, "templates/haproxy.hbs")}:${join(work, "stale.cfg")}`], { env: { ...process.env, CONSULATE_LISTEN: `${ip.a}:8081` } });
    assert.equal(once.stderr.includes("gave up"), false, once.stderr);
    // Without --max-stale every read needs the leader: there is none, so --once gives up.
    const consistent = await run("nsenter", [`--net=/var/run/netns/cmh-a`, process.execPath, join(repoRoot, "dist/src/cli/main.js"), "render", "--once", "--once-timeout", "3s", "--consul", "127.0.0.1:8500", "-t", `${join(repoRoot, "templates/haproxy.hbs")}:${join(work, "consistent.cfg")}`], { env: { ...process.env, CONSULATE_LISTEN: `${ip.a}:8081` } }).then(
      () => 0,
      (error: { code?: number }) => error.code,
    );
    assert.equal(consistent, 4, "--once without --max-stale times out (exit 4) while there is no leader");

    await topology.sh("agent", "start", "s2");
    await topology.sh("agent", "start", "s3");
    await until("b3 rendered once quorum is back", async () => servers(await renderer.file()).length === 6);
  });

  it("the renderer's own agent restarts: consulate catches up without a restart of its own", async () => {
    await topology.sh("agent", "stop", "a");
    await topology.sh("agent", "start", "a");
    await topology.web("b", "b4");
    await until("b4 rendered after the agent restart", async () => servers(await renderer.file()).length === 7);
    assert.equal(renderer.child.exitCode, null);
  });

  it("a Docker daemon restarts: that host's services are resynced, the other host's are untouched", async () => {
    const indexOf = async (host: "a" | "b") => {
      const entries = await topology.api<{ Node: { Node: string }; Service: { ID: string; ModifyIndex: number } }[]>("s1", "/health/service/web");
      return new Map((entries ?? []).filter((e) => e.Node.Node === host).map((e) => [e.Service.ID, e.Service.ModifyIndex]));
    };
    const aBefore = await indexOf("a");
    await topology.sh("docker", "stop", "b");
    await topology.sh("docker", "start", "b");
    // The registrator reconnects and resyncs: the containers the shutdown stopped (no restart
    // policy) leave the catalog, and a new one is registered.
    await topology.web("b", "b5");
    await until("b resynced: only b5 left", async () => [...(await indexOf("b")).keys()].join() === "b:b5:8080");
    assert.deepEqual(await indexOf("a"), aBefore, "host a's registrations were not touched");
  });
});
