import assert from "node:assert/strict";
import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { CliProcess, waitForFile } from "../helpers/cli.js";
import { ConsulAgent } from "../helpers/consul-agent.js";
import { WorkDir } from "../helpers/workdir.js";

const webTemplate = '{{#each (service "web")}}server {{ID}} {{Address}}:{{Port}}\n{{/each}}';

async function lines(path: string): Promise<string[]> {
  return (await readFile(path, "utf8").catch(() => "")).split("\n").filter(Boolean);
}

describe("consulate render in watch mode against a real Consul agent", () => {
  let consul: ConsulAgent;
  let dir: WorkDir;

  before(async () => {
    consul = await ConsulAgent.create();
    dir = await WorkDir.create();
  });
  after(async () => {
    await consul.close();
    await dir[Symbol.asyncDispose]();
  });

  it("rewrites the file when an instance appears or leaves, runs the commands once per change, and ignores unrelated changes", async () => {
    await consul.registerService({ ID: "web-1", Name: "web", Port: 8001 });
    const source = await dir.write("web.hbs", webTemplate);
    const out = dir.file("web.cfg");
    const commandLog = dir.file("web-commands.log");
    await using cli = new CliProcess(["render", "--consul", consul.address, "-t", `${source}:${out}:echo template >> ${commandLog}`, "--exec", `echo exec >> ${commandLog}`, "--log-level", "debug"]);

    await waitForFile(out, (c) => c === "server web-1 127.0.0.1:8001\n");
    await waitForFile(commandLog, (c) => c === "template\nexec\n");

    await consul.registerService({ ID: "web-2", Name: "web", Port: 8002 });
    await waitForFile(out, (c) => c === "server web-1 127.0.0.1:8001\nserver web-2 127.0.0.1:8002\n");
    await waitForFile(commandLog, (c) => c === "template\nexec\ntemplate\nexec\n");

    // Unrelated: another service, a KV write, a re-registration of web-1 with the same data.
    const before = await stat(out);
    await consul.registerService({ ID: "db-1", Name: "db", Port: 5432 });
    await consul.putKey("unrelated", "x");
    await consul.registerService({ ID: "web-1", Name: "web", Port: 8001 });
    // Last, a change the renderer does see (a tag the template does not print): once that pass has
    // found the file unchanged, every change before it has been handled too.
    await consul.registerService({ ID: "web-1", Name: "web", Port: 8001, Tags: ["unused"] });
    await cli.waitForLog((l) => l.msg === "unchanged, not written" && l.destination === out);
    assert.equal((await stat(out)).mtimeMs, before.mtimeMs, "the file must not be rewritten");
    assert.deepEqual(await lines(commandLog), ["template", "exec", "template", "exec"]);

    await consul.deregisterService("web-1");
    await waitForFile(out, (c) => c === "server web-2 127.0.0.1:8002\n");
    await waitForFile(commandLog, (c) => c.split("\n").filter(Boolean).length === 6);

    const result = await cli.stop("SIGTERM");
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual((await readdir(dir.path)).filter((f) => f.endsWith(".tmp")), [], "no temp files left");
  });

  it("drops an instance whose check goes critical and brings it back when it passes", async () => {
    await consul.registerService({ ID: "api-1", Name: "api", Port: 9001 }, "passing");
    await consul.registerService({ ID: "api-2", Name: "api", Port: 9002 }, "passing");
    const source = await dir.write("api.hbs", '{{#each (service "api")}}{{ID}} {{/each}}');
    const out = dir.file("api.cfg");
    await using cli = new CliProcess(["render", "--consul", consul.address, "-t", `${source}:${out}`]);
    await waitForFile(out, (c) => c === "api-1 api-2 ");
    await consul.setCheck("api-2", "fail");
    await waitForFile(out, (c) => c === "api-1 ");
    await consul.setCheck("api-2", "pass");
    await waitForFile(out, (c) => c === "api-1 api-2 ");
    assert.equal((await cli.stop()).code, 0);
  });

  it("renders a template that waits for a KV key only once the key is created", async () => {
    const source = await dir.write("kv.hbs", 'maxconn {{key "lb/maxconn"}}\n');
    const out = dir.file("kv.cfg");
    await using cli = new CliProcess(["render", "--consul", consul.address, "-t", `${source}:${out}`, "--log-level", "debug"]);
    // Consul's answer (no such key) came, and the pass after it still waits.
    await cli.waitForLog(() => {
      const logs = cli.logs();
      const answered = logs.findIndex((l) => l.msg === "answer" && l.dependency === 'key "lb/maxconn"');
      return answered >= 0 && logs.slice(answered).some((l) => l.msg === "waiting for data");
    });
    await assert.rejects(stat(out), { code: "ENOENT" }, "nothing is written before the key exists");
    await consul.putKey("lb/maxconn", "2000");
    await waitForFile(out, (c) => c === "maxconn 2000\n");
    await consul.putKey("lb/maxconn", "3000");
    await waitForFile(out, (c) => c === "maxconn 3000\n");
    assert.equal((await cli.stop()).code, 0);
  });

  it("shares one watch between two templates using the same service and runs --exec once when both change", async () => {
    await consul.registerService({ ID: "cache-1", Name: "cache", Port: 6379 });
    const a = await dir.write("a.hbs", '{{#each (service "cache")}}a {{Port}}\n{{/each}}');
    const b = await dir.write("b.hbs", '{{#each (service "cache")}}b {{Port}}\n{{/each}}');
    const execLog = dir.file("shared-exec.log");
    await using cli = new CliProcess(["render", "--consul", consul.address, "--log-level", "debug", "-t", `${a}:${a}.out`, "-t", `${b}:${b}.out`, "--exec", `echo x >> ${execLog}`]);
    await waitForFile(`${a}.out`, (c) => c === "a 6379\n");
    await waitForFile(`${b}.out`, (c) => c === "b 6379\n");
    await waitForFile(execLog, (c) => c === "x\n");
    await consul.registerService({ ID: "cache-2", Name: "cache", Port: 6380 });
    await waitForFile(`${a}.out`, (c) => c === "a 6379\na 6380\n");
    await waitForFile(`${b}.out`, (c) => c === "b 6379\nb 6380\n");
    await waitForFile(execLog, (c) => c === "x\nx\n");
    const watches = cli.logs().filter((l) => l.msg === "watching" && l.dependency === 'service "cache"');
    assert.equal(watches.length, 1, "one watch for both templates");
    assert.equal((await cli.stop()).code, 0);
  });

  it("re-renders when the template file is edited and keeps the last good output when an edit is broken", async () => {
    await consul.registerService({ ID: "edit-1", Name: "edit", Port: 7001 });
    const source = await dir.write("edit.hbs", '{{#each (service "edit")}}v1 {{Port}}{{/each}}');
    const out = dir.file("edit.cfg");
    await using cli = new CliProcess(["render", "--consul", consul.address, "-t", `${source}:${out}`]);
    await waitForFile(out, (c) => c === "v1 7001");
    await writeFile(source, '{{#each (service "edit")}}v2 {{Port}}{{/each}}');
    await waitForFile(out, (c) => c === "v2 7001");
    await writeFile(source, '{{#each (service "edit")}}v3 {{Port}}');
    await cli.waitForLog((l) => l.msg.startsWith("template edit rejected") && String(l.error).includes("edit.hbs:1"));
    assert.equal(await readFile(out, "utf8"), "v2 7001");
    await writeFile(source, '{{#each (service "edit")}}v4 {{Port}}{{/each}}');
    await waitForFile(out, (c) => c === "v4 7001");
    assert.equal((await cli.stop()).code, 0);
  });

  it("serves more services than the connection budget through the probe pool", async () => {
    const names = Array.from({ length: 12 }, (_, i) => `pool${i}`);
    for (const name of names) await consul.registerService({ ID: `${name}-a`, Name: name, Port: 10000 });
    const template = names.map((n) => `{{#each (service "${n}")}}${n}:{{Port}} {{/each}}`).join("") + "\n";
    const source = await dir.write("pool.hbs", template);
    const out = dir.file("pool.cfg");
    // A budget of 6 holds 4 blocking queries (2 connections are kept for short requests): the
    // other 8 services go through the pool.
    await using cli = new CliProcess(["render", "--consul", consul.address, "--max-connections", "6", "--log-level", "debug", "-t", `${source}:${out}`]);
    await waitForFile(out, (c) => names.every((n) => c.includes(`${n}:10000 `)));
    assert.ok(cli.logs().filter((l) => l.msg === "watching (pooled)").length >= 8);
    await consul.registerService({ ID: "pool11-b", Name: "pool11", Port: 10001 });
    await waitForFile(out, (c) => c.includes("pool11:10000 pool11:10001 "));
    await consul.registerService({ ID: "pool7-a", Name: "pool7", Port: 10007 });
    await waitForFile(out, (c) => c.includes("pool7:10007 ") && !c.includes("pool7:10000"));
    await consul.deregisterService("pool11-a");
    await waitForFile(out, (c) => c.includes("pool11:10001 ") && !c.includes("pool11:10000"));
    assert.equal((await cli.stop()).code, 0);
  });

  it("SIGHUP reloads the config file and its templates", async () => {
    await consul.registerService({ ID: "hup-1", Name: "hup", Port: 5001 });
    const first = await dir.write("hup1.hbs", '{{#each (service "hup")}}one {{Port}}{{/each}}');
    const second = await dir.write("hup2.hbs", '{{#each (service "hup")}}two {{Port}}{{/each}}');
    const out = dir.file("hup.cfg");
    const config = await dir.write("hup.yaml", `consul:\n  address: ${consul.address}\ntemplates:\n  - source: ${first}\n    destination: ${out}\n`);
    await using cli = new CliProcess(["render", "-c", config]);
    await waitForFile(out, (c) => c === "one 5001");
    await writeFile(config, `consul:\n  address: ${consul.address}\ntemplates:\n  - source: ${second}\n    destination: ${out}\n`);
    cli.child.kill("SIGHUP");
    await waitForFile(out, (c) => c === "two 5001");
    await cli.waitForLog((l) => l.msg === "reloaded configuration and templates");
    assert.equal((await cli.stop("SIGINT")).code, 0);
  });

  it("--guard-shrink holds back a change that empties a service until it has persisted", async () => {
    for (const i of [1, 2, 3, 4]) await consul.registerService({ ID: `guard-${i}`, Name: "guarded", Port: 6000 + i });
    const source = await dir.write("guard.hbs", '{{#each (service "guarded")}}{{Port}} {{/each}}');
    const out = dir.file("guard.cfg");
    await using cli = new CliProcess(["render", "--consul", consul.address, "--guard-shrink", "50", "--guard-hold", "2s", "-t", `${source}:${out}`]);
    await waitForFile(out, (c) => c === "6001 6002 6003 6004 ");
    // -25%: within the limit, written at once.
    await consul.deregisterService("guard-4");
    await waitForFile(out, (c) => c === "6001 6002 6003 ");
    // 4 → 1 within the hold (whether in one render or two): measured from the 4, held, then written.
    await consul.deregisterService("guard-3");
    await consul.deregisterService("guard-2");
    await cli.waitForLog((l) => l.msg === "guard: holding the last file back" && /from 4 to 1 instances/.test(String(l.change)));
    const heldAt = Date.now();
    assert.match(await readFile(out, "utf8"), /^6001 6002 (6003 )?$/);
    await waitForFile(out, (c) => c === "6001 ");
    assert.ok(Date.now() - heldAt >= 1_000, "written only after the hold");
    assert.equal((await cli.stop()).code, 0);
  });

  it("leaves out an instance whose value holds a control character, naming service, instance and field; the rest keeps updating", async () => {
    await consul.registerService({ ID: "hostile-1", Name: "hostile", Port: 6101, Tags: ["ok"] });
    const source = await dir.write("hostile.hbs", '{{#each (service "hostile")}}server {{ID}}:{{Port}} # {{join Tags ","}}\n{{/each}}');
    const out = dir.file("hostile.cfg");
    await using cli = new CliProcess(["render", "--consul", consul.address, "-t", `${source}:${out}`]);
    await waitForFile(out, (c) => c === "server hostile-1:6101 # ok\n");
    // Anyone who can register a service can try to inject a line into the config.
    await consul.registerService({ ID: "hostile-2", Name: "hostile", Port: 6102, Tags: ["x\nbackend evil\n  server evil 10.0.0.66:80"] });
    await cli.waitForLog((l) => l.msg === "value refused: left out of the file" && /service "hostile": ID "hostile-2", field Tags \[0\]/.test(String(l.where)) && /control character \(U\+000A\)/.test(String(l.reason)));
    // A benign instance registered after the hostile one still reaches the file.
    await consul.registerService({ ID: "hostile-3", Name: "hostile", Port: 6103, Tags: ["fine"] });
    await waitForFile(out, (c) => c === "server hostile-1:6101 # ok\nserver hostile-3:6103 # fine\n");
    assert.equal(cli.logs().filter((l) => l.msg === "value refused: left out of the file").length, 1, "one warning per refused value, not one per render");
    await consul.deregisterService("hostile-2");
    await cli.waitForLog((l) => l.msg === "value no longer refused");
    assert.equal((await cli.stop()).code, 0);
    await consul.deregisterService("hostile-3");
  });

  it("--on-unsafe fail stops updating the file instead, and says why", async () => {
    await consul.registerService({ ID: "strict-1", Name: "strict", Port: 6201 });
    const source = await dir.write("strict.hbs", '{{#each (service "strict")}}server {{ID}}:{{Port}} {{join Tags ","}}\n{{/each}}');
    const out = dir.file("strict.cfg");
    await using cli = new CliProcess(["render", "--consul", consul.address, "--on-unsafe", "fail", "-t", `${source}:${out}`]);
    await waitForFile(out, (c) => c === "server strict-1:6201 \n");
    await consul.registerService({ ID: "strict-2", Name: "strict", Port: 6202, Tags: ["x\ny"] });
    await cli.waitForLog((l) => l.msg === "render failed; the last good output stays" && /strict-2.*control character/.test(String(l.error)));
    assert.equal(await readFile(out, "utf8"), "server strict-1:6201 \n");
    assert.equal((await cli.stop()).code, 0);
  });
});
