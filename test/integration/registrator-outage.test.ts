import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { after, afterEach, before, describe, it } from "node:test";
import { CliProcess, waitForFile } from "../helpers/cli.js";
import { ConsulAgent } from "../helpers/consul-agent.js";
import { checksOf, waitForServices } from "../helpers/consul-wait.js";
import { DockerDaemon, testImage } from "../helpers/docker-daemon.js";
import { WorkDir } from "../helpers/workdir.js";

const httpd = ["/bin/httpd", "-f", "-p", "8080", "-h", "/www"];

describe("consulate registrator when Docker or Consul go away, and inside the renderer", () => {
  let docker: DockerDaemon;
  let dir: WorkDir;
  before(async () => {
    [docker, dir] = await Promise.all([DockerDaemon.create(), WorkDir.create()]);
  });
  after(async () => {
    await Promise.all([docker?.close(), dir?.[Symbol.asyncDispose]()]);
  });
  afterEach(() => docker.removeAllContainers());

  it("dockerd restarts: reconnects, removes services of containers that died meanwhile, follows new ones", async () => {
    await using consul = await ConsulAgent.create();
    await docker.runContainer("--name", "before-restart", "-p", "8080", testImage, ...httpd);
    await using cli = new CliProcess(["registrator", "--consul", consul.address, "--docker", docker.host, "--hostname", "r1"]);
    await waitForServices(consul, "r1:", (s) => s.length === 1);
    await docker.stop();
    await cli.waitForLog((l) => l.msg === "Docker event stream ended, reconnecting");
    await docker.start();
    await cli.waitForLog((l) => l.msg === "Docker event stream is back");
    // The container was stopped with its daemon: its service must go.
    await waitForServices(consul, "r1:", (s) => s.length === 0);
    await docker.runContainer("--name", "after-restart", "-p", "8080", testImage, ...httpd);
    await waitForServices(consul, "r1:", (s) => s.length === 1 && s[0]!.ID === "r1:after-restart:8080");
    assert.equal((await cli.stop()).code, 0);
  });

  it("the Consul agent restarts and loses its state: services come back within 10 s", async () => {
    await using consul = await ConsulAgent.create();
    await docker.runContainer("--name", "survivor", "-p", "8080", testImage, ...httpd);
    await using cli = new CliProcess(["registrator", "--consul", consul.address, "--docker", docker.host, "--hostname", "r2"]);
    await waitForServices(consul, "r2:", (s) => s.length === 1);
    await consul.stop();
    await consul.start();
    const restartedAt = Date.now();
    await waitForServices(consul, "r2:", (s) => s.length === 1, 10_000);
    assert.ok(Date.now() - restartedAt < 10_000);
    assert.equal((await cli.stop()).code, 0);
  });

  it("Consul is down at start and while containers change: nothing is lost, registrations land when it is up", async () => {
    await using consul = await ConsulAgent.create({ start: false });
    await docker.runContainer("--name", "early", "-p", "8080", testImage, ...httpd);
    await using cli = new CliProcess(["registrator", "--consul", consul.address, "--docker", docker.host, "--hostname", "r3", "--retry-interval", "200"]);
    await cli.waitForLog((l) => l.msg === "waiting for Consul");
    await consul.start();
    await waitForServices(consul, "r3:", (s) => s.length === 1);
    // Down again while one container leaves and another arrives.
    await consul.stop();
    await docker.docker("rm", "-f", "early");
    await docker.runContainer("--name", "late", "-p", "8080", testImage, ...httpd);
    await cli.waitForLog((l) => l.msg === "cannot reach Consul, queueing changes and retrying");
    await consul.start();
    await waitForServices(consul, "r3:", (s) => s.length === 1 && s[0]!.ID === "r3:late:8080", 15_000);
    assert.equal((await cli.stop()).code, 0);
  });

  it("mirrors a Docker HEALTHCHECK into the Consul check", async () => {
    await using consul = await ConsulAgent.create();
    await using cli = new CliProcess(["registrator", "--consul", consul.address, "--docker", docker.host, "--hostname", "r4"]);
    await cli.waitForLog((l) => l.msg === "following Docker events");
    await docker.runContainer("--name", "healthy", "-p", "8080", "--health-cmd", "test -f /tmp/ready", "--health-interval", "1s", "--health-retries", "1", testImage, "sh", "-c", "httpd -p 8080 -h /www; sleep 3; echo > /tmp/ready; sleep 600");
    const id = "r4:healthy:8080";
    await waitForServices(consul, "r4:", (s) => s.length === 1);
    const statusOf = async () => (await checksOf(consul, id)).find((c) => c.CheckID.endsWith(":docker-health"))?.Status;
    const deadline = Date.now() + 20_000;
    while ((await statusOf()) !== "passing" && Date.now() < deadline) await sleep(100);
    assert.equal(await statusOf(), "passing");
    assert.equal((await cli.stop()).code, 0);
  });

  it("render --registrator: a container start reaches the rendered file, a stop leaves it", async () => {
    await using consul = await ConsulAgent.create();
    const source = await dir.write("sidecar.hbs", '{{#each (service "sidecar-web")}}server {{ID}} {{Address}}:{{Port}}\n{{/each}}');
    const out = dir.file("sidecar.cfg");
    await using cli = new CliProcess(["render", "--registrator", "--consul", consul.address, "--docker", docker.host, "--hostname", "r5", "-t", `${source}:${out}`]);
    await cli.waitForLog((l) => l.msg === "following Docker events");
    await docker.runContainer("--name", "sc1", "-p", "8080", "-e", "SERVICE_NAME=sidecar-web", testImage, ...httpd);
    const port = await docker.hostPort("sc1", "8080");
    await waitForFile(out, (c) => c === `server r5:sc1:8080 127.0.0.1:${port}\n`);
    await docker.docker("stop", "-t", "1", "sc1");
    await waitForFile(out, (c) => c === "");
    assert.equal((await cli.stop()).code, 0);
  });
});
