import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { CliProcess, runCli, waitForFile } from "../helpers/cli.js";
import { makeCerts, type TestCerts } from "../helpers/certs.js";
import { ConsulAgent } from "../helpers/consul-agent.js";
import { WorkDir } from "../helpers/workdir.js";

describe("TLS to the agent, with certificates made by openssl", () => {
  let dir: WorkDir;
  let certs: TestCerts;
  let plain: ConsulAgent;
  let mutual: ConsulAgent;
  let source: string;
  before(async () => {
    dir = await WorkDir.create();
    certs = await makeCerts(dir.path);
    [plain, mutual] = await Promise.all([
      ConsulAgent.createWithTls({ ca: certs.ca, cert: certs.serverCert, key: certs.serverKey, verifyIncoming: false }),
      ConsulAgent.createWithTls({ ca: certs.ca, cert: certs.serverCert, key: certs.serverKey, verifyIncoming: true }),
    ]);
    for (const agent of [plain, mutual]) await agent.registerService({ ID: "tls-1", Name: "web", Port: 8443 });
    source = await dir.write("web.hbs", '{{#each (service "web")}}{{ID}}:{{Port}}\n{{/each}}');
  });
  after(async () => {
    await Promise.all([plain?.close(), mutual?.close()]);
    await dir?.[Symbol.asyncDispose]();
  });

  const https = (agent: ConsulAgent, host = "127.0.0.1") => `https://${host}:${agent.ports.https}`;

  it("renders over HTTPS with the CA from --ca-file, or from CONSUL_CACERT with CONSUL_HTTP_SSL=true", async () => {
    const flag = await runCli(["render", "--consul", https(plain), "--ca-file", certs.ca, "--once", "-t", `${source}:${dir.file("a.cfg")}`]);
    assert.equal(flag.code, 0, flag.stderr);
    assert.equal(await readFile(dir.file("a.cfg"), "utf8"), "tls-1:8443\n");
    const env = await runCli(["render", "--once", "-t", `${source}:${dir.file("b.cfg")}`], { CONSUL_HTTP_ADDR: `127.0.0.1:${plain.ports.https}`, CONSUL_HTTP_SSL: "true", CONSUL_CACERT: certs.ca });
    assert.equal(env.code, 0, env.stderr);
  });

  it("a watch over HTTPS follows changes", async () => {
    const out = dir.file("watch.cfg");
    await using cli = new CliProcess(["render", "--consul", https(plain), "--ca-path", dir.path, "-t", `${source}:${out}`]);
    await waitForFile(out, (c) => c === "tls-1:8443\n");
    await plain.registerService({ ID: "tls-2", Name: "web", Port: 8444 });
    await waitForFile(out, (c) => c === "tls-1:8443\ntls-2:8444\n");
    assert.equal((await cli.stop()).code, 0);
    await plain.deregisterService("tls-2");
  });

  it("a wrong CA: one line naming the CA file, exit 8 within seconds, not a retry loop", async () => {
    const started = Date.now();
    const result = await runCli(["render", "--consul", https(plain), "--ca-file", certs.otherCa, "--once", "--once-timeout", "60s", "-t", `${source}:${dir.file("c.cfg")}`]);
    assert.equal(result.code, 8, result.stderr);
    assert.ok(Date.now() - started < 10_000, "fails fast, not after --once-timeout");
    const lines = result.stderr.trim().split("\n").filter((l) => l.startsWith("consulate:"));
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, new RegExp(`not signed by a CA in --ca-file ${certs.otherCa.replaceAll(".", "\\.")} \\(unknown CA`));
    // And in watch mode: fatal at start-up too.
    const watch = await runCli(["render", "--consul", https(plain), "--ca-file", certs.otherCa, "-t", `${source}:${dir.file("c.cfg")}`]);
    assert.equal(watch.code, 8);
  });

  it("a name the certificate does not hold: a name-mismatch line; --tls-server-name fixes it", async () => {
    const mismatch = await runCli(["render", "--consul", https(plain), "--ca-file", certs.ca, "--tls-server-name", "other.example", "--once", "-t", `${source}:${dir.file("d.cfg")}`]);
    assert.equal(mismatch.code, 8);
    assert.match(mismatch.stderr, /consulate: TLS to 127\.0\.0\.1:\d+: the agent's certificate is not valid for this name .*--tls-server-name/);
    const named = await runCli(["render", "--consul", https(plain), "--ca-file", certs.ca, "--tls-server-name", "server.dc1.consul", "--once", "-t", `${source}:${dir.file("d.cfg")}`]);
    assert.equal(named.code, 0, named.stderr);
  });

  it("verify_incoming: without a client certificate, one line saying it is required; with one, it works", async () => {
    const refused = await runCli(["render", "--consul", https(mutual), "--ca-file", certs.ca, "--once", "-t", `${source}:${dir.file("e.cfg")}`]);
    assert.equal(refused.code, 8, refused.stderr);
    assert.match(refused.stderr, /consulate: TLS to 127\.0\.0\.1:\d+: the agent refused our client certificate \(none given: it requires one/);
    const accepted = await runCli(["render", "--consul", https(mutual), "--once", "-t", `${source}:${dir.file("e.cfg")}`], { CONSUL_CACERT: certs.ca, CONSUL_CLIENT_CERT: certs.clientCert, CONSUL_CLIENT_KEY: certs.clientKey });
    assert.equal(accepted.code, 0, accepted.stderr);
    assert.equal(await readFile(dir.file("e.cfg"), "utf8"), "tls-1:8443\n");
  });

  it("the registrator and the config file take the same settings", async () => {
    const config = await dir.write("tls.yaml", `consul:\n  address: ${https(mutual)}\n  tls:\n    caFile: ${certs.ca}\n    certFile: ${certs.clientCert}\n    keyFile: ${certs.clientKey}\ntemplates:\n  - source: ${source}\n    destination: ${dir.file("f.cfg")}\n`);
    const fromFile = await runCli(["render", "-c", config, "--once"]);
    assert.equal(fromFile.code, 0, fromFile.stderr);
    const registrator = await runCli(["registrator", "--consul", https(mutual), "--ca-file", certs.otherCa, "--docker", "/nonexistent.sock"]);
    assert.equal(registrator.code, 8);
    assert.match(registrator.stderr, /unknown CA/);
    const missingKey = await runCli(["render", "--consul", https(mutual), "--client-cert", certs.clientCert, "--once", "-t", `${source}:${dir.file("g.cfg")}`]);
    assert.equal(missingKey.code, 2);
    assert.match(missingKey.stderr, /consulate: --client-cert: a client certificate needs its key/);
  });
});
