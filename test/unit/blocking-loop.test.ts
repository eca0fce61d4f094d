import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Backoff } from "../../src/time.js";
import { runBlockingLoop, type LoopTiming } from "../../src/watch/blocking-loop.js";
import { ManualClock } from "../helpers/manual-clock.js";
import { ScriptedConsul } from "../helpers/scripted-consul.js";

describe("Backoff", () => {
  it("doubles from base to max with jitter in [step/2, step], and starts over after a success", () => {
    const high = new Backoff({ baseMs: 100, maxMs: 1_000, random: () => 0.999999 });
    assert.deepEqual([1, 2, 3, 4, 5].map(() => high.failed()), [100, 200, 400, 800, 1_000]);
    assert.equal(high.attempt, 5);
    high.succeeded();
    assert.equal(high.attempt, 0);
    assert.equal(high.failed(), 100, "the first failure after a success waits the base again");
    const low = new Backoff({ baseMs: 100, maxMs: 1_000, random: () => 0 });
    assert.deepEqual([1, 2, 3].map(() => low.failed()), [50, 100, 200]);
  });
});

describe("the blocking loop (injected clock)", () => {
  const timing = (clock: ManualClock): LoopTiming => ({ waitMs: 60_000, minIntervalMs: 50, pollMs: 30_000, backoffBaseMs: 200, backoffMaxMs: 1_600, maxStaleMs: 0, clock });

  function start(clock: ManualClock) {
    const consul = new ScriptedConsul();
    const controller = new AbortController();
    const results: number[] = [];
    const errors: number[] = [];
    const done = runBlockingLoop(consul, () => ({ path: "/health/service/web", query: {} }), true, timing(clock), { onResult: (r) => results.push(r.index), onError: (_e, attempt) => errors.push(attempt) }, controller.signal);
    return { consul, controller, results, errors, done };
  }

  it("sends the index it was given and the wait, and asks again at once after a wake-up past the rate limit", async () => {
    const clock = new ManualClock();
    const { consul, controller, results, done } = start(clock);
    await clock.advance(0);
    assert.deepEqual(consul.last().query, { stale: undefined }, "the first read is a plain one");
    consul.last().answer(7);
    await clock.advance(0);
    assert.deepEqual(results, [7]);
    assert.equal(consul.calls.length, 1, "no second request inside minIntervalMs of the first");
    await clock.advance(50);
    assert.equal(consul.calls.length, 2);
    assert.deepEqual(consul.last().query, { stale: undefined, index: 7, wait: "60000ms" });
    // An index that went backwards (the agent's state was reset) starts over from a plain read.
    consul.last().answer(3);
    await clock.advance(50);
    assert.deepEqual(consul.last().query, { stale: undefined });
    controller.abort();
    await done;
  });

  it("backs off longer after each failure, and from the base again after a success", async () => {
    const clock = new ManualClock();
    const { consul, controller, errors, done } = start(clock);
    await clock.advance(0);
    const waits: number[] = [];
    for (let i = 0; i < 4; i++) {
      consul.last().fail();
      await clock.advance(0);
      waits.push(clock.pending()[0]!);
      await clock.advance(waits.at(-1)!);
    }
    assert.deepEqual(errors, [0, 1, 2, 3]);
    for (const [i, wait] of waits.entries()) {
      const step = Math.min(1_600, 200 * 2 ** i);
      assert.ok(wait >= step / 2 && wait <= step, `wait ${i}: ${wait} ms within [${step / 2}, ${step}]`);
    }
    consul.last().answer(9);
    await clock.advance(50);
    consul.last().fail();
    await clock.advance(0);
    assert.deepEqual(errors, [0, 1, 2, 3, 0], "the attempt count starts over after an answer");
    assert.ok(clock.pending()[0]! <= 200, `the backoff starts over too (${clock.pending()[0]} ms)`);
    controller.abort();
    await done;
  });

  it("ends at once when the signal aborts, in a backoff or in a query", async () => {
    const clock = new ManualClock();
    const { consul, controller, done } = start(clock);
    await clock.advance(0);
    consul.last().fail();
    await clock.advance(0);
    assert.equal(clock.pending().length, 1, "sleeping in a backoff");
    controller.abort();
    await done;
    assert.equal(clock.pending().length, 0, "no timer left behind");
  });
});
