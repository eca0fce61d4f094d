import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { runCli } from "../helpers/cli.js";
import { repoRoot } from "../helpers/consul-agent.js";
import { WorkDir } from "../helpers/workdir.js";

describe("consulate validate (no Consul needed)", () => {
  let dir: WorkDir;
  before(async () => {
    dir = await WorkDir.create();
  });
  after(async () => {
    await dir[Symbol.asyncDispose]();
  });

  it("accepts a config whose templates compile, with no Consul running", async () => {
    const config = await dir.write("ok.yaml", `consul:\n  address: 127.0.0.1:1\ntemplates:\n  - source: ${join(repoRoot, "templates/haproxy.hbs")}\n    destination: ${dir.file("h.cfg")}\n  - source: ${join(repoRoot, "templates/nginx.hbs")}\n    destination: ${dir.file("n.cfg")}\n`);
    const result = await runCli(["validate", "-c", config]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, "ok: 2 templates valid\n");
  });

  it("rejects a template with an unknown helper, naming file, line and column", async () => {
    const template = await dir.write("bad.hbs", "a\n{{#each (servce \"x\")}}{{/each}}\n");
    const result = await runCli(["validate", "-t", `${template}:${dir.file("o")}`]);
    assert.equal(result.code, 3);
    assert.match(result.stderr, /bad\.hbs:2:\d+: unknown helper servce/);
  });

  it("the published JSON Schema matches the config schema", async () => {
    const result = await runCli(["validate", "--print-schema"]);
    assert.equal(result.code, 0);
    assert.equal(result.stdout, await readFile(join(repoRoot, "examples/consulate.schema.json"), "utf8"), "regenerate with: consulate validate --print-schema > examples/consulate.schema.json");
  });
});
