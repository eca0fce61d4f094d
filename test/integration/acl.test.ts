import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { CliProcess, runCli, waitForFile } from "../helpers/cli.js";
import { ConsulAgent } from "../helpers/consul-agent.js";
import { DockerDaemon, testImage } from "../helpers/docker-daemon.js";
import { freePort } from "../helpers/ports.js";
import { WorkDir } from "../helpers/workdir.js";

const management = "c0ffee00-0000-4000-8000-000000000001";
const readAll = 'node_prefix "" { policy = "read" }\nservice_prefix "" { policy = "read" }\nkey_prefix "" { policy = "read" }';

describe("ACLs: never silently render an empty world (a real agent with default deny)", () => {
  let consul: ConsulAgent;
  let dir: WorkDir;
  let source: string;
  before(async () => {
    [consul, dir] = await Promise.all([ConsulAgent.createWithAcls(management), WorkDir.create()]);
    await consul.registerService({ ID: "web-1", Name: "web", Port: 8001 });
    source = await dir.write("web.hbs", 'backend web\n{{#each (service "web")}}  server {{ID}} 127.0.0.1:{{port Port}}\n{{/each}}');
  });
  after(async () => {
    await Promise.all([consul?.close(), dir?.[Symbol.asyncDispose]()]);
  });

  it("no token: a clear error and exit 7 before anything is written; --allow-anonymous runs, with a warning", async () => {
    const out = dir.file("anon.cfg");
    const refused = await runCli(["render", "--consul", consul.address, "--once", "-t", `${source}:${out}`], { CONSUL_HTTP_TOKEN: "" });
    assert.equal(refused.code, 7, refused.stderr);
    assert.match(refused.stderr, /consulate: Consul at 127\.0\.0\.1:\d+ enforces ACLs and no token was given.*--allow-anonymous/);
    await readFile(out).then(() => assert.fail("nothing may be written"), () => undefined);

    await using cli = new CliProcess(["render", "--consul", consul.address, "--allow-anonymous", "-t", `${source}:${out}`]);
    await waitForFile(out, (c) => c === "backend web\n");
    await cli.waitForLog((l) => /^ACLs are on and no token was given \(--allow-anonymous\)/.test(l.msg));
    await cli.waitForLog((l) => l.msg === "not in the catalog, or hidden from this token: rendered with no instances" && l.dependency === 'service "web"');
    assert.equal((await cli.stop()).code, 0);
  });

  it("an unknown token: exit 7 naming the problem, never the token", async () => {
    const secret = "deadbeef-dead-4bee-8eef-000000000042";
    const result = await runCli(["render", "--consul", consul.address, "--once", "--token", secret, "-t", `${source}:${dir.file("unknown.cfg")}`]);
    assert.equal(result.code, 7);
    assert.match(result.stderr, /does not know the ACL token given/);
    assert.ok(!result.stderr.includes(secret), "the token never appears");
  });

  it("an empty token file is an error naming the file (exit 2)", async () => {
    const empty = await dir.write("empty-token", "\n");
    const result = await runCli(["render", "--consul", consul.address, "--once", "--token-file", empty, "-t", `${source}:${dir.file("empty.cfg")}`]);
    assert.equal(result.code, 2);
    assert.equal(result.stderr.trim(), `consulate: --token-file: token file ${empty} is empty; put the ACL token in it, or leave the option out to run without a token`);
    const viaEnv = await runCli(["render", "--consul", consul.address, "--once", "-t", `${source}:${dir.file("empty.cfg")}`], { CONSUL_HTTP_TOKEN_FILE: empty });
    assert.match(viaEnv.stderr, /^consulate: CONSUL_HTTP_TOKEN_FILE: token file .* is empty/);
  });

  it("a token that cannot see the service: the file is written, with a warning, /readyz and /status saying why", async () => {
    const { secret } = await consul.createToken("no-web", 'node_prefix "" { policy = "read" }\nservice "other" { policy = "read" }\nkey_prefix "" { policy = "read" }');
    const tokenFile = await dir.write("no-web-token", `${secret}\n`);
    const out = dir.file("hidden.cfg");
    const port = await freePort();
    await using cli = new CliProcess(["render", "--consul", consul.address, "--token-file", tokenFile, "--listen", `127.0.0.1:${port}`, "-t", `${source}:${out}`]);
    await waitForFile(out, (c) => c === "backend web\n");
    await cli.waitForLog((l) => l.msg === "not in the catalog, or hidden from this token: rendered with no instances" && l.dependency === 'service "web"');
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    assert.match(await ready.text(), /service "web" is not in the catalog, or hidden from this token/);
    const status = (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as { templates: { notInCatalog: string[] }[] };
    assert.deepEqual(status.templates[0]!.notInCatalog, ['service "web"']);
    assert.ok(!cli.stderr.includes(secret), "the token never appears in the log");
    assert.equal((await cli.stop()).code, 0);
  });

  it("a policy that loses service:read mid-run is noticed", async () => {
    const { secret, policyId } = await consul.createToken("loses-read", readAll);
    const out = dir.file("loses.cfg");
    await using cli = new CliProcess(["render", "--consul", consul.address, "--token", secret, "--blocking-wait", "1s", "-t", `${source}:${out}`]);
    await waitForFile(out, (c) => c.includes("server web-1 127.0.0.1:8001"));
    await consul.request("PUT", `/acl/policy/${policyId}`, { Name: "loses-read", Rules: 'node_prefix "" { policy = "read" }\nkey_prefix "" { policy = "read" }' });
    await cli.waitForLog((l) => l.msg === "not in the catalog, or hidden from this token: rendered with no instances" && l.dependency === 'service "web"');
    assert.equal((await cli.stop()).code, 0);
  });

  it("a token with read access renders the real backend, without warnings", async () => {
    const { secret } = await consul.createToken("reader", readAll);
    const out = dir.file("reader.cfg");
    const result = await runCli(["render", "--consul", consul.address, "--once", "-t", `${source}:${out}`], { CONSUL_HTTP_TOKEN: secret });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(await readFile(out, "utf8"), "backend web\n  server web-1 127.0.0.1:8001\n");
    assert.ok(!result.stderr.includes("hidden from this token"));
  });

  describe("the registrator", () => {
    let docker: DockerDaemon;
    before(async () => {
      docker = await DockerDaemon.create();
      await docker.runContainer("--name", "acl-web", "-p", "8080", testImage, "/bin/httpd", "-f", "-p", "8080", "-h", "/www");
    });
    after(async () => {
      await docker?.close();
    });

    it("no token: exit 7 with the reason; --allow-anonymous goes on", async () => {
      const result = await runCli(["registrator", "--consul", consul.address, "--docker", docker.host, "--hostname", "acl0"]);
      assert.equal(result.code, 7, result.stderr);
      assert.match(result.stderr, /enforces ACLs and no token was given/);
    });

    it("a read-only token: 'permission denied: <what is missing>' once, and /readyz says so until a token can write", async () => {
      const { secret } = await consul.createToken("registrator-ro", readAll);
      const port = await freePort();
      await using cli = new CliProcess(["registrator", "--consul", consul.address, "--docker", docker.host, "--hostname", "acl1", "--token", secret, "--listen", `127.0.0.1:${port}`, "--log-level", "debug"]);
      await cli.waitForLog((l) => l.msg === "permission denied: missing service:write on busybox");
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      assert.equal(ready.status, 503);
      assert.match(await ready.text(), /not ready: registrator: permission denied: missing service:write on busybox/);
      // Retries go on (with backoff, each a debug line), but the state is said once.
      await cli.waitForLog(() => cli.logs().filter((l) => l.msg === "reconcile failed, retrying with backoff").length >= 3);
      assert.equal(cli.logs().filter((l) => /^permission denied/.test(l.msg)).length, 1);
      assert.ok(!cli.logs().some((l) => l.msg === "waiting for Consul"), "an answer that says no is not an unreachable agent");
      assert.ok(!cli.stderr.includes(secret));
      assert.equal((await cli.stop()).code, 0);
    });
  });
});

describe("X-Consul-Results-Filtered-By-ACLs (newer agents)", () => {
  // Consul 1.8.7 never sends this header, so no real agent can produce it on demand: this one
  // fault is played by a minimal stand-in for the three endpoints the renderer reads.
  it("is an error for that dependency: logged, not rendered as data", async () => {
    const server = http.createServer((req, res) => {
      const path = (req.url ?? "").split("?")[0];
      if (path === "/v1/acl/token/self") {
        res.writeHead(401).end("ACL support disabled");
      } else if (path === "/v1/catalog/services") {
        res.writeHead(200, { "content-type": "application/json", "x-consul-index": "5" }).end('{"web":[]}');
      } else if (path === "/v1/health/service/web") {
        // Hold blocking queries a little, as a real agent would.
        setTimeout(() => res.writeHead(200, { "content-type": "application/json", "x-consul-index": "5", "x-consul-results-filtered-by-acls": "true" }).end("[]"), req.url?.includes("index=") ? 500 : 0);
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    await using dir = await WorkDir.create();
    try {
      const source = await dir.write("f.hbs", '{{#each (service "web")}}{{ID}}{{/each}}');
      const out = dir.file("f.cfg");
      await using cli = new CliProcess(["render", "--consul", `127.0.0.1:${(server.address() as AddressInfo).port}`, "-t", `${source}:${out}`]);
      await cli.waitForLog((l) => l.msg === "query failed, retrying with backoff" && /results filtered by ACLs/.test(String(l.error)));
      await readFile(out).then(() => assert.fail("a filtered answer must not be rendered"), () => undefined);
      assert.equal((await cli.stop()).code, 0);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
