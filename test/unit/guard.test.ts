import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { shrinkViolation } from "../../src/runner/guard.js";

describe("shrinkViolation (empty-file guard)", () => {
  const before = new Map([["service \"web\"", 10], ["service \"db\"", 2]]);
  it("trips when a service drops to zero, whatever the percentage", () => {
    assert.equal(shrinkViolation(before, new Map([["service \"web\"", 10], ["service \"db\"", 0]]), 100), 'service "db" dropped from 2 instances to 0');
  });
  it("trips when a service shrinks by more than the percentage in one change", () => {
    assert.match(shrinkViolation(before, new Map([["service \"web\"", 4], ["service \"db\"", 2]]), 50) ?? "", /web" shrank from 10 to 4 instances \(60% > 50%\)/);
  });
  it("lets growth, small shrinks and new services through", () => {
    assert.equal(shrinkViolation(before, new Map([["service \"web\"", 6], ["service \"db\"", 3], ["service \"new\"", 0]]), 50), undefined);
  });
});
