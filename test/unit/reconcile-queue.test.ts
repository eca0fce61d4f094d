import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ReconcileQueue } from "../../src/registrator/reconcile-queue.js";
import { ManualClock, settle } from "../helpers/manual-clock.js";

/** A run that the test ends by hand, recording what it saw when it started. */
function gatedRuns(look: () => string) {
  const runs: { saw: string; finish(ok: boolean): void }[] = [];
  const run = () =>
    new Promise<boolean>((resolve) => {
      runs.push({ saw: look(), finish: resolve });
    });
  return { runs, run };
}

describe("ReconcileQueue (injected clock)", () => {
  const backoff = { baseMs: 100, maxMs: 1_000, random: () => 0.999999 };

  it("start, die and start again in quick succession: one run at a time, and the last one sees the container running", async () => {
    const clock = new ManualClock();
    let state = "running";
    const { runs, run } = gatedRuns(() => state);
    const queue = new ReconcileQueue(run, { backoff, signal: new AbortController().signal, clock });
    const first = queue.request("c1");
    state = "dead";
    void queue.request("c1");
    state = "running";
    void queue.request("c1");
    await settle();
    assert.equal(runs.length, 1, "the events that came during the first run wait for it");
    runs[0]!.finish(true);
    await settle();
    assert.equal(runs.length, 2, "…then make exactly one more run, however many there were");
    assert.equal(runs[1]!.saw, "running", "and it looks at the latest state");
    runs[1]!.finish(true);
    await first;
    assert.equal(runs.length, 2);
  });

  it("different containers run in parallel", async () => {
    const { runs, run } = gatedRuns(() => "");
    const queue = new ReconcileQueue(run, { backoff, signal: new AbortController().signal, clock: new ManualClock() });
    void queue.request("a");
    void queue.request("b");
    await settle();
    assert.equal(runs.length, 2);
  });

  it("retries a failed run with growing backoff until it succeeds, then forgets the key", async () => {
    const clock = new ManualClock();
    const settled: string[] = [];
    const outcomes = [false, false, true];
    let calls = 0;
    const queue = new ReconcileQueue(() => Promise.resolve(outcomes[calls++]!), { backoff, signal: new AbortController().signal, clock, settled: (key) => settled.push(key) });
    await queue.request("c1");
    assert.deepEqual(clock.pending(), [100]);
    assert.ok(queue.retrying("c1"));
    await clock.advance(100);
    assert.deepEqual(clock.pending(), [200], "the second retry waits twice as long");
    await clock.advance(200);
    assert.equal(calls, 3);
    assert.deepEqual(clock.pending(), [], "no retry after a success");
    assert.deepEqual(settled, ["c1"], "settled once, when nothing was left to do");
  });

  it("a newer request supersedes a pending retry: it runs now, and the retry never fires", async () => {
    const clock = new ManualClock();
    const outcomes = [false, true];
    let calls = 0;
    const queue = new ReconcileQueue(() => Promise.resolve(outcomes[calls++] ?? true), { backoff, signal: new AbortController().signal, clock });
    await queue.request("c1");
    assert.deepEqual(clock.pending(), [100]);
    await clock.advance(40);
    await queue.request("c1");
    assert.equal(calls, 2, "ran at once, not at the retry's time");
    assert.deepEqual(clock.pending(), [], "the retry was cancelled");
    await clock.advance(1_000);
    assert.equal(calls, 2);
  });

  it("close cancels pending retries and waits for runs in flight", async () => {
    const clock = new ManualClock();
    const controller = new AbortController();
    const { runs, run } = gatedRuns(() => "");
    const queue = new ReconcileQueue(run, { backoff, signal: controller.signal, clock });
    void queue.request("a");
    void queue.request("b");
    await settle();
    runs[0]!.finish(false);
    await settle();
    assert.deepEqual(clock.pending(), [100]);
    controller.abort();
    let closed = false;
    const closing = queue.close().then(() => (closed = true));
    await settle();
    assert.equal(closed, false, "b is still running");
    assert.deepEqual(clock.pending(), [], "a's retry is gone");
    runs[1]!.finish(false);
    await closing;
    assert.deepEqual(clock.pending(), [], "a run failing after the abort schedules no retry");
  });
});
