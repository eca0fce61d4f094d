import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseConsulAddress } from "../../src/consul/address.js";
import { parseDuration, parseWait } from "../../src/config/duration.js";
import { parseTemplateSpec } from "../../src/config/template-spec.js";
import { ConfigError } from "../../src/errors.js";

describe("parseTemplateSpec", () => {
  const cases: [string, object][] = [
    ["in.hbs:/tmp/out", { source: "in.hbs", destination: "/tmp/out" }],
    ["in.hbs:/tmp/out:systemctl reload haproxy", { source: "in.hbs", destination: "/tmp/out", command: "systemctl reload haproxy" }],
    ["in.hbs:/tmp/out:echo a:b", { source: "in.hbs", destination: "/tmp/out", command: "echo a:b" }],
    ["in.hbs:/tmp/out:", { source: "in.hbs", destination: "/tmp/out" }],
  ];
  for (const [spec, expected] of cases) {
    it(`parses ${spec}`, () => assert.deepEqual(parseTemplateSpec(spec), expected));
  }
  for (const bad of ["in.hbs", "in.hbs:", ":out", ""]) {
    it(`rejects "${bad}" naming the option`, () => assert.throws(() => parseTemplateSpec(bad), (e: unknown) => e instanceof ConfigError && e.message.startsWith("--template: expected")));
  }
});

describe("parseDuration and parseWait", () => {
  it("reads Go-style durations and bare seconds", () => {
    assert.equal(parseDuration("250ms", "x"), 250);
    assert.equal(parseDuration("2s", "x"), 2000);
    assert.equal(parseDuration("1m30s", "x"), 90_000);
    assert.equal(parseDuration("1.5", "x"), 1500);
    assert.equal(parseDuration("1h", "x"), 3_600_000);
  });
  it("rejects junk naming the option", () => {
    assert.throws(() => parseDuration("soon", "--wait"), /--wait: expected a duration/);
    assert.throws(() => parseDuration("2s garbage", "--wait"), /--wait/);
  });
  it("defaults max to 4 × min and refuses max < min", () => {
    assert.deepEqual(parseWait("2s"), { minMs: 2000, maxMs: 8000 });
    assert.deepEqual(parseWait("2s:10s"), { minMs: 2000, maxMs: 10_000 });
    assert.throws(() => parseWait("10s:2s"), /must not be less than min/);
    assert.throws(() => parseWait("1s:2s:3s"), /expected <min>\[:<max>\]/);
  });
});

describe("parseConsulAddress", () => {
  it("accepts host:port, http, https and registrator's consul:// form", () => {
    assert.deepEqual(parseConsulAddress("127.0.0.1:8500"), { protocol: "http:", host: "127.0.0.1", port: 8500 });
    assert.deepEqual(parseConsulAddress("localhost"), { protocol: "http:", host: "localhost", port: 8500 });
    assert.deepEqual(parseConsulAddress("https://consul.local"), { protocol: "https:", host: "consul.local", port: 8501 });
    assert.deepEqual(parseConsulAddress("consul://10.0.0.1:9500"), { protocol: "http:", host: "10.0.0.1", port: 9500 });
    assert.deepEqual(parseConsulAddress("[::1]:8500"), { protocol: "http:", host: "::1", port: 8500 });
  });
  it("rejects other schemes", () => {
    assert.throws(() => parseConsulAddress("ftp://x"), /unsupported scheme/);
  });
});
