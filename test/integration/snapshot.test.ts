import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { HealthServiceDependency } from "../../src/dependency/health-service.js";
import { CliProcess, runCli, waitForFile } from "../helpers/cli.js";
import { ConsulAgent } from "../helpers/consul-agent.js";
import { WorkDir } from "../helpers/workdir.js";

// A template over every service starts from one snapshot of the catalog (/v1/internal/ui/nodes)
// instead of one read per service. What each service's instances look like must not depend on
// that: the expected file is built from Consul's own per-service health answers.
describe("first answers from one snapshot of the catalog", () => {
  let consul: ConsulAgent;
  let dir: WorkDir;
  const template = '{{#each (services)}}{{Name}} {{toJSON (service Name status="any")}}\n{{/each}}';

  before(async () => {
    consul = await ConsulAgent.create();
    dir = await WorkDir.create();
    // Two more nodes: node metadata, tagged addresses, a node check that is warning on one.
    for (const [node, status] of [["n-alpha", "passing"], ["n-Beta", "warning"]] as const) {
      await consul.request("PUT", "/catalog/register", {
        Node: node,
        Address: node === "n-alpha" ? "127.0.3.1" : "127.0.3.2",
        NodeMeta: { rack: node },
        TaggedAddresses: { lan: "127.0.3.9" },
        Check: { CheckID: "node-health", Name: "node health", Status: status, Output: `${node} says ${status}` },
      });
    }
    for (let i = 0; i < 18; i++) {
      const name = `svc${i}`;
      for (const [n, node] of ["n-alpha", "n-Beta"].entries()) {
        await consul.request("PUT", "/catalog/register", {
          Node: node,
          Address: node === "n-alpha" ? "127.0.3.1" : "127.0.3.2",
          Service: { ID: `${name}-${n}`, Service: name, Port: 9000 + i, Address: n === 0 ? "" : "127.0.4.4", Tags: ["a", "b", "a"], Meta: { i: String(i) } },
          Check: { CheckID: `check-${name}-${n}`, Name: "svc check", Status: i % 3 === 0 ? "critical" : "passing", ServiceID: `${name}-${n}`, Output: "out" },
        });
      }
    }
    // Names that differ only in case: Consul's health read of either finds both.
    await consul.registerService({ ID: "m-1", Name: "Mixed", Port: 7001 });
    await consul.registerService({ ID: "m-2", Name: "mixed", Port: 7002 }, "warning");
  });
  after(async () => {
    await consul.close();
    await dir[Symbol.asyncDispose]();
  });

  /** The file consulate must write, from a health read of each service, normalised as consulate does. */
  async function expected(): Promise<string> {
    const names = Object.keys((await consul.request("GET", "/catalog/services")) as object).sort();
    const lines = await Promise.all(
      names.map(async (name) => {
        const res = await fetch(`${consul.url}/v1/health/service/${encodeURIComponent(name)}`);
        const body: unknown = await res.json();
        const instances = new HealthServiceDependency(name, { status: "any" }, { stale: false }).normalize({ body, index: 1, statusCode: 200, lastContactMs: 0 });
        return `${name} ${JSON.stringify(instances)}\n`;
      }),
    );
    return lines.join("");
  }

  it("--once: the file equals what the per-service reads give", async () => {
    const source = await dir.write("once.hbs", template);
    const out = dir.file("once.out");
    const result = await runCli(["render", "--once", "--log-level", "debug", "--consul", consul.address, "-t", `${source}:${out}`]);
    assert.equal(result.code, 0, result.stderr);
    assert.ok(result.stderr.includes('"msg":"snapshot"'), "the snapshot was used (else this test proves nothing)");
    assert.equal(await readFile(out, "utf8"), await expected());
  });

  it("watch: the same file, and the watches that start from the snapshot's index see the next change", async () => {
    const source = await dir.write("watch.hbs", template);
    const out = dir.file("watch.out");
    await using cli = new CliProcess(["render", "--log-level", "debug", "--consul", consul.address, "-t", `${source}:${out}`]);
    const want = await expected();
    await waitForFile(out, (c) => c === want);
    assert.ok(cli.logs().some((l) => l.msg === "snapshot"), "the snapshot was used");
    await consul.request("PUT", "/catalog/register", { Node: "n-alpha", Address: "127.0.3.1", Service: { ID: "svc5-new", Service: "svc5", Port: 9555 } });
    await consul.request("PUT", "/catalog/register", { Node: "n-alpha", Address: "127.0.3.1", Check: { CheckID: "check-svc7-0", Name: "svc check", Status: "critical", ServiceID: "svc7-0", Output: "down" } });
    const next = await expected();
    assert.ok(next.includes('"svc5-new"'));
    await waitForFile(out, (c) => c === next);
  });
});
