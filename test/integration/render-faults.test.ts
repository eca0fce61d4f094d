import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import { CliProcess, runCli, waitForFile } from "../helpers/cli.js";
import { ConsulAgent } from "../helpers/consul-agent.js";
import { WorkDir } from "../helpers/workdir.js";

const run = promisify(execFile);

/** PIDs of live `sleep` processes whose command line contains `marker` (zombies excluded). */
async function processesWith(marker: string): Promise<number[]> {
  const { stdout } = await run("ps", ["-eo", "pid=,stat=,comm=,args="]);
  return stdout
    .split("\n")
    .filter((l) => l.includes(marker) && l.trim().split(/\s+/)[2] === "sleep")
    .map((l) => l.trim().split(/\s+/))
    .filter(([, stat]) => !stat?.startsWith("Z"))
    .map(([pid]) => Number(pid));
}

describe("faults: hung commands, full disks, bad destinations", () => {
  let consul: ConsulAgent;
  let dir: WorkDir;
  before(async () => {
    [consul, dir] = await Promise.all([ConsulAgent.create(), WorkDir.create()]);
  });
  after(async () => {
    await Promise.all([consul?.close(), dir?.[Symbol.asyncDispose]()]);
  });

  it("a command that hangs is killed with its whole process group at the timeout, logged, and the next change still renders", async () => {
    await consul.registerService({ ID: "hang-1", Name: "hang", Port: 7001 });
    const source = await dir.write("hang.hbs", '{{#each (service "hang")}}{{Port}} {{/each}}');
    const out = dir.file("hang.cfg");
    // A sleep with a duration of its own is the grandchild to look for: sh runs a shell that runs sleep.
    const marker = `sleep ${100_000 + process.pid}`;
    await using cli = new CliProcess(["render", "--consul", consul.address, "-t", `${source}:${out}`, "-x", `sh -c '${marker}'`, "--command-timeout", "1s"]);
    await waitForFile(out, (c) => c === "7001 ");
    await cli.waitForLog((l) => /^command timed out after 1000 ms/.test(l.msg));
    const timedOut = cli.logs().find((l) => /^command timed out/.test(l.msg))!;
    assert.equal(timedOut.command, `sh -c '${marker}'`);
    assert.ok(Number(timedOut.ms) >= 1000, "the log line says how long it ran");
    assert.deepEqual(await processesWith(marker), [], "no orphan left behind");
    // The file stays: the first render has no previous file to go back to, and nothing deletes it.
    assert.equal(await readFile(out, "utf8"), "7001 ");
    await consul.registerService({ ID: "hang-2", Name: "hang", Port: 7002 });
    await waitForFile(out, (c) => c === "7001 7002 ");
    assert.equal((await cli.stop()).code, 0);
    assert.deepEqual(await processesWith(marker), []);
  });

  it("SIGTERM during a hung command ends consulate within 5 s and kills the command's group, even one that ignores SIGTERM", async () => {
    await consul.registerService({ ID: "term-1", Name: "term", Port: 7101 });
    const source = await dir.write("term.hbs", '{{#each (service "term")}}{{Port}}{{/each}}');
    const out = dir.file("term.cfg");
    const marker = `sleep ${200_000 + process.pid}`;
    await using cli = new CliProcess(["render", "--consul", consul.address, "-t", `${source}:${out}`, "-x", `trap '' TERM; sh -c 'trap "" TERM; ${marker}'`, "--command-timeout", "10m"]);
    await waitForFile(out, (c) => c === "7101");
    const deadline = Date.now() + 10_000;
    while ((await processesWith(marker)).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal((await processesWith(marker)).length, 1, "the command is running");
    const started = Date.now();
    const { code } = await cli.stop("SIGTERM");
    assert.equal(code, 0);
    assert.ok(Date.now() - started < 5_000, `stopped in ${Date.now() - started} ms`);
    assert.deepEqual(await processesWith(marker), [], "the group was killed");
  });

  it("a failed reload after a first render keeps the new file (nothing to roll back to) and does not rerun", async () => {
    await consul.registerService({ ID: "first-1", Name: "first", Port: 7201 });
    const source = await dir.write("first.hbs", '{{#each (service "first")}}{{Port}}{{/each}}');
    const out = dir.file("first.cfg");
    const counter = dir.file("first.count");
    await using cli = new CliProcess(["render", "--consul", consul.address, "-t", `${source}:${out}`, "-x", `echo run >> ${counter}; exit 1`]);
    await cli.waitForLog((l) => l.msg === "reload failed and there is no previous file to restore: the new file stays");
    assert.equal(await readFile(out, "utf8"), "7201");
    assert.equal(await readFile(counter, "utf8"), "run\n", "the command ran once");
    await rm(`${out}.last-good`).then(() => assert.fail("a failed reload must not become last-good"), () => undefined);
    assert.equal((await cli.stop()).code, 0);
  });

  it("a full disk: one line with the errno, the old file stays, consulate keeps running and writes once there is room", async () => {
    // A real full file system: a 16 KiB tmpfs (the tests run as root, as CI does).
    const mount = dir.file("tiny");
    await mkdir(mount);
    await run("mount", ["-t", "tmpfs", "-o", "size=16k", "tmpfs", mount]);
    try {
      const source = await dir.write("disk.hbs", '{{#each (service "disk")}}{{ID}} {{/each}}{{keyOrDefault "disk/pad" ""}}');
      const out = `${mount}/disk.cfg`;
      await consul.registerService({ ID: "disk-1", Name: "disk", Port: 7301 });
      await using cli = new CliProcess(["render", "--consul", consul.address, "-t", `${source}:${out}`]);
      await waitForFile(out, (c) => c === "disk-1 ");
      await consul.putKey("disk/pad", "x".repeat(32 * 1024));
      await cli.waitForLog((l) => l.msg === "cannot write; the old file stays, retrying" && /ENOSPC/.test(String(l.error)));
      assert.equal(await readFile(out, "utf8"), "disk-1 ", "the old file is intact");
      assert.ok(!cli.stderr.includes("    at "), "no stack trace");
      await consul.putKey("disk/pad", "small");
      await waitForFile(out, (c) => c === "disk-1 small");
      assert.equal((await cli.stop()).code, 0);
    } finally {
      await run("umount", [mount]);
    }
  });

  it("a destination whose parent became a file, or that is a directory: one line, no stack, retried", async () => {
    await consul.registerService({ ID: "dest-1", Name: "dest", Port: 7401 });
    const source = await dir.write("dest.hbs", '{{#each (service "dest")}}{{ID}}{{/each}}');
    const parent = dir.file("parent");
    await writeFile(parent, "I am a file");
    await using cli = new CliProcess(["render", "--consul", consul.address, "-t", `${source}:${parent}/out.cfg`]);
    await cli.waitForLog((l) => l.msg === "cannot write; the old file stays, retrying" && /ENOTDIR|EEXIST/.test(String(l.error)));
    await rm(parent);
    await mkdir(parent);
    await waitForFile(`${parent}/out.cfg`, (c) => c === "dest-1");
    assert.equal((await cli.stop()).code, 0);

    const asDir = dir.file("a-directory");
    await mkdir(asDir);
    const once = await runCli(["render", "--consul", consul.address, "--once", "-t", `${source}:${asDir}`]);
    assert.equal(once.code, 5);
    assert.equal(once.stderr.trim().split("\n").filter((l) => l.startsWith("consulate:")).length, 1);
    assert.match(once.stderr, /consulate: .*a-directory.*(EISDIR|is a directory)/);
    assert.ok(!once.stderr.includes("    at "), "no stack trace");
  });

  it("--once exits 6 when the check refuses the file or the reload fails", async () => {
    await consul.registerService({ ID: "oc-1", Name: "oc", Port: 7501 });
    const source = await dir.write("oc.hbs", '{{#each (service "oc")}}{{ID}}{{/each}}');
    const checked = await runCli(["render", "--consul", consul.address, "--once", "-t", `${source}:${dir.file("oc1.cfg")}`, "--check", "false"]);
    assert.equal(checked.code, 6, checked.stderr);
    assert.match(checked.stderr, /consulate: --once: the check refused .*oc1\.cfg/);
    await rm(dir.file("oc1.cfg")).then(() => assert.fail("a refused candidate must not be written"), () => undefined);
    const reloaded = await runCli(["render", "--consul", consul.address, "--once", "-t", `${source}:${dir.file("oc2.cfg")}`, "-x", "exit 3"]);
    assert.equal(reloaded.code, 6, reloaded.stderr);
    assert.match(reloaded.stderr, /consulate: --once: "exit 3" failed/);
    const fine = await runCli(["render", "--consul", consul.address, "--once", "-t", `${source}:${dir.file("oc3.cfg")}`, "-x", "true"]);
    assert.equal(fine.code, 0, fine.stderr);
  });
});
