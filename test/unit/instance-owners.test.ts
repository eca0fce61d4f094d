import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InstanceOwners, instancesOf } from "../../src/watch/instance-owners.js";

describe("InstanceOwners (moved instances)", () => {
  it("names the query of the service an instance left when it shows up under another name", () => {
    const owners = new InstanceOwners();
    assert.deepEqual(owners.update("svc(sa)", "sa", ["dc\0n1\0x1", "dc\0n1\0y1"]), []);
    assert.deepEqual(owners.update("svc(sb)", "sb", ["dc\0n1\0x1"]), ["svc(sa)"]);
    // sa read again without x1: nothing is stale any more.
    assert.deepEqual(owners.update("svc(sa)", "sa", ["dc\0n1\0y1"]), []);
    assert.deepEqual(owners.update("svc(sb)", "sb", ["dc\0n1\0x1"]), []);
  });
  it("two queries of the same service (other tag, status or options) are not a move", () => {
    const owners = new InstanceOwners();
    owners.update("svc(web)", "web", ["dc\0n1\0w1"]);
    assert.deepEqual(owners.update("svc(web|status=any)", "web", ["dc\0n1\0w1"]), []);
  });
  it("forgets a query that stopped", () => {
    const owners = new InstanceOwners();
    owners.update("svc(sa)", "sa", ["dc\0n1\0x1"]);
    owners.remove("svc(sa)");
    assert.deepEqual(owners.update("svc(sb)", "sb", ["dc\0n1\0x1"]), []);
  });
  it("identifies instances by datacenter, node and service ID", () => {
    assert.deepEqual(instancesOf([{ Node: "n1", ID: "x1" }, { Node: "n2", ID: "x1" }], "dc2"), ["dc2\0n1\0x1", "dc2\0n2\0x1"]);
  });
});
