import assert from "node:assert/strict";
import { createServer } from "node:net";
import { after, before, describe, it } from "node:test";
import { CliProcess, runCli } from "../helpers/cli.js";
import { ConsulAgent } from "../helpers/consul-agent.js";
import { WorkDir } from "../helpers/workdir.js";

/** Exactly one line on stderr, starting with "consulate: ", and no stack trace. */
function oneLine(stderr: string): string {
  const lines = stderr.trim().split("\n");
  assert.equal(lines.length, 1, `one line expected, got:\n${stderr}`);
  assert.ok(lines[0]!.startsWith("consulate: "), lines[0]);
  return lines[0]!;
}

describe("bad input: one clear line, the right exit code, the real source named", () => {
  let consul: ConsulAgent;
  let dir: WorkDir;
  let source: string;
  before(async () => {
    [consul, dir] = await Promise.all([ConsulAgent.create(), WorkDir.create()]);
    source = await dir.write("ok.hbs", '{{#each (service "web")}}{{ID}}{{/each}}');
  });
  after(async () => {
    await Promise.all([consul?.close(), dir?.[Symbol.asyncDispose]()]);
  });

  it("validate and render reject the same helper mistakes, with file:line:column", async () => {
    const cases: [string, RegExp][] = [
      ['x\n{{#each (service "web" status="bogus")}}{{/each}}', /bad\d\.hbs:2:9: service: status="bogus": expected "any" or a list of passing, warning, critical$/],
      ["{{#each (service)}}{{/each}}", /bad\d\.hbs:1:9: service: expected 1 argument, got 0$/],
      ['{{service "a" "b"}}', /bad\d\.hbs:1:1: service: expected 1 argument, got 2$/],
      ["{{key}}", /bad\d\.hbs:1:1: key: expected 1 argument, got 0$/],
      ['{{key ""}}', /bad\d\.hbs:1:1: key: the name must not be empty$/],
    ];
    for (const [i, [text, message]] of cases.entries()) {
      const bad = await dir.write(`bad${i}.hbs`, text);
      const validated = await runCli(["validate", "-t", `${bad}:${dir.file("never.cfg")}`]);
      assert.equal(validated.code, 3, `validate ${text}: ${validated.stderr}`);
      assert.match(oneLine(validated.stderr), message);
      const rendered = await runCli(["render", "--consul", consul.address, "--once", "-t", `${bad}:${dir.file("never.cfg")}`]);
      assert.equal(rendered.code, 3, `render ${text}: ${rendered.stderr}`);
      assert.equal(oneLine(rendered.stderr), oneLine(validated.stderr));
    }
  });

  it("--listen is validated before anything starts (exit 2); a port in use is one line", async () => {
    for (const bad of ["abc", "127.0.0.1:99999", "9100", "127.0.0.1:", "::1:9100"]) {
      for (const command of [["render", "--once", "-t", `${source}:${dir.file("l.cfg")}`], ["registrator", "--docker", "/nonexistent.sock"]]) {
        const result = await runCli([...command, "--consul", consul.address, "--listen", bad]);
        assert.equal(result.code, 2, `${command[0]} --listen ${bad}: ${result.stderr}`);
        assert.match(oneLine(result.stderr), new RegExp(`^consulate: --listen: expected host:port such as 127\\.0\\.0\\.1:9100 .*got "${bad.replaceAll(".", "\\.")}"$`));
      }
    }
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    try {
      const port = (taken.address() as { port: number }).port;
      const result = await runCli(["render", "--consul", consul.address, "--listen", `127.0.0.1:${port}`, "-t", `${source}:${dir.file("l.cfg")}`]);
      assert.equal(result.code, 2);
      assert.equal(oneLine(result.stderr.split("\n").filter((l) => l.startsWith("consulate:")).join("\n")), `consulate: --listen 127.0.0.1:${port}: the address is in use (another process listens there)`);
    } finally {
      taken.close();
    }
  });

  it("errors name where the value came from: environment, config file line, flag", async () => {
    const env = await runCli(["render", "--once", "-t", `${source}:${dir.file("e.cfg")}`], { CONSUL_HTTP_ADDR: "nope:xx" });
    assert.equal(env.code, 2);
    assert.match(oneLine(env.stderr), /^consulate: CONSUL_HTTP_ADDR: expected host:port or http\(s\):\/\/host:port, got "nope:xx"$/);
    const config = await dir.write("c.yaml", `templates:\n  - source: ${source}\n    destination: ${dir.file("c.cfg")}\nwait: fast\n`);
    const file = await runCli(["render", "--once", "-c", config]);
    assert.equal(file.code, 2);
    assert.equal(oneLine(file.stderr), `consulate: ${config}:4: wait: expected a duration such as 500ms, 2s or 1m30s, got "fast"`);
    const address = await dir.write("a.yaml", `consul:\n  address: "ftp://x"\ntemplates:\n  - source: ${source}\n    destination: ${dir.file("c.cfg")}\n`);
    assert.match(oneLine((await runCli(["render", "--once", "-c", address])).stderr), new RegExp(`^consulate: ${address}:2: consul\\.address: unsupported scheme`));
    const flag = await runCli(["render", "--once", "--consul", "ftp://x", "-t", `${source}:${dir.file("e.cfg")}`]);
    assert.match(oneLine(flag.stderr), /^consulate: --consul: unsupported scheme/);
    const minMax = await dir.write("w.yaml", `templates:\n  - source: ${source}\n    destination: ${dir.file("c.cfg")}\nwait:\n  min: 10s\n  max: 2s\n`);
    assert.match(oneLine((await runCli(["render", "--once", "-c", minMax])).stderr), new RegExp(`^consulate: ${minMax}:6: wait\\.max: max \\(2s\\) must not be less than min \\(10s\\)$`));
  });

  it("durations are bounded instead of overflowing Node's timers", async () => {
    const result = await runCli(["render", "--consul", consul.address, "--once", "--once-timeout", "1000000000h", "-t", `${source}:${dir.file("d.cfg")}`]);
    assert.equal(result.code, 2);
    assert.equal(oneLine(result.stderr), 'consulate: --once-timeout: "1000000000h" is longer than 24h, the most consulate accepts');
  });

  it("the registrator ends on SIGTERM and SIGINT while Docker is unreachable", async () => {
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      await using cli = new CliProcess(["registrator", "--consul", consul.address, "--docker", "/nonexistent.sock"]);
      await cli.waitForLog((l) => l.msg === "cannot reach Docker, retrying with backoff");
      const started = Date.now();
      const { code } = await cli.stop(signal);
      assert.equal(code, 0);
      assert.ok(Date.now() - started < 3_000, `${signal}: stopped in ${Date.now() - started} ms`);
    }
  });

  it("a failing command's output is logged with the ACL token redacted", async () => {
    await consul.registerService({ ID: "red-1", Name: "web", Port: 9001 });
    const token = "9e1f3c7a-5b2d-4e8f-a1b0-secret000001";
    const result = await runCli(["render", "--consul", consul.address, "--once", "-t", `${source}:${dir.file("r.cfg")}`, "-x", 'echo "curl -H X-Consul-Token:$CONSUL_HTTP_TOKEN failed"; exit 1'], { CONSUL_HTTP_TOKEN: token });
    assert.equal(result.code, 6);
    assert.ok(!result.stderr.includes(token), "the token never reaches the log");
    assert.match(result.stderr, /curl -H X-Consul-Token:\[redacted\] failed/);
  });
});
