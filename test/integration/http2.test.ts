import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { CliProcess, waitForFile } from "../helpers/cli.js";
import { makeCerts, type TestCerts } from "../helpers/certs.js";
import { ConsulAgent } from "../helpers/consul-agent.js";
import { freePort } from "../helpers/ports.js";
import { WorkDir } from "../helpers/workdir.js";

interface Status {
  consul: { connections: number; reachable: boolean | null };
}

describe("HTTP/2 to an HTTPS agent: every dependency a real blocking query on a few connections", () => {
  let dir: WorkDir;
  let certs: TestCerts;
  let consul: ConsulAgent;
  before(async () => {
    dir = await WorkDir.create();
    certs = await makeCerts(dir.path);
    consul = await ConsulAgent.createWithTls({ ca: certs.ca, cert: certs.serverCert, key: certs.serverKey, verifyIncoming: false });
  });
  after(async () => {
    await consul?.close();
    await dir?.[Symbol.asyncDispose]();
  });

  it("more watches than one connection's stream limit: 250 blocking queries on 2 connections, and a change lands at once", async () => {
    const services = 250;
    // On a node of their own: the agent's anti-entropy would remove catalog entries on its own node.
    await consul.request("PUT", "/txn", [{ Node: { Verb: "set", Node: { Node: "h2-node", Address: "127.0.0.2" } } }]);
    const ops = Array.from({ length: services }, (_, i) => ({ Service: { Verb: "set", Node: "h2-node", Service: { ID: `h2-${i}`, Service: `h2-${i}`, Port: 10_000 + i } } }));
    for (let i = 0; i < ops.length; i += 64) await consul.request("PUT", "/txn", ops.slice(i, i + 64));
    const source = await dir.write("many.hbs", '{{#each (services)}}{{#if (hasPrefix Name "h2-")}}{{Name}}:{{#each (service Name)}} {{Port}}{{/each}}\n{{/if}}{{/each}}');
    const out = dir.file("many.cfg");
    const port = await freePort();
    await using cli = new CliProcess(["render", "--consul", `https://127.0.0.1:${consul.ports.https}`, "--ca-file", certs.ca, "--listen", `127.0.0.1:${port}`, "--log-level", "debug", "-t", `${source}:${out}`]);
    await waitForFile(out, (c) => c.split("\n").filter(Boolean).length === services);
    assert.ok(!cli.logs().some((l) => l.msg === "watching (pooled)"), "no dependency falls back to the probe pool");
    const status = (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as Status;
    // ⌈251 watches / 200 streams⌉ = 2 sessions, plus at most a few HTTP/1.1 sockets for one-shot calls.
    assert.ok(status.consul.connections <= 4, `${status.consul.connections} connections`);
    const started = Date.now();
    await consul.request("PUT", "/catalog/register", { Node: "h2-node", Address: "127.0.0.2", Service: { ID: "h2-7-b", Service: "h2-7", Port: 20_007 } });
    await waitForFile(out, (c) => c.includes("h2-7: 10007 20007\n"), 5_000);
    assert.ok(Date.now() - started < 5_000);
    assert.equal((await cli.stop()).code, 0);
  });

  it("survives an agent restart: the sessions go, new ones come, the watches go on", async () => {
    await consul.registerService({ ID: "r-1", Name: "restart", Port: 7001 });
    const source = await dir.write("restart.hbs", '{{#each (service "restart")}}{{ID}}:{{Port}}\n{{/each}}');
    const out = dir.file("restart.cfg");
    await using cli = new CliProcess(["render", "--consul", `https://127.0.0.1:${consul.ports.https}`, "--ca-file", certs.ca, "-t", `${source}:${out}`]);
    await waitForFile(out, (c) => c === "r-1:7001\n");
    await consul.stop();
    await cli.waitForLog((l) => l.msg === "waiting for Consul, retrying with backoff");
    await consul.start();
    // A dev agent starts empty: what the file shows next comes from the new agent.
    await consul.registerService({ ID: "r-2", Name: "restart", Port: 7002 });
    await waitForFile(out, (c) => c === "r-2:7002\n", 30_000);
    await cli.waitForLog((l) => l.msg === "Consul is reachable again");
    assert.equal((await cli.stop()).code, 0);
  });
});
