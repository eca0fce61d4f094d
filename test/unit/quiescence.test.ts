import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Quiescence, quiescenceDelayMs } from "../../src/runner/quiescence.js";
import { ManualClock } from "../helpers/manual-clock.js";

describe("quiescence", () => {
  it("waits min after the latest change, never past max after the first", () => {
    assert.equal(quiescenceDelayMs(0, 0, 2000, 10_000), 2000);
    assert.equal(quiescenceDelayMs(0, 9_000, 2000, 10_000), 1000);
    assert.equal(quiescenceDelayMs(0, 12_000, 2000, 10_000), 0);
  });

  it("fires once after a burst of changes settles", async () => {
    const clock = new ManualClock();
    let fired = 0;
    const q = new Quiescence(2000, 10_000, () => fired++, clock);
    q.trigger();
    await clock.advance(1500);
    q.trigger();
    await clock.advance(1500);
    assert.equal(fired, 0, "a new change restarts the min timer");
    await clock.advance(500);
    assert.equal(fired, 1);
  });

  it("fires at max even when changes never stop", async () => {
    const clock = new ManualClock();
    let fired = 0;
    const q = new Quiescence(2000, 5000, () => fired++, clock);
    for (let t = 0; t < 4900; t += 1000) {
      q.trigger();
      await clock.advance(1000);
    }
    q.trigger();
    await clock.advance(100);
    assert.equal(fired, 1, "fired at 5 s after the first change");
  });

  it("with min 0 fires on the next turn, coalescing changes of the same turn", async () => {
    const clock = new ManualClock();
    let fired = 0;
    const q = new Quiescence(0, 0, () => fired++, clock);
    q.trigger();
    q.trigger();
    await clock.advance(0);
    assert.equal(fired, 1);
  });

  it("cancel drops a pending fire", async () => {
    const clock = new ManualClock();
    let fired = 0;
    const q = new Quiescence(100, 400, () => fired++, clock);
    q.trigger();
    q.cancel();
    await clock.advance(1000);
    assert.equal(fired, 0);
  });
});
