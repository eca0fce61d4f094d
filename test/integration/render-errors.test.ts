import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { runCli } from "../helpers/cli.js";
import { ConsulAgent } from "../helpers/consul-agent.js";
import { WorkDir } from "../helpers/workdir.js";

describe("consulate render reports bad input in one line and touches no output file", () => {
  let consul: ConsulAgent;
  let dir: WorkDir;
  let out: string;
  const original = "previous contents\n";

  before(async () => {
    consul = await ConsulAgent.create();
    dir = await WorkDir.create();
    out = dir.file("out.cfg");
  });
  after(async () => {
    await consul.close();
    await dir[Symbol.asyncDispose]();
  });

  async function expectFailure(args: string[], code: number, message: RegExp): Promise<void> {
    await writeFile(out, original);
    const result = await runCli(["render", "--consul", consul.address, "--once", "--once-timeout", "5s", ...args]);
    assert.equal(result.code, code, result.stderr);
    const errorLines = result.stderr.split("\n").filter((l) => l.startsWith("consulate:"));
    assert.equal(errorLines.length, 1, result.stderr);
    assert.match(errorLines[0]!, message);
    assert.doesNotMatch(result.stderr, /\n\s+at /, "no stack trace");
    assert.equal(await readFile(out, "utf8"), original, "the output file is untouched");
  }

  it("a template that does not parse: file and line", async () => {
    const source = await dir.write("unclosed.hbs", "global\n  maxconn 10\n{{#each (service \"web\")}}\n  server {{ID}}\n");
    await expectFailure(["-t", `${source}:${out}`], 3, /unclosed\.hbs:5: syntax error: unexpected end of template/);
  });

  it("an unknown helper: file, line and column", async () => {
    const source = await dir.write("unknown.hbs", 'a\nb {{servce "web"}}\n');
    await expectFailure(["-t", `${source}:${out}`], 3, /unknown\.hbs:2:3: unknown helper servce$/);
  });

  it("a helper called with a bad argument: file, line and column", async () => {
    const source = await dir.write("badarg.hbs", 'x\n\n  {{#each (service "bad name!")}}{{/each}}');
    await expectFailure(["-t", `${source}:${out}`], 3, /badarg\.hbs:3:\d+: service: expected "\[tag\.\]name\[@datacenter\]", got "bad name!"/);
  });

  it("a missing template file", async () => {
    await expectFailure(["-t", `${dir.file("nope.hbs")}:${out}`], 3, /nope\.hbs: template file not found/);
  });

  it("a malformed --template spec", async () => {
    await expectFailure(["-t", "only-a-source.hbs"], 2, /--template: expected <source>:<destination>\[:<command>\], got "only-a-source.hbs"/);
  });

  it("a config file with a YAML syntax error: file, line and column", async () => {
    const config = await dir.write("broken.yaml", "templates:\n  - source: a.hbs\n    destination: [unclosed\n");
    await expectFailure(["-c", config], 2, /broken\.yaml:\d+:\d+: /);
  });

  it("a config file with a wrong key or type: file, line and key path", async () => {
    const config = await dir.write("wrong.yaml", `consul:\n  address: ${consul.address}\ntemplates:\n  - source: a.hbs\n    destination: 5\n    comand: x\n`);
    await writeFile(out, original);
    const result = await runCli(["render", "--once", "-c", config]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /wrong\.yaml:5: templates\.0\.destination: Expected string, received number/);
    assert.match(result.stderr, /wrong\.yaml:4: templates\.0: unknown key "comand"/);
    assert.doesNotMatch(result.stderr, /\n\s+at /);
  });

  it("a bad --wait and an unknown flag", async () => {
    const source = await dir.write("ok.hbs", "x");
    await expectFailure(["-t", `${source}:${out}`, "--wait", "soon"], 2, /--wait: expected a duration such as 500ms, 2s or 1m30s, got "soon"/);
    const result = await runCli(["render", "--bogus"]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /unknown option '--bogus'/);
  });

  it("never prints the ACL token, even when Consul rejects it", async () => {
    const source = await dir.write("token.hbs", '{{#each (service "web" filter="bad filter !!")}}{{/each}}');
    const token = "s3cr3t-token-value-0123456789";
    const result = await runCli(["render", "--consul", consul.address, "--once", "--once-timeout", "2s", "--token", token, "--log-level", "debug", "-t", `${source}:${out}`]);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /query failed, retrying with backoff/);
    assert.doesNotMatch(result.stderr + result.stdout, new RegExp(token));
  });
});
