import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CycleScheduler } from "../../src/runner/cycles.js";
import { ManualClock, settle } from "../helpers/manual-clock.js";

describe("CycleScheduler (injected clock)", () => {
  function scheduler(clock = new ManualClock()) {
    const gates: (() => void)[] = [];
    const errors: string[] = [];
    let fail = false;
    const cycles = new CycleScheduler(
      () =>
        new Promise<void>((resolve, reject) => {
          if (fail) reject(new Error("boom"));
          else gates.push(resolve);
        }),
      (error) => errors.push(error.message),
      clock,
    );
    return { cycles, gates, errors, clock, failNext: (v: boolean) => (fail = v) };
  }

  it("runs one cycle at a time; requests during a cycle make one more, not one each", async () => {
    const { cycles, gates } = scheduler();
    cycles.schedule();
    await settle();
    assert.equal(gates.length, 1);
    cycles.schedule();
    cycles.schedule();
    cycles.schedule();
    await settle();
    assert.equal(gates.length, 1, "the next waits for the one in flight");
    gates[0]!();
    await settle();
    assert.equal(gates.length, 2);
    gates[1]!();
    await settle();
    assert.equal(gates.length, 2, "and that was all");
  });

  it("a failing cycle is reported and does not stop the next one", async () => {
    const { cycles, gates, errors, failNext } = scheduler();
    failNext(true);
    cycles.schedule();
    await settle();
    assert.deepEqual(errors, ["boom"]);
    failNext(false);
    cycles.schedule();
    await settle();
    assert.equal(gates.length, 1);
  });

  it("later(ms) runs a cycle after ms; of several, the earliest stands; stop cancels it", async () => {
    const { cycles, gates, clock } = scheduler();
    cycles.later(500);
    cycles.later(100);
    cycles.later(300);
    assert.deepEqual(clock.pending(), [100], "one timer, for the earliest");
    await clock.advance(99);
    assert.equal(gates.length, 0);
    await clock.advance(1);
    assert.equal(gates.length, 1);
    gates[0]!();
    cycles.later(300);
    cycles.stop();
    assert.deepEqual(clock.pending(), []);
    cycles.schedule();
    await settle();
    assert.equal(gates.length, 1, "nothing starts after stop");
  });
});
