import assert from "node:assert/strict";
import { readFile, writeFile, copyFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { CliProcess, waitForFile } from "../helpers/cli.js";
import { ConsulAgent, repoRoot } from "../helpers/consul-agent.js";
import { DockerDaemon, testImage } from "../helpers/docker-daemon.js";
import { freePort } from "../helpers/ports.js";
import { WorkDir } from "../helpers/workdir.js";
import { killPidFile, request } from "../helpers/proxy.js";

/** A web container that answers with its own name. */
async function startWeb(docker: DockerDaemon, name: string, service = "web"): Promise<void> {
  await docker.runContainer("--name", name, "-p", "8080", "-e", `SERVICE_NAME=${service}`, "-e", "SERVICE_TAGS=http", "-e", `NAME=${name}`, testImage, "sh", "-c", "echo $NAME > /www/index.html; exec httpd -f -p 8080 -h /www");
}

/** `count` requests through the proxy with Host web.localhost: the bodies, and how many failed. */
async function spread(port: number, count: number, host = "web.localhost"): Promise<{ bodies: Map<string, number>; failures: number }> {
  const bodies = new Map<string, number>();
  let failures = 0;
  for (let i = 0; i < count; i++) {
    const answer = await request(port, host);
    if (answer && answer.status === 200) bodies.set(answer.body, (bodies.get(answer.body) ?? 0) + 1);
    else failures++;
  }
  return { bodies, failures };
}

for (const proxy of ["haproxy", "nginx"] as const) {
  describe(`${proxy} sidecar end to end: real Docker, Consul and ${proxy}`, () => {
    let consul: ConsulAgent;
    let docker: DockerDaemon;
    let dir: WorkDir;
    let port: number;
    let config: string;
    let pidfile: string;
    let template: string;
    let cli: CliProcess;
    const check = proxy === "haproxy" ? "haproxy -c -q -f {{candidate}}" : "nginx -t -q -c {{candidate}}";

    before(async () => {
      [consul, docker, dir] = await Promise.all([ConsulAgent.create(), DockerDaemon.create(), WorkDir.create()]);
      port = await freePort();
      config = dir.file(`${proxy}.cfg`);
      pidfile = dir.file(`${proxy}.pid`);
      template = dir.file(`${proxy}.hbs`);
      await copyFile(join(repoRoot, `templates/${proxy}.hbs`), template);
      const reload = join(repoRoot, `examples/${proxy}-sidecar/reload-${proxy}.sh`);
      cli = new CliProcess(
        ["render", "--registrator", "--consul", consul.address, "--docker", docker.host, "--hostname", "e2e", "--log-level", "debug",
          "-t", `${template}:${config}`, "--check", check, "--exec", `${reload} ${config} ${pidfile}`],
        { CONSULATE_LISTEN: `127.0.0.1:${port}`, CONSULATE_NGINX_PID: pidfile, CONSULATE_NGINX_ERROR_LOG: dir.file("nginx-error.log") },
      );
    });
    after(async () => {
      await cli?.stop();
      await killPidFile(pidfile);
      await Promise.all([consul?.close(), docker?.close()]);
      await dir?.[Symbol.asyncDispose]();
    });

    it("containers join the backend, requests spread over all of them; a stopped one leaves and the rest keep serving", async () => {
      await Promise.all(["w1", "w2", "w3"].map((n) => startWeb(docker, n)));
      await waitForFile(config, (c) => (c.match(/127\.0\.0\.1:\d+/g) ?? []).length >= 3);
      const deadline = Date.now() + 20_000;
      let seen = new Map<string, number>();
      while (Date.now() < deadline && seen.size < 3) seen = (await spread(port, 30)).bodies;
      assert.deepEqual([...seen.keys()].sort(), ["w1", "w2", "w3"], `round robin reaches every container; log:\n${cli.stderr.split("\n").filter((l) => !l.includes('"level":20')).slice(-8).join("\n")}`);

      const stoppedPort = await docker.hostPort("w2", "8080");
      await docker.docker("stop", "-t", "1", "w2");
      const reloads = cli.logs().filter((l) => l.msg === "command succeeded").length;
      await waitForFile(config, (c) => !c.includes(`:${stoppedPort}`));
      // The proxy serves the new file once its reload command has returned.
      await cli.waitForLog(() => cli.logs().filter((l) => l.msg === "command succeeded").length > reloads);
      const after = await spread(port, 30);
      assert.equal(after.failures, 0, "no failed request after the reload");
      assert.deepEqual([...after.bodies.keys()].sort(), ["w1", "w3"]);
    });

    it("a template edit that would break the config is caught by --check: the old config and the running proxy stay", async () => {
      const before = await readFile(config, "utf8");
      const original = await readFile(template, "utf8");
      await writeFile(template, `${original}\nthis is not a valid ${proxy} directive;\n`);
      await cli.waitForLog((l) => l.msg === "check failed: destination untouched, no reload");
      assert.equal(await readFile(config, "utf8"), before);
      const still = await spread(port, 10);
      assert.equal(still.failures, 0);
      const edits = cli.logs().filter((l) => l.msg === "template changed, re-rendering").length;
      await writeFile(template, original);
      // The restored template renders the file it had: found unchanged, nothing written or reloaded.
      await cli.waitForLog(() => {
        const logs = cli.logs();
        const restored = logs.findIndex((l, i) => l.msg === "template changed, re-rendering" && logs.slice(0, i + 1).filter((x) => x.msg === l.msg).length > edits);
        return restored >= 0 && logs.slice(restored).some((l) => l.msg === "unchanged, not written" && l.destination === config);
      });
      assert.equal(await readFile(config, "utf8"), before);
    });

    // nginx -s reload only signals the master, which keeps its old config when the new one
    // cannot bind and still exits 0: there is no failed reload to roll back. HAProxy's is real.
    if (proxy !== "haproxy") return;
    it("a reload that fails after the swap is rolled back and the proxy keeps serving", async () => {
      // Valid syntax, so --check passes, but the new listen address cannot be bound: the reload fails.
      const blocker = await freePort();
      const server = (await import("node:net")).createServer().listen(blocker, "127.0.0.1");
      const original = await readFile(template, "utf8");
      const before = await readFile(config, "utf8");
      await writeFile(template, original.replaceAll('(env "CONSULATE_LISTEN")', `"127.0.0.1:${blocker}"`));
      await cli.waitForLog((l) => l.msg === "reload failed: previous files restored, running the command again");
      await waitForFile(config, (c) => c === before);
      assert.equal((await readFile(`${config}.last-good`, "utf8")), before, "the last good copy is kept on disk");
      const still = await spread(port, 10);
      assert.equal(still.failures, 0);
      server.close();
      await writeFile(template, original);
    });
  });
}
