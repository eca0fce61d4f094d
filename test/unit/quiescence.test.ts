import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Quiescence, quiescenceDelayMs, type Clock } from "../../src/runner/quiescence.js";

/** A clock whose time only moves when the test says so. */
class FakeClock implements Clock {
  time = 0;
  timers = new Map<number, { at: number; fn: () => void }>();
  #next = 1;
  now(): number {
    return this.time;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.#next++;
    this.timers.set(id, { at: this.time + ms, fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }
  advance(ms: number): void {
    this.time += ms;
    for (const [id, t] of [...this.timers].sort((a, b) => a[1].at - b[1].at)) {
      if (t.at <= this.time) {
        this.timers.delete(id);
        t.fn();
      }
    }
  }
}

describe("quiescence", () => {
  it("waits min after the latest change, never past max after the first", () => {
    assert.equal(quiescenceDelayMs(0, 0, 2000, 10_000), 2000);
    assert.equal(quiescenceDelayMs(0, 9_000, 2000, 10_000), 1000);
    assert.equal(quiescenceDelayMs(0, 12_000, 2000, 10_000), 0);
  });

  it("fires once after a burst of changes settles", () => {
    const clock = new FakeClock();
    let fired = 0;
    const q = new Quiescence(2000, 10_000, () => fired++, clock);
    q.trigger();
    clock.advance(1500);
    q.trigger();
    clock.advance(1500);
    assert.equal(fired, 0, "a new change restarts the min timer");
    clock.advance(500);
    assert.equal(fired, 1);
  });

  it("fires at max even when changes never stop", () => {
    const clock = new FakeClock();
    let fired = 0;
    const q = new Quiescence(2000, 5000, () => fired++, clock);
    for (let t = 0; t < 4900; t += 1000) {
      q.trigger();
      clock.advance(1000);
    }
    q.trigger();
    clock.advance(100);
    assert.equal(fired, 1, "fired at 5 s after the first change");
  });

  it("with min 0 fires on the next turn, coalescing changes of the same turn", () => {
    const clock = new FakeClock();
    let fired = 0;
    const q = new Quiescence(0, 0, () => fired++, clock);
    q.trigger();
    q.trigger();
    clock.advance(0);
    assert.equal(fired, 1);
  });

  it("cancel drops a pending fire", () => {
    const clock = new FakeClock();
    let fired = 0;
    const q = new Quiescence(100, 400, () => fired++, clock);
    q.trigger();
    q.cancel();
    clock.advance(1000);
    assert.equal(fired, 0);
  });
});
