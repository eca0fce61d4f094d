import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { CatalogServicesDependency } from "../../src/dependency/catalog.js";
import { aggregateStatus, HealthServiceDependency } from "../../src/dependency/health-service.js";
import { KvListDependency } from "../../src/dependency/kv.js";
import { parseServiceArg } from "../../src/dependency/parse-service-arg.js";

// Recorded from Consul 1.8.7 (`/v1/health/service/web`, `/v1/catalog/services`).
const fixture = (name: string): unknown => JSON.parse(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), "utf8"));
const response = (body: unknown) => ({ body, index: 42, statusCode: 200, lastContactMs: 0 });
const defaults = { stale: false };

describe("parseServiceArg", () => {
  const cases: [string, object][] = [
    ["web", { name: "web", datacenter: "" }],
    ["http.web", { tag: "http", name: "web", datacenter: "" }],
    ["v1.2.web@dc2", { tag: "v1.2", name: "web", datacenter: "dc2" }],
    ["web@eu-west.1", { name: "web", datacenter: "eu-west.1" }],
    ["my_web-2", { name: "my_web-2", datacenter: "" }],
  ];
  for (const [arg, expected] of cases) it(`parses "${arg}"`, () => assert.deepEqual(parseServiceArg(arg), expected));
  for (const bad of ["", "web@", "a b!", "@dc1"]) it(`rejects "${bad}"`, () => assert.throws(() => parseServiceArg(bad), /expected "\[tag\.\]name\[@datacenter\]"/));
});

describe("HealthServiceDependency", () => {
  it("keys include every argument, so equal queries share a watch and different ones do not", () => {
    const a = new HealthServiceDependency("web", {}, defaults);
    const b = new HealthServiceDependency(" web ", { status: "passing" }, defaults);
    const c = new HealthServiceDependency("web", { status: "any" }, defaults);
    const d = new HealthServiceDependency("http.web", {}, defaults);
    assert.equal(a.key, b.key);
    assert.notEqual(a.key, c.key);
    assert.notEqual(a.key, d.key);
  });

  it("asks Consul for the tag and datacenter", () => {
    const dep = new HealthServiceDependency("http.web@dc2", { near: "_agent" }, { stale: true });
    assert.deepEqual(dep.request(), { path: "/health/service/web", query: { dc: "dc2", stale: true, tag: "http", near: "_agent", filter: undefined } });
  });

  it("normalises a recorded payload: passing only, node address fallback, deduplicated tags", () => {
    const instances = new HealthServiceDependency("web", {}, defaults).normalize(response(fixture("health-service-web.json")));
    assert.deepEqual(instances.map((i) => [i.ID, i.Address, i.Port, i.Status]), [
      ["web1", "127.0.0.1", 8001, "passing"],
      ["web2", "127.0.0.1", 8002, "passing"],
      ["web3", "127.0.0.1", 8003, "passing"],
    ]);
    assert.equal(instances[0]!.Node, "vm");
    assert.equal(instances[0]!.Datacenter, "dc1");
    assert.deepEqual(instances[0]!.Meta, {});
  });

  it("status=any keeps warning and critical instances, with their own address", () => {
    const all = new HealthServiceDependency("web", { status: "any" }, defaults).normalize(response(fixture("health-service-web.json")));
    const web4 = all.find((i) => i.ID === "web4")!;
    assert.deepEqual([web4.Address, web4.NodeAddress, web4.Status, web4.Tags, web4.Meta], ["127.0.0.44", "127.0.0.1", "warning", ["b", "a"], { v: "2" }]);
    assert.equal(all.find((i) => i.ID === "web0")!.Status, "critical");
    assert.deepEqual(all.map((i) => i.ID), ["web0", "web1", "web2", "web3", "web4"]);
  });

  it("rejects an unknown status naming the option", () => {
    assert.throws(() => new HealthServiceDependency("web", { status: "healthy" }, defaults), /status="healthy": expected "any" or a list of passing, warning, critical/);
  });

  it("aggregates the worst check; maintenance counts as critical", () => {
    assert.equal(aggregateStatus([]), "passing");
    assert.equal(aggregateStatus([{ Status: "passing" }, { Status: "warning" }]), "warning");
    assert.equal(aggregateStatus([{ Status: "warning" }, { Status: "critical" }]), "critical");
    assert.equal(aggregateStatus([{ Status: "maintenance" }]), "critical");
  });
});

describe("CatalogServicesDependency and KV lists", () => {
  it("sorts catalog services by name with sorted unique tags", () => {
    const services = new CatalogServicesDependency("", defaults).normalize(response(fixture("catalog-services.json")));
    assert.deepEqual(services, [
      { Name: "consul", Tags: [] },
      { Name: "db", Tags: [] },
      { Name: "web", Tags: ["a", "b"] },
    ]);
  });

  it("ls keeps the top level, tree everything, keys relative to the prefix, folders dropped", () => {
    const body = [
      { Key: "app/", Value: null },
      { Key: "app/a", Value: Buffer.from("1").toString("base64") },
      { Key: "app/sub/", Value: null },
      { Key: "app/sub/b", Value: Buffer.from("2").toString("base64") },
    ];
    assert.deepEqual(new KvListDependency("app", false, defaults).normalize(response(body)), [{ Key: "a", Value: "1" }]);
    assert.deepEqual(new KvListDependency("/app/", true, defaults).normalize(response(body)), [
      { Key: "a", Value: "1" },
      { Key: "sub/b", Value: "2" },
    ]);
  });
});
