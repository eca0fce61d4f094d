import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { CliProcess, waitForFile } from "../helpers/cli.js";
import { ConsulAgent } from "../helpers/consul-agent.js";
import { DockerDaemon, testImage } from "../helpers/docker-daemon.js";
import { servicesWithPrefix, waitForServices } from "../helpers/consul-wait.js";
import { WorkDir } from "../helpers/workdir.js";

/** X-Consul-Index of /v1/health/service/<name>. */
async function indexOf(consul: ConsulAgent, service: string): Promise<number> {
  const res = await fetch(`${consul.url}/v1/health/service/${service}`);
  await res.text();
  return Number(res.headers.get("x-consul-index"));
}

/** One line per service: `name: id id …` (sorted), for every name given. */
const listing = (names: string[]) => names.map((n) => `${n}:{{#each (service "${n}")}} {{ID}}{{/each}}\n`).join("");

describe("an instance that moves to another service name leaves its old backend", () => {
  let consul: ConsulAgent;
  let dir: WorkDir;
  before(async () => {
    [consul, dir] = await Promise.all([ConsulAgent.create(), WorkDir.create()]);
  });
  after(async () => {
    await Promise.all([consul?.close(), dir?.[Symbol.asyncDispose]()]);
  });

  it("Consul 1.8 does not move the old service's index on a move; it does on tag-only and port-only changes", async () => {
    await consul.registerService({ ID: "i-x", Name: "ia", Port: 1 });
    await consul.registerService({ ID: "i-y", Name: "ia", Port: 2 });
    const start = await indexOf(consul, "ia");
    await consul.registerService({ ID: "i-x", Name: "ia", Port: 1, Tags: ["t"] });
    const afterTag = await indexOf(consul, "ia");
    assert.ok(afterTag > start, "a tag-only change moves the index");
    await consul.registerService({ ID: "i-x", Name: "ia", Port: 5, Tags: ["t"] });
    const afterPort = await indexOf(consul, "ia");
    assert.ok(afterPort > afterTag, "a port-only change moves the index");
    await consul.registerService({ ID: "i-x", Name: "ib", Port: 5 });
    assert.equal(await indexOf(consul, "ia"), afterPort, "a move leaves the old service's index where it was (the bug this guards against)");
    const body = (await consul.request("GET", "/health/service/ia")) as { Service: { ID: string } }[];
    assert.deepEqual(body.map((e) => e.Service.ID), ["i-y"], "although its answer changed");
  });

  for (const [label, extra] of [
    ["direct blocking watches", []],
    ["more services than the connection budget (probe pool)", ["--max-connections", "4"]],
  ] as const) {
    it(`${label}: corrected in seconds, not at the next wait (60 s)`, async () => {
      const tag = label.startsWith("direct") ? "d" : "p";
      const names = Array.from({ length: 12 }, (_, i) => `${tag}${i}`);
      for (const n of names) await consul.registerService({ ID: `${n}-1`, Name: n, Port: 1000 });
      await consul.registerService({ ID: "z-mover", Name: names[0]!, Port: 2000 });
      const source = await dir.write(`${tag}.hbs`, listing(names));
      const out = dir.file(`${tag}.cfg`);
      await using cli = new CliProcess(["render", "--consul", consul.address, "--log-level", "debug", "-t", `${source}:${out}`, ...extra]);
      await waitForFile(out, (c) => c.startsWith(`${names[0]}: ${names[0]}-1 z-mover\n`));
      // Moves along the list: each time the instance leaves one service and joins the next.
      for (let step = 1; step < 4; step++) {
        await consul.registerService({ ID: "z-mover", Name: names[step]!, Port: 2000 });
        const started = Date.now();
        await waitForFile(out, (c) => c.includes(`${names[step]}: ${names[step]}-1 z-mover\n`) && c.split("z-mover").length === 2, 10_000);
        assert.ok(Date.now() - started < 10_000);
      }
      await cli.waitForLog((l) => l.msg === "an instance moved to another service: reading the service it left again");
      assert.equal((await cli.stop()).code, 0);
    });
  }

  it("a move to a service no template reads is corrected at the next blocking wait", async () => {
    await consul.registerService({ ID: "u-1", Name: "ua", Port: 1 });
    await consul.registerService({ ID: "u-2", Name: "ua", Port: 2 });
    const source = await dir.write("u.hbs", listing(["ua"]));
    const out = dir.file("u.cfg");
    await using cli = new CliProcess(["render", "--consul", consul.address, "--blocking-wait", "2s", "-t", `${source}:${out}`]);
    await waitForFile(out, (c) => c === "ua: u-1 u-2\n");
    await consul.registerService({ ID: "u-2", Name: "elsewhere", Port: 2 });
    // The same index comes back when the wait ends; the answer is compared, not the index.
    await waitForFile(out, (c) => c === "ua: u-1\n", 8_000);
    assert.equal((await cli.stop()).code, 0);
  });
});

describe("the registrator never triggers a move itself", () => {
  let consul: ConsulAgent;
  let docker: DockerDaemon;
  before(async () => {
    [consul, docker] = await Promise.all([ConsulAgent.create(), DockerDaemon.create()]);
  });
  after(async () => {
    await Promise.all([consul?.close(), docker?.close()]);
  });

  it("a container recreated under its old name with a new SERVICE_NAME: the old name is deregistered first", async () => {
    await using cli = new CliProcess(["registrator", "--consul", consul.address, "--docker", docker.host, "--hostname", "mv", "--deregister", "on-success", "--log-level", "debug"]);
    await cli.waitForLog((l) => l.msg === "following Docker events");
    // Exits non-zero on request: with --deregister on-success its registration stays (as registrator's does).
    await docker.runContainer("--name", "app", "-p", "8080", "-e", "SERVICE_NAME=old-name", testImage, "sh", "-c", "httpd -p 8080 -h /www; while [ ! -e /tmp/exit ]; do sleep 0.1; done; exit 1");
    await waitForServices(consul, "mv:", (s) => s.length === 1 && s[0]!.Service === "old-name");
    const oldIndex = await indexOf(consul, "old-name");
    await docker.docker("exec", "app", "sh", "-c", "echo > /tmp/exit");
    await docker.docker("wait", "app");
    // Recreated the way compose does it: the old container steps aside, a new one takes the name.
    await docker.docker("rename", "app", "app-old");
    await docker.runContainer("--name", "app", "-p", "8080", "-e", "SERVICE_NAME=new-name", testImage, "/bin/httpd", "-f", "-p", "8080", "-h", "/www");
    await waitForServices(consul, "mv:", (s) => s.length === 1 && s[0]!.Service === "new-name");
    await cli.waitForLog((l) => l.msg === "service renamed: deregistered the old name first" && l.from === "old-name" && l.to === "new-name");
    assert.ok((await indexOf(consul, "old-name")) > oldIndex, "the old service's index moved: its watchers saw the instance leave");
    const body = (await consul.request("GET", "/health/service/old-name")) as unknown[];
    assert.deepEqual(body, []);
    assert.equal((await servicesWithPrefix(consul, "mv:")).length, 1);
    assert.equal((await cli.stop()).code, 0);
  });
});
