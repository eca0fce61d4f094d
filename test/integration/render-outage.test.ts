import assert from "node:assert/strict";
import { readFile, stat } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { readFileSync } from "node:fs";
import { CliProcess, runCli, waitForFile } from "../helpers/cli.js";
import { ConsulAgent } from "../helpers/consul-agent.js";
import { WorkDir } from "../helpers/workdir.js";

describe("consulate render when Consul is unreachable", () => {
  let dir: WorkDir;
  before(async () => {
    dir = await WorkDir.create();
  });
  after(async () => {
    await dir[Symbol.asyncDispose]();
  });

  it("waits for Consul that is down at start, logs it once, and renders when it comes up", async () => {
    await using consul = await ConsulAgent.create({ start: false });
    const source = await dir.write("late.hbs", '{{#each (service "late")}}{{ID}}:{{Port}}{{/each}}\n');
    const out = dir.file("late.cfg");
    await using cli = new CliProcess(["render", "--consul", consul.address, "-t", `${source}:${out}`, "--log-level", "debug"]);
    await cli.waitForLog((l) => l.msg === "waiting for Consul, retrying with backoff");
    // Several retries have failed (each is a debug line), and still one warning and no file.
    await cli.waitForLog(() => cli.logs().filter((l) => l.msg === "request failed, retrying with backoff").length >= 4);
    await assert.rejects(stat(out), { code: "ENOENT" }, "nothing is written without data");
    assert.equal(cli.logs().filter((l) => l.msg === "waiting for Consul, retrying with backoff").length, 1, "one line per state change, not per retry");
    assert.equal(cli.child.exitCode, null, "watch mode never exits");

    await consul.start();
    await consul.registerService({ ID: "late-1", Name: "late", Port: 4001 });
    await waitForFile(out, (c) => c === "late-1:4001\n");
    await cli.waitForLog((l) => l.msg === "Consul is reachable again");
    assert.equal((await cli.stop()).code, 0);
  });

  it("keeps the last file while Consul is killed mid-run and catches up when it is back", async () => {
    await using consul = await ConsulAgent.create();
    await consul.registerService({ ID: "mid-1", Name: "mid", Port: 4101 });
    const source = await dir.write("mid.hbs", '{{#each (service "mid")}}{{ID}}:{{Port}} {{/each}}\n');
    const out = dir.file("mid.cfg");
    await using cli = new CliProcess(["render", "--consul", consul.address, "-t", `${source}:${out}`, "--log-level", "debug"]);
    await waitForFile(out, (c) => c === "mid-1:4101 \n");

    await consul.stop();
    await cli.waitForLog((l) => l.msg === "waiting for Consul, retrying with backoff");
    await cli.waitForLog(() => cli.logs().filter((l) => l.msg === "request failed, retrying with backoff").length >= 3);
    assert.equal(await readFile(out, "utf8"), "mid-1:4101 \n", "the file is kept while Consul is away");

    // A dev agent comes back empty: the new catalog is what must be rendered.
    await consul.start();
    await consul.registerService({ ID: "mid-2", Name: "mid", Port: 4102 });
    await waitForFile(out, (c) => c === "mid-2:4102 \n");
    assert.equal((await cli.stop()).code, 0);
  });

  it("--once against an unreachable Consul exits non-zero after --once-timeout without writing", async () => {
    await using consul = await ConsulAgent.create({ start: false });
    const source = await dir.write("once.hbs", '{{#each (service "x")}}{{ID}}{{/each}}');
    await using cli = new CliProcess(["render", "--consul", consul.address, "--once", "--once-timeout", "2s", "-t", `${source}:${source}.out`]);
    const result = await cli.exited;
    assert.equal(result.code, 4);
    assert.match(result.stderr, /consulate: --once: gave up after 2000 ms; still waiting for service "x"/);
    await assert.rejects(stat(`${source}.out`), { code: "ENOENT" });
  });
});

/** 120 services of one instance each (`<prefix><n>-1`), and a template listing them all. */
async function manyServices(consul: ConsulAgent, dir: WorkDir, prefix: string): Promise<{ names: string[]; source: string }> {
  const names = Array.from({ length: 120 }, (_, i) => `${prefix}${i}`);
  for (const n of names) await consul.registerService({ ID: `${n}-1`, Name: n, Port: 7000 });
  const source = await dir.write(`${prefix}.hbs`, names.map((n) => `{{#each (service "${n}")}}{{ID}} {{/each}}`).join("") + "\n");
  return { names, source };
}

describe("consulate render restarted over many services", () => {
  // Consul 1.8 keeps a blocking query's connection open until the query returns, even after the
  // client has gone (its end sits in CLOSE-WAIT): a restarted consulate shares the agent's 200
  // connections per client address with everything its predecessor left waiting. 120 services
  // are 121 direct watches under the default budget (180): the second generation cannot have
  // them all. Before, such a restart met resets and its first file waited for the old queries to
  // time out (the blocking wait, 60 s).
  it("renders again at once after a restart, while the old process's queries are still held; the watches refused a connection share the pool meanwhile", async () => {
    await using consul = await ConsulAgent.create();
    await using dir = await WorkDir.create();
    const { names, source } = await manyServices(consul, dir, "r");
    const complete = (c: string) => names.every((n) => c.includes(`${n}-1 `));
    {
      await using first = new CliProcess(["render", "--consul", consul.address, "-t", `${source}:${dir.file("a.cfg")}`]);
      await waitForFile(dir.file("a.cfg"), complete);
      assert.equal((await first.stop()).code, 0);
    }
    await using second = new CliProcess(["render", "--consul", consul.address, "-t", `${source}:${dir.file("b.cfg")}`]);
    await waitForFile(dir.file("b.cfg"), complete, 10_000);
    // The agent's limit is met once the watches start their blocking queries (else this test proves nothing).
    await second.waitForLog((l) => l.msg.startsWith("the agent refuses new connections"), 10_000);
    assert.ok(!second.logs().some((l) => l.msg === "waiting for Consul, retrying with backoff"), "the refusals are not taken for an agent that is down");
    // Every service is still watched: a change to any of them reaches the file.
    for (const n of [names[0]!, names.at(-1)!]) await consul.registerService({ ID: `${n}-2`, Name: n, Port: 7001 });
    await waitForFile(dir.file("b.cfg"), (c) => c.includes(`${names[0]}-2 `) && c.includes(`${names.at(-1)}-2 `), 10_000);
  });

  it("the watches the agent refused get their own blocking queries back once the old queries have ended", async () => {
    await using consul = await ConsulAgent.create();
    await using dir = await WorkDir.create();
    const { names, source } = await manyServices(consul, dir, "p");
    const complete = (c: string) => names.every((n) => c.includes(`${n}-1 `));
    // A 10 s blocking wait. The first process's queries start once its first file is written and
    // end within 10.6 s of that; the second process is refused a few seconds after, well inside
    // that time, and its refused watches try again 11.6 s after the refusal, when the old queries
    // have surely ended. (With a 3 s wait, a slow start could miss the old queries altogether.)
    const args = ["render", "--blocking-wait", "10s", "--consul", consul.address];
    {
      await using first = new CliProcess([...args, "-t", `${source}:${dir.file("a.cfg")}`]);
      await waitForFile(dir.file("a.cfg"), complete);
      assert.equal((await first.stop()).code, 0);
    }
    await using second = new CliProcess([...args, "--log-level", "debug", "-t", `${source}:${dir.file("b.cfg")}`]);
    await waitForFile(dir.file("b.cfg"), complete, 10_000);
    await second.waitForLog((l) => l.msg.startsWith("the agent refuses new connections"), 10_000);
    await second.waitForLog((l) => l.msg === "watches the agent refused have their own blocking queries again", 20_000);
    const back = second.logs().find((l) => l.msg === "watches the agent refused have their own blocking queries again");
    assert.ok(Number(back?.["watches"]) > 0, "some watches were refused and came back");
    // Each refused watch asked once and waited in the pool: no retry loop against a full agent.
    const refusals = second.logs().filter((l) => l.msg === "the agent refused a connection, retrying").length;
    assert.ok(refusals <= names.length + 1, `${refusals} refusals for ${names.length + 1} watches`);
    // And a change still arrives.
    const n = names.at(-1)!;
    await consul.registerService({ ID: `${n}-2`, Name: n, Port: 7001 });
    await waitForFile(dir.file("b.cfg"), (c) => c.includes(`${n}-2 `), 10_000);
  });

  it("--once leaves no held queries behind: runs one after another each finish, even at a budget of 180", async () => {
    await using consul = await ConsulAgent.create();
    await using dir = await WorkDir.create();
    const { names, source } = await manyServices(consul, dir, "o");
    for (const run of ["first", "second", "third"]) {
      // Before: each run left 120 blocking queries held for the blocking wait (60 s), and the next
      // run met the agent's 200-connection limit and gave up at its --once-timeout.
      const result = await runCli(["render", "--once", "--once-timeout", "20s", "--max-connections", "180", "--consul", consul.address, "-t", `${source}:${dir.file(`${run}.cfg`)}`]);
      assert.equal(result.code, 0, `the ${run} run: ${result.stderr.split("\n").at(-2) ?? ""}`);
      assert.ok(names.every((n) => readFileSync(dir.file(`${run}.cfg`), "utf8").includes(`${n}-1 `)));
    }
  });
});
