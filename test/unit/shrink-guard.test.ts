import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ShrinkGuard, shrinkViolation } from "../../src/runner/shrink-guard.js";

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

describe("ShrinkGuard (injected clock)", () => {
  const web = (n: number) => new Map([['service "web"', n]]);
  function guard() {
    let now = 0;
    const g = new ShrinkGuard({ maxShrinkPercent: 50, holdMs: 1_000 }, () => now);
    return { g, at: (ms: number) => (now = ms) };
  }

  it("measures a quick collapse from the count at the start of the window, not step by step", () => {
    const { g, at } = guard();
    g.written(web(4));
    at(100);
    assert.equal(g.check(web(3)).hold, false);
    g.written(web(3));
    at(200);
    assert.equal(g.check(web(2)).hold, false, "50% of 4 is within the limit");
    g.written(web(2));
    at(300);
    const verdict = g.check(web(1));
    assert.equal(verdict.hold, true, "75% below the 4 written 300 ms ago");
    assert.match(verdict.hold ? verdict.violation : "", /shrank from 4 to 1/);
  });

  it("holds a shrink until it has persisted for the hold, then takes it as the new baseline", () => {
    const { g, at } = guard();
    g.written(web(4));
    at(10);
    assert.deepEqual(g.check(web(0)), { hold: true, violation: 'service "web" dropped from 4 instances to 0', leftMs: 1_000 });
    at(600);
    assert.equal(g.check(web(0)).hold, true);
    at(1_010);
    assert.deepEqual(g.check(web(0)), { hold: false, released: 'service "web" dropped from 4 instances to 0' });
    g.written(web(0));
    at(1_020);
    assert.equal(g.check(web(0)).hold, false);
  });

  it("forgets counts older than the hold: a slow decline is written step by step", () => {
    const { g, at } = guard();
    g.written(web(4));
    at(2_000);
    g.written(web(3));
    at(4_000);
    assert.equal(g.check(web(2)).hold, false, "3 → 2 is 33%; the 4 is older than the hold");
  });

  it("a recovery within the hold ends the hold", () => {
    const { g, at } = guard();
    g.written(web(4));
    at(10);
    assert.equal(g.check(web(1)).hold, true);
    at(20);
    assert.equal(g.check(web(4)).hold, false);
    at(30);
    assert.equal(g.check(web(1)).hold, true);
    assert.equal((g.check(web(1)) as { leftMs: number }).leftMs, 1_000, "a new hold starts from its own beginning");
  });
});
