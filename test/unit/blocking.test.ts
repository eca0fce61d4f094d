import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { blockingTimeoutMs, nextIndex, rateLimitDelayMs } from "../../src/consul/blocking.js";
import { backoffDelayMs } from "../../src/time.js";

describe("blocking-query rules", () => {
  it("sends the index Consul returned when it moved forward", () => assert.equal(nextIndex(10, 15), 15));
  it("keeps the same index when nothing changed", () => assert.equal(nextIndex(15, 15), 15));
  it("resets to 0 when the index goes backwards", () => assert.equal(nextIndex(15, 3), 0));
  it("treats an index below 1 as 1, so it never spins on 0", () => {
    assert.equal(nextIndex(0, 0), 1);
    assert.equal(nextIndex(0, -4), 1);
  });
  it("times out the client only after wait + wait/16 + a margin", () => {
    assert.equal(blockingTimeoutMs(60_000, 5_000), 60_000 + 3_750 + 5_000);
    assert.ok(blockingTimeoutMs(16_000, 0) > 16_000 + 16_000 / 16 - 1);
  });
  it("backs off exponentially with jitter, capped, and resets by attempt number", () => {
    const min = { baseMs: 100, maxMs: 1_000, random: () => 0 };
    const max = { baseMs: 100, maxMs: 1_000, random: () => 0.999999 };
    assert.deepEqual([0, 1, 2, 3, 4, 10].map((a) => backoffDelayMs(a, min)), [50, 100, 200, 400, 500, 500]);
    assert.deepEqual([0, 1, 2, 3, 4, 10].map((a) => backoffDelayMs(a, max)), [100, 200, 400, 800, 1000, 1000]);
    // attempt 0 again after a success: back to the base delay
    assert.equal(backoffDelayMs(0, max), 100);
  });
  it("rate-limits wake-ups of one watch to one request per interval", () => {
    assert.equal(rateLimitDelayMs(1_000, 1_010, 50), 40);
    assert.equal(rateLimitDelayMs(1_000, 1_100, 50), 0);
    assert.equal(rateLimitDelayMs(Number.NEGATIVE_INFINITY, 5, 50), 0);
  });
});
