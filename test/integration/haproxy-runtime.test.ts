import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { runtimeCommand, parseServersState } from "../../src/haproxy/runtime-api.js";
import { uniqueId } from "../../src/template/helpers-text.js";
import { CliProcess, waitForFile } from "../helpers/cli.js";
import { ConsulAgent, repoRoot } from "../helpers/consul-agent.js";
import { freePort } from "../helpers/ports.js";
import { answers, NamedBackend } from "../helpers/proxy.js";
import { WorkDir } from "../helpers/workdir.js";

const run = promisify(execFile);

/** Real HAProxy 2.6 started and reloaded by the shipped script, with consulate applying instance changes through its Runtime API. */
describe("HAProxy without reloads: instance changes through the Runtime API", () => {
  let consul: ConsulAgent;
  let dir: WorkDir;
  let cli: CliProcess;
  let port: number;
  let statusPort: number;
  let socket: string;
  let pidfile: string;
  let config: string;
  const backends = new Map<string, NamedBackend>();

  async function pids(): Promise<string[]> {
    const { stdout } = await run("pgrep", ["-f", `haproxy -D -f ${config}`]).catch(() => ({ stdout: "" }));
    return stdout.split("\n").filter(Boolean).sort();
  }
  const master = async () => (await readFile(pidfile, "utf8")).trim();
  const register = (id: string, name: string, backend: string, tags = ["http"]) => consul.registerService({ ID: id, Name: name, Address: "127.0.0.1", Port: backends.get(backend)!.port, Tags: tags }, "passing");
  const applied = () => cli.logs().filter((l) => l.msg === "applied through the Runtime API, no reload").length;
  const fallbacks = () => cli.logs().filter((l) => l.msg === "reloading: not a change the Runtime API can make");

  /** The names the proxy answers with over `n` requests, until `want` holds (15 s at most). */
  async function eventually(n: number, want: (seen: Set<string>) => boolean, host = "web.localhost"): Promise<Set<string>> {
    const deadline = Date.now() + 15_000;
    let seen = new Set<string>();
    while (Date.now() < deadline) if (want((seen = await answers(n, port, host)))) return seen;
    return seen;
  }

  before(async () => {
    consul = await ConsulAgent.create();
    dir = await WorkDir.create();
    for (const name of ["a", "b", "c", "d", "api"]) backends.set(name, await NamedBackend.start(name));
    port = await freePort();
    statusPort = await freePort();
    socket = dir.file("haproxy.sock");
    pidfile = dir.file("haproxy.pid");
    config = dir.file("haproxy.cfg");
    await register("web-1", "web", "a");
    // A service whose only instance nobody serves: its health check takes it DOWN.
    await consul.registerService({ ID: "dead-1", Name: "dead", Address: "127.0.0.1", Port: await freePort(), Tags: ["http"] }, "passing");
    cli = new CliProcess(
      ["render", "--consul", consul.address, "--log-level", "debug", "-t", `${join(repoRoot, "templates/haproxy.hbs")}:${config}`,
        "--check", "haproxy -c -q -f {{candidate}}", "--exec", `sh ${join(repoRoot, "examples/haproxy-sidecar/reload-haproxy.sh")} ${config} ${pidfile}`,
        "--haproxy-socket", socket, "--haproxy-drain", "1s", "--listen", `127.0.0.1:${statusPort}`],
      { CONSULATE_LISTEN: `127.0.0.1:${port}` },
    );
    await cli.waitForLog((l) => l.msg === "command succeeded");
    assert.deepEqual(await eventually(5, (s) => s.has("a")), new Set(["a"]));
  });
  after(async () => {
    await cli?.stop();
    for (const pid of await pids()) process.kill(Number(pid), "SIGTERM");
    await Promise.all([...backends.values()].map((b) => b.close()));
    await Promise.all([consul?.close(), dir?.[Symbol.asyncDispose]()]);
  });

  it("an instance added, one removed and a port changed reach HAProxy with no reload: same process, requests go to the new instances", async () => {
    const before = { master: await master(), pids: await pids(), reloads: cli.logs().filter((l) => l.msg === "command succeeded").length };

    await register("web-2", "web", "b");
    await cli.waitForLog(() => applied() >= 1);
    assert.deepEqual(await eventually(10, (s) => s.has("a") && s.has("b")), new Set(["a", "b"]));

    await consul.deregisterService("web-1");
    await cli.waitForLog(() => applied() >= 2);
    assert.deepEqual(await eventually(10, (s) => s.size === 1), new Set(["b"]), "the instance that left gets no new requests");

    await register("web-2", "web", "c");
    await cli.waitForLog(() => applied() >= 3);
    assert.deepEqual(await eventually(10, (s) => s.size === 1 && s.has("c")), new Set(["c"]), "the new port is served");

    assert.equal(await master(), before.master, "the same HAProxy process serves");
    assert.deepEqual(await pids(), before.pids, "no process was started");
    assert.equal(cli.logs().filter((l) => l.msg === "command succeeded").length, before.reloads, "the reload command never ran");
    const servers = parseServersState(await runtimeCommand(socket, "show servers state be_web", 5_000));
    assert.deepEqual([...servers.values()].filter((s) => (s.adminState & 0x01) === 0).map((s) => `${s.name} ${s.port}`), [`${uniqueId("web-2")} ${backends.get("c")!.port}`]);
    // The leaving server is deleted once drained (--haproxy-drain 1s, and it holds no connection).
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && (await runtimeCommand(socket, "show servers state be_web", 5_000)).includes(uniqueId("web-1"))) await new Promise((r) => setTimeout(r, 100));
    assert.ok(!(await runtimeCommand(socket, "show servers state be_web", 5_000)).includes(uniqueId("web-1")), "the drained server is gone");
    assert.ok((await readFile(config, "utf8")).includes(`server ${uniqueId("web-2")} 127.0.0.1:${backends.get("c")!.port}`), "the file is written all the same");
  });

  it("a structural change (a new backend) falls back to a reload, with its reason; health and operator state survive it through the server-state file", async () => {
    const server = uniqueId("web-2");
    assert.equal(await runtimeCommand(socket, `set server be_web/${server} weight 7`, 5_000), "");
    // HAProxy's own checks found the dead instance down (3 failed checks, 2 s apart).
    const dead = `be_dead/${uniqueId("dead-1")}`;
    const down = Date.now() + 15_000;
    while (Date.now() < down && parseServersState(await runtimeCommand(socket, "show servers state be_dead", 5_000)).get(dead)?.opState !== 0) await new Promise((r) => setTimeout(r, 200));
    assert.equal(parseServersState(await runtimeCommand(socket, "show servers state be_dead", 5_000)).get(dead)?.opState, 0, "the dead instance is down before the reload");
    const oldMaster = await master();
    const seen = fallbacks().length;
    await register("api-1", "api", "api", ["http"]);
    await cli.waitForLog(() => fallbacks().length > seen);
    assert.match(String(fallbacks().at(-1)!.reason), /is new/);
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && (await master()) === oldMaster) await new Promise((r) => setTimeout(r, 50));
    assert.notEqual(await master(), oldMaster, "HAProxy was reloaded");
    assert.deepEqual(await eventually(5, (s) => s.has("api"), "api.localhost"), new Set(["api"]));
    const state = parseServersState(await runtimeCommand(socket, "show servers state be_web", 5_000)).get(`be_web/${server}`);
    assert.equal(state?.weight, 7, "the weight set at runtime came through the reload (load-server-state-from-file)");
    const deadNow = parseServersState(await runtimeCommand(socket, "show servers state be_dead", 5_000)).get(dead);
    assert.equal(deadNow?.opState, 0, "the health state came through the reload: still down, not assumed up until checks fail again");
  });

  it("a Runtime API command HAProxy refuses falls back to a reload, and the new instance is served", async () => {
    // Someone added a server of that name by hand: consulate's add server is refused.
    const name = uniqueId("web-3");
    assert.equal(await runtimeCommand(socket, `add server be_web/${name} 127.0.0.1:1`, 5_000), "New server registered.");
    const oldMaster = await master();
    const seen = fallbacks().length;
    await register("web-3", "web", "d");
    await cli.waitForLog(() => fallbacks().length > seen);
    assert.match(String(fallbacks().at(-1)!.reason), /HAProxy refused "add server be_web\/web_3-[0-9a-f]{8} /);
    assert.deepEqual(await eventually(10, (s) => s.has("d") && s.has("c")), new Set(["c", "d"]));
    assert.notEqual(await master(), oldMaster, "HAProxy was reloaded");
  });

  it("names are stable: an instance leaving does not rename the others", async () => {
    const names = (text: string) => text.split("\n").filter((l) => l.trim().startsWith("server ")).map((l) => l.trim().split(" ").slice(0, 3).join(" "));
    const before = names(await readFile(config, "utf8"));
    await consul.deregisterService("web-2");
    const after = names(await waitForFile(config, (c) => !c.includes(uniqueId("web-2"))));
    assert.deepEqual(after, before.filter((l) => !l.includes(uniqueId("web-2"))));
  });

  it("metrics count runtime updates and reload fallbacks by reason; /status shows the last one", async () => {
    const metrics = await (await fetch(`http://127.0.0.1:${statusPort}/metrics`)).text();
    const value = (name: string, labels: string) => Number(new RegExp(`^${name}\\{${labels}\\} (\\d+)$`, "m").exec(metrics)?.[1] ?? "0");
    assert.ok(value("consulate_haproxy_runtime_updates_total", `template="${config}"`) >= 3, metrics);
    assert.equal(value("consulate_haproxy_reload_fallbacks_total", `template="${config}",reason="unknown"`), 1, "the first start");
    assert.equal(value("consulate_haproxy_reload_fallbacks_total", `template="${config}",reason="structure"`), 1, "the new backend");
    assert.equal(value("consulate_haproxy_reload_fallbacks_total", `template="${config}",reason="refused"`), 1);
    const status = (await (await fetch(`http://127.0.0.1:${statusPort}/status`)).json()) as { templates: { runtime?: { result: string; operations: number } }[] };
    assert.deepEqual(status.templates[0]?.runtime && { result: status.templates[0].runtime.result, operations: status.templates[0].runtime.operations }, { result: "applied", operations: 1 }, "the last change (an instance leaving) went through the Runtime API");
  });
});
