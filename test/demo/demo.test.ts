import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, it } from "node:test";
import { repoRoot } from "../helpers/consul-agent.js";

const run = promisify(execFile);

/** PIDs of processes whose name is one of `names` (zombies excluded). */
async function pidsOf(...names: string[]): Promise<Set<string>> {
  const { stdout } = await run("ps", ["-eo", "pid=,stat=,comm="]);
  return new Set(
    stdout
      .split("\n")
      .map((l) => l.trim().split(/\s+/))
      .filter(([, stat, comm]) => !stat?.startsWith("Z") && names.includes(comm ?? ""))
      .map(([pid]) => pid!),
  );
}

async function dockerAnswers(): Promise<boolean> {
  return run("docker", ["version"], { timeout: 10_000 }).then(() => true, () => false);
}

// Runs alone, after the other suites (see package.json): it may start the system's dockerd.
describe("the README's demo", () => {
  it("runs end to end, exits by itself, and leaves nothing running that it started", async () => {
    const dockerBefore = await dockerAnswers();
    const before = await pidsOf("dockerd", "containerd", "haproxy", "consul", "node");
    const child = spawn("bash", [join(repoRoot, "scripts/demo.sh")], { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (c: Buffer) => (output += c.toString()));
    child.stderr.on("data", (c: Buffer) => (output += c.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 240_000);
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    output = output.replace(/\x1b\[[0-9;]*m/g, "");
    clearTimeout(timer);
    assert.equal(code, 0, `the demo did not exit cleanly (a kill after 240 s means it hung):\n${output}`);
    assert.match(output, /backend be_web/);
    assert.equal(output.match(/^ {4}server demo_demo_web_[abc]_8080-[0-9a-f]{8} 127\.0\.0\.1:\d+ /gm)?.length, 3 + 2, "three servers, then two after one stops, each named after its instance");
    assert.match(output, /HAProxy process \d+ serves on: the Runtime API took the server out, no reload/);
    for (const name of ["web-a", "web-b", "web-c"]) assert.match(output, new RegExp(`\\d+ hello from ${name}`));
    assert.match(output, /demo: done/);
    const after = await pidsOf("dockerd", "containerd", "haproxy", "consul", "node");
    const left = [...after].filter((pid) => !before.has(pid));
    assert.deepEqual(left, [], `processes the demo started are still running: ${left.join(", ")}`);
    assert.equal(await dockerAnswers(), dockerBefore, dockerBefore ? "the Docker engine that was running still is" : "the dockerd the demo started is gone");
  });
});
