import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { after, afterEach, before, describe, it } from "node:test";
import { CliProcess } from "../helpers/cli.js";
import { ConsulAgent } from "../helpers/consul-agent.js";
import { checksOf, servicesWithPrefix, waitForServices } from "../helpers/consul-wait.js";
import { DockerDaemon, testImage } from "../helpers/docker-daemon.js";
import { freePort } from "../helpers/ports.js";

const run = promisify(execFile);
const httpd = ["/bin/httpd", "-f", "-p", "8080", "-h", "/www"];

describe("consulate registrator against a real Docker engine and a real Consul agent", () => {
  let consul: ConsulAgent;
  let docker: DockerDaemon;
  let n = 0;

  before(async () => {
    // Script checks registered over the API need enable_script_checks (this agent listens on loopback only).
    [consul, docker] = await Promise.all([ConsulAgent.create({ config: { enable_script_checks: true } }), DockerDaemon.create()]);
  });
  // A failed test must not leave containers that later tests' registrators would see.
  afterEach(() => docker.removeAllContainers());
  after(async () => {
    await Promise.all([consul?.close(), docker?.close()]);
  });

  /** A registrator with a hostname of its own, so each test sees only its services. */
  function registrator(...args: string[]): { cli: CliProcess; prefix: string; host: string } {
    const host = `t${++n}`;
    const cli = new CliProcess(["registrator", "--consul", consul.address, "--docker", docker.host, "--hostname", host, "--log-level", "debug", ...args]);
    return { cli, prefix: `${host}:`, host };
  }

  /**
   * Resolves once the registrator has seen a container's latest Docker events (`last`, in order:
   * events before it subscribed are not seen) and finished a reconcile of it after them: nothing
   * about that container is left in flight.
   */
  async function settled(cli: CliProcess, id: string, last: readonly string[]): Promise<void> {
    const short = id.slice(0, 12);
    await cli.waitForLog(() => {
      const logs = cli.logs();
      const events = logs.flatMap((l, i) => (l.msg === "event" && l.container === short ? [{ action: l.action, i }] : []));
      if (events.slice(-last.length).map((e) => e.action).join() !== last.join()) return false;
      return logs.slice(events.at(-1)!.i + 1).some((l) => l.msg === "reconciled" && l.container === short);
    });
  }

  it("registers one published port with the host port, image name, stable ID and marker meta; deregisters on stop", async () => {
    const name = "single";
    await docker.runContainer("--name", name, "-p", "8080", testImage, ...httpd);
    const { cli, prefix, host } = registrator();
    await using _ = cli;
    const port = await docker.hostPort(name, "8080");
    const [service] = await waitForServices(consul, prefix, (s) => s.length === 1);
    assert.deepEqual([service!.ID, service!.Service, service!.Port, service!.Address], [`${host}:single:8080`, "busybox", port, "127.0.0.1"]);
    assert.equal(service!.Meta?.["managed-by"], "consulate");
    assert.equal(service!.Meta?.["consulate-host"], host);
    // The service answers where Consul says it is.
    assert.equal(await (await fetch(`http://${service!.Address}:${service!.Port}/`)).text(), "ok\n");
    await docker.docker("stop", "-t", "1", name);
    await waitForServices(consul, prefix, (s) => s.length === 0);
    await docker.docker("rm", name);
    assert.equal((await cli.stop()).code, 0);
  });

  it("several ports and UDP; env and labels with precedence; tags merged with --tags; meta; ignore", async () => {
    await docker.runContainer("--name", "multi", "-p", "8080", "-p", "9090/udp", "-p", "7070", "-e", "SERVICE_TAGS=env-tag", "-l", "SERVICE_TAGS=label-tag",
      "-e", "SERVICE_8080_NAME=env-web", "-l", "SERVICE_8080_NAME=label-web", "-e", "SERVICE_REGION=eu-1", "-l", "SERVICE_7070_IGNORE=yes", testImage, ...httpd);
    const { cli, prefix, host } = registrator("--tags", "global,label-tag");
    await using _ = cli;
    const services = await waitForServices(consul, prefix, (s) => s.length === 2);
    assert.deepEqual(services.map((s) => [s.ID, s.Service]), [
      [`${host}:multi:8080`, "label-web"],
      [`${host}:multi:9090:udp`, "busybox-9090"],
    ]);
    assert.deepEqual(services[0]!.Tags, ["label-tag", "global"]);
    assert.equal(services[0]!.Meta?.region, "eu-1");
    assert.equal(services[1]!.Port, await docker.hostPort("multi", "9090/udp"));
    await docker.docker("rm", "-f", "multi");
    await waitForServices(consul, prefix, (s) => s.length === 0);
  });

  it("--explicit registers only containers with SERVICE_NAME; SERVICE_IGNORE skips a container", async () => {
    const unnamed = await docker.runContainer("--name", "unnamed", "-p", "8080", testImage, ...httpd);
    await docker.runContainer("--name", "named", "-p", "8080", "-e", "SERVICE_NAME=api", testImage, ...httpd);
    const ignored = await docker.runContainer("--name", "ignored", "-p", "8080", "-e", "SERVICE_NAME=x", "-e", "SERVICE_IGNORE=true", testImage, ...httpd);
    const { cli, prefix, host } = registrator("--explicit");
    await using _ = cli;
    await waitForServices(consul, prefix, (s) => s.length === 1 && s[0]!.ID === `${host}:named:8080` && s[0]!.Service === "api");
    // The start-up resync looked at the other two and registered nothing for them.
    for (const id of [unnamed, ignored]) await cli.waitForLog((l) => l.msg === "reconciled" && l.container === id.slice(0, 12) && l.services === 0);
    assert.equal((await servicesWithPrefix(consul, prefix)).length, 1);
    await docker.docker("rm", "-f", "unnamed", "named", "ignored");
  });

  it("HTTP, TCP, script and TTL checks are registered, and a healthy container is passing at once", async () => {
    await docker.runContainer("--name", "checked-http", "-p", "8080", "-e", "SERVICE_CHECK_HTTP=/index.html", "-e", "SERVICE_CHECK_INTERVAL=1h", testImage, ...httpd);
    await docker.runContainer("--name", "checked-tcp", "-p", "8080", "-e", "SERVICE_CHECK_TCP=true", "-e", "SERVICE_CHECK_INTERVAL=1h", testImage, ...httpd);
    await docker.runContainer("--name", "checked-script", "-p", "8080", "-e", "SERVICE_CHECK_SCRIPT=test $SERVICE_PORT -gt 0", "-e", "SERVICE_CHECK_INTERVAL=1s", testImage, ...httpd);
    await docker.runContainer("--name", "broken-http", "-p", "8080", "-e", "SERVICE_CHECK_HTTP=/missing", "-e", "SERVICE_CHECK_INTERVAL=1h", testImage, ...httpd);
    await docker.runContainer("--name", "checked-ttl", "-p", "8080", "-e", "SERVICE_CHECK_TTL=30s", "-e", "SERVICE_CHECK_INITIAL_STATUS=warning", testImage, ...httpd);
    const { cli, prefix, host } = registrator("--allow-script-checks");
    await using _ = cli;
    await waitForServices(consul, prefix, (s) => s.length === 5);
    assert.deepEqual((await checksOf(consul, `${host}:checked-ttl:8080`)).map((c) => c.Status), ["warning"]);
    // Interval 1h: Consul has not run these checks yet; their state comes from consulate's probe.
    assert.deepEqual((await checksOf(consul, `${host}:checked-http:8080`)).map((c) => c.Status), ["passing"]);
    assert.deepEqual((await checksOf(consul, `${host}:checked-tcp:8080`)).map((c) => c.Status), ["passing"]);
    assert.deepEqual((await checksOf(consul, `${host}:broken-http:8080`)).map((c) => c.Status), ["critical"]);
    const script = `${host}:checked-script:8080`;
    const deadline = Date.now() + 10_000;
    while ((await checksOf(consul, script))[0]?.Status !== "passing" && Date.now() < deadline) await sleep(100);
    assert.equal((await checksOf(consul, script))[0]?.Status, "passing");
    await docker.docker("rm", "-f", "checked-http", "checked-tcp", "checked-script", "broken-http", "checked-ttl");
  });

  it("untrusted container metadata: script checks need --allow-script-checks; bad names, tags, meta, durations and port floods are refused with a warning", async () => {
    await docker.runContainer("--name", "script", "-p", "8080", "-e", "SERVICE_CHECK_SCRIPT=touch /tmp/pwned", testImage, ...httpd);
    await docker.runContainer("--name", "odd", "-p", "8080", "-p", "9090", "-e", "SERVICE_8080_NAME=bad\nname", "-e", "SERVICE_9090_NAME=fine",
      "-e", `SERVICE_TAGS=ok,bad\ttag,${"t".repeat(300)}`, "-e", `SERVICE_NOTE=${"m".repeat(600)}`, "-e", "SERVICE_CHECK_TCP=true", "-e", "SERVICE_CHECK_INTERVAL=often", testImage, "sh", "-c", "httpd -p 9090 -h /www; exec httpd -f -p 8080 -h /www");
    await docker.runContainer("--name", "flood", "--expose", "20000-20149", testImage, ...httpd);
    const { cli, prefix, host } = registrator("--internal");
    await using _ = cli;
    // script: registered, without the check. odd: only port 9090. flood: the first 100 ports.
    const services = await waitForServices(consul, prefix, (s) => s.length === 1 + 1 + 100);
    const script = services.find((s) => s.ID === `${host}:script:8080`)!;
    assert.ok(script, "the container is still registered");
    assert.deepEqual(await checksOf(consul, script.ID), [], "without the script check");
    await cli.waitForLog((l) => /^container metadata refused: port 8080: SERVICE_CHECK_SCRIPT refused/.test(l.msg) && l.container === "script");
    const fine = services.find((s) => s.Service === "fine")!;
    assert.deepEqual(fine.Tags, ["ok"]);
    assert.equal(fine.Meta?.note, undefined, "a meta value over Consul's 512 limit is left out, not a failing registration");
    assert.deepEqual((await checksOf(consul, fine.ID)).map((c) => c.Status), ["passing"], "the check falls back to the default interval");
    assert.ok(!services.some((s) => s.Service.includes("bad")));
    const warnings = cli.logs().filter((l) => /^container metadata refused/.test(l.msg) && l.container === "odd").map((l) => l.msg);
    assert.ok(warnings.some((w) => /port 8080: SERVICE_NAME "bad\\nname" contains a control character; this port is not registered/.test(w)), warnings.join("\n"));
    assert.ok(warnings.some((w) => /port 9090: tag "bad\\ttag" contains a control character; left out/.test(w)));
    assert.ok(warnings.some((w) => /port 9090: tag "t{40}…" is 300 characters long, more than 255; left out/.test(w)));
    assert.ok(warnings.some((w) => /SERVICE_CHECK_INTERVAL: expected a duration .* got "often"; ignored/.test(w)));
    await cli.waitForLog((l) => l.msg === "container metadata refused: publishes 150 ports; only the first 100 (by port number) are registered" && l.container === "flood");
    const flood = services.filter((s) => s.ID.startsWith(`${host}:flood:`)).map((s) => s.Port).sort((a, b) => a - b);
    assert.deepEqual([flood[0], flood.at(-1)], [20000, 20099]);
    assert.equal(cli.logs().filter((l) => l.msg.startsWith("container metadata refused: publishes")).length, 1, "said once, not at every reconcile");
    await docker.docker("rm", "-f", "script", "odd", "flood");
    await waitForServices(consul, prefix, (s) => s.length === 0);
  });

  it("--ttl keeps a TTL check passing for longer than the TTL while the container runs", async () => {
    await docker.runContainer("--name", "ttl", "-p", "8080", testImage, ...httpd);
    const { cli, prefix, host } = registrator("--ttl", "2", "--ttl-refresh", "1");
    await using _ = cli;
    await waitForServices(consul, prefix, (s) => s.length === 1);
    await sleep(4_000);
    assert.deepEqual((await checksOf(consul, `${host}:ttl:8080`)).map((c) => [c.CheckID, c.Status]), [[`consulate:${host}:ttl:8080:ttl`, "passing"]]);
    await docker.docker("rm", "-f", "ttl");
  });

  it("--deregister on-success keeps a container that failed and removes one that exited 0; always removes both", async () => {
    const { cli, prefix, host } = registrator("--deregister", "on-success");
    await using _ = cli;
    const second = registrator();
    await using __ = second.cli;
    // Each container exits with its code only when told to, once both registrators have seen it.
    const untilTold = (code: number) => `httpd -p 8080 -h /www; while [ ! -e /tmp/exit ]; do sleep 0.1; done; exit ${code}`;
    const fails = await docker.runContainer("--name", "fails", "-p", "8080", testImage, "sh", "-c", untilTold(3));
    await docker.runContainer("--name", "succeeds", "-p", "8080", testImage, "sh", "-c", untilTold(0));
    await waitForServices(consul, prefix, (s) => s.length === 2);
    await waitForServices(consul, second.prefix, (s) => s.length === 2);
    for (const name of ["fails", "succeeds"]) await docker.docker("exec", name, "sh", "-c", "echo > /tmp/exit");
    assert.equal(await docker.docker("wait", "fails"), "3");
    assert.equal(await docker.docker("wait", "succeeds"), "0");
    await waitForServices(consul, prefix, (s) => s.length === 1 && s[0]!.ID === `${host}:fails:8080`);
    await waitForServices(consul, second.prefix, (s) => s.length === 0);
    await settled(cli, fails, ["die"]);
    assert.equal((await servicesWithPrefix(consul, prefix)).length, 1, "the failed container stays registered");
    await docker.docker("rm", "-f", "fails", "succeeds");
    await waitForServices(consul, prefix, (s) => s.length === 0);
  });

  it("a killed container is deregistered; a quick start/stop/start ends registered", async () => {
    const { cli, prefix } = registrator();
    await using _ = cli;
    const flappy = await docker.runContainer("--name", "flappy", "-p", "8080", testImage, ...httpd);
    await waitForServices(consul, prefix, (s) => s.length === 1);
    await docker.docker("kill", "flappy");
    await waitForServices(consul, prefix, (s) => s.length === 0);
    await docker.docker("start", "flappy");
    await docker.docker("kill", "flappy");
    await docker.docker("start", "flappy");
    const port = await docker.hostPort("flappy", "8080");
    await waitForServices(consul, prefix, (s) => s.length === 1 && s[0]!.Port === port);
    // Once the last die and start are handled, no late "die" may take it away.
    await settled(cli, flappy, ["die", "start", "die", "start"]);
    assert.equal((await servicesWithPrefix(consul, prefix))[0]?.Port, port);
    await docker.docker("rm", "-f", "flappy");
  });

  it("--internal registers the container's IP and exposed port; --ip overrides the address", async () => {
    await docker.runContainer("--name", "inside", "--expose", "6000", testImage, "sleep", "600");
    const ip = await docker.docker("inspect", "-f", "{{.NetworkSettings.IPAddress}}", "inside");
    const internal = registrator("--internal");
    await using _ = internal.cli;
    await waitForServices(consul, internal.prefix, (s) => s.some((x) => x.ID === `${internal.host}:inside:6000` && x.Address === ip && x.Port === 6000));
    await docker.runContainer("--name", "withip", "-p", "8080", testImage, ...httpd);
    const withIp = registrator("--ip", "127.0.0.9");
    await using __ = withIp.cli;
    await waitForServices(consul, withIp.prefix, (s) => s.some((x) => x.ID === `${withIp.host}:withip:8080` && x.Address === "127.0.0.9"));
    await docker.docker("rm", "-f", "inside", "withip");
  });

  it("Consul DNS answers an SRV record with the dynamic host port", async () => {
    await docker.runContainer("--name", "dns", "-p", "8080", "-e", "SERVICE_NAME=dnsweb", testImage, ...httpd);
    const { cli, prefix } = registrator();
    await using _ = cli;
    await waitForServices(consul, prefix, (s) => s.length > 0);
    const port = await docker.hostPort("dns", "8080");
    const { stdout } = await run("dig", ["@127.0.0.1", "-p", String(consul.ports.dns), "+short", "dnsweb.service.consul", "SRV"]);
    assert.match(stdout, new RegExp(`^1 1 ${port} `, "m"));
    await docker.docker("rm", "-f", "dns");
  });

  it("--cleanup removes this host's services whose container is gone, and never touches others", async () => {
    const host = `t${++n}`;
    await consul.registerService({ ID: `${host}:gone:8080`, Name: "gone", Port: 1, Meta: { "managed-by": "consulate", "consulate-host": host, "consulate-container": "0123456789ab" } });
    await consul.registerService({ ID: `${host}:foreign`, Name: "foreign", Port: 2 });
    await consul.registerService({ ID: `other:gone:8080`, Name: "gone", Port: 3, Meta: { "managed-by": "consulate", "consulate-host": "other", "consulate-container": "0123456789ab" } });
    await using cli = new CliProcess(["registrator", "--consul", consul.address, "--docker", docker.host, "--hostname", host, "--cleanup"]);
    await waitForServices(consul, `${host}:`, (s) => s.length === 1 && s[0]!.ID === `${host}:foreign`);
    assert.equal((await servicesWithPrefix(consul, "other:")).length, 1);
    assert.equal((await cli.stop()).code, 0);
  });

  it("--listen shows the registrator's containers and counts its registrations", async () => {
    await docker.runContainer("--name", "observed", "-p", "8080", testImage, ...httpd);
    const port = await freePort();
    const { cli, prefix, host } = registrator("--listen", `127.0.0.1:${port}`);
    await using _ = cli;
    await waitForServices(consul, prefix, (s) => s.length === 1);
    // The status server answers from the start; the registrator joins it once its first sync is done.
    type Status = { registrator: { services: { ID: string }[] }[] | null };
    let status: Status = { registrator: null };
    for (let i = 0; i < 100 && !status.registrator; i++) {
      status = (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as Status;
      if (!status.registrator) await sleep(50);
    }
    assert.deepEqual(status.registrator?.flatMap((c) => c.services.map((s) => s.ID)), [`${host}:observed:8080`]);
    assert.match(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text(), /consulate_registrator_changes_total\{action="register"\} 1/);
  });
});
