import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { toContainerInfo, type ContainerInfo } from "../../src/docker/container.js";
import { planCheck } from "../../src/registrator/checks.js";
import { portMetadata } from "../../src/registrator/metadata.js";
import type { ModelOptions } from "../../src/config/resolved.js";
import { deriveServices, imageBaseName, servicesFor } from "../../src/registrator/service-model.js";

// Recorded with Docker 20.10 (`docker inspect`), published ports bound to 127.0.0.1.
const inspect = (name: string): ContainerInfo => toContainerInfo((JSON.parse(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), "utf8")) as unknown[])[0]);
const options: ModelOptions = { hostname: "host1", ip: undefined, internal: false, network: undefined, tags: [], explicit: false, ttlSeconds: 0, allowScriptChecks: false };

describe("imageBaseName", () => {
  const cases: [string, string][] = [
    ["redis", "redis"],
    ["local/busybox:1.0", "busybox"],
    ["registry.example:5000/team/api:2.1", "api"],
    ["nginx@sha256:0123", "nginx"],
    ["registry:5000/app", "app"],
  ];
  for (const [image, name] of cases) it(`${image} → ${name}`, () => assert.equal(imageBaseName(image), name));
});

describe("SERVICE_* metadata", () => {
  it("labels win over env, port keys over generic ones", () => {
    const meta = portMetadata({ SERVICE_NAME: "env", SERVICE_TAGS: "a", SERVICE_80_NAME: "port-env" }, { SERVICE_TAGS: "label", SERVICE_80_NAME: "port-label", SERVICE_81_NAME: "other" }, "80");
    assert.equal(meta.get("name")?.value, "port-label");
    assert.equal(meta.get("tags")?.value, "label");
    assert.equal(meta.get("name")?.fromPort, true);
  });
});

describe("servicesFor", () => {
  it("one published port: image name, host port, host:container:port ID, bind address, marker meta", () => {
    const [web, ...rest] = servicesFor(inspect("docker-inspect-web.json"), options);
    assert.equal(rest.length, 0);
    assert.deepEqual({ ...web!.definition, Meta: undefined }, { ID: "host1:w1:8080", Name: "busybox", Address: "127.0.0.1", Port: 32768, Tags: [], Meta: undefined, Checks: [] });
    assert.deepEqual(web!.definition.Meta, { "managed-by": "consulate", "consulate-host": "host1", "consulate-container": "8bd03235a7de" });
  });

  it("several ports: per-port names, UDP IDs, ignore, tags from labels merged with --tags, meta from SERVICE_<KEY>", () => {
    const services = servicesFor(inspect("docker-inspect-multi.json"), { ...options, tags: ["dc-a", "fromlabel"] }).map((s) => s.definition);
    // 5000 is exposed, not published; 9090/udp is ignored by label.
    assert.deepEqual(services.map((s) => [s.ID, s.Name, s.Port]), [
      ["host1:multi:7000", "envname", 7000],
      ["host1:multi:8080", "web", 32769],
    ]);
    assert.deepEqual(services[0]!.Tags, ["fromlabel", "dc-a"]);
    assert.equal(services[0]!.Meta.region, "eu");
  });

  it("--ip overrides the address; UDP ports get :udp IDs", () => {
    const info = inspect("docker-inspect-multi.json");
    const services = servicesFor({ ...info, labels: {} }, { ...options, ip: "10.1.2.3" }).map((s) => s.definition);
    assert.deepEqual(services.map((s) => [s.ID, s.Address]), [
      ["host1:multi:7000", "10.1.2.3"],
      ["host1:multi:8080", "10.1.2.3"],
      ["host1:multi:9090:udp", "10.1.2.3"],
    ]);
  });

  it("--explicit keeps only ports with a SERVICE_NAME", () => {
    const info = inspect("docker-inspect-multi.json");
    assert.equal(servicesFor({ ...info, env: {} }, { ...options, explicit: true }).length, 0);
    assert.equal(servicesFor(info, { ...options, explicit: true }).length, 2);
  });

  it("--internal registers the container IP and exposed ports, on the chosen network", () => {
    const info = { ...inspect("docker-inspect-web.json"), networks: { zeta: "172.20.0.9", alpha: "172.21.0.5" } };
    assert.deepEqual(servicesFor(info, { ...options, internal: true }).map((s) => [s.definition.Address, s.definition.Port]), [["172.21.0.5", 8080]]);
    assert.equal(servicesFor(info, { ...options, internal: true, network: "zeta" })[0]!.definition.Address, "172.20.0.9");
    assert.equal(servicesFor({ ...info, labels: { SERVICE_NETWORK: "alpha" } }, { ...options, internal: true, network: "zeta" })[0]!.definition.Address, "172.21.0.5");
  });

  it("host network mode registers exposed ports at the host address", () => {
    const services = servicesFor(inspect("docker-inspect-hostnet.json"), options).map((s) => s.definition);
    assert.deepEqual(services.map((s) => [s.ID, s.Port, s.Address]), [["host1:hostnet:6500", 6500, ""]]);
  });

  it("SERVICE_IGNORE drops the container; a custom SERVICE_ID is kept (with the port when several)", () => {
    const info = inspect("docker-inspect-web.json");
    assert.equal(servicesFor({ ...info, env: { SERVICE_IGNORE: "1" } }, options).length, 0);
    assert.equal(servicesFor({ ...info, env: { SERVICE_ID: "my-id" } }, options)[0]!.definition.ID, "my-id");
  });

  it("--ttl adds a passing TTL check; a Docker HEALTHCHECK is mirrored", () => {
    const info = { ...inspect("docker-inspect-web.json"), health: "unhealthy" as const };
    const checks = servicesFor(info, { ...options, ttlSeconds: 30 })[0]!.definition.Checks;
    assert.deepEqual(checks.map((c) => [c.CheckID, c.TTL, c.Status]), [
      ["consulate:host1:w1:8080:ttl", "30s", "passing"],
      ["consulate:host1:w1:8080:docker-health", "87600h", "critical"],
    ]);
  });
});

describe("SERVICE_CHECK_* → Consul checks", () => {
  const meta = (entries: Record<string, string>) => new Map(Object.entries(entries).map(([k, value]) => [k, { value }]));
  it("HTTP with interval, timeout and deregister-after; probed by consulate unless an initial status is set", () => {
    const plan = planCheck(meta({ check_http: "/health", check_interval: "5s", check_timeout: "1s", check_deregister_after: "1m" }), "id", "127.0.0.1", 32768)!;
    assert.deepEqual(plan.check, { CheckID: "consulate:id", Name: "HTTP /health", HTTP: "http://127.0.0.1:32768/health", Interval: "5s", Timeout: "1s", DeregisterCriticalServiceAfter: "1m" });
    assert.deepEqual(plan.probe, { kind: "http", url: "http://127.0.0.1:32768/health", insecure: false, timeoutMs: 1000 });
    assert.equal(planCheck(meta({ check_http: "/", check_initial_status: "passing" }), "id", "h", 1)!.probe, undefined);
  });
  it("HTTPS, TCP, script with $SERVICE_IP/$SERVICE_PORT, TTL", () => {
    assert.equal(planCheck(meta({ check_https: "/x" }), "id", "10.0.0.1", 443)!.check.HTTP, "https://10.0.0.1:443/x");
    assert.equal(planCheck(meta({ check_tcp: "true" }), "id", "10.0.0.1", 5432)!.check.TCP, "10.0.0.1:5432");
    assert.deepEqual(planCheck(meta({ check_script: "nc -z $SERVICE_IP $SERVICE_PORT" }), "id", "10.0.0.1", 9, { allowScriptChecks: true })!.check.Args, ["/bin/sh", "-c", "nc -z 10.0.0.1 9"]);
    const ttl = planCheck(meta({ check_ttl: "30s", check_initial_status: "warning" }), "id", "h", 1)!.check;
    assert.deepEqual([ttl.TTL, ttl.Status, ttl.Interval], ["30s", "warning", undefined]);
  });
});

describe("deriveServices: untrusted container metadata", () => {
  const base = inspect("docker-inspect-web.json");
  it("refuses script checks unless allowed, and says so", () => {
    const info = { ...base, env: { ...base.env, SERVICE_CHECK_SCRIPT: "rm -rf /" } };
    const denied = deriveServices(info, options);
    assert.deepEqual(denied.services[0]!.definition.Checks, []);
    assert.match(denied.warnings[0] ?? "", /SERVICE_CHECK_SCRIPT refused/);
    assert.equal(deriveServices(info, { ...options, allowScriptChecks: true }).services[0]!.definition.Checks[0]!.Args?.[2], "rm -rf /");
  });
  it("a bad custom ID falls back to the default one; bad tags and meta are dropped; bad durations ignored", () => {
    const info = { ...base, env: { ...base.env, SERVICE_ID: "x\u0000y", SERVICE_TAGS: "a,b\u2028c", SERVICE_NOTE: "n".repeat(513), SERVICE_CHECK_TCP: "true", SERVICE_CHECK_TIMEOUT: "soon", SERVICE_CHECK_INTERVAL: "5" } };
    const { services, warnings } = deriveServices(info, options);
    const d = services[0]!.definition;
    assert.ok(d.ID.startsWith("host1:"), d.ID);
    assert.ok(d.Tags.includes("a") && !d.Tags.some((t) => t.includes("c")));
    assert.equal(d.Meta.note, undefined);
    assert.equal(d.Checks[0]!.Interval, "5s", "a bare number is seconds, written with its unit for Consul");
    assert.equal(d.Checks[0]!.Timeout, undefined);
    assert.equal(warnings.length, 4, warnings.join("\n"));
  });
});
