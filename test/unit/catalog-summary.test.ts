import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { changedServices, fingerprints, type ServiceSummary } from "../../src/watch/catalog-summary.js";

const row = (Name: string, over: Partial<ServiceSummary> = {}): ServiceSummary => ({
  Name, Tags: ["http"], Nodes: ["n1"], InstanceCount: 2, ChecksPassing: 2, ChecksWarning: 0, ChecksCritical: 0, ...over,
});

describe("catalog summary diff (the probe pool's fast path)", () => {
  const before = fingerprints([row("a"), row("b"), row("c")]);
  it("names services whose instance count, checks, nodes or tags changed", () => {
    const after = fingerprints([row("a", { InstanceCount: 3 }), row("b", { ChecksPassing: 1, ChecksCritical: 1 }), row("c", { Tags: ["http", "v2"] })]);
    assert.deepEqual([...changedServices(before, after)].sort(), ["a", "b", "c"]);
  });
  it("names services that appeared or disappeared", () => {
    assert.deepEqual([...changedServices(before, fingerprints([row("a"), row("b"), row("d")]))].sort(), ["c", "d"]);
  });
  it("names nothing when the summary is the same (the sweep must catch such changes)", () => {
    assert.equal(changedServices(before, fingerprints([row("c"), row("b"), row("a")])).size, 0);
  });
});
